#include "platforms/cli/options.h"

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
