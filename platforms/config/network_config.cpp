#include "platforms/config/network_config.h"

#include "network_keys.h"
#include "platforms/config/config.h"

namespace cimtlm::platforms {

namespace {
namespace layer_key = network_keys::layers::item;
}  // namespace

graph::LayeredNetworkSpec load_network_spec(const std::string& path) {
  return network_spec_of(load_config(path, network_schema()));
}

graph::LayeredNetworkSpec network_spec_of(const Config& config) {
  graph::LayeredNetworkSpec spec;
  spec.name = config.string(network_keys::name);
  spec.seed = static_cast<uint64_t>(config.integer(network_keys::seed));
  // Items were checked as integers below 2^62 by the loader; "1e3" is 1000, not stoll's 1.
  for (const auto& extent : config.list(network_keys::input::shape)) {
    spec.input_shape.push_back(static_cast<int64_t>(std::stod(extent)));
  }
  if (spec.input_shape.empty()) {
    throw ConfigError(config.where(network_keys::input::shape) +
                      ": the input shape needs at least one dimension");
  }
  for (int64_t extent : spec.input_shape) {
    if (extent < 1)
      throw ConfigError(config.where(network_keys::input::shape) + ": every extent must be >= 1");
  }
  spec.input_type = config.string(network_keys::input::type) == "int8" ? graph::DataType::Int8
                                                                       : graph::DataType::UInt8;
  spec.input_scale = static_cast<float>(config.number(network_keys::input::scale));
  spec.input_zero_point = static_cast<int32_t>(config.integer(network_keys::input::zero_point));
  const int32_t lo = spec.input_type == graph::DataType::Int8 ? -128 : 0;
  const int32_t hi = spec.input_type == graph::DataType::Int8 ? 127 : 255;
  if (spec.input_zero_point < lo || spec.input_zero_point > hi) {
    throw ConfigError(config.where(network_keys::input::zero_point) + ": zero point " +
                      std::to_string(spec.input_zero_point) + " is outside the range of " +
                      config.string(network_keys::input::type));
  }
  spec.input_sparsity = config.number(network_keys::input::sparsity);
  for (const auto& index : config.items(network_keys::layers::kPath)) {
    const std::string prefix = std::string(network_keys::layers::kPath) + "." + index + ".";
    graph::LayerSpec layer;
    layer.type = config.string(prefix + layer_key::type);
    if (config.has(prefix + layer_key::name)) layer.name = config.string(prefix + layer_key::name);
    auto integer_or = [&](const std::string& key, int64_t fallback) {
      return config.has(prefix + key) ? config.integer(prefix + key) : fallback;
    };
    layer.units = integer_or(layer_key::units, 0);
    layer.channels = integer_or(layer_key::channels, 0);
    layer.kernel = config.integer(prefix + layer_key::kernel);
    layer.stride = config.integer(prefix + layer_key::stride);
    layer.padding = config.integer(prefix + layer_key::padding);
    layer.groups = config.integer(prefix + layer_key::groups);
    layer.activation = config.string(prefix + layer_key::activation);
    layer.weight_bits = static_cast<int>(config.integer(prefix + layer_key::weight_bits));
    layer.weight_sparsity = config.number(prefix + layer_key::weight_sparsity);
    layer.structured_sparsity = config.number(prefix + layer_key::structured_sparsity);
    if (config.has(prefix + layer_key::from)) layer.from = config.string(prefix + layer_key::from);
    layer.where = config.where(prefix + layer_key::type);
    if (layer.type == "dense" && layer.units == 0) {
      throw ConfigError(config.where(prefix + layer_key::type) + ": a dense layer needs 'units'");
    }
    if (layer.type == "conv" && layer.channels == 0) {
      throw ConfigError(config.where(prefix + layer_key::type) + ": a conv layer needs 'channels'");
    }
    if (layer.type == "add" && layer.from.empty()) {
      throw ConfigError(config.where(prefix + layer_key::type) + ": an add layer needs 'from'");
    }
    spec.layers.push_back(layer);
  }
  return spec;
}

}  // namespace cimtlm::platforms
