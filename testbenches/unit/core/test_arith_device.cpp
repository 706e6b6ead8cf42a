// The arithmetic unit through its socket (models/arith/arith_map.h), driven by a plain initiator
// as another platform's CPU or DMA would: parameters written into its parameter memory, operands
// with a run descriptor, the result read back. Results equal the datapath's own, the annotated
// delay equals its cycles, and malformed transactions get TLM error responses with a reason.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/arith/arith_device.h"
#include "models/core/program_codec.h"
#include "models/kernel/stats.h"

namespace cimtlm {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

struct Initiator : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Initiator> bus{"bus"};
  explicit Initiator(const sc_core::sc_module_name& name) : sc_module(name) {}

  // One transaction at time zero; returns its status, the annotated delay in `delay`.
  tlm::tlm_response_status access(tlm::tlm_command command, uint64_t address,
                                  std::vector<uint8_t>& data, arith::ArithCommand* descriptor,
                                  sc_time& delay) {
    tlm::tlm_generic_payload payload;
    payload.set_command(command);
    payload.set_address(address);
    payload.set_data_ptr(data.data());
    payload.set_data_length(static_cast<unsigned>(data.size()));
    payload.set_streaming_width(static_cast<unsigned>(data.size()));
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    arith::ArithCommandExtension extension;
    if (descriptor) {
      extension.command = *descriptor;
      payload.set_extension(&extension);
    }
    delay = sc_core::SC_ZERO_TIME;
    bus->b_transport(payload, delay);
    if (descriptor) {
      *descriptor = extension.command;
      payload.clear_extension(&extension);
    }
    return payload.get_response_status();
  }
  unsigned debug_write(uint64_t address, std::vector<uint8_t> data) {
    tlm::tlm_generic_payload payload;
    payload.set_command(tlm::TLM_WRITE_COMMAND);
    payload.set_address(address);
    payload.set_data_ptr(data.data());
    payload.set_data_length(static_cast<unsigned>(data.size()));
    return bus->transport_dbg(payload);
  }
};

core::Lookup square_table(int64_t elements) {
  core::Lookup lookup;
  lookup.input = {0, core::ElemType::UInt8, {elements}};
  lookup.output = {0, core::ElemType::UInt8, {elements}};
  auto table = std::make_shared<std::array<int32_t, 256>>();
  for (int i = 0; i < 256; ++i) (*table)[static_cast<size_t>(i)] = (i * i) % 256;
  lookup.table = table;
  lookup.layer = "square";
  return lookup;
}

struct Bench {
  const sc_time period{2, SC_NS};
  kernel::StatGroup stats{"chip"};
  arith::ArithDevice device{"arith", arith::ArithParams{}, kernel::Clock(period), stats, nullptr};
  Initiator cpu{"cpu"};
  Bench() { cpu.bus.bind(device.target); }
};

TEST(ArithDevice, LookupThroughTheSocketEqualsTheDatapath) {
  Bench bench;
  const core::Lookup lookup = square_table(40);
  ASSERT_EQ(bench.cpu.debug_write(0x40, core::encode_command(lookup)),
            core::encode_command(lookup).size());
  std::vector<uint8_t> operands(40);
  for (size_t i = 0; i < operands.size(); ++i) operands[i] = static_cast<uint8_t>(7 * i + 3);
  arith::ArithCommand run;
  run.parameters = 0x40;
  sc_time delay;
  ASSERT_EQ(bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kOperands, operands, &run, delay),
            tlm::TLM_OK_RESPONSE);
  // The datapath alone, on the same operands: same result, and the delay is its cycles.
  kernel::StatGroup other_stats("other");
  arith::ArithUnit unit(arith::ArithParams{}, other_stats, nullptr, {"other"});
  std::vector<uint8_t> expected;
  const uint64_t cycles = unit.lookup(lookup, operands.data(), expected);
  EXPECT_EQ(delay, bench.period * static_cast<double>(cycles));
  std::vector<uint8_t> result(40);
  ASSERT_EQ(bench.cpu.access(tlm::TLM_READ_COMMAND, arith::map::kResult, result, nullptr, delay),
            tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(delay, sc_core::SC_ZERO_TIME);
  EXPECT_EQ(result, expected);
  EXPECT_EQ(result[1], static_cast<uint8_t>(10 * 10));
}

TEST(ArithDevice, AccumulatesAndRescalesPartialSums) {
  Bench bench;
  // Two vectors x three columns, stored, then added; then rescaled by 2^-1 into 8 bits.
  std::vector<int32_t> partials = {1, -2, 300, 4, 5, -6};
  std::vector<uint8_t> bytes(partials.size() * 4);
  std::memcpy(bytes.data(), partials.data(), bytes.size());
  arith::ArithCommand accumulate;
  accumulate.opcode = arith::map::kAccumulateSums;
  accumulate.accumulator = 10;
  accumulate.vectors = 2;
  accumulate.cols = 3;
  accumulate.stride = 4;
  accumulate.column_offset = 1;
  sc_time delay;
  ASSERT_EQ(
      bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kAccumulate, bytes, &accumulate, delay),
      tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(delay, sc_core::SC_ZERO_TIME);  // a store takes no cycles of the unit
  accumulate.flags = arith::map::kAdd;
  ASSERT_EQ(
      bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kAccumulate, bytes, &accumulate, delay),
      tlm::TLM_OK_RESPONSE);
  // 6 int32 additions on 4 lanes (16 8-bit lanes) after a 4-cycle fill: 6 cycles.
  EXPECT_EQ(delay, bench.period * 6.0);
  const int32_t* acc = bench.device.unit().accumulators(10, 8);
  EXPECT_EQ(std::vector<int32_t>(acc, acc + 8),
            (std::vector<int32_t>{0, 2, -4, 600, 0, 8, 10, -12}));
  accumulate.flags = 0;
  accumulate.shift = 1;
  accumulate.bits = 8;
  ASSERT_EQ(
      bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kAccumulate, bytes, &accumulate, delay),
      tlm::TLM_OK_RESPONSE);
  // 1/2 -> 0 and 5/2 -> 2 (half to even), 300/2 = 150 saturates at 127.
  const int32_t* rescaled = bench.device.unit().accumulators(10, 8);
  EXPECT_EQ(std::vector<int32_t>(rescaled + 1, rescaled + 4), (std::vector<int32_t>{0, -1, 127}));
  EXPECT_EQ(std::vector<int32_t>(rescaled + 5, rescaled + 8), (std::vector<int32_t>{2, 2, -3}));
}

// Adds one to every byte.
class Increment : public core::ArithKernel {
 public:
  void compute(const std::vector<const uint8_t*>& inputs,
               std::vector<std::vector<uint8_t>>& outputs) const override {
    outputs.at(0).assign(inputs.at(0), inputs.at(0) + 4);
    for (auto& value : outputs[0]) ++value;
  }
};

TEST(ArithDevice, KernelOpsRunKernelsFromTheInstalledTable) {
  Bench bench;
  core::KernelOp op;
  op.inputs = {{0, core::ElemType::UInt8, {4}}};
  op.outputs = {{0, core::ElemType::UInt8, {4}}};
  op.kernel = std::make_shared<Increment>();
  op.float_ops = 4;
  op.layer = "island";
  core::Program program;
  program.body = {op};
  // Slot 0 is named in the parameters; no kernel installed yet: refused with the reason.
  ASSERT_GT(bench.cpu.debug_write(0, core::encode_command(op, 0)), 0u);
  std::vector<uint8_t> operands = {1, 2, 3, 250};
  arith::ArithCommand run;
  sc_time delay;
  EXPECT_EQ(bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kOperands, operands, &run, delay),
            tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(std::string(run.message.data()),
            "kernel op of layer 'island': no kernel in slot 0 (0 installed)");
  bench.device.install_kernels(program);
  run = arith::ArithCommand{};
  ASSERT_EQ(bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kOperands, operands, &run, delay),
            tlm::TLM_OK_RESPONSE);
  std::vector<uint8_t> result(4);
  ASSERT_EQ(bench.cpu.access(tlm::TLM_READ_COMMAND, arith::map::kResult, result, nullptr, delay),
            tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(result, (std::vector<uint8_t>{2, 3, 4, 251}));
}

TEST(ArithDevice, MalformedTransactionsGetErrorResponses) {
  Bench bench;
  const core::Lookup lookup = square_table(8);
  ASSERT_GT(bench.cpu.debug_write(0, core::encode_command(lookup)), 0u);
  EXPECT_EQ(bench.cpu.debug_write(0x100, {1, 2, 3}), 0u);  // not a command encoding
  std::vector<uint8_t> operands(8), short_operands(7), result(9);
  sc_time delay;
  arith::ArithCommand run;
  // No descriptor.
  EXPECT_EQ(
      bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kOperands, operands, nullptr, delay),
      tlm::TLM_COMMAND_ERROR_RESPONSE);
  // Parameters at an offset where nothing was written.
  run.parameters = 8;
  EXPECT_EQ(bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kOperands, operands, &run, delay),
            tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(std::string(run.message.data()), "no command at parameter offset 8");
  // Operands shorter than the tensor.
  run = arith::ArithCommand{};
  EXPECT_EQ(
      bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kOperands, short_operands, &run, delay),
      tlm::TLM_BURST_ERROR_RESPONSE);
  // A run descriptor on the accumulation window, and an accumulation past the memory.
  run = arith::ArithCommand{};
  EXPECT_EQ(
      bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kAccumulate, operands, &run, delay),
      tlm::TLM_COMMAND_ERROR_RESPONSE);
  arith::ArithCommand accumulate;
  accumulate.opcode = arith::map::kAccumulateSums;
  accumulate.accumulator = arith::ArithParams{}.accumulator_bytes / 4 - 1;
  accumulate.vectors = 1;
  accumulate.cols = 2;
  accumulate.stride = 2;
  EXPECT_EQ(bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kAccumulate, operands, &accumulate,
                             delay),
            tlm::TLM_ADDRESS_ERROR_RESPONSE);
  // A read past the result, a read where there is nothing to read, a write to the result.
  EXPECT_EQ(bench.cpu.access(tlm::TLM_READ_COMMAND, arith::map::kResult, result, nullptr, delay),
            tlm::TLM_BURST_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.access(tlm::TLM_READ_COMMAND, arith::map::kOperands, result, nullptr, delay),
            tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.access(tlm::TLM_WRITE_COMMAND, arith::map::kResult, result, nullptr, delay),
            tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.access(tlm::TLM_WRITE_COMMAND, 4 * arith::map::kWindowBytes, result, nullptr,
                             delay),
            tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

}  // namespace
}  // namespace cimtlm
