// graph::Graph -> ONNX ModelProto.
#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes onnx-ml.pb.h (ONNX_ML=1)

#include <fstream>
#include <set>

#include "compiler/onnx/onnx_io.h"
#include "compiler/onnx/tensor_proto.h"

namespace cimtlm::onnx {

using graph::Attribute;
using graph::ModelError;

namespace {

void fill_value_info(const graph::ValueInfo& info, ::onnx::ValueInfoProto& proto) {
  proto.set_name(info.name);
  if (info.type == graph::DataType::Undefined) return;
  auto* tensor_type = proto.mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(static_cast<int32_t>(info.type));
  // graph::ValueInfo cannot tell a scalar from an unknown rank; an absent shape is valid for both.
  if (info.shape.empty()) return;
  auto* shape = tensor_type->mutable_shape();
  for (int64_t extent : info.shape) {
    auto* dim = shape->add_dim();
    if (extent >= 0) dim->set_dim_value(extent);
  }
}

void fill_attribute(const std::string& name, const Attribute& attribute,
                    ::onnx::AttributeProto& proto) {
  proto.set_name(name);
  switch (attribute.kind) {
    case Attribute::Kind::Int:
      proto.set_type(::onnx::AttributeProto_AttributeType_INT);
      proto.set_i(attribute.i);
      break;
    case Attribute::Kind::Float:
      proto.set_type(::onnx::AttributeProto_AttributeType_FLOAT);
      proto.set_f(attribute.f);
      break;
    case Attribute::Kind::String:
      proto.set_type(::onnx::AttributeProto_AttributeType_STRING);
      proto.set_s(attribute.s);
      break;
    case Attribute::Kind::Ints:
      proto.set_type(::onnx::AttributeProto_AttributeType_INTS);
      for (int64_t value : attribute.ints) proto.add_ints(value);
      break;
    case Attribute::Kind::Floats:
      proto.set_type(::onnx::AttributeProto_AttributeType_FLOATS);
      for (float value : attribute.floats) proto.add_floats(value);
      break;
    case Attribute::Kind::Strings:
      proto.set_type(::onnx::AttributeProto_AttributeType_STRINGS);
      for (const auto& value : attribute.strings) proto.add_strings(value);
      break;
    case Attribute::Kind::Tensor:
      proto.set_type(::onnx::AttributeProto_AttributeType_TENSOR);
      if (attribute.tensor) tensor_to_proto(*attribute.tensor, "", *proto.mutable_t());
      break;
  }
}

}  // namespace

void save_onnx(const graph::Graph& graph, const std::string& path) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("cimtlm");
  auto* default_opset = model.add_opset_import();
  default_opset->set_domain("");
  default_opset->set_version(graph.opset);
  std::set<std::string> domains;
  for (const auto& node : graph.nodes) {
    if (!node.domain.empty() && node.domain != "ai.onnx") domains.insert(node.domain);
  }
  for (const auto& domain : domains) {
    auto* opset = model.add_opset_import();
    opset->set_domain(domain);
    opset->set_version(1);
  }
  for (const auto& entry : graph.metadata) {
    if (entry.first == "producer_name") continue;
    auto* property = model.add_metadata_props();
    property->set_key(entry.first);
    property->set_value(entry.second);
  }

  auto* proto_graph = model.mutable_graph();
  proto_graph->set_name(graph.name.empty() ? "cimtlm" : graph.name);
  for (const auto& input : graph.inputs) fill_value_info(input, *proto_graph->add_input());
  for (const auto& output : graph.outputs) fill_value_info(output, *proto_graph->add_output());
  for (const auto& entry : graph.initializers) {
    tensor_to_proto(entry.second, entry.first, *proto_graph->add_initializer());
  }
  for (const auto& node : graph.nodes) {
    auto* proto = proto_graph->add_node();
    proto->set_name(node.name);
    proto->set_op_type(node.op_type);
    if (!node.domain.empty()) proto->set_domain(node.domain);
    for (const auto& input : node.inputs) proto->add_input(input);
    for (const auto& output : node.outputs) proto->add_output(output);
    for (const auto& entry : node.attributes) {
      fill_attribute(entry.first, entry.second, *proto->add_attribute());
    }
  }

  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw ModelError(path + ": cannot serialize the model");
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw ModelError(path + ": cannot create file");
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw ModelError(path + ": write error");
}

}  // namespace cimtlm::onnx
