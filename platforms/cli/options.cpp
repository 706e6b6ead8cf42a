#include "platforms/cli/options.h"

#include "platforms/cli/commands.h"

namespace cimtlm::platforms::cli {

namespace po = boost::program_options;

po::variables_map parse_arguments(const std::vector<std::string>& args,
                                  const po::options_description& options,
                                  const po::positional_options_description& positional) {
  po::variables_map values;
  po::store(po::command_line_parser(args).options(options).positional(positional).run(), values);
  po::notify(values);
  return values;
}

std::optional<po::variables_map> parse_command(const CommandLine& line,
                                               const po::options_description& options,
                                               const std::vector<std::string>& args,
                                               std::ostream& out, std::ostream& err, int& status) {
  po::positional_options_description positional;
  if (!line.positional.empty()) positional.add(line.positional.c_str(), 1);
  po::variables_map values = parse_arguments(args, options, positional);
  if (values.count("help")) {
    out << options << '\n' << line.help_epilogue;
    status = kExitOk;
    return std::nullopt;
  }
  const auto missing = [&](const std::string& what) {
    err << line.command << ": missing " << what << " (see " << line.command << " --help)\n";
    status = kExitBadInput;
    return std::nullopt;
  };
  if (!line.positional.empty() && line.positional_required && !values.count(line.positional)) {
    return missing(line.positional_usage);
  }
  for (const auto& name : line.required) {
    if (!values.count(name)) return missing("--" + name);
  }
  return values;
}

std::vector<Override> overrides_of(const po::variables_map& values) {
  std::vector<Override> overrides;
  if (values.count("set")) {
    for (const auto& text : values["set"].as<std::vector<std::string>>()) {
      overrides.push_back(parse_override(text));
    }
  }
  return overrides;
}

}  // namespace cimtlm::platforms::cli
