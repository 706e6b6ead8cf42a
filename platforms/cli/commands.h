// Sub-commands of the cimtlm executable. Each returns the process exit status.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace cimtlm::platforms::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;   // the simulation ran and found a failure
constexpr int kExitBadInput = 2;  // bad command line, YAML, ONNX or data file

int dispatch(int argc, char** argv, std::ostream& out, std::ostream& err);

using CommandFunction = int (*)(const std::vector<std::string>& args, std::ostream& out,
                                std::ostream& err);
struct CommandEntry {
  const char* name;
  CommandFunction function;
};
// Every sub-command, in the order `cimtlm --help` lists them.
const std::vector<CommandEntry>& commands();

int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int validate_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int docs_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int noc_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cim_sweep_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cim_activity_command(const std::vector<std::string>& args, std::ostream& out,
                         std::ostream& err);
int evaluate_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int quantize_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int search_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int scenario_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int retention_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int regress_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// Hidden: the start-up server of cimtlm-sweep (serve_command.cpp); not in commands().
int serve_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cimtlm::platforms::cli
