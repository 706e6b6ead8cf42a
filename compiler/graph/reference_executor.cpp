#include "compiler/graph/reference_executor.h"

#include <algorithm>
#include <set>

#include "compiler/graph/kernel_registry.h"

namespace cimtlm::graph {

const KernelRegistry& KernelRegistry::instance() {
  static const KernelRegistry registry = [] {
    KernelRegistry built;
    register_quantized_kernels(built);
    register_float_kernels(built);
    register_pool_kernels(built);
    return built;
  }();
  return registry;
}

void KernelRegistry::add(const std::string& domain, const std::string& op_type, Kernel kernel) {
  kernels_[domain + "::" + op_type] = std::move(kernel);
}

const Kernel* KernelRegistry::find(const std::string& domain, const std::string& op_type) const {
  // "ai.onnx" is the default domain under its long name.
  const std::string key = (domain == "ai.onnx" ? std::string() : domain) + "::" + op_type;
  auto found = kernels_.find(key);
  return found == kernels_.end() ? nullptr : &found->second;
}

std::vector<std::string> KernelRegistry::ops() const {
  std::vector<std::string> names;
  for (const auto& entry : kernels_) names.push_back(entry.first);
  return names;
}

const Tensor& require_input(const Node& node, const std::vector<const Tensor*>& inputs,
                            size_t index) {
  if (index >= inputs.size() || inputs[index] == nullptr) {
    throw ModelError(node.describe() + ": required input " + std::to_string(index) + " is missing");
  }
  return *inputs[index];
}

void require_type(const Node& node, const Tensor& tensor, std::initializer_list<DataType> allowed,
                  const char* what) {
  for (DataType type : allowed) {
    if (tensor.type() == type) return;
  }
  throw ModelError(node.describe() + ": " + what + " has unsupported type " +
                   to_string(tensor.type()));
}

float scalar_float(const Node& node, const Tensor& tensor, const char* what) {
  if (tensor.elements() != 1) {
    throw ModelError(node.describe() + ": " + what + " must be a scalar, got shape " +
                     to_string(tensor.shape()));
  }
  return static_cast<float>(tensor.as_double(0));
}

int32_t scalar_int(const Node& node, const Tensor& tensor, const char* what) {
  if (tensor.elements() != 1) {
    throw ModelError(node.describe() + ": " + what + " must be a scalar, got shape " +
                     to_string(tensor.shape()));
  }
  return static_cast<int32_t>(tensor.as_int(0));
}

ReferenceExecutor::ReferenceExecutor(const Graph& graph) : graph_(graph) {
  const auto& registry = KernelRegistry::instance();
  for (const auto& node : graph_.nodes) {
    if (!registry.find(node.domain, node.op_type)) {
      throw ModelError(node.describe() + ": op '" +
                       (node.domain.empty() ? "" : node.domain + ".") + node.op_type +
                       "' is not supported by cimtlm");
    }
  }
}

ValueMap ReferenceExecutor::run(const ValueMap& inputs, bool keep_all) const {
  const auto& registry = KernelRegistry::instance();
  ValueMap values;
  for (const auto& input : graph_.inputs) {
    auto found = inputs.find(input.name);
    if (found == inputs.end()) {
      throw ModelError("graph input '" + input.name + "' was not given a value");
    }
    values[input.name] = found->second;
  }

  // Last use of every value, so intermediates can be freed early (keeps peak memory low on
  // large networks).
  std::map<std::string, size_t> last_use;
  for (size_t index = 0; index < graph_.nodes.size(); ++index) {
    for (const auto& name : graph_.nodes[index].inputs) {
      if (!name.empty()) last_use[name] = index;
    }
  }
  std::set<std::string> graph_outputs;
  for (const auto& output : graph_.outputs) graph_outputs.insert(output.name);

  std::vector<const Tensor*> node_inputs;
  for (size_t index = 0; index < graph_.nodes.size(); ++index) {
    const Node& node = graph_.nodes[index];
    node_inputs.clear();
    for (const auto& name : node.inputs) {
      if (name.empty()) {
        node_inputs.push_back(nullptr);
        continue;
      }
      auto value = values.find(name);
      if (value != values.end()) {
        node_inputs.push_back(&value->second);
      } else if (const Tensor* constant = graph_.initializer(name)) {
        node_inputs.push_back(constant);
      } else {
        throw ModelError(node.describe() + ": input '" + name + "' has no value");
      }
    }
    std::vector<Tensor> outputs(node.outputs.size());
    (*registry.find(node.domain, node.op_type))(node, node_inputs, outputs);
    for (size_t output = 0; output < node.outputs.size(); ++output) {
      if (!node.outputs[output].empty()) values[node.outputs[output]] = std::move(outputs[output]);
    }
    if (!keep_all) {
      for (const auto& name : node.inputs) {
        if (name.empty() || graph_outputs.count(name)) continue;
        auto last = last_use.find(name);
        if (last != last_use.end() && last->second == index) values.erase(name);
      }
    }
  }

  if (keep_all) return values;
  ValueMap outputs;
  for (const auto& output : graph_.outputs) {
    auto found = values.find(output.name);
    if (found != values.end()) {
      outputs[output.name] = std::move(found->second);
    } else if (const Tensor* constant = graph_.initializer(output.name)) {
      outputs[output.name] = *constant;
    } else {
      throw ModelError("graph output '" + output.name + "' is not produced by any node");
    }
  }
  return outputs;
}

}  // namespace cimtlm::graph
