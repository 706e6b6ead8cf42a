// Programs as bytes in memory (models/core/program_codec.h) and the control registers that start
// them: every command round-trips, malformed images are errors naming the byte offset (never a
// crash), and bad register accesses get TLM error responses.
#include <gtest/gtest.h>

#include <cstring>

#include "models/core/program_codec.h"
#include "testbenches/unit/core/test_doubles.h"

namespace cimtlm {
namespace {

using core::ElemType;

// A program with every encodable command, fields away from their defaults.
core::Program every_command() {
  core::LoadWeights load;
  load.macro = 1;
  load.source = 0x1234;
  load.rows = 17;
  load.cols = 5;
  load.weight_bits = 4;
  load.weights_signed = false;
  load.weight_zero_points = {1, -2, 3, -4, 5};
  load.layer = "load";
  core::CimMatmul matmul;
  matmul.macro = 1;
  matmul.source.kind = core::VectorSource::Kind::ConvPatches;
  matmul.source.input = {0x2000, ElemType::UInt8, {3, 10, 10}};
  matmul.source.first_element = 2;
  matmul.source.element_count = 27;
  matmul.source.element_index = std::make_shared<const std::vector<int64_t>>(27, 4);
  matmul.source.vector_count = 100;
  matmul.source.conv.kernel_h = 3;
  matmul.source.conv.pad_left = 1;
  matmul.cols = 5;
  matmul.input_zero_point = 7;
  matmul.input_bits = 6;
  matmul.accumulator = 64;
  matmul.accumulator_stride = 8;
  matmul.column_offset = 3;
  matmul.accumulate = true;
  matmul.rescale_shift = 2;
  matmul.accumulator_bits = 20;
  matmul.layer = "conv";
  core::Requantize requantize;
  requantize.vectors = 100;
  requantize.cols = 5;
  requantize.bias = std::make_shared<const std::vector<int32_t>>(std::vector<int32_t>{1, 2, 3});
  requantize.multipliers = std::make_shared<const std::vector<float>>(1, 0.125f);
  requantize.column_index = std::make_shared<const std::vector<int64_t>>(5, 9);
  requantize.clamp_min = 0;
  requantize.output = {0x3000, ElemType::Int8, {5, 10, 10}};
  requantize.zero_accumulator = true;
  requantize.layer = "conv";
  core::Lookup lookup;
  lookup.table = std::make_shared<const std::array<int32_t, 256>>();
  lookup.layer = "sigmoid";
  core::Eltwise eltwise;
  eltwise.op = core::Eltwise::Op::Mul;
  eltwise.a_scale = 0.5f;
  eltwise.b_inner = 4;
  core::Pool pool;
  pool.kind = core::Pool::Kind::GlobalAverage;
  pool.count_include_pad = true;
  pool.pad_right = 1;
  core::Softmax softmax;
  softmax.exp_table = std::make_shared<const std::vector<float>>(256, 0.25f);
  softmax.inner = 3;
  core::Quantize quantize;
  quantize.scale = 0.1f;
  core::Dequantize dequantize;
  dequantize.zero_point = -3;
  core::Copy copy;
  copy.type = ElemType::Int32;
  copy.extent = {1, 2, 3, 4};
  copy.source_stride = {24, 12, 4, 1};
  core::Gather gather;
  gather.indices = {0x10, ElemType::Int64, {4}};
  core::Send send;
  send.to_core = 3;
  send.bytes = 99;
  send.tag = 42;
  core::Receive receive;
  receive.from_core = 2;
  receive.tag = 41;
  core::PowerGate gate;
  gate.level = 1;
  gate.gate = false;
  core::Program program;
  program.prologue = {load};
  program.body = {matmul,     requantize, lookup, eltwise, pool,    softmax, quantize,
                  dequantize, copy,       gather, send,    receive, gate,    core::InferenceDone{}};
  return program;
}

TEST(ProgramCodec, EveryCommandRoundTrips) {
  const core::Program program = every_command();
  const std::vector<uint8_t> image = core::encode_program(program);
  const core::Program decoded = core::decode_program(image.data(), image.size());
  EXPECT_EQ(core::encode_program(decoded), image);
  ASSERT_EQ(decoded.prologue.size(), 1u);
  ASSERT_EQ(decoded.body.size(), program.body.size());
  const auto& load = std::get<core::LoadWeights>(decoded.prologue[0]);
  EXPECT_EQ(load.weight_zero_points, (std::vector<int32_t>{1, -2, 3, -4, 5}));
  EXPECT_FALSE(load.weights_signed);
  EXPECT_EQ(load.layer, "load");
  const auto& matmul = std::get<core::CimMatmul>(decoded.body[0]);
  EXPECT_EQ(matmul.source.kind, core::VectorSource::Kind::ConvPatches);
  EXPECT_EQ(matmul.source.input.shape, (std::vector<int64_t>{3, 10, 10}));
  EXPECT_EQ(*matmul.source.element_index, std::vector<int64_t>(27, 4));
  EXPECT_EQ(matmul.accumulator_bits, 20);
  const auto& requantize = std::get<core::Requantize>(decoded.body[1]);
  EXPECT_EQ(*requantize.bias, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_FLOAT_EQ(requantize.multipliers->at(0), 0.125f);
  EXPECT_TRUE(requantize.zero_accumulator);
  EXPECT_TRUE(std::get<core::Lookup>(decoded.body[2]).table != nullptr);
  EXPECT_EQ(std::get<core::Copy>(decoded.body[8]).extent, (std::array<int64_t, 4>{1, 2, 3, 4}));
  EXPECT_EQ(std::get<core::Send>(decoded.body[10]).tag, 42);
}

TEST(ProgramCodec, KernelOpsCannotBeEncoded) {
  core::Program program;
  program.body = {core::KernelOp{}};
  EXPECT_THROW(core::encode_program(program), std::invalid_argument);
}

// Every truncation and every single-byte corruption is either a valid program or a
// ProgramFormatError naming the offset: never another exception, never a read past the image.
TEST(ProgramCodec, MalformedImagesAreFormatErrors) {
  const std::vector<uint8_t> image = core::encode_program(every_command());
  for (size_t length = 0; length < image.size(); ++length) {
    std::vector<uint8_t> truncated(image.begin(), image.begin() + static_cast<long>(length));
    EXPECT_THROW(core::decode_program(truncated.data(), truncated.size()), core::ProgramFormatError)
        << length;
  }
  for (size_t at = 0; at < image.size(); ++at) {
    for (uint8_t value : {uint8_t{0xff}, uint8_t{0x80}, uint8_t{0x00}}) {
      std::vector<uint8_t> corrupt = image;
      corrupt[at] = value;
      try {
        core::decode_program(corrupt.data(), corrupt.size());
      } catch (const core::ProgramFormatError& error) {
        EXPECT_NE(std::string(error.what()).find("at byte"), std::string::npos);
      }
    }
  }
  try {
    std::vector<uint8_t> bad = image;
    bad[0] = 'X';
    core::decode_program(bad.data(), bad.size());
    FAIL();
  } catch (const core::ProgramFormatError& error) {
    EXPECT_STREQ(error.what(), "program image: no \"CIMP\" magic at byte 4");
  }
}

// A start with a bad image finishes at once with the error bits and raises the interrupt; bad
// register accesses get TLM error responses.
TEST(ControlRegisters, BadImageAndBadAccessesAreReported) {
  const sc_core::sc_time period(1, sc_core::SC_NS);
  kernel::StatGroup stats("chip");
  testing::FixedLatencyServices services("noc", 1, period * 20.0);
  testing::FixedLatencyMemory memory("memory", 1 << 16, 2, 16, period);
  arith::ArithDevice arith("arith", arith::ArithParams{64, 4096}, kernel::Clock(period),
                          stats.child("arith"), nullptr);
  core::CoreParams params;
  params.macros = 1;
  core::CoreController controller("controller", 0, params, kernel::Clock(period), services,
                                  stats.child("core"), nullptr);
  controller.arith.bind(arith.target);
  testing::ExactMacro macro("cim0", 8, period);
  controller.memory.bind(memory.target);
  controller.network.bind(services.interface(0));
  services.delivery(0).bind(controller.network_in);
  controller.cim[0]->bind(macro.target);
  std::memset(memory.storage.data() + 0x100, 0xab, 64);  // not a program
  testing::RegisterCpu cpu("cpu", 0x100, 64, 1);
  cpu.bus.bind(controller.control);
  cpu.irq.bind(controller.done_irq);
  std::vector<tlm::tlm_response_status> responses;
  sc_core::sc_spawn([&] {
    wait(sc_core::sc_time(1, sc_core::SC_US));
    uint64_t value = 5;
    cpu.access(tlm::TLM_WRITE_COMMAND, core::regs::kCommands, value);  // read-only
    responses.push_back(cpu.last_response);
    cpu.access(tlm::TLM_READ_COMMAND, core::regs::kStatus + 4, value);  // misaligned
    responses.push_back(cpu.last_response);
    cpu.access(tlm::TLM_READ_COMMAND, core::regs::kSize, value);  // past the map
    responses.push_back(cpu.last_response);
    cpu.access(tlm::TLM_READ_COMMAND, core::regs::kStatus, value, 2);  // 16-bit access
    responses.push_back(cpu.last_response);
    cpu.access(tlm::TLM_WRITE_COMMAND, core::regs::kProgramBytes, value = uint64_t{1} << 40);
    responses.push_back(cpu.last_response);
    cpu.access(tlm::TLM_WRITE_COMMAND, core::regs::kStatus, value = core::regs::kStatusDone);
    responses.push_back(cpu.last_response);
  });
  sc_core::sc_start();
  EXPECT_EQ(cpu.status, core::regs::kStatusDone | core::regs::kStatusError);
  EXPECT_EQ(cpu.error, 1u);
  EXPECT_EQ(cpu.inferences, 0u);
  EXPECT_NE(controller.error().find("program at 0x100: program image: no \"CIMP\" magic"),
            std::string::npos)
      << controller.error();
  EXPECT_EQ(cpu.interrupted_at, sc_core::sc_time(2 + 4, sc_core::SC_NS));  // the 64-byte fetch
  EXPECT_EQ(responses, (std::vector<tlm::tlm_response_status>{
                           tlm::TLM_COMMAND_ERROR_RESPONSE, tlm::TLM_ADDRESS_ERROR_RESPONSE,
                           tlm::TLM_ADDRESS_ERROR_RESPONSE, tlm::TLM_BURST_ERROR_RESPONSE,
                           tlm::TLM_GENERIC_ERROR_RESPONSE, tlm::TLM_OK_RESPONSE}));
  EXPECT_FALSE(controller.done_irq.read());  // cleared with STATUS.done
}

}  // namespace
}  // namespace cimtlm
