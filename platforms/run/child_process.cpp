#include "platforms/run/child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

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

pid_t spawn_process(const std::vector<std::string>& argv, const std::string& stdout_path,
                    const std::string& stderr_path) {
  std::vector<std::string> text = argv;
  std::vector<char*> pointers;
  for (auto& arg : text) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (stderr_path.empty()) {
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  pid_t pid = 0;
  const int code =
      posix_spawn(&pid, text.at(0).c_str(), &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (code != 0)
    throw std::runtime_error("cannot start " + text.at(0) + ": " + std::strerror(code));
  return pid;
}

bool run_python_script(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3", script};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = 0;
  try {
    pid = spawn_process(argv, "/dev/null");
  } catch (const std::runtime_error&) {
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string python_command_text(const std::string& script, const std::vector<std::string>& args) {
  std::string text = "/usr/bin/python3 " + script;
  for (const auto& arg : args) text += " " + arg;
  return text;
}

}  // namespace cimtlm::platforms
