// The arithmetic unit's kernel op (float-island ops and activation x activation products): it
// returns what the compiler's kernel computes and charges exactly the cycles and energy its
// counts and the unit's parameters give.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "models/arith/arith_unit.h"
#include "models/kernel/stats.h"

namespace cimtlm {
namespace {

// Adds 1.5 to every float of its one input.
class AddOneAndAHalf : public core::ArithKernel {
 public:
  explicit AddOneAndAHalf(size_t bytes) : bytes_(bytes) {}
  void compute(const std::vector<const uint8_t*>& inputs,
               std::vector<std::vector<uint8_t>>& outputs) const override {
    outputs.at(0).resize(bytes_);
    for (size_t i = 0; i < bytes_ / 4; ++i) {
      float value;
      std::memcpy(&value, inputs.at(0) + 4 * i, 4);
      value += 1.5f;
      std::memcpy(outputs[0].data() + 4 * i, &value, 4);
    }
  }

 private:
  size_t bytes_;
};

core::KernelOp command_for(size_t elements, size_t produced_elements) {
  core::KernelOp command;
  core::TensorRef tensor;
  tensor.type = core::ElemType::Float32;
  tensor.shape = {static_cast<int64_t>(elements)};
  command.inputs = {tensor};
  command.outputs = {tensor};
  command.kernel = std::make_shared<AddOneAndAHalf>(produced_elements * 4);
  command.layer = "island";
  return command;
}

TEST(KernelOp, ComputesWithTheKernelAndChargesItsCounts) {
  kernel::StatGroup stats("arith", "arith");
  arith::ArithParams params;  // 16 8-bit lanes, 4 pipeline cycles
  arith::ArithUnit unit(params, stats, nullptr, {"core0", "arith"});
  core::KernelOp command = command_for(8, 8);
  command.float_ops = 100;  // 4 float32 lanes: 4 + 25 cycles
  command.int8_macs = 64;   // 16 8-bit lanes: 4 + 4 cycles
  command.requantized = 8;  // 4 float32 lanes: 4 + 2 cycles
  std::vector<float> input = {0, 1, 2, 3, -1, -2, 0.25f, 100};
  std::vector<std::vector<uint8_t>> outputs;
  const uint64_t cycles =
      unit.kernel_op(command, {reinterpret_cast<const uint8_t*>(input.data())}, outputs);
  EXPECT_EQ(cycles, 29u + 8u + 6u);
  ASSERT_EQ(outputs.size(), 1u);
  ASSERT_EQ(outputs[0].size(), 32u);
  for (size_t i = 0; i < input.size(); ++i) {
    float value;
    std::memcpy(&value, outputs[0].data() + 4 * i, 4);
    EXPECT_EQ(value, input[i] + 1.5f);
  }
  // 100 x eltwise (5.5 pJ) + 64 x 3 x accumulate (0.1 pJ) + 8 x requantize (4.6 pJ).
  const kernel::Stat* energy = stats.find("energy_kernel_ops_pj");
  ASSERT_NE(energy, nullptr);
  EXPECT_NEAR(energy->value, 550.0 + 19.2 + 36.8, 1e-9);
  EXPECT_EQ(stats.find("elements")->count, 8u);
}

TEST(KernelOp, AKernelThatProducesTheWrongSizeIsRefused) {
  kernel::StatGroup stats("arith", "arith");
  arith::ArithUnit unit(arith::ArithParams{}, stats, nullptr, {"core0", "arith"});
  const core::KernelOp command = command_for(8, 7);
  std::vector<float> input(8, 0.0f);
  std::vector<std::vector<uint8_t>> outputs;
  EXPECT_THROW(unit.kernel_op(command, {reinterpret_cast<const uint8_t*>(input.data())}, outputs),
               std::invalid_argument);
}

}  // namespace
}  // namespace cimtlm
