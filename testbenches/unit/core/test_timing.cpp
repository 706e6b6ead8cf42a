// Timing truth of the controller: exact finish times of small hand-written programs on the test
// doubles (1 ns clock; memory 2 cycles + 16 B/cycle; macro: one cycle per weight row loaded, 8
// cycles per input vector; arithmetic unit: 64 8-bit lanes, 4 pipeline cycles; 4 cycles to
// issue a command). Each expected time is derived in the comments, so a delay the controller
// drops, or a dependency it forgets, moves a figure and fails the test.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "testbenches/unit/core/test_doubles.h"

namespace cimtlm {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr core::Addr kWeights = 0x0000, kInput = 0x1000, kOutput = 0x2000, kCopied = 0x4000;

// The NoC double, also recording each command's busy interval (CoreServices::command_done).
class RecordingServices : public testing::FixedLatencyServices {
 public:
  using FixedLatencyServices::FixedLatencyServices;
  void command_done(int core, const std::string& layer, const sc_time& begin,
                    const sc_time& end) override {
    intervals[{core, layer}] = {begin, end};
  }
  std::map<std::pair<int, std::string>, std::pair<sc_time, sc_time>> intervals;
};

struct Chip {
  explicit Chip(int cores, int macros = 2) {
    services = std::make_unique<RecordingServices>("noc", cores, period * 20.0);
    core::CoreParams params;
    params.macros = macros;
    for (int c = 0; c < cores; ++c) {
      const std::string name = "core" + std::to_string(c);
      memories.push_back(std::make_unique<testing::FixedLatencyMemory>((name + "_memory").c_str(),
                                                                       1 << 16, 2, 16, period));
      ariths.push_back(std::make_unique<arith::ArithDevice>(
          (name + "_arith").c_str(), arith::ArithParams{64, 4096}, kernel::Clock(period),
          stats.child(name).child("arith"), nullptr));
      controllers.push_back(std::make_unique<core::CoreController>(
          (name + "_controller").c_str(), c, params, kernel::Clock(period), *services,
          stats.child(name), nullptr));
      controllers.back()->memory.bind(memories.back()->target);
      controllers.back()->arith.bind(ariths.back()->target);
      controllers.back()->network.bind(services->interface(c));
      for (int m = 0; m < macros; ++m) {
        macros_.push_back(std::make_unique<testing::ExactMacro>(
            (name + "_cim" + std::to_string(m)).c_str(), 8, period));
        controllers.back()->cim[static_cast<size_t>(m)]->bind(macros_.back()->target);
      }
      services->delivery(c).bind(controllers.back()->network_in);
    }
  }
  // Runs one inference of `programs[c]` on core c; returns each core's finish time in ns.
  std::vector<double> run(const std::vector<std::vector<core::Command>>& programs) {
    for (size_t c = 0; c < programs.size(); ++c) {
      core::Program program;
      program.body = programs[c];
      program.body.push_back(core::InferenceDone{});
      ariths[c]->install_kernels(program);
      controllers[c]->load(program, 1);
    }
    sc_core::sc_start();
    std::vector<double> finish;
    for (const auto& controller : controllers) {
      EXPECT_TRUE(controller->finished());
      EXPECT_EQ(controller->error(), "");
      finish.push_back(static_cast<double>(kernel::to_ps(controller->finish_time())) / 1000.0);
    }
    return finish;
  }
  std::pair<double, double> interval_ns(int core, const std::string& layer) const {
    const auto& found = services->intervals.at({core, layer});
    return {static_cast<double>(kernel::to_ps(found.first)) / 1000.0,
            static_cast<double>(kernel::to_ps(found.second)) / 1000.0};
  }

  const sc_time period{1, SC_NS};
  kernel::StatGroup stats{"chip"};
  std::unique_ptr<RecordingServices> services;
  std::vector<std::unique_ptr<testing::FixedLatencyMemory>> memories;
  std::vector<std::unique_ptr<arith::ArithDevice>> ariths;
  std::vector<std::unique_ptr<core::CoreController>> controllers;
  std::vector<std::unique_ptr<testing::ExactMacro>> macros_;
};

// A 16 x 8 weight tile (128 bytes) at `source` into `macro`.
core::LoadWeights load(int macro, core::Addr source, const std::string& layer) {
  core::LoadWeights command;
  command.macro = macro;
  command.source = source;
  command.rows = 16;
  command.cols = 8;
  command.weight_zero_points.assign(8, 0);
  command.layer = layer;
  return command;
}

// Four 16-element int8 input vectors (64 bytes at kInput) through the tile in `macro`, into
// accumulator entries [0, 32).
core::CimMatmul matmul(int macro, bool accumulate, const std::string& layer, int bits = 32) {
  core::CimMatmul command;
  command.macro = macro;
  command.source.kind = core::VectorSource::Kind::Rows;
  command.source.input = {kInput, core::ElemType::Int8, {4, 16}};
  command.source.element_count = 16;
  command.source.vector_count = 4;
  command.cols = 8;
  command.accumulator_stride = 8;
  command.accumulate = accumulate;
  command.accumulator_bits = bits;
  command.layer = layer;
  return command;
}

// The 4 x 8 accumulators into 32 int8 outputs at kOutput (one contiguous 32-byte write).
core::Requantize requantize(int bits = 32) {
  core::Requantize command;
  command.vectors = 4;
  command.cols = 8;
  command.accumulator_stride = 8;
  command.multipliers = std::make_shared<const std::vector<float>>(1, 0.01f);
  command.output = {kOutput, core::ElemType::Int8, {4, 8}};
  command.out_vector_stride = 8;
  command.accumulator_bits = bits;
  command.layer = "requantize";
  return command;
}

TEST(ControllerTiming, ComputeFinishesWhenTheLastWriteLands) {
  Chip chip(1);
  const auto finish = chip.run({{load(0, kWeights, "load"), matmul(0, false, "mm"), requantize()}});
  // load:  issued at 4; read 128 B: 2 + 8 -> 14; 16 rows into the macro -> 30.
  // mm:    issued at 8; DMA free at 14: read 64 B 2 + 4 -> 20; macro free at 30; 4 vectors x 8
  //        -> 62 (the macro writes the accumulators itself: no accumulation pass).
  // requantize: waits for the accumulators (62); 32 int32 on 16 lanes: 4 + 2 -> 68; write 32 B:
  //        2 + 2 -> 72. InferenceDone waits for everything: 72.
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "load").second, 30);
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "mm").second, 62);
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "requantize").first, 62);
  EXPECT_DOUBLE_EQ(finish[0], 72);
}

TEST(ControllerTiming, AccumulationCyclesReachTheTimeline) {
  Chip chip(1);
  const auto finish = chip.run(
      {{load(0, kWeights, "load"), matmul(0, false, "mm1"), matmul(0, true, "mm2"), requantize()}});
  // load -> 30, mm1 -> 62 as above.
  // mm2:   issued at 12; the third command in flight on macro 0 waits for the first (30); read
  //        64 B -> 36; macro free at 62 -> 94; the arithmetic unit adds 32 int32 partial sums
  //        (16 lanes): 4 + 2 -> 100.
  // requantize: accumulators ready at 100 -> 106; write -> 110.
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "mm2").second, 100);
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "requantize").first, 100);
  EXPECT_DOUBLE_EQ(finish[0], 110);
}

TEST(ControllerTiming, RescaledAccumulationCyclesReachTheTimeline) {
  Chip chip(1);
  const auto finish = chip.run({{load(0, kWeights, "load"), matmul(0, false, "mm1", 16),
                                 matmul(0, true, "mm2", 16), requantize(16)}});
  // 16-bit accumulators: every tile's partial sums pass the arithmetic unit (32 lanes of 16 bits:
  // 4 + 1 = 5 cycles). mm1: macro done at 62 -> 67. mm2: macro 62 -> 94, unit -> 99.
  // requantize: 99 -> 105; write -> 109.
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "mm1").second, 67);
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "mm2").second, 99);
  EXPECT_DOUBLE_EQ(finish[0], 109);
}

TEST(ControllerTiming, ContentionForTheDmaAndAMacro) {
  Chip chip(1);
  const auto finish = chip.run(
      {{load(0, kWeights, "a"), load(1, kWeights + 128, "b"), load(1, kWeights + 256, "c")}});
  // a: read 4 -> 14, load -> 30 (macro 0).
  // b: issued at 8, the DMA is busy until 14: read -> 24, load -> 40 (macro 1).
  // c: issued at 12, DMA until 24: read -> 34; macro 1 busy until 40: load -> 56.
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "b").first, 14);
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "c").first, 24);
  EXPECT_DOUBLE_EQ(finish[0], 56);
}

TEST(ControllerTiming, TransferThenComputeOnTheReceiver) {
  Chip chip(2);
  core::Send send;
  send.to_core = 1;
  send.source = kInput;
  send.destination = kCopied;
  send.bytes = 64;
  send.tag = 7;
  core::Receive receive;
  receive.from_core = 0;
  receive.tag = 7;
  core::Lookup lookup;
  lookup.input = {kCopied, core::ElemType::Int8, {64}};
  lookup.output = {kOutput, core::ElemType::Int8, {64}};
  auto table = std::make_shared<std::array<int32_t, 256>>();
  for (int i = 0; i < 256; ++i) (*table)[static_cast<size_t>(i)] = i - 128;
  lookup.table = table;
  lookup.layer = "lookup";
  const auto finish = chip.run({{send}, {receive, lookup}});
  // core 0: send issued at 4, read 64 B: 2 + 4 -> 10; the network takes it at 10.
  EXPECT_DOUBLE_EQ(finish[0], 10);
  // core 1: the last flit arrives at 10 + 20 = 30 and is written into memory: 2 + 4 -> 36;
  // the receive resumes at 36, the lookup is issued at 40: read -> 46; 64 bytes on 64 lanes:
  // 4 + 1 -> 51; write -> 57.
  EXPECT_DOUBLE_EQ(chip.interval_ns(1, "lookup").first, 40);
  EXPECT_DOUBLE_EQ(finish[1], 57);
  EXPECT_EQ(std::memcmp(chip.memories[1]->storage.data() + kOutput,
                        chip.memories[0]->storage.data() + kInput, 64),
            0);
}

TEST(ControllerTiming, ScoreboardKeepsADependencyBehindThousandsOfWrites) {
  Chip chip(1);
  core::Copy scatter;  // 5000 bytes, one write each (destination stride 2): 5000 ranges
  scatter.source = kInput;
  scatter.destination = kCopied;
  scatter.extent = {1, 1, 1, 5000};
  scatter.destination_stride = {0, 0, 0, 2};
  scatter.layer = "scatter";
  const auto finish =
      chip.run({{load(0, kWeights, "load"), matmul(0, false, "mm"), scatter, requantize()}});
  // The accumulators of mm are ready at 62 (as above). The scatter, issued at 12, reads 5000 B
  // from 20 (2 + 313 -> 335) and writes 5000 single bytes (3 cycles each) -> 15335, leaving
  // 5000 more written ranges behind the accumulators' in the scoreboard. The requantize must
  // still wait for 62 (a scoreboard that dropped old entries let it start at its issue, 16),
  // and its write waits for the DMA: 15335 + 4.
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "scatter").second, 15335);
  EXPECT_DOUBLE_EQ(chip.interval_ns(0, "requantize").first, 62);
  EXPECT_DOUBLE_EQ(finish[0], 15339);
}

}  // namespace
}  // namespace cimtlm
