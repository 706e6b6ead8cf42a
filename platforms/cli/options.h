// Command-line parsing shared by the sub-commands (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

#include "platforms/config/config.h"

namespace cimtlm::platforms::cli {

// Parses a sub-command's arguments; throws boost::program_options::error on bad options (the
// dispatcher turns it into exit status 2 with the command's name).
boost::program_options::variables_map parse_arguments(
    const std::vector<std::string>& args, const boost::program_options::options_description& options,
    const boost::program_options::positional_options_description& positional);

// The `--set key.path=value` overrides of a command line (ConfigError on a malformed one).
std::vector<Override> overrides_of(const boost::program_options::variables_map& values);

}  // namespace cimtlm::platforms::cli
