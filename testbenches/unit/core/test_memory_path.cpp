// The controller's memory path beyond b_transport: DMI where the memory grants it (timed by the
// grant's latency per transfer chunk, falling back to b_transport after an invalidation, never
// asked for again where denied) and power gating through the `power` socket. Doubles as in
// test_timing.cpp: 1 ns clock; memory 2 cycles + 16 B/cycle through b_transport, DMI granted
// with 3 cycles per read and 5 per write; macro: one cycle per weight row, 8 per input vector;
// arithmetic unit: 64 8-bit lanes, 4 pipeline cycles; 4 cycles to issue a command. The
// controllers are built without CoreServices (sockets only).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "models/core/dmi_cache.h"
#include "models/memory/power_control.h"
#include "testbenches/unit/core/test_doubles.h"

namespace cimtlm {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr core::Addr kWeights = 0x0000, kInput = 0x1000, kOutput = 0x2000, kCopied = 0x4000;
constexpr uint64_t kDmiReadCycles = 3, kDmiWriteCycles = 5;

// The memory's power-control registers as a target: records the writes (offset, value, time);
// levels beyond `levels` answer with an address error, as MemoryHierarchy::power does.
class PowerRegisters : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket_optional<PowerRegisters> target{"target"};
  struct Write {
    uint64_t offset, value;
    double at_ns;
  };
  std::vector<Write> writes;

  PowerRegisters(const sc_core::sc_module_name& name, int levels)
      : sc_module(name), levels_(levels) {
    target.register_b_transport(this, &PowerRegisters::b_transport);
  }

 private:
  void b_transport(tlm::tlm_generic_payload& payload, sc_time& delay) {
    if (payload.get_address() >= memory::power_regs::offset(levels_) || !payload.is_write()) {
      payload.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    uint64_t value = 0;
    std::memcpy(&value, payload.get_data_ptr(), payload.get_data_length());
    writes.push_back({payload.get_address(), value,
                      static_cast<double>(kernel::to_ps(sc_core::sc_time_stamp() + delay)) / 1000});
    payload.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  int levels_;
};

// Cores of one controller each, its own memory (granting DMI) and one macro.
struct Bench {
  struct Setup {
    bool dmi = true;
    uint64_t max_transfer_bytes = 1 << 20;
    bool power = false;  // bind the `power` socket to a PowerRegisters of two levels
  };
  explicit Bench(const std::vector<Setup>& setups) {
    const int cores = static_cast<int>(setups.size());
    noc = std::make_unique<testing::FixedLatencyServices>("noc", cores, period * 20.0);
    for (int c = 0; c < cores; ++c) {
      const Setup& setup = setups[static_cast<size_t>(c)];
      const std::string name = "core" + std::to_string(c);
      core::CoreParams params;
      params.macros = 1;
      params.dmi = setup.dmi;
      params.max_transfer_bytes = setup.max_transfer_bytes;
      memories.push_back(std::make_unique<testing::FixedLatencyMemory>((name + "_memory").c_str(),
                                                                       1 << 16, 2, 16, period));
      memories.back()->grant_dmi(kDmiReadCycles, kDmiWriteCycles);
      for (size_t i = 0; i < 0x2000; ++i) {
        memories.back()->storage[i] = static_cast<uint8_t>((i * 37 + 11) % 251);
      }
      ariths.push_back(std::make_unique<arith::ArithDevice>(
          (name + "_arith").c_str(), arith::ArithParams{64, 4096}, kernel::Clock(period),
          stats.child(name).child("arith"), nullptr));
      controllers.push_back(std::make_unique<core::CoreController>((name + "_controller").c_str(),
                                                                   c, params, kernel::Clock(period),
                                                                   stats.child(name), nullptr));
      controllers.back()->memory.bind(memories.back()->target);
      controllers.back()->arith.bind(ariths.back()->target);
      controllers.back()->network.bind(noc->interface(c));
      noc->delivery(c).bind(controllers.back()->network_in);
      macros.push_back(std::make_unique<testing::ExactMacro>((name + "_cim0").c_str(), 8, period));
      controllers.back()->cim[0]->bind(macros.back()->target);
      powers.push_back(std::make_unique<PowerRegisters>((name + "_power").c_str(), 2));
      if (setup.power) controllers.back()->power.bind(powers.back()->target);
    }
  }
  void load(int core, std::vector<core::Command> body) {
    core::Program program;
    program.body = std::move(body);
    program.body.push_back(core::InferenceDone{});
    ariths[static_cast<size_t>(core)]->install_kernels(program);
    controllers[static_cast<size_t>(core)]->load(program, 1);
  }
  double finish_ns(int core) const {
    return static_cast<double>(
               kernel::to_ps(controllers[static_cast<size_t>(core)]->finish_time())) /
           1000.0;
  }
  uint64_t count(int core, const std::string& name) const {
    return stats.find_child("core" + std::to_string(core))->find(name)->count;
  }

  const sc_time period{1, SC_NS};
  kernel::StatGroup stats{"chip"};
  std::unique_ptr<testing::FixedLatencyServices> noc;
  std::vector<std::unique_ptr<testing::FixedLatencyMemory>> memories;
  std::vector<std::unique_ptr<arith::ArithDevice>> ariths;
  std::vector<std::unique_ptr<core::CoreController>> controllers;
  std::vector<std::unique_ptr<testing::ExactMacro>> macros;
  std::vector<std::unique_ptr<PowerRegisters>> powers;
};

using Setups = std::vector<Bench::Setup>;

core::Copy copy(core::Addr from, core::Addr to, int64_t bytes) {
  core::Copy command;
  command.source = from;
  command.destination = to;
  command.extent = {1, 1, 1, bytes};
  return command;
}

// A 16 x 8 weight tile, four 16-element input vectors through it, requantized to 32 int8 outputs
// (the program of ControllerTiming.ComputeFinishesWhenTheLastWriteLands).
std::vector<core::Command> compute_program() {
  core::LoadWeights load;
  load.source = kWeights;
  load.rows = 16;
  load.cols = 8;
  load.weight_zero_points.assign(8, 0);
  load.layer = "load";
  core::CimMatmul matmul;
  matmul.source.kind = core::VectorSource::Kind::Rows;
  matmul.source.input = {kInput, core::ElemType::Int8, {4, 16}};
  matmul.source.element_count = 16;
  matmul.source.vector_count = 4;
  matmul.cols = 8;
  matmul.accumulator_stride = 8;
  matmul.layer = "mm";
  core::Requantize requantize;
  requantize.vectors = 4;
  requantize.cols = 8;
  requantize.accumulator_stride = 8;
  requantize.multipliers = std::make_shared<const std::vector<float>>(1, 0.01f);
  requantize.output = {kOutput, core::ElemType::Int8, {4, 8}};
  requantize.out_vector_stride = 8;
  requantize.layer = "requantize";
  return {load, matmul, requantize};
}

TEST(ControllerDmi, ComputeOnDmiFinishesOnTheGrantLatenciesBitExact) {
  // core 0 with DMI, core 1 without (on the same kind of memory, which would grant it).
  Bench bench(Setups{{true}, {false}});
  bench.load(0, compute_program());
  bench.load(1, compute_program());
  sc_core::sc_start();
  for (const auto& controller : bench.controllers) EXPECT_EQ(controller->error(), "");
  // DMI:  load issued at 4, read 128 B: 3 -> 7; 16 rows -> 23. mm issued at 8, read 64 B: 3 ->
  //       11; macro free at 23, 4 vectors x 8 -> 55. requantize: 4 + 2 -> 61; write 32 B: 5 -> 66.
  EXPECT_DOUBLE_EQ(bench.finish_ns(0), 66);
  // b_transport: 72 (ControllerTiming.ComputeFinishesWhenTheLastWriteLands).
  EXPECT_DOUBLE_EQ(bench.finish_ns(1), 72);
  EXPECT_EQ(std::memcmp(bench.memories[0]->storage.data() + kOutput,
                        bench.memories[1]->storage.data() + kOutput, 32),
            0);
  int nonzero = 0;
  for (int i = 0; i < 32; ++i) nonzero += bench.memories[0]->storage[kOutput + i] != 0;
  EXPECT_GT(nonzero, 16);
  // Two reads and a write by DMI: asked once for reads (read-only grant), once for writes.
  EXPECT_EQ(bench.count(0, "dmi_reads"), 2u);
  EXPECT_EQ(bench.count(0, "dmi_writes"), 1u);
  EXPECT_EQ(bench.memories[0]->dmi_requests, 2u);
  EXPECT_EQ(bench.memories[0]->reads + bench.memories[0]->writes, 0u);
  EXPECT_EQ(bench.count(0, "bytes_read"), 192u);
  EXPECT_EQ(bench.count(0, "bytes_written"), 32u);
  // DMI off: never asked, every access through b_transport.
  EXPECT_EQ(bench.memories[1]->dmi_requests, 0u);
  EXPECT_EQ(bench.count(1, "dmi_reads") + bench.count(1, "dmi_writes"), 0u);
  EXPECT_EQ(bench.memories[1]->reads, 2u);
  EXPECT_EQ(bench.memories[1]->writes, 1u);
}

TEST(ControllerDmi, EachTransferChunkCostsTheGrantLatency) {
  Bench bench(Setups{{true, 32}});
  bench.load(0, {copy(kInput, kCopied, 100)});
  sc_core::sc_start();
  EXPECT_EQ(bench.controllers[0]->error(), "");
  // Issued at 4; 100 B in chunks of 32: 4 reads x 3 -> 16, 4 writes x 5 -> 36.
  EXPECT_DOUBLE_EQ(bench.finish_ns(0), 36);
  EXPECT_EQ(bench.count(0, "dmi_reads"), 4u);
  EXPECT_EQ(bench.count(0, "dmi_writes"), 4u);
  EXPECT_EQ(std::memcmp(bench.memories[0]->storage.data() + kCopied,
                        bench.memories[0]->storage.data() + kInput, 100),
            0);
}

TEST(ControllerDmi, InvalidationFallsBackToBTransportAndDenialsAreRemembered) {
  Bench bench(Setups{{true}});
  core::Receive receive;
  receive.from_core = 5;
  receive.tag = 1;
  bench.load(0, {copy(kInput, kCopied, 64), receive, copy(kInput, kCopied + 0x100, 64),
                 copy(kInput, kCopied + 0x200, 64)});
  // At 500 ns the memory withdraws DMI (invalidates and denies from then on), then a host
  // delivers 16 bytes the receive waits for.
  const std::vector<uint8_t> delivered(16, 0x5a);
  sc_core::sc_spawn([&] {
    sc_core::wait(500, SC_NS);
    bench.memories[0]->withdraw_dmi();
    bench.controllers[0]->deliver(5, 1, kOutput, delivered, sc_core::sc_time_stamp());
  });
  sc_core::sc_start();
  EXPECT_EQ(bench.controllers[0]->error(), "");
  // copy 1 by DMI: issued at 4, read 3 -> 7, write 5 -> 12.
  // The delivery at 500 writes through b_transport: 2 + 1 -> 503; the receive resumes there.
  // copy 2 issued at 507: read 2 + 4 -> 513, write 2 + 4 -> 519 (b_transport).
  // copy 3 issued at 511, the DMA free at 519: read -> 525, write -> 531.
  EXPECT_DOUBLE_EQ(bench.finish_ns(0), 531);
  EXPECT_EQ(bench.count(0, "dmi_reads"), 1u);
  EXPECT_EQ(bench.count(0, "dmi_writes"), 1u);
  EXPECT_EQ(bench.memories[0]->reads, 2u);
  EXPECT_EQ(bench.memories[0]->writes, 3u);
  // Asked: a read and a write grant before; after the invalidation one denied write (the
  // delivery) and one denied read (copy 2); copy 3 does not ask again.
  EXPECT_EQ(bench.memories[0]->dmi_requests, 4u);
  EXPECT_EQ(bench.memories[0]->dmi_grants, 2u);
  for (core::Addr to : {kCopied, kCopied + 0x100, kCopied + 0x200}) {
    EXPECT_EQ(std::memcmp(bench.memories[0]->storage.data() + to,
                          bench.memories[0]->storage.data() + kInput, 64),
              0);
  }
  EXPECT_EQ(bench.memories[0]->storage[kOutput + 15], 0x5a);
}

TEST(ControllerDmi, TheTargetsHintLiftsARememberedDenial) {
  Bench bench(Setups{{true}});
  bench.memories[0]->deny_dmi();
  core::Receive receive;
  receive.from_core = 5;
  receive.tag = 1;
  bench.load(0, {copy(kInput, kCopied, 64), receive, copy(kInput, kCopied + 0x100, 64),
                 copy(kInput, kCopied + 0x200, 64)});
  // At 500 ns the memory starts granting DMI (its b_transport responses carry the hint from
  // then on), then a host delivers 16 bytes the receive waits for.
  const std::vector<uint8_t> delivered(16, 0x5a);
  sc_core::sc_spawn([&] {
    sc_core::wait(500, SC_NS);
    bench.memories[0]->grant_dmi(kDmiReadCycles, kDmiWriteCycles);
    bench.controllers[0]->deliver(5, 1, kOutput, delivered, sc_core::sc_time_stamp());
  });
  sc_core::sc_start();
  EXPECT_EQ(bench.controllers[0]->error(), "");
  // copy 1: read and write denied (asked once each), b_transport: issued at 4 -> 10 -> 16.
  // The delivery's write is denied as remembered: b_transport 2 + 1 -> 503; its response's hint
  // (for the address, whatever the command) lifts both denials. copy 2 issued at 507: the read
  // asks, gets a read-only grant: DMI 3 -> 510; the write asks, gets a read-write one: 5 -> 515.
  // copy 3 issued at 511, DMA free at 515: DMI read 3 -> 518, write 5 -> 523, asking nothing.
  EXPECT_DOUBLE_EQ(bench.finish_ns(0), 523);
  EXPECT_EQ(bench.memories[0]->dmi_requests, 4u);
  EXPECT_EQ(bench.memories[0]->dmi_grants, 2u);
  EXPECT_EQ(bench.count(0, "dmi_reads"), 2u);
  EXPECT_EQ(bench.count(0, "dmi_writes"), 2u);
  EXPECT_EQ(bench.memories[0]->reads, 1u);
  EXPECT_EQ(bench.memories[0]->writes, 2u);
  EXPECT_EQ(std::memcmp(bench.memories[0]->storage.data() + kCopied + 0x200,
                        bench.memories[0]->storage.data() + kInput, 64),
            0);
}

TEST(ControllerPower, PowerGateWritesTheLevelRegisterAtTheCommandTime) {
  // core 0 bound to two levels' registers; core 1 unbound; core 2 gates a level that is not
  // there.
  Bench bench(Setups{{false, 1 << 20, true}, {false}, {false, 1 << 20, true}});
  bench.load(0, {copy(kInput, kCopied, 64), core::PowerGate{1, true}, core::PowerGate{1, false}});
  bench.load(1, {core::PowerGate{0, true}});
  bench.load(2, {core::PowerGate{3, true}});
  sc_core::sc_start();
  EXPECT_EQ(bench.controllers[0]->error(), "");
  // copy: issued at 4, read 2 + 4 -> 10, write -> 16. The gate (issued at 8) waits for
  // everything issued before it: register write at 16; the wake, issued at 20, at 20; the
  // inference is done when InferenceDone is issued, at 24.
  const auto& writes = bench.powers[0]->writes;
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].offset, memory::power_regs::offset(1));
  EXPECT_EQ(writes[0].value, memory::power_regs::kGate);
  EXPECT_DOUBLE_EQ(writes[0].at_ns, 16);
  EXPECT_EQ(writes[1].value, memory::power_regs::kWake);
  EXPECT_DOUBLE_EQ(writes[1].at_ns, 20);
  EXPECT_DOUBLE_EQ(bench.finish_ns(0), 24);
  EXPECT_NE(bench.controllers[1]->error().find("gating memory level 0: the `power` socket is not "
                                               "bound"),
            std::string::npos)
      << bench.controllers[1]->error();
  EXPECT_NE(bench.controllers[2]->error().find("gating memory level 3 failed: "
                                               "TLM_ADDRESS_ERROR_RESPONSE"),
            std::string::npos)
      << bench.controllers[2]->error();
}

// The cache itself (plain C++): regions, denials, invalidation and the target's hint.
tlm::tlm_dmi grant(uint64_t start, uint64_t end, tlm::tlm_dmi::dmi_access_e access,
                   unsigned char* pointer) {
  tlm::tlm_dmi dmi;
  dmi.set_start_address(start);
  dmi.set_end_address(end);
  dmi.set_granted_access(access);
  dmi.set_dmi_ptr(pointer);
  return dmi;
}

TEST(DmiCache, RegionsDenialsInvalidationAndHint) {
  unsigned char bytes[256] = {};
  core::DmiCache cache;
  cache.record(false, 0x10, true, grant(0, 0xff, tlm::tlm_dmi::DMI_ACCESS_READ, bytes));
  EXPECT_NE(cache.find(false, 0x00, 0xff), nullptr);
  EXPECT_EQ(cache.find(false, 0xf0, 0x100), nullptr);  // crosses the region's end
  EXPECT_EQ(cache.find(true, 0x10, 0x1f), nullptr);    // read-only
  EXPECT_FALSE(cache.denied(true, 0x10));              // a write may still be granted
  // A read-write grant of the same range replaces the read-only one.
  cache.record(true, 0x10, true, grant(0, 0xff, tlm::tlm_dmi::DMI_ACCESS_READ_WRITE, bytes));
  EXPECT_EQ(cache.regions(), 1u);
  EXPECT_NE(cache.find(true, 0x10, 0x1f), nullptr);
  // A read-only answer to a write request: reads use it, writes are denied over its range.
  cache.record(true, 0x1010, true, grant(0x1000, 0x10ff, tlm::tlm_dmi::DMI_ACCESS_READ, bytes));
  EXPECT_NE(cache.find(false, 0x1000, 0x10ff), nullptr);
  EXPECT_TRUE(cache.denied(true, 0x10ff));
  EXPECT_FALSE(cache.denied(false, 0x10ff));
  // A denial covers the target's range; one naming a range without the address, the address.
  cache.record(false, 0x2000, false, grant(0x2000, 0x2fff, tlm::tlm_dmi::DMI_ACCESS_NONE, nullptr));
  EXPECT_TRUE(cache.denied(false, 0x2fff));
  EXPECT_FALSE(cache.denied(false, 0x3000));
  EXPECT_FALSE(cache.denied(true, 0x2000));
  cache.record(false, 0x5000, false, grant(0x0, 0x10, tlm::tlm_dmi::DMI_ACCESS_NONE, nullptr));
  EXPECT_TRUE(cache.denied(false, 0x5000));
  EXPECT_FALSE(cache.denied(false, 0x5001));
  EXPECT_FALSE(cache.denied(false, 0x10));
  // A grant whose range misses the address is not used.
  cache.record(false, 0x6000, true, grant(0x0, 0x10, tlm::tlm_dmi::DMI_ACCESS_READ, bytes));
  EXPECT_EQ(cache.regions(), 2u);
  EXPECT_NE(cache.find(true, 0x0, 0x10), nullptr);  // the read-write region is still there
  EXPECT_TRUE(cache.denied(false, 0x6000));
  // The DMI hint of a transaction lifts the denials holding its address.
  cache.hinted(0x2800);
  EXPECT_FALSE(cache.denied(false, 0x2000));
  // Invalidation drops the overlapping regions and denials, and only those.
  cache.invalidate(0x80, 0x1000);
  EXPECT_EQ(cache.find(true, 0x10, 0x1f), nullptr);
  EXPECT_EQ(cache.find(false, 0x1000, 0x1000), nullptr);
  EXPECT_FALSE(cache.denied(true, 0x1000));
  EXPECT_TRUE(cache.denied(false, 0x5000));
  EXPECT_EQ(cache.regions(), 0u);
}

}  // namespace
}  // namespace cimtlm
