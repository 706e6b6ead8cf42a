// The configuration reference (configs/README.md) generated from the schemas.
#pragma once

#include <string>

namespace cimtlm::platforms {

// Markdown reference of the platform format, or of the layer-list network format.
std::string configuration_reference(bool network_format);

}  // namespace cimtlm::platforms
