#include "platforms/config/overrides.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace cimtlm::platforms {

Override parse_override(const std::string& argument) {
  const size_t equals = argument.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError("command line --set " + argument +
                      ": expected key.path=value (e.g. --set clock.frequency=\"800 MHz\")");
  }
  const std::string path = argument.substr(0, equals);
  std::stringstream parts(path + ".");
  std::string part;
  while (std::getline(parts, part, '.')) {
    const bool plain = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!plain) {
      throw ConfigError("command line --set " + argument + ": '" + path +
                        "' is not a key path (names of letters, digits, '_' or '-' joined by '.')");
    }
  }
  return {path, argument.substr(equals + 1)};
}

void apply_overrides(YAML::Node& document, const std::vector<Override>& overrides) {
  if (!document || document.IsNull()) document = YAML::Node(YAML::NodeType::Map);
  for (const auto& item : overrides) {
    std::vector<std::string> parts;
    std::stringstream stream(item.path);
    std::string part;
    while (std::getline(stream, part, '.')) parts.push_back(part);
    YAML::Node current = document;
    for (size_t index = 0; index + 1 < parts.size(); ++index) {
      if (!current.IsMap()) {
        throw ConfigError("command line --set " + item.path + "=" + item.value + ": '" +
                          parts[index - 1] + "' is not a mapping");
      }
      if (!current[parts[index]] || !current[parts[index]].IsMap()) {
        current[parts[index]] = YAML::Node(YAML::NodeType::Map);
      }
      YAML::Node next = current[parts[index]];
      current.reset(next);
    }
    if (!current.IsMap()) {
      throw ConfigError("command line --set " + item.path + "=" + item.value +
                        ": the parent of the key is not a mapping");
    }
    YAML::Node value;
    try {
      value = YAML::Load(item.value);
    } catch (const YAML::Exception&) {
      value = YAML::Node(item.value);
    }
    if (!value || value.IsNull()) value = YAML::Node(item.value);
    current[parts.back()] = value;
  }
}

}  // namespace cimtlm::platforms
