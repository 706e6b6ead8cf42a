// The files one run writes (stats, effective configuration, VCD, GTKWave, network outputs),
// written all or none (issue 16):
//   * before the simulation, every target is checked: it must be a regular file or a new name,
//     never a directory or a device node (/dev/full), in a folder that exists or can be created
//     and where a file can be created; a bad target is bad input (exit 2) before any work;
//   * after the simulation, each file is written to a temporary beside its target (same folder,
//     so the rename cannot cross file systems), and only when every one was written are they
//     renamed over their targets; on any failure the temporaries are removed and no target is
//     touched.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cimtlm::platforms {

class OutputFiles {
 public:
  OutputFiles() = default;
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;
  ~OutputFiles();  // removes temporaries that were not committed

  // Registers a target; `option` names where it came from in messages ("--stats").
  void add(const std::string& path, const std::string& option);
  // A folder that will hold targets (--output-dir): a directory or a new name, never a file.
  void add_folder(const std::string& path, const std::string& option);
  // Checks every target (see above) and creates missing folders; throws ConfigError naming the
  // option and path.
  void check() const;
  // Writes target `path` (registered) through `write(temporary)`; throws on failure.
  void stage(const std::string& path, const std::function<void(const std::string&)>& write);
  // Renames every staged temporary over its target; throws on the first failure.
  void commit();

 private:
  struct Target {
    std::string path, option, temporary;
    bool folder = false;
  };
  Target& find(const std::string& path);
  std::vector<Target> targets_;
};

}  // namespace cimtlm::platforms
