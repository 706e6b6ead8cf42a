// Command-line parsing shared by the sub-commands (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "platforms/config/config.h"

namespace cimtlm::platforms::cli {

// Parses a sub-command's arguments; throws boost::program_options::error on bad options (the
// dispatcher turns it into exit status 2 with the command's name).
boost::program_options::variables_map parse_arguments(
    const std::vector<std::string>& args, const boost::program_options::options_description& options,
    const boost::program_options::positional_options_description& positional);

// What a sub-command's command line holds besides its options: the argument without a name and
// the options that must be given. One parser serves every command, so --help, a missing
// argument and its message look the same everywhere.
struct CommandLine {
  CommandLine(std::string command_name, std::string positional_name, std::string usage)
      : command(std::move(command_name)),
        positional(std::move(positional_name)),
        positional_usage(std::move(usage)) {}

  std::string command;                // as messages name it: "cimtlm run"
  std::string positional;             // the option the unnamed argument fills ("config"), or ""
  std::string positional_usage;       // how help and errors call it ("CONFIG.yaml")
  bool positional_required = true;    // false: the command runs without it
  std::vector<std::string> required;  // named options that must be given ("calib")
  std::string help_epilogue;          // printed after the options on --help
};

// Parses a sub-command's arguments (bad options throw as parse_arguments does). Returns nothing
// when the command is finished already: `status` is then kExitOk after printing --help on `out`,
// or kExitBadInput after naming the missing argument on `err`.
std::optional<boost::program_options::variables_map> parse_command(
    const CommandLine& line, const boost::program_options::options_description& options,
    const std::vector<std::string>& args, std::ostream& out, std::ostream& err, int& status);

// The `--set key.path=value` overrides of a command line (ConfigError on a malformed one).
std::vector<Override> overrides_of(const boost::program_options::variables_map& values);

}  // namespace cimtlm::platforms::cli
