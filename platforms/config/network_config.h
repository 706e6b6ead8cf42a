// Layer-list network files (configs/networks/*.yaml, schema platforms/network_schema.yaml).
#pragma once

#include <string>

#include "compiler/graph/layered_network.h"

namespace cimtlm::platforms {

// Reads and validates a network file; throws ConfigError (file:line:col: key: message).
graph::LayeredNetworkSpec load_network_spec(const std::string& path);

class Config;
// The same from a configuration already loaded against network_schema() (fuzz targets, tests).
graph::LayeredNetworkSpec network_spec_of(const Config& config);

}  // namespace cimtlm::platforms
