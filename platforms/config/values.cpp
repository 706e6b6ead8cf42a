#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "platforms/config/config.h"

namespace cimtlm::platforms {

const ConfigValue& Config::at(const std::string& path) const {
  auto found = values_.find(path);
  if (found == values_.end()) throw std::out_of_range("configuration has no key '" + path + "'");
  read_.insert(path);
  return found->second;
}

int64_t Config::integer(const std::string& path) const {
  const double number = at(path).number;
  // Sizes are quantities (doubles); 1e30 B must be an error, not an undefined conversion.
  if (!(std::fabs(number) < 0x1p62)) {
    throw ConfigError(where(path) + ": value " + at(path).text + " is too large");
  }
  return static_cast<int64_t>(number);
}

std::vector<std::string> Config::items(const std::string& path) const {
  auto found = items_.find(path);
  return found == items_.end() ? std::vector<std::string>{} : found->second;
}

std::string Config::where(const std::string& path) const {
  auto found = values_.find(path);
  if (found == values_.end() || found->second.source == "default") {
    return file_ + ": " + path + " (default)";
  }
  if (found->second.source.rfind("--set", 0) == 0) return found->second.source + ": " + path;
  return found->second.source + ": " + path;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace cimtlm::platforms
