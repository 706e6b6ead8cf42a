#include "platforms/run/child_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "platforms/config/config.h"

namespace cimtlm::platforms {

ChildResult run_in_child_process(const std::string& scratch_path,
                                 const std::function<int(std::ostream& err)>& body) {
  // Flushed first, so the child does not write the parent's buffered output a second time.
  std::cout.flush();
  std::cerr.flush();
  const pid_t child = fork();
  if (child < 0) throw ConfigError("cimtlm: fork failed");
  if (child == 0) {
    std::ostringstream err;
    const int status = body(err);
    std::ofstream(scratch_path, std::ios::trunc) << err.str();
    std::cout.flush();
    _exit(status);
  }
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
  ChildResult result;
  result.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 1;
  {
    std::ifstream errors(scratch_path);
    std::stringstream text;
    text << errors.rdbuf();
    result.errors = text.str();
  }
  std::error_code ignored;
  std::filesystem::remove(scratch_path, ignored);
  return result;
}

}  // namespace cimtlm::platforms
