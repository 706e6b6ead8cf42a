#include "platforms/run/output_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "platforms/config/config.h"

namespace cimtlm::platforms {

namespace fs = std::filesystem;

namespace {

std::string folder_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// "" when `folder` is (or can be made) a directory where files can be created.
std::string prepare_folder(const std::string& folder) {
  std::error_code code;
  fs::create_directories(folder, code);
  struct stat info {};
  if (::stat(folder.c_str(), &info) != 0) {
    return code ? code.message() : std::string(std::strerror(errno));
  }
  if (!S_ISDIR(info.st_mode)) return "'" + folder + "' is not a directory";
  // Creating a probe file is the only reliable test (access() ignores read-only mounts for root).
  const std::string probe =
      (fs::path(folder) / (".cimtlm-probe-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return "cannot create files in '" + folder + "': " + std::strerror(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return "";
}

}  // namespace

OutputFiles::~OutputFiles() {
  for (const auto& target : targets_) {
    if (!target.temporary.empty()) ::unlink(target.temporary.c_str());
  }
}

void OutputFiles::add(const std::string& path, const std::string& option) {
  if (path.empty()) throw ConfigError("command line " + option + ": empty file name");
  targets_.push_back({path, option, "", false});
}

void OutputFiles::add_folder(const std::string& path, const std::string& option) {
  if (path.empty()) throw ConfigError("command line " + option + ": empty folder name");
  targets_.push_back({path, option, "", true});
}

void OutputFiles::check() const {
  for (const auto& target : targets_) {
    const std::string where = "command line " + target.option + " " + target.path + ": ";
    struct stat info {};
    const bool exists = ::stat(target.path.c_str(), &info) == 0;
    if (target.folder) {
      if (exists && !S_ISDIR(info.st_mode))
        throw ConfigError(where + "exists and is not a directory");
      const std::string problem = prepare_folder(target.path);
      if (!problem.empty()) throw ConfigError(where + problem);
      continue;
    }
    if (exists && S_ISDIR(info.st_mode)) {
      throw ConfigError(where + "is a directory (give a file name)");
    }
    if (exists && !S_ISREG(info.st_mode)) {
      throw ConfigError(where + "is not a regular file (a device, FIFO or socket); cimtlm writes " +
                        "only regular files");
    }
    const std::string problem = prepare_folder(folder_of(target.path));
    if (!problem.empty()) throw ConfigError(where + problem);
  }
}

OutputFiles::Target& OutputFiles::find(const std::string& path) {
  for (auto& target : targets_) {
    if (target.path == path && !target.folder) return target;
  }
  throw std::logic_error("output file " + path + " was not registered before the simulation");
}

void OutputFiles::stage(const std::string& path,
                        const std::function<void(const std::string&)>& write) {
  Target& target = find(path);
  const fs::path name = fs::path(path).filename();
  target.temporary = (fs::path(folder_of(path)) /
                      ("." + name.string() + ".cimtlm-" + std::to_string(::getpid()) + ".tmp"))
                         .string();
  write(target.temporary);
  struct stat info {};
  if (::stat(target.temporary.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    throw std::runtime_error("cannot write " + path);
  }
}

void OutputFiles::commit() {
  for (auto& target : targets_) {
    if (target.temporary.empty()) continue;
    // The target may have changed since check(): still never replace a non-regular file.
    struct stat info {};
    if (::stat(target.path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
      throw std::runtime_error(target.path + " is no longer a regular file; not replaced");
    }
    if (::rename(target.temporary.c_str(), target.path.c_str()) != 0) {
      throw std::runtime_error("cannot rename " + target.temporary + " to " + target.path + ": " +
                               std::strerror(errno));
    }
    target.temporary.clear();
  }
}

}  // namespace cimtlm::platforms
