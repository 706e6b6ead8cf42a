// TensorProto (.pb) and NumPy (.npy) files: round trips for every element type, the typed
// TensorProto fields, files as NumPy writes them, and clear errors on malformed files.
#include <gtest/gtest.h>

#include <fstream>

#include "compiler/onnx/onnx_io.h"
#include "model_builder.h"

namespace cimtlm::onnx {
namespace {

using graph::DataType;
using graph::ModelError;
using graph::Tensor;

class TensorFiles : public ::testing::Test {
 protected:
  std::string path(const std::string& file) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return (testing::scratch_dir(info->name()) / file).string();
  }
  void write(const std::string& file, const std::string& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
};

std::vector<Tensor> one_of_each_type() {
  Tensor flags(DataType::Bool, {3});  // (std::vector<bool> has no data())
  flags.data<bool>()[0] = true;
  flags.data<bool>()[2] = true;
  return {
      Tensor::from<float>({2, 3}, {1.5f, -2.0f, 0.0f, 3.25f, -0.125f, 1e-30f}),
      Tensor::from<double>({2}, {1.0 / 3.0, -7.5}),
      Tensor::from<uint8_t>({4}, {0, 1, 128, 255}),
      Tensor::from<int8_t>({1, 4}, {-128, -1, 0, 127}),
      Tensor::from<uint16_t>({2}, {0, 65535}),
      Tensor::from<int16_t>({2}, {-32768, 32767}),
      Tensor::from<int32_t>({3}, {-2147483647 - 1, 0, 2147483647}),
      Tensor::from<int64_t>({2}, {-(int64_t{1} << 40), int64_t{1} << 40}),
      Tensor::from<uint32_t>({1}, {4000000000u}),
      Tensor::from<uint64_t>({1}, {uint64_t{1} << 60}),
      flags,
      Tensor::scalar<float>(42.0f),
      Tensor(DataType::Float, {0, 3}),
  };
}

TEST_F(TensorFiles, PbRoundTripEveryType) {
  int index = 0;
  for (const Tensor& tensor : one_of_each_type()) {
    const std::string file = path("t" + std::to_string(index++) + ".pb");
    save_tensor_pb(tensor, "value", file);
    std::string name;
    EXPECT_EQ(load_tensor_pb(file, &name), tensor) << file;
    EXPECT_EQ(name, "value");
  }
}

TEST_F(TensorFiles, NpyRoundTripEveryType) {
  int index = 0;
  for (const Tensor& tensor : one_of_each_type()) {
    const std::string file = path("t" + std::to_string(index++) + ".npy");
    save_npy(tensor, file);
    EXPECT_EQ(load_npy(file), tensor) << file;
    EXPECT_EQ(load_tensor_file(file), tensor);
  }
}

TEST_F(TensorFiles, PbTypedFieldsAreRead) {
  ::onnx::TensorProto proto;
  proto.set_data_type(::onnx::TensorProto_DataType_INT8);
  proto.add_dims(3);
  for (int value : {-5, 0, 7}) proto.add_int32_data(value);
  std::string bytes;
  proto.SerializeToString(&bytes);
  write(path("int8.pb"), bytes);
  EXPECT_EQ(load_tensor_pb(path("int8.pb")), Tensor::from<int8_t>({3}, {-5, 0, 7}));

  proto.Clear();
  proto.set_data_type(::onnx::TensorProto_DataType_UINT32);
  proto.add_dims(2);
  proto.add_uint64_data(1);
  proto.add_uint64_data(4000000000u);
  proto.SerializeToString(&bytes);
  write(path("uint32.pb"), bytes);
  EXPECT_EQ(load_tensor_pb(path("uint32.pb")), Tensor::from<uint32_t>({2}, {1, 4000000000u}));
}

TEST_F(TensorFiles, NpyAsNumpyWritesIt) {
  // numpy.save(np.array([[1, 2, 3]], dtype='<i2')), format 1.0: 10 bytes of preamble and the
  // header padded with spaces and a newline to 128 bytes.
  std::string header = "{'descr': '<i2', 'fortran_order': False, 'shape': (1, 3), }";
  header.append(128 - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size());
  bytes += '\0';
  bytes += header;
  bytes += std::string("\x01\x00\x02\x00\x03\x00", 6);
  write(path("numpy.npy"), bytes);
  EXPECT_EQ(load_npy(path("numpy.npy")), Tensor::from<int16_t>({1, 3}, {1, 2, 3}));
}

TEST_F(TensorFiles, MalformedFilesNameTheFile) {
  auto expect_error = [](const std::string& file, const std::string& part) {
    try {
      load_tensor_file(file);
      FAIL() << "no ModelError for " << file;
    } catch (const ModelError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(file), std::string::npos) << message;
      EXPECT_NE(message.find(part), std::string::npos) << message;
    }
  };
  write(path("magic.npy"), "not numpy at all");
  expect_error(path("magic.npy"), "magic");

  save_npy(Tensor::from<float>({4}, {1, 2, 3, 4}), path("short.npy"));
  std::ifstream in(path("short.npy"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write(path("short.npy"), bytes.substr(0, bytes.size() - 3));
  expect_error(path("short.npy"), "bytes");

  std::string big = bytes;
  big.replace(big.find("<f4"), 3, ">f4");
  write(path("big.npy"), big);
  expect_error(path("big.npy"), "big-endian");

  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  write(path("fortran.npy"), fortran);
  expect_error(path("fortran.npy"), "Fortran");

  save_tensor_pb(Tensor::from<float>({64}, std::vector<float>(64, 1.0f)), "t", path("cut.pb"));
  std::ifstream pb(path("cut.pb"), std::ios::binary);
  std::string pb_bytes((std::istreambuf_iterator<char>(pb)), std::istreambuf_iterator<char>());
  write(path("cut.pb"), pb_bytes.substr(0, pb_bytes.size() / 2));
  expect_error(path("cut.pb"), "truncated");

  expect_error(path("tensor.txt"), "expected .pb or .npy");
  expect_error(path("absent.npy"), "no such file");
}

}  // namespace
}  // namespace cimtlm::onnx
