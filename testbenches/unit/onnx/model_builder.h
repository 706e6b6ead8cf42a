// Small ONNX models built with the protobuf API, for the import tests.
#pragma once

#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/graph/tensor.h"

namespace cimtlm::onnx::testing {

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 13) {
    model_.set_ir_version(8);
    auto* import = model_.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  ModelBuilder& input(const std::string& name, const std::vector<int64_t>& shape,
                      int32_t type = ::onnx::TensorProto_DataType_FLOAT) {
    value_info(*model_.mutable_graph()->add_input(), name, shape, type);
    return *this;
  }
  ModelBuilder& output(const std::string& name, int32_t type = ::onnx::TensorProto_DataType_FLOAT) {
    auto* info = model_.mutable_graph()->add_output();
    info->set_name(name);
    info->mutable_type()->mutable_tensor_type()->set_elem_type(type);
    return *this;
  }
  ModelBuilder& floats(const std::string& name, const std::vector<int64_t>& shape,
                       const std::vector<float>& values) {
    auto* tensor = model_.mutable_graph()->add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(::onnx::TensorProto_DataType_FLOAT);
    for (int64_t extent : shape) tensor->add_dims(extent);
    for (float value : values) tensor->add_float_data(value);
    return *this;
  }
  ModelBuilder& ints(const std::string& name, const std::vector<int64_t>& shape,
                     const std::vector<int64_t>& values) {
    auto* tensor = model_.mutable_graph()->add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(::onnx::TensorProto_DataType_INT64);
    for (int64_t extent : shape) tensor->add_dims(extent);
    for (int64_t value : values) tensor->add_int64_data(value);
    return *this;
  }
  // Adds a node; returns it so that attributes can be added.
  ::onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* node = model_.mutable_graph()->add_node();
    node->set_op_type(op);
    node->set_name(name.empty() ? op + "_" + std::to_string(model_.graph().node_size()) : name);
    for (const auto& input : inputs) node->add_input(input);
    for (const auto& output : outputs) node->add_output(output);
    return *node;
  }

  ::onnx::ModelProto& proto() { return model_; }

  // Serialises to `path` (optionally only the first `keep_bytes` bytes) and returns the path.
  std::string save(const std::string& path, size_t keep_bytes = std::string::npos) const {
    std::string bytes;
    model_.SerializeToString(&bytes);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << bytes.substr(0, keep_bytes);
    return path;
  }

  static void attribute(::onnx::NodeProto& node, const std::string& name, int64_t value) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(::onnx::AttributeProto_AttributeType_INT);
    attribute->set_i(value);
  }
  static void attribute(::onnx::NodeProto& node, const std::string& name, float value) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(::onnx::AttributeProto_AttributeType_FLOAT);
    attribute->set_f(value);
  }
  static void attribute(::onnx::NodeProto& node, const std::string& name, const std::string& value) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(::onnx::AttributeProto_AttributeType_STRING);
    attribute->set_s(value);
  }
  static void attribute(::onnx::NodeProto& node, const std::string& name,
                        const std::vector<int64_t>& values) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(::onnx::AttributeProto_AttributeType_INTS);
    for (int64_t value : values) attribute->add_ints(value);
  }

 private:
  static void value_info(::onnx::ValueInfoProto& info, const std::string& name,
                         const std::vector<int64_t>& shape, int32_t type) {
    info.set_name(name);
    auto* tensor_type = info.mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(type);
    auto* dims = tensor_type->mutable_shape();
    for (int64_t extent : shape) dims->add_dim()->set_dim_value(extent);
  }
  ::onnx::ModelProto model_;
};

// A fresh scratch directory per test.
inline std::filesystem::path scratch_dir(const std::string& test) {
  auto dir = std::filesystem::temp_directory_path() / ("cimtlm_onnx_" + test + "_" +
                                                       std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace cimtlm::onnx::testing
