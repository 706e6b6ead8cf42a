#include "compiler/quant/fingerprint.h"

#include <cstdio>

namespace cimtlm::quant {

Fingerprint& Fingerprint::add(const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    state_ ^= p[i];
    state_ *= 1099511628211ull;
  }
  return *this;
}

Fingerprint& Fingerprint::add(const std::string& text) {
  add(static_cast<int64_t>(text.size()));
  return add(text.data(), text.size());
}

Fingerprint& Fingerprint::add(int64_t value) {
  return add(&value, sizeof value);
}

Fingerprint& Fingerprint::add(const graph::Tensor& tensor) {
  add(static_cast<int64_t>(tensor.type()));
  add(static_cast<int64_t>(tensor.rank()));
  for (int64_t dim : tensor.shape()) add(dim);
  return add(tensor.raw(), tensor.bytes());
}

std::string Fingerprint::hex() const {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(state_));
  return text;
}

namespace {

void add_attribute(Fingerprint& print, const graph::Attribute& attribute) {
  print.add(static_cast<int64_t>(attribute.kind));
  print.add(attribute.i);
  print.add(&attribute.f, sizeof attribute.f);
  print.add(attribute.s);
  for (int64_t value : attribute.ints) print.add(value);
  for (float value : attribute.floats) print.add(&value, sizeof value);
  for (const auto& text : attribute.strings) print.add(text);
  if (attribute.tensor) print.add(*attribute.tensor);
}

}  // namespace

std::string graph_fingerprint(const graph::Graph& graph) {
  Fingerprint print;
  print.add(graph.opset);
  for (const auto& input : graph.inputs) {
    print.add(input.name).add(static_cast<int64_t>(input.type));
    for (int64_t dim : input.shape) print.add(dim);
  }
  for (const auto& output : graph.outputs) print.add(output.name);
  for (const auto& entry : graph.initializers) print.add(entry.first).add(entry.second);
  for (const auto& node : graph.nodes) {
    print.add(node.name).add(node.op_type).add(node.domain);
    print.add(static_cast<int64_t>(node.inputs.size()));
    for (const auto& input : node.inputs) print.add(input);
    print.add(static_cast<int64_t>(node.outputs.size()));
    for (const auto& output : node.outputs) print.add(output);
    for (const auto& entry : node.attributes) {  // std::map: sorted by name
      print.add(entry.first);
      add_attribute(print, entry.second);
    }
  }
  return print.hex();
}

std::string samples_fingerprint(const std::vector<graph::ValueMap>& samples) {
  Fingerprint print;
  print.add(static_cast<int64_t>(samples.size()));
  for (const auto& sample : samples) {
    for (const auto& entry : sample) print.add(entry.first).add(entry.second);
  }
  return print.hex();
}

}  // namespace cimtlm::quant
