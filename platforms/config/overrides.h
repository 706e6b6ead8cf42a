// `--set key.path=value` overrides applied to a parsed YAML document before validation.
#pragma once

#include <vector>

#include "platforms/config/config.h"

namespace YAML {
class Node;
}

namespace cimtlm::platforms {

// Writes each override into `document` (a mapping, created if the document is empty), creating
// the groups on its path; throws ConfigError naming the command-line argument when a group on the
// path is a value.
void apply_overrides(YAML::Node& document, const std::vector<Override>& overrides);

}  // namespace cimtlm::platforms
