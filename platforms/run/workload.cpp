#include "platforms/run/workload.h"

#include <filesystem>
#include <map>
#include <set>

#include "compiler/graph/input_limits.h"
#include "compiler/graph/layered_network.h"
#include "compiler/graph/lowering.h"
#include "compiler/onnx/onnx_io.h"
#include "platforms/config/config.h"
#include "platforms/config/network_config.h"

namespace cimtlm::platforms {

namespace fs = std::filesystem;

namespace {

std::string extension_of(const std::string& path) {
  std::string extension = fs::path(path).extension().string();
  for (auto& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return extension;
}

// A model the platform can run as is: it has quantized ops (QDQ pairs, QLinear*, *Integer, the
// com.microsoft contrib ops of onnxruntime-optimized models, or cimtlm's own).
bool is_quantized(const graph::Graph& graph) {
  for (const auto& node : graph.nodes) {
    const std::string& op = node.op_type;
    if (node.domain == "cimtlm" || node.domain == "com.microsoft" || op == "QuantizeLinear" ||
        op == "DequantizeLinear" || op == "DynamicQuantizeLinear" || op.rfind("QLinear", 0) == 0 ||
        op == "ConvInteger" || op == "MatMulInteger") {
      return true;
    }
  }
  return false;
}

graph::Graph load_network_file(const std::string& path);

}  // namespace

graph::Graph load_network(const std::string& path) {
  try {
    return load_network_file(path);
  } catch (const graph::TensorSizeError& error) {
    // Shapes that follow from the file (units: 1e12, a huge input shape) exceed the budget.
    throw graph::ModelError(path + ": " + error.what());
  }
}

namespace {

graph::Graph load_network_file(const std::string& path) {
  const std::string extension = extension_of(path);
  if (extension == ".yaml" || extension == ".yml") {
    return graph::build_layered_network(load_network_spec(path));
  }
  if (extension == ".onnx") {
    graph::Graph graph = onnx::load_onnx(path);
    if (!is_quantized(graph)) {
      throw graph::ModelError(path + ": a float model; quantize it first (cimtlm quantize " + path +
                              " --calib DATA --platform P.yaml -o NET.q.onnx)");
    }
    try {
      return graph::lower_quantized(graph);
    } catch (const graph::ModelError& error) {
      throw graph::ModelError(path + ": " + error.what());
    }
  }
  const std::string problem = graph::check_input_file(path);
  if (!problem.empty()) throw ConfigError((path.empty() ? "''" : path) + ": " + problem);
  throw ConfigError(path + ": unknown network format '" + extension +
                    "' (expected a layer-list .yaml or an .onnx model)");
}

}  // namespace

std::vector<PreparedNetwork> prepare_networks(
    const std::vector<std::string>& paths,
    const std::vector<std::pair<std::string, std::string>>& inputs, uint64_t seed) {
  std::vector<PreparedNetwork> networks;
  std::set<std::string> names;
  for (const auto& path : paths) {
    PreparedNetwork network;
    network.path = path;
    network.graph = load_network(path);
    // Valid ONNX, nothing to simulate: an empty input would "match" with 0 values compared.
    for (const auto& input : network.graph.inputs) {
      for (size_t axis = 0; axis < input.shape.size(); ++axis) {
        if (input.shape[axis] == 0) {
          throw ConfigError(path + ": graph input '" + input.name + "' has extent 0 on axis " +
                            std::to_string(axis) + ": an empty tensor leaves nothing to simulate");
        }
      }
    }
    network.name = network.graph.name.empty() ? fs::path(path).stem().string() : network.graph.name;
    // Two networks may share a name (the same file twice): keep names unique.
    std::string unique = network.name;
    for (int copy = 2; names.count(unique); ++copy) unique = network.name + "_" + std::to_string(copy);
    network.name = unique;
    names.insert(unique);
    networks.push_back(std::move(network));
  }

  // Inputs from files: "name=file", "network:name=file", or positional files ("" names) that
  // go to the first network's inputs in order.
  std::set<size_t> used;
  size_t positional = 0;
  for (size_t index = 0; index < networks.size(); ++index) {
    PreparedNetwork& network = networks[index];
    network.inputs = graph::random_inputs(network.graph, seed + 977 * index);
    for (size_t item = 0; item < inputs.size(); ++item) {
      const auto& input = inputs[item];
      std::string value_name = input.first;
      if (value_name.empty()) {
        if (index != 0) continue;
        if (positional >= network.graph.inputs.size()) {
          throw ConfigError("--input " + input.second + ": network '" + network.name + "' has only " +
                            std::to_string(network.graph.inputs.size()) + " inputs");
        }
        value_name = network.graph.inputs[positional++].name;
      } else {
        const size_t colon = value_name.find(':');
        if (colon != std::string::npos) {
          if (value_name.substr(0, colon) != network.name) continue;
          value_name = value_name.substr(colon + 1);
        }
      }
      auto slot = network.inputs.find(value_name);
      if (slot == network.inputs.end()) continue;
      graph::Tensor tensor = onnx::load_tensor_file(input.second);
      const graph::ValueInfo* info = nullptr;
      for (const auto& graph_input : network.graph.inputs) {
        if (graph_input.name == value_name) info = &graph_input;
      }
      if (tensor.type() != slot->second.type()) {
        throw graph::ModelError(input.second + ": input '" + value_name + "' of network '" +
                                network.name + "' must be " + graph::to_string(slot->second.type()) +
                                ", the file holds " + graph::to_string(tensor.type()));
      }
      bool shape_ok = info && info->shape.size() == tensor.shape().size();
      for (size_t d = 0; shape_ok && d < info->shape.size(); ++d) {
        if (info->shape[d] >= 0 && info->shape[d] != tensor.shape()[d]) shape_ok = false;
      }
      if (!shape_ok) {
        throw graph::ModelError(input.second + ": input '" + value_name + "' of network '" +
                                network.name + "' must have shape " +
                                graph::to_string(info ? info->shape : slot->second.shape()) +
                                ", the file holds " + graph::to_string(tensor.shape()));
      }
      slot->second = std::move(tensor);
      used.insert(item);
    }
    network.values = graph::ReferenceExecutor(network.graph).run(network.inputs, true);
  }
  for (size_t item = 0; item < inputs.size(); ++item) {
    const auto& input = inputs[item];
    if (!used.count(item)) {
      std::string known;
      for (const auto& network : networks) {
        for (const auto& graph_input : network.graph.inputs) {
          known += (known.empty() ? "" : ", ") +
                   (networks.size() > 1 ? network.name + ":" : std::string()) + graph_input.name;
        }
      }
      throw ConfigError("--input " + input.first + "=" + input.second +
                        ": no network has an input named '" + input.first + "' (inputs: " + known + ")");
    }
  }
  return networks;
}

}  // namespace cimtlm::platforms
