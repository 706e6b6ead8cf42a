// A simulation in a forked child process. SystemC elaborates a design once per process, so a
// command that simulates several platforms one after another (the scenario's variant profiles,
// the recsys modes) runs each in a child whose kernel dies with it.
#pragma once

#include <functional>
#include <ostream>
#include <string>

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

}  // namespace cimtlm::platforms
