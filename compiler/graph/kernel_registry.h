// Kernels of the reference executor, looked up by (domain, op_type).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"

namespace cimtlm::graph {

// A kernel reads its inputs (null for an omitted optional input) and fills `outputs`, which the
// executor sizes to the node's output count.
using Kernel = std::function<void(const Node& node, const std::vector<const Tensor*>& inputs,
                                  std::vector<Tensor>& outputs)>;

class KernelRegistry {
 public:
  // The registry with every kernel cimtlm has; built on first use, immutable afterwards.
  static const KernelRegistry& instance();

  void add(const std::string& domain, const std::string& op_type, Kernel kernel);
  // Null when the op is unknown.
  const Kernel* find(const std::string& domain, const std::string& op_type) const;
  std::vector<std::string> ops() const;

 private:
  std::map<std::string, Kernel> kernels_;  // key: "domain::op_type"
};

// Each kernels_*.cpp file registers its ops through one of these.
void register_quantized_kernels(KernelRegistry& registry);
void register_float_kernels(KernelRegistry& registry);
void register_pool_kernels(KernelRegistry& registry);

// Shared input checks for kernels: throw ModelError naming the node.
const Tensor& require_input(const Node& node, const std::vector<const Tensor*>& inputs,
                            size_t index);
void require_type(const Node& node, const Tensor& tensor, std::initializer_list<DataType> allowed,
                  const char* what);
// Scalar or 1-element tensor value as float / int.
float scalar_float(const Node& node, const Tensor& tensor, const char* what);
int32_t scalar_int(const Node& node, const Tensor& tensor, const char* what);

}  // namespace cimtlm::graph
