#include "compiler/quant/precision_allocation.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>

#include "compiler/graph/quantized_math.h"

namespace cimtlm::quant {

using graph::DataType;
using graph::Graph;
using graph::Node;
using graph::Tensor;

namespace {

std::string format(double value) {
  std::ostringstream text;
  text.precision(4);
  text << value;
  return text.str();
}

}  // namespace

PrecisionAllocation allocate_precision(int total_cores, const std::vector<NetworkDemand>& networks,
                                       std::vector<int> levels) {
  std::sort(levels.begin(), levels.end(), std::greater<int>());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  if (levels.empty()) throw std::invalid_argument("allocate_precision: no precision levels");
  if (total_cores < 0) throw std::invalid_argument("allocate_precision: negative core count");
  for (const auto& network : networks) {
    for (size_t l = 0; l < levels.size(); ++l) {
      const int bits = levels[l];
      if (!network.cores.count(bits)) {
        throw std::invalid_argument("network '" + network.name + "': cores at " +
                                    std::to_string(bits) + " bits missing");
      }
      if (l > 0 && !network.accuracy_cost.count(bits)) {
        throw std::invalid_argument("network '" + network.name + "': accuracy cost at " +
                                    std::to_string(bits) + " bits missing");
      }
      if (l > 0 && network.cores.at(bits) > network.cores.at(levels[l - 1])) {
        throw std::invalid_argument("network '" + network.name + "' needs more cores at " +
                                    std::to_string(bits) + " bits (" +
                                    std::to_string(network.cores.at(bits)) + ") than at " +
                                    std::to_string(levels[l - 1]) + " bits (" +
                                    std::to_string(network.cores.at(levels[l - 1])) + ")");
      }
    }
  }
  auto cost = [&](const NetworkDemand& network, int bits) {
    auto found = network.accuracy_cost.find(bits);
    return found == network.accuracy_cost.end() ? 0.0 : found->second;  // the top level may omit it
  };
  auto need = [&](int bits) {
    int sum = 0;
    for (const auto& network : networks) sum += network.cores.at(bits);
    return sum;
  };

  PrecisionAllocation allocation;
  // 1. Reference precision: the highest level at which all networks fit together.
  size_t reference = levels.size();
  for (size_t l = 0; l < levels.size(); ++l) {
    if (need(levels[l]) <= total_cores) {
      reference = l;
      break;
    }
  }
  if (reference == levels.size()) {
    allocation.fits = false;
    allocation.target_bits.assign(networks.size(), levels.back());
    allocation.log.push_back("not even " + std::to_string(levels.back()) +
                             "-bit weights fit: the networks need " +
                             std::to_string(need(levels.back())) + " cores, the chip has " +
                             std::to_string(total_cores));
  } else {
    allocation.fits = true;
    allocation.reference_bits = levels[reference];
    allocation.log.push_back(
        "reference precision " + std::to_string(levels[reference]) + " bits: all networks need " +
        std::to_string(need(levels[reference])) + " of " + std::to_string(total_cores) + " cores" +
        (reference > 0 ? " (at " + std::to_string(levels[reference - 1]) +
                             " bits: " + std::to_string(need(levels[reference - 1])) + ")"
                       : std::string()));
    if (reference == 0) {
      allocation.target_bits.assign(networks.size(), levels[0]);
    } else {
      // 2. Targets: one level above the reference, then the cheapest downgrades per freed core.
      const int upper = levels[reference - 1];
      const int lower = levels[reference];
      allocation.target_bits.assign(networks.size(), upper);
      struct Step {
        size_t network;
        int freed;
        double extra_cost;
        double cost_per_core;
      };
      std::vector<Step> steps;
      for (size_t n = 0; n < networks.size(); ++n) {
        const int freed = networks[n].cores.at(upper) - networks[n].cores.at(lower);
        if (freed <= 0) continue;  // keeping the higher precision costs no core
        const double extra = std::max(0.0, cost(networks[n], lower) - cost(networks[n], upper));
        steps.push_back({n, freed, extra, extra / freed});
      }
      std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) {
        if (a.cost_per_core != b.cost_per_core) return a.cost_per_core < b.cost_per_core;
        return a.freed > b.freed;
      });
      int used = need(upper);
      for (const Step& step : steps) {
        if (used <= total_cores) break;
        allocation.target_bits[step.network] = lower;
        used -= step.freed;
        allocation.log.push_back(
            "network '" + networks[step.network].name + "' " + std::to_string(upper) + " -> " +
            std::to_string(lower) + " bits: frees " + std::to_string(step.freed) +
            " cores for accuracy cost " + format(step.extra_cost) + " (" +
            format(step.cost_per_core) + " per core, the least of the networks left); " +
            std::to_string(used) + " cores needed now");
      }
    }
  }
  for (size_t n = 0; n < networks.size(); ++n) {
    allocation.cores.push_back(networks[n].cores.at(allocation.target_bits[n]));
    allocation.cores_used += allocation.cores.back();
  }
  return allocation;
}

// ---------------------------------------------------------------------------------------------

namespace {

bool is_cim_layer(const Graph& graph, const Node& node) {
  if (node.domain != "cimtlm" || (node.op_type != "QConv" && node.op_type != "QGemm")) return false;
  if (node.inputs.size() < 2 || !graph.is_initializer(node.inputs[1])) return false;
  const auto y_type =
      static_cast<DataType>(node.get_int("y_type", static_cast<int64_t>(DataType::Int8)));
  return y_type != DataType::Int32 && node.has("w_scales");
}

int bits_of_range(int64_t lo, int64_t hi) {
  for (int bits = 2; bits <= 8; ++bits) {
    if (lo >= -(int64_t{1} << (bits - 1)) && hi <= (int64_t{1} << (bits - 1)) - 1) return bits;
  }
  return 8;
}

// Layout of a CIM layer's weights: output channel of flat element i.
struct WeightLayout {
  bool conv = true;
  int64_t channels = 1;
  int64_t inner = 1;  // conv: elements per output channel
  int64_t channel(int64_t index) const { return conv ? index / inner : index % channels; }
};

WeightLayout layout_of(const Node& node, const Tensor& weights) {
  WeightLayout layout;
  layout.conv = node.op_type == "QConv";
  if (layout.conv) {
    layout.channels = weights.dim(0);
    layout.inner = weights.elements() / std::max<int64_t>(1, layout.channels);
  } else {
    layout.channels = weights.dim(weights.rank() - 1);  // [K, N]
  }
  return layout;
}

std::string fresh(const Graph& graph, const std::set<std::string>& taken, const std::string& base) {
  std::string name = base;
  for (int suffix = 1; graph.is_initializer(name) || taken.count(name); ++suffix) {
    name = base + "_" + std::to_string(suffix);
  }
  return name;
}

}  // namespace

Graph requantize_cim_weights(const Graph& lowered, const std::map<std::string, int>& bits_of,
                             int default_bits, CalibrationMethod method,
                             std::vector<RequantizedLayer>* report) {
  Graph graph = lowered;
  std::set<std::string> taken;
  for (const auto& node : graph.nodes) taken.insert(node.outputs.begin(), node.outputs.end());
  for (auto& node : graph.nodes) {
    if (!is_cim_layer(graph, node)) continue;
    auto wanted = bits_of.find(node.name);
    const int bits = wanted == bits_of.end() ? default_bits : wanted->second;
    if (bits == 0) continue;
    weight_code_max(bits);  // throws outside 2..8
    const Tensor& weights = *graph.initializer(node.inputs[1]);
    if (weights.type() != DataType::Int8 && weights.type() != DataType::UInt8) {
      throw graph::ModelError(node.describe() + ": weights are " +
                              graph::to_string(weights.type()) + ", not 8-bit");
    }
    const WeightLayout layout = layout_of(node, weights);
    const std::vector<float> scales = node.get_floats("w_scales");
    std::vector<int64_t> zero_points = node.get_ints("w_zero_points", {0});
    const bool per_channel = scales.size() > 1;
    if (per_channel && static_cast<int64_t>(scales.size()) != layout.channels) {
      throw graph::ModelError(node.describe() + ": " + std::to_string(scales.size()) +
                              " weight scales for " + std::to_string(layout.channels) +
                              " output channels");
    }
    auto group_of = [&](int64_t index) {
      return per_channel ? static_cast<size_t>(layout.channel(index)) : size_t{0};
    };
    auto zero_point_of = [&](size_t group) {
      return static_cast<int32_t>(
          zero_points.size() == 1 ? zero_points[0] : zero_points.at(per_channel ? group : 0));
    };
    const int64_t count = weights.elements();
    const size_t groups = per_channel ? scales.size() : 1;

    // Dequantized weights per group, and the bits the centred codes need now.
    std::vector<std::vector<float>> values(groups);
    int64_t lo = 0, hi = 0;
    for (int64_t i = 0; i < count; ++i) {
      const size_t group = group_of(i);
      const int64_t centred = weights.as_int(i) - zero_point_of(group);
      lo = std::min(lo, centred);
      hi = std::max(hi, centred);
      values[group].push_back(graph::dequantize(static_cast<int32_t>(weights.as_int(i)),
                                                scales[per_channel ? group : 0],
                                                zero_point_of(group)));
    }
    RequantizedLayer entry;
    entry.layer = node.name;
    entry.from_bits = bits_of_range(lo, hi);
    entry.to_bits = std::min(bits, entry.from_bits);
    if (entry.from_bits <= bits) {
      if (report) report->push_back(entry);
      continue;
    }
    std::vector<float> new_scales(groups);
    for (size_t group = 0; group < groups; ++group)
      new_scales[group] = weight_group_scale(values[group], bits, method);

    Tensor codes(weights.type(), weights.shape());
    const auto container_lo = static_cast<int32_t>(graph::lowest(weights.type()));
    const auto container_hi = static_cast<int32_t>(graph::highest(weights.type()));
    const int32_t q_lo = weight_code_min(bits), q_hi = weight_code_max(bits);
    double error = 0.0, energy = 0.0;
    for (int64_t i = 0; i < count; ++i) {
      const size_t group = group_of(i);
      const int32_t zero_point = zero_point_of(group);
      const float original = graph::dequantize(static_cast<int32_t>(weights.as_int(i)),
                                               scales[per_channel ? group : 0], zero_point);
      const int32_t q = graph::quantize(original, new_scales[group], 0, q_lo, q_hi);
      const int32_t code = std::clamp(q + zero_point, container_lo, container_hi);
      if (weights.type() == DataType::Int8) {
        codes.data<int8_t>()[i] = static_cast<int8_t>(code);
      } else {
        codes.data<uint8_t>()[i] = static_cast<uint8_t>(code);
      }
      const double d = static_cast<double>(original) -
                       static_cast<double>(graph::dequantize(code, new_scales[group], zero_point));
      error += d * d;
      energy += static_cast<double>(original) * original;
    }
    entry.relative_error = energy > 0.0 ? error / energy : 0.0;
    const std::string weight_name =
        fresh(graph, taken, node.inputs[1] + "_" + std::to_string(bits) + "bit");
    taken.insert(weight_name);
    graph.initializers[weight_name] = std::move(codes);
    node.inputs[1] = weight_name;
    node.attributes["w_scales"] = graph::Attribute::of_floats(new_scales);

    // The int32 bias is in units of x_scale * w_scale: rescale it to the new weight scales.
    if (node.has_input(2) && graph.is_initializer(node.inputs[2])) {
      const Tensor& bias = *graph.initializer(node.inputs[2]);
      if (bias.type() != DataType::Int32)
        throw graph::ModelError(node.describe() + ": bias is not int32");
      const float x_scale = node.get_float("x_scale");
      Tensor rescaled(DataType::Int32, bias.shape());
      for (int64_t c = 0; c < bias.elements(); ++c) {
        const size_t group = per_channel ? static_cast<size_t>(c) : 0;
        const double old_unit = static_cast<double>(x_scale * scales[group]);
        const double new_unit = static_cast<double>(x_scale * new_scales[group]);
        const double value =
            std::nearbyint(static_cast<double>(bias.data<int32_t>()[c]) * old_unit / new_unit);
        if (std::fabs(value) > 2147483647.0)
          throw graph::ModelError(node.describe() + ": rescaled bias overflows int32");
        rescaled.data<int32_t>()[c] = static_cast<int32_t>(value);
      }
      const std::string bias_name =
          fresh(graph, taken, node.inputs[2] + "_" + std::to_string(bits) + "bit");
      taken.insert(bias_name);
      graph.initializers[bias_name] = std::move(rescaled);
      node.inputs[2] = bias_name;
    }
    graph.metadata["cimtlm.weight_bits." + node.name] = std::to_string(bits);
    if (report) report->push_back(entry);
  }
  // Old weights and biases nobody reads any more.
  std::set<std::string> used;
  for (const auto& node : graph.nodes) used.insert(node.inputs.begin(), node.inputs.end());
  for (const auto& output : graph.outputs) used.insert(output.name);
  for (auto it = graph.initializers.begin(); it != graph.initializers.end();) {
    it = used.count(it->first) ? std::next(it) : graph.initializers.erase(it);
  }
  return graph;
}

double weight_error_proxy(const Graph& lowered, int bits, const graph::ValueMap* values) {
  std::vector<RequantizedLayer> layers;
  requantize_cim_weights(lowered, {}, bits, CalibrationMethod::Mse, &layers);
  double weighted = 0.0, total = 0.0;
  for (const auto& layer : layers) {
    const Node* node = nullptr;
    for (const auto& candidate : lowered.nodes) {
      if (candidate.name == layer.layer) node = &candidate;
    }
    if (!node) continue;
    const Tensor& weights = *lowered.initializer(node->inputs[1]);
    double weight = static_cast<double>(weights.elements());
    if (values) {
      auto output = values->find(node->outputs[0]);
      if (output != values->end()) {
        const WeightLayout layout = layout_of(*node, weights);
        weight = static_cast<double>(output->second.elements()) *
                 static_cast<double>(weights.elements()) /
                 static_cast<double>(std::max<int64_t>(1, layout.channels));
      }
    }
    weighted += weight * layer.relative_error;
    total += weight;
  }
  return total > 0.0 ? weighted / total : 0.0;
}

}  // namespace cimtlm::quant
