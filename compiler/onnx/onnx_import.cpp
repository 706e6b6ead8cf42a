// ONNX ModelProto -> graph::Graph (see onnx_io.h for what the result promises).
#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes onnx-ml.pb.h (ONNX_ML=1)
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "compiler/graph/fold_batch_norm.h"
#include "compiler/graph/input_limits.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/onnx/op_checks.h"
#include "compiler/onnx/op_schemas.h"
#include "compiler/onnx/tensor_proto.h"

namespace cimtlm::onnx {

using graph::Attribute;
using graph::DataType;
using graph::Graph;
using graph::ModelError;
using graph::Node;
using graph::Tensor;

namespace {

bool is_default_domain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

// Type and shape of a ValueInfoProto; Undefined type for non-tensors or unsupported elements.
graph::ValueInfo value_info_of(const ::onnx::ValueInfoProto& proto) {
  graph::ValueInfo info;
  info.name = proto.name();
  if (!proto.has_type() || !proto.type().has_tensor_type()) return info;
  const auto& tensor_type = proto.type().tensor_type();
  if (!is_supported_type(tensor_type.elem_type())) return info;
  info.type = static_cast<DataType>(tensor_type.elem_type());
  if (!tensor_type.has_shape()) {
    info.type = DataType::Undefined;  // rank unknown
    return info;
  }
  for (const auto& dim : tensor_type.shape().dim()) {
    info.shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
  }
  return info;
}

// Graph input/output: must be a tensor of a supported element type.
graph::ValueInfo interface_value(const ::onnx::ValueInfoProto& proto, const std::string& origin,
                                 const char* what) {
  const std::string context = origin + ": graph " + what + " '" + proto.name() + "'";
  if (!proto.has_type() || !proto.type().has_tensor_type()) {
    throw ModelError(context +
                     " is not a tensor (sequences, maps and optionals are not supported)");
  }
  const int32_t elem_type = proto.type().tensor_type().elem_type();
  if (!is_supported_type(elem_type)) {
    throw ModelError(context + " has element type " + onnx_type_name(elem_type) +
                     ", which is not supported");
  }
  graph::ValueInfo info = value_info_of(proto);
  info.type = static_cast<DataType>(elem_type);
  if (proto.type().tensor_type().has_shape()) {
    const auto& dims = proto.type().tensor_type().shape().dim();
    for (int axis = 0; axis < dims.size(); ++axis) {
      // dim_value must be >= 0 (a dynamic axis has a dim_param name instead).
      if (dims[axis].has_dim_value() && dims[axis].dim_value() < 0) {
        throw ModelError(context + " has extent " + std::to_string(dims[axis].dim_value()) +
                         " on axis " + std::to_string(axis) +
                         " (extents are >= 0; a dynamic axis is named with dim_param)");
      }
    }
    try {
      // Unknown extents become 1 when inputs are drawn; the rest must fit the memory budget.
      graph::Shape shape = info.shape;
      for (auto& extent : shape) extent = extent < 0 ? 1 : extent;
      graph::checked_tensor_bytes(info.type, shape);
    } catch (const graph::TensorSizeError& error) {
      throw ModelError(context + ": " + error.what());
    }
  }
  return info;
}

Attribute convert_attribute(const ::onnx::AttributeProto& proto, const std::string& context) {
  if (!proto.ref_attr_name().empty()) {
    throw ModelError(context + ": attribute references (functions) are not supported");
  }
  switch (proto.type()) {
    case ::onnx::AttributeProto_AttributeType_INT:
      return Attribute::of_int(proto.i());
    case ::onnx::AttributeProto_AttributeType_FLOAT:
      return Attribute::of_float(proto.f());
    case ::onnx::AttributeProto_AttributeType_STRING:
      return Attribute::of_string(proto.s());
    case ::onnx::AttributeProto_AttributeType_INTS:
      return Attribute::of_ints({proto.ints().begin(), proto.ints().end()});
    case ::onnx::AttributeProto_AttributeType_FLOATS:
      return Attribute::of_floats({proto.floats().begin(), proto.floats().end()});
    case ::onnx::AttributeProto_AttributeType_STRINGS: {
      Attribute attribute;
      attribute.kind = Attribute::Kind::Strings;
      attribute.strings.assign(proto.strings().begin(), proto.strings().end());
      return attribute;
    }
    case ::onnx::AttributeProto_AttributeType_TENSOR:
      return Attribute::of_tensor(tensor_from_proto(proto.t(), context));
    default:
      throw ModelError(context + ": attribute kind " + std::to_string(proto.type()) +
                       " (graphs, sparse tensors, type protos, lists of tensors) is not supported");
  }
}

// A Constant node's value as a tensor.
Tensor constant_value(const ::onnx::NodeProto& proto, const std::string& context) {
  if (proto.attribute_size() != 1) {
    throw ModelError(context + ": a Constant needs exactly one value attribute");
  }
  const auto& attribute = proto.attribute(0);
  const std::string& name = attribute.name();
  const std::string where = context + " attribute '" + name + "'";
  if (name == "value") return tensor_from_proto(attribute.t(), where);
  if (name == "value_float") return Tensor::scalar<float>(attribute.f());
  if (name == "value_int") return Tensor::scalar<int64_t>(attribute.i());
  if (name == "value_floats") {
    return Tensor::from<float>({attribute.floats_size()},
                               {attribute.floats().begin(), attribute.floats().end()});
  }
  if (name == "value_ints") {
    return Tensor::from<int64_t>({attribute.ints_size()},
                                 {attribute.ints().begin(), attribute.ints().end()});
  }
  throw ModelError(where + " is not supported (strings and sparse constants)");
}

// A name not used by any value of the graph, derived from `base`.
std::string fresh_name(const Graph& graph, const std::set<std::string>& used,
                       const std::string& base) {
  for (int suffix = 0;; ++suffix) {
    std::string candidate = base + (suffix ? "_" + std::to_string(suffix) : "");
    if (!used.count(candidate) && !graph.is_initializer(candidate)) return candidate;
  }
}

std::set<std::string> value_names(const Graph& graph) {
  std::set<std::string> names;
  for (const auto& input : graph.inputs) names.insert(input.name);
  for (const auto& node : graph.nodes) {
    names.insert(node.outputs.begin(), node.outputs.end());
    if (!node.name.empty()) names.insert(node.name);
  }
  return names;
}

// Rewrites op forms of opsets before 13 into their opset-13 equivalents.
void upgrade_legacy_ops(Graph& graph, int64_t opset, const KnownValues& known) {
  std::set<std::string> used = value_names(graph);
  std::vector<Node> upgraded;
  upgraded.reserve(graph.nodes.size());
  for (Node& node : graph.nodes) {
    if (!is_default_domain(node.domain)) {
      upgraded.push_back(std::move(node));
      continue;
    }
    if (node.op_type == "Clip" && opset < 11) {
      // Clip-6: min/max attributes (float types only) -> inputs.
      DataType type = DataType::Float;
      auto found = known.find(node.inputs[0]);
      if (found != known.end() && found->second.type == DataType::Double) type = DataType::Double;
      std::vector<std::string> inputs = {node.inputs[0], "", ""};
      const std::pair<const char*, float> bounds[] = {{"min", std::numeric_limits<float>::lowest()},
                                                      {"max", std::numeric_limits<float>::max()}};
      for (size_t index = 0; index < 2; ++index) {
        const char* bound = bounds[index].first;
        if (!node.has(bound)) continue;
        const float value = node.get_float(bound);
        const std::string name = fresh_name(
            graph, used, (node.name.empty() ? node.outputs[0] : node.name) + "_" + bound);
        used.insert(name);
        graph.initializers[name] =
            type == DataType::Double ? Tensor::scalar<double>(value) : Tensor::scalar<float>(value);
        inputs[index + 1] = name;
        node.attributes.erase(bound);
      }
      node.inputs = inputs;
      while (!node.inputs.empty() && node.inputs.back().empty()) node.inputs.pop_back();
      upgraded.push_back(std::move(node));
      continue;
    }
    if (node.op_type == "Softmax" && opset < 13) {
      // Softmax-1/11: coerce the input to 2-D at `axis` (default 1), softmax over the rows.
      const int64_t axis = node.get_int("axis", 1);
      auto found = known.find(node.inputs[0]);
      if (found == known.end() || found->second.type == DataType::Undefined) {
        throw ModelError(node.describe() + ": Softmax of opset " + std::to_string(opset) +
                         " on an input of unknown rank is not supported");
      }
      const graph::Shape& shape = found->second.shape;
      const auto rank = static_cast<int64_t>(shape.size());
      if (axis < -rank || axis > rank) {
        throw ModelError(node.describe() + ": axis " + std::to_string(axis) + " out of range");
      }
      const int64_t normalized = axis < 0 ? axis + rank : axis;
      node.attributes.erase("axis");
      if (normalized >= rank - 1) {
        // Coercion to [prod(shape[:axis]), prod(shape[axis:])] is a softmax over the last axis.
        node.attributes["axis"] = Attribute::of_int(-1);
        upgraded.push_back(std::move(node));
        continue;
      }
      if (std::find(shape.begin(), shape.end(), -1) != shape.end()) {
        throw ModelError(node.describe() + ": Softmax of opset " + std::to_string(opset) +
                         " over axes " + std::to_string(normalized) +
                         ".. of an input with dynamic shape " + graph::to_string(shape) +
                         " is not supported");
      }
      const std::string base = node.name.empty() ? node.outputs[0] : node.name;
      Node flatten;
      flatten.name = fresh_name(graph, used, base + "_coerce_2d");
      used.insert(flatten.name);
      flatten.op_type = "Flatten";
      flatten.inputs = {node.inputs[0]};
      flatten.outputs = {fresh_name(graph, used, base + "_rows")};
      used.insert(flatten.outputs[0]);
      flatten.attributes["axis"] = Attribute::of_int(normalized);
      Node restore;
      restore.name = fresh_name(graph, used, base + "_restore_shape");
      used.insert(restore.name);
      restore.op_type = "Reshape";
      const std::string shape_name = fresh_name(graph, used, base + "_shape");
      used.insert(shape_name);
      graph.initializers[shape_name] = Tensor::from<int64_t>({rank}, shape);
      const std::string softmax_out = fresh_name(graph, used, base + "_softmax_rows");
      used.insert(softmax_out);
      restore.inputs = {softmax_out, shape_name};
      restore.outputs = node.outputs;
      node.inputs = {flatten.outputs[0]};
      node.outputs = {softmax_out};
      node.attributes["axis"] = Attribute::of_int(-1);
      upgraded.push_back(std::move(flatten));
      upgraded.push_back(std::move(node));
      upgraded.push_back(std::move(restore));
      continue;
    }
    upgraded.push_back(std::move(node));
  }
  graph.nodes = std::move(upgraded);
}

// Values whose type/shape is known from the (shape-inferred) model.
KnownValues known_values(const ::onnx::ModelProto& model, const Graph& graph) {
  KnownValues known;
  auto add = [&](const ::onnx::ValueInfoProto& proto) {
    graph::ValueInfo info = value_info_of(proto);
    if (info.type != DataType::Undefined) known[info.name] = info;
  };
  for (const auto& proto : model.graph().input()) add(proto);
  for (const auto& proto : model.graph().value_info()) add(proto);
  for (const auto& proto : model.graph().output()) add(proto);
  for (const auto& entry : graph.initializers) {
    known[entry.first] = graph::ValueInfo{entry.first, entry.second.type(), entry.second.shape()};
  }
  return known;
}

// Reorders the nodes of `proto` topologically (inputs known before use); nodes whose inputs are
// never produced keep their relative order at the end (the caller has already rejected those).
void sort_nodes_topologically(::onnx::GraphProto& proto) {
  std::set<std::string> available;
  for (const auto& input : proto.input()) available.insert(input.name());
  for (const auto& initializer : proto.initializer()) available.insert(initializer.name());
  std::vector<::onnx::NodeProto> pending(proto.node().begin(), proto.node().end());
  std::vector<::onnx::NodeProto> sorted;
  sorted.reserve(pending.size());
  std::vector<bool> placed(pending.size(), false);
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t index = 0; index < pending.size(); ++index) {
      if (placed[index]) continue;
      const auto& node = pending[index];
      const bool ready = std::all_of(
          node.input().begin(), node.input().end(),
          [&](const std::string& input) { return input.empty() || available.count(input); });
      if (!ready) continue;
      placed[index] = true;
      progress = true;
      available.insert(node.output().begin(), node.output().end());
      sorted.push_back(node);
    }
  }
  for (size_t index = 0; index < pending.size(); ++index) {
    if (!placed[index]) sorted.push_back(pending[index]);
  }
  proto.clear_node();
  for (auto& node : sorted) *proto.add_node() = std::move(node);
}

}  // namespace

Graph parse_onnx(const std::string& bytes, const std::string& origin, const LoadOptions& options) {
  ::onnx::ModelProto model;
  if (bytes.empty()) throw ModelError(origin + ": empty file, not an ONNX model");
  if (!model.ParseFromString(bytes)) {
    throw ModelError(origin + ": not a valid ONNX model (truncated or corrupt protobuf)");
  }
  if (!model.has_graph() || model.ir_version() <= 0) {
    throw ModelError(origin + ": not a valid ONNX model (no graph or IR version; truncated?)");
  }

  Graph graph;
  graph.name = model.graph().name();
  int64_t opset = -1;
  for (const auto& import : model.opset_import()) {
    if (is_default_domain(import.domain())) opset = import.version();
  }
  if (opset < 0) throw ModelError(origin + ": the model imports no default-domain (ai.onnx) opset");
  if (opset < options.min_opset || opset > options.max_opset) {
    throw ModelError(origin + ": opset " + std::to_string(opset) +
                     " is not supported (cimtlm reads " + std::to_string(options.min_opset) + ".." +
                     std::to_string(options.max_opset) +
                     "; convert it with onnx.version_converter)");
  }
  graph.opset = std::max<int64_t>(opset, 13);
  for (const auto& entry : model.metadata_props()) graph.metadata[entry.key()] = entry.value();
  if (!model.producer_name().empty())
    graph.metadata.emplace("producer_name", model.producer_name());

  const auto& proto_graph = model.graph();
  if (proto_graph.sparse_initializer_size() > 0) {
    throw ModelError(origin + ": sparse initializers are not supported");
  }
  for (const auto& initializer : proto_graph.initializer()) {
    const std::string context = origin + ": initializer '" + initializer.name() + "'";
    if (initializer.name().empty()) throw ModelError(origin + ": an initializer has no name");
    if (graph.initializers.count(initializer.name()))
      throw ModelError(context + " is defined twice");
    graph.initializers[initializer.name()] = tensor_from_proto(initializer, context);
  }
  for (const auto& input : proto_graph.input()) {
    if (graph.is_initializer(input.name())) continue;  // IR < 4 lists initializers as inputs
    graph.inputs.push_back(interface_value(input, origin, "input"));
  }
  for (const auto& output : proto_graph.output()) {
    graph.outputs.push_back(interface_value(output, origin, "output"));
  }
  if (graph.outputs.empty()) {
    throw ModelError(origin + ": the graph has no outputs (nothing to compute or compare)");
  }

  std::set<std::string> produced;
  std::vector<std::string> unsupported;  // check_op_known messages
  for (const auto& input : graph.inputs) produced.insert(input.name);
  for (const auto& entry : graph.initializers) produced.insert(entry.first);
  for (int index = 0; index < proto_graph.node_size(); ++index) {
    const auto& proto = proto_graph.node(index);
    Node node;
    node.name = proto.name();
    node.op_type = proto.op_type();
    node.domain = proto.domain() == "ai.onnx" ? "" : proto.domain();
    node.inputs.assign(proto.input().begin(), proto.input().end());
    node.outputs.assign(proto.output().begin(), proto.output().end());
    const std::string context = origin + ": " + node.describe();
    for (const auto& output : node.outputs) {
      if (output.empty()) continue;
      if (!produced.insert(output).second) {
        throw ModelError(context + ": value '" + output + "' is produced twice");
      }
    }
    if (is_default_domain(node.domain) && node.op_type == "Constant") {
      if (node.outputs.size() != 1) throw ModelError(context + ": Constant needs one output");
      graph.initializers[node.outputs[0]] = constant_value(proto, context);
      continue;
    }
    for (const auto& attribute : proto.attribute()) {
      node.attributes[attribute.name()] =
          convert_attribute(attribute, context + " attribute '" + attribute.name() + "'");
    }
    try {
      check_op_at_opset(node, opset);  // first: a changed definition may change the arity
      check_op_known(node);
    } catch (const ModelError& error) {
      unsupported.push_back(error.what());  // reported together below
      continue;
    }
    graph.nodes.push_back(std::move(node));
  }
  // Every unsupported op or arity at once (node, op, why), so that a user sees the whole list.
  if (unsupported.size() == 1) throw ModelError(origin + ": " + unsupported.front());
  if (!unsupported.empty()) {
    std::string message = origin + ": " + std::to_string(unsupported.size()) +
                          " nodes cimtlm cannot import:";
    for (const auto& why : unsupported) message += "\n  " + why;
    throw ModelError(message);
  }

  try {
    graph.sort_topologically();
    for (const auto& output : graph.outputs) {
      if (!produced.count(output.name)) {
        throw ModelError("graph output '" + output.name + "' is not produced by any node");
      }
    }
  } catch (const ModelError& error) {
    throw ModelError(origin + ": " + error.what());
  }

  // Shape inference in strict mode: inconsistent shapes/types are errors. ONNX's inference
  // walks the nodes in file order, so give it them in topological order.
  ::onnx::ModelProto inferred = model;
  sort_nodes_topologically(*inferred.mutable_graph());
  try {
    ::onnx::ShapeInferenceOptions inference_options(/*check_type=*/true, /*strict_mode=*/1,
                                                    /*data_propagation=*/false);
    // Only the schemas of the ops in the model are built (op_schemas.h), not all of ONNX's.
    ::onnx::shape_inference::InferShapes(inferred, &SupportedOpSchemas::instance(),
                                         inference_options);
  } catch (const std::exception& error) {
    throw ModelError(origin + ": shape check failed: " + error.what());
  }
  const KnownValues known = known_values(inferred, graph);

  try {
    upgrade_legacy_ops(graph, opset, known);
    for (const auto& node : graph.nodes) check_node(node, graph, known);
    if (options.fold_batch_norm) graph::fold_batch_norm(graph);
  } catch (const ModelError& error) {
    throw ModelError(origin + ": " + error.what());
  }
  return graph;
}

Graph load_onnx(const std::string& path, const LoadOptions& options) {
  std::string bytes;
  const std::string error = graph::read_input_file(path, bytes);
  if (!error.empty()) throw ModelError(path + ": " + error);
  return parse_onnx(bytes, path, options);
}

}  // namespace cimtlm::onnx
