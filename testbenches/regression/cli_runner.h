// Runs the cimtlm executable as a user would and captures its exit status and output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cimtlm::testing {

struct CliResult {
  int exit_status = -1;
  std::string out;
  std::string err;
};

inline std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

inline std::string quote(const std::string& argument) {
  std::string quoted = "'";
  for (char c : argument) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// `arguments` after the executable; runs in `directory` (the source tree, so that relative
// config paths work).
inline CliResult run_cimtlm(const std::vector<std::string>& arguments,
                            const std::string& directory = CIMTLM_SOURCE_DIR) {
  static int counter = 0;
  const std::string stem = std::string(CIMTLM_TEST_OUTPUT_DIR) + "/cli_" +
                           std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::string command = "cd " + quote(directory) + " && " + quote(CIMTLM_EXECUTABLE);
  for (const auto& argument : arguments) command += " " + quote(argument);
  command += " > " + quote(stem + ".out") + " 2> " + quote(stem + ".err");
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(stem + ".out");
  result.err = read_text(stem + ".err");
  std::remove((stem + ".out").c_str());
  std::remove((stem + ".err").c_str());
  return result;
}

}  // namespace cimtlm::testing
