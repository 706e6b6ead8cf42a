#include "platforms/config/network_config.h"

#include "platforms/config/config.h"

namespace cimtlm::platforms {

graph::LayeredNetworkSpec load_network_spec(const std::string& path) {
  return network_spec_of(load_config(path, network_schema()));
}

graph::LayeredNetworkSpec network_spec_of(const Config& config) {
  graph::LayeredNetworkSpec spec;
  spec.name = config.string("name");
  spec.seed = static_cast<uint64_t>(config.integer("seed"));
  // Items were checked as integers below 2^62 by the loader; "1e3" is 1000, not stoll's 1.
  for (const auto& extent : config.list("input.shape")) {
    spec.input_shape.push_back(static_cast<int64_t>(std::stod(extent)));
  }
  if (spec.input_shape.empty()) {
    throw ConfigError(config.where("input.shape") + ": the input shape needs at least one dimension");
  }
  for (int64_t extent : spec.input_shape) {
    if (extent < 1) throw ConfigError(config.where("input.shape") + ": every extent must be >= 1");
  }
  spec.input_type = config.string("input.type") == "int8" ? graph::DataType::Int8 : graph::DataType::UInt8;
  spec.input_scale = static_cast<float>(config.number("input.scale"));
  spec.input_zero_point = static_cast<int32_t>(config.integer("input.zero_point"));
  const int32_t lo = spec.input_type == graph::DataType::Int8 ? -128 : 0;
  const int32_t hi = spec.input_type == graph::DataType::Int8 ? 127 : 255;
  if (spec.input_zero_point < lo || spec.input_zero_point > hi) {
    throw ConfigError(config.where("input.zero_point") + ": zero point " +
                      std::to_string(spec.input_zero_point) + " is outside the range of " +
                      config.string("input.type"));
  }
  spec.input_sparsity = config.number("input.sparsity");
  for (const auto& index : config.items("layers")) {
    const std::string prefix = "layers." + index + ".";
    graph::LayerSpec layer;
    layer.type = config.string(prefix + "type");
    if (config.has(prefix + "name")) layer.name = config.string(prefix + "name");
    auto integer_or = [&](const std::string& key, int64_t fallback) {
      return config.has(prefix + key) ? config.integer(prefix + key) : fallback;
    };
    layer.units = integer_or("units", 0);
    layer.channels = integer_or("channels", 0);
    layer.kernel = config.integer(prefix + "kernel");
    layer.stride = config.integer(prefix + "stride");
    layer.padding = config.integer(prefix + "padding");
    layer.groups = config.integer(prefix + "groups");
    layer.activation = config.string(prefix + "activation");
    layer.weight_bits = static_cast<int>(config.integer(prefix + "weight_bits"));
    layer.weight_sparsity = config.number(prefix + "weight_sparsity");
    layer.structured_sparsity = config.number(prefix + "structured_sparsity");
    if (config.has(prefix + "from")) layer.from = config.string(prefix + "from");
    layer.where = config.where(prefix + "type");
    if (layer.type == "dense" && layer.units == 0) {
      throw ConfigError(config.where(prefix + "type") + ": a dense layer needs 'units'");
    }
    if (layer.type == "conv" && layer.channels == 0) {
      throw ConfigError(config.where(prefix + "type") + ": a conv layer needs 'channels'");
    }
    if (layer.type == "add" && layer.from.empty()) {
      throw ConfigError(config.where(prefix + "type") + ": an add layer needs 'from'");
    }
    spec.layers.push_back(layer);
  }
  return spec;
}

}  // namespace cimtlm::platforms
