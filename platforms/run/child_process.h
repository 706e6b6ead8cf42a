// Simulations in child processes. SystemC elaborates a design once per process, so a
// command that simulates several platforms one after another (the scenario's variant profiles,
// the recsys modes) runs each in a child whose kernel dies with it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace cimtlm::platforms {

struct ChildResult {
  int status = 1;      // the child's exit status; 1 when it did not exit normally
  std::string errors;  // what the child wrote to its error stream
};

// Runs `body` in a forked child and waits for it. `body` writes its messages to the stream it is
// given and returns the exit status. `scratch_path` names a file the child may use to hand its
// messages back (removed afterwards). Throws ConfigError when fork fails.
ChildResult run_in_child_process(const std::string& scratch_path,
                                 const std::function<int(std::ostream& err)>& body);

// Starts `argv[0]` with `argv` as a separate process (another `cimtlm run`, for runs in
// parallel), its standard output into `stdout_path` and its standard error into `stderr_path`
// (into the same file when that is empty); the caller waits for the pid. Throws
// std::runtime_error naming the executable when it cannot be started.
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& stdout_path,
                    const std::string& stderr_path = "");

// Runs `/usr/bin/python3 SCRIPT ARGS...` (a plot script) without a shell, so that no path needs
// quoting, its output discarded; true when it exits with status 0.
bool run_python_script(const std::string& script, const std::vector<std::string>& args);

// The words of a python3 command line, for a message saying what failed.
std::string python_command_text(const std::string& script, const std::vector<std::string>& args);

}  // namespace cimtlm::platforms
