// Memory levels and the hierarchy under simulation: latency, data, error responses, retention,
// refresh, power gating, energy, DMI and traces. One sc_start per test (own process).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "models/memory/memory_report.h"
#include "testbenches/unit/memory/memory_bench.h"

namespace cimtlm::memory::test {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

uint64_t cycles(const sc_time& delay) {
  return to_ps(delay) / kCyclePs;
}

// A dynamic level with refresh off and a 1 ms retention at the bench temperature (85 °C).
MemoryLevelParams leaky_level(const std::string& name, RetentionPolicy policy) {
  MemoryLevelParams p = small_level(name, "dosram");
  p.refresh_enabled = false;
  p.retention_s_at_ref = 1e-3;
  p.reference_temperature_k = 358.15;
  p.on_retention_violation = policy;
  return p;
}

const kernel::Stat& stat(const Bench& bench, const std::string& level, const std::string& name) {
  const kernel::StatGroup* group = bench.stats.find_child(level);
  if (group == nullptr || group->find(name) == nullptr) {
    throw std::runtime_error("no statistic " + level + "." + name);
  }
  return *group->find(name);
}

TEST(MemoryHierarchy, AddressMapAndDefaultPlacement) {
  Bench bench(
      {preset("sram"), preset("nosram"), preset("dosram")});
  MemoryHierarchy& memory = *bench.memory;
  ASSERT_EQ(memory.level_count(), 3);
  EXPECT_EQ(memory.base(0), 0u);
  EXPECT_EQ(memory.base(1), 1ULL << 32);
  EXPECT_EQ(memory.base(2), 2ULL << 32);
  EXPECT_EQ(memory.capacity(2), 1u << 20);
  EXPECT_EQ(memory.level_of((1ULL << 32) + 5), 1);
  EXPECT_EQ(memory.level_of((1ULL << 32) + (1 << 20)), -1);  // past the level's capacity
  EXPECT_EQ(memory.level_of(3ULL << 32), -1);
  EXPECT_EQ(memory.level_index("dosram"), 2);
  EXPECT_EQ(memory.weights_level(), 1);      // NOSRAM: the longest retention (OS layer 1)
  EXPECT_EQ(memory.activations_level(), 0);  // SRAM, when present, is the fastest
  MemoryHierarchy os_only("os_only", {preset("nosram"), preset("dosram")},
                          bench.clock, bench.stats.child("os_only"), bench.temperature, nullptr, 1);
  EXPECT_EQ(os_only.weights_level(), 0);      // NOSRAM in OS layer 1
  EXPECT_EQ(os_only.activations_level(), 1);  // DOSRAM in OS layer 2
  EXPECT_NE(bench.stats.find_child("nosram"), nullptr);
  EXPECT_EQ(bench.stats.find_child("nosram")->component(), "memory");
  EXPECT_THROW(
      MemoryHierarchy("duplicate", {preset("sram"), preset("sram")},
                      bench.clock, bench.stats, bench.temperature, nullptr, 1),
      std::invalid_argument);
}

TEST(MemoryLevel, AnnotatedLatencyEqualsTheConfiguredCycles) {
  MemoryLevelParams base_level = small_level("base", "sram");
  MemoryLevelParams stacked = small_level("stacked", "dosram");
  stacked.stack_layer = 2;
  stacked.vertical_hop_cycles = 1;
  Bench bench({base_level, stacked});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(64, 0x5a);
    tlm::tlm_response_status status;
    // One word: exactly write_cycles / read_cycles.
    EXPECT_EQ(cycles(b.write(0, data.data(), 8, status)), 4u);
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(cycles(b.read(256, data.data(), 8, status)), 3u);  // row 1: another bank
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    // 64 bytes at 8 bytes/cycle: 7 more beats; 2 layers crossed at 1 cycle each.
    EXPECT_EQ(cycles(b.read(b.memory->base(1), data.data(), 64, status)), 2u + 3u + 7u);
    // Issued later in local time: the same latency, added to the offset.
    EXPECT_EQ(cycles(b.read(512, data.data(), 8, status, sc_time(1, SC_US))), 3u);
  });
}

TEST(MemoryLevel, BulkTransferCostsBandwidthAndIsCheap) {
  Bench bench({preset("sram")});  // 1 MiB, 16 bytes/cycle, read 2 cycles
  bench.run([&](Bench& b) {
    std::vector<uint8_t> tensor(64 * 1024);
    for (size_t i = 0; i < tensor.size(); ++i) tensor[i] = static_cast<uint8_t>(i * 7 + 3);
    tlm::tlm_response_status status;
    EXPECT_EQ(cycles(b.write(0, tensor.data(), tensor.size(), status)), 2u + 4095u);
    std::vector<uint8_t> back(tensor.size());
    // Issued after the write finished: no bank wait.
    EXPECT_EQ(cycles(b.read(0, back.data(), back.size(), status, sc_time(5, SC_US))), 2u + 4095u);
    EXPECT_EQ(back, tensor);
    // A thousand whole-tensor transfers take well under a second of host time.
    for (int i = 0; i < 1000; ++i) b.read(0, back.data(), back.size(), status);
  });
}

TEST(MemoryLevel, DataReadBackThroughTransportDbg) {
  Bench bench({small_level("a", "sram"), small_level("b", "nosram")});
  bench.run([&](Bench& b) {
    const uint64_t address = b.memory->base(1) + 100;
    std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    tlm::tlm_response_status status;
    b.write(address, data.data(), data.size(), status);
    ASSERT_EQ(status, tlm::TLM_OK_RESPONSE);

    std::vector<uint8_t> back(data.size());
    tlm::tlm_generic_payload trans;
    trans.set_command(tlm::TLM_READ_COMMAND);
    trans.set_address(address);
    trans.set_data_ptr(back.data());
    trans.set_data_length(static_cast<unsigned int>(back.size()));
    EXPECT_EQ(b.socket->transport_dbg(trans), data.size());
    EXPECT_EQ(back, data);

    // Debug writes are read back by timed reads, and reach the backdoor image.
    std::vector<uint8_t> other = {42, 43, 44};
    trans.set_command(tlm::TLM_WRITE_COMMAND);
    trans.set_address(b.memory->base(0) + 7);
    trans.set_data_ptr(other.data());
    trans.set_data_length(3);
    EXPECT_EQ(b.socket->transport_dbg(trans), 3u);
    std::vector<uint8_t> timed(3);
    b.read(b.memory->base(0) + 7, timed.data(), 3, status);
    EXPECT_EQ(timed, other);
    std::vector<uint8_t> image(3);
    EXPECT_TRUE(b.memory->read_image(b.memory->base(0) + 7, image.data(), 3));
    EXPECT_EQ(image, other);
    // Unmapped: nothing transferred.
    trans.set_address(7ULL << 32);
    EXPECT_EQ(b.socket->transport_dbg(trans), 0u);
  });
}

TEST(MemoryLevel, BadAccessesGetTheProperErrorResponse) {
  MemoryLevelParams aligned = small_level("aligned", "dosram");
  aligned.alignment_bytes = 8;
  Bench bench({small_level("bytes", "sram"), aligned});
  bench.run([&](Bench& b) {
    uint8_t data[16] = {};
    tlm::tlm_response_status status;
    b.read(5ULL << 32, data, 8, status);  // no level 5
    EXPECT_EQ(status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    b.read(4096, data, 8, status);  // just past level 0
    EXPECT_EQ(status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    b.write(4096 - 4, data, 8, status);  // crosses the end of level 0
    EXPECT_EQ(status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    b.read(b.memory->base(1) + 3, data, 8, status);  // misaligned where alignment is enforced
    EXPECT_EQ(status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    b.read(b.memory->base(1) + 8, data, 8, status);
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    b.read(3, data, 8, status);  // byte-addressable level: fine
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    b.transact(tlm::TLM_IGNORE_COMMAND, 0, data, 8, status);
    EXPECT_EQ(status, tlm::TLM_COMMAND_ERROR_RESPONSE);

    tlm::tlm_generic_payload trans;
    sc_time delay = sc_core::SC_ZERO_TIME;
    uint8_t enables[8] = {0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0};
    trans.set_command(tlm::TLM_WRITE_COMMAND);
    trans.set_address(0);
    trans.set_data_ptr(data);
    trans.set_data_length(8);
    trans.set_streaming_width(8);
    trans.set_byte_enable_ptr(enables);
    trans.set_byte_enable_length(8);
    b.socket->b_transport(trans, delay);
    EXPECT_EQ(trans.get_response_status(), tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    trans.set_byte_enable_ptr(nullptr);
    trans.set_byte_enable_length(0);
    trans.set_streaming_width(4);
    b.socket->b_transport(trans, delay);
    EXPECT_EQ(trans.get_response_status(), tlm::TLM_BURST_ERROR_RESPONSE);
    // Unmapped: level 5 and the hole after level 0 (the crossing access is the level's error).
    EXPECT_EQ(b.stats.find("address_errors")->count, 2u);
  });
}

TEST(MemoryLevel, ContentionAndRefreshOccupyTheBanks) {
  MemoryLevelParams p = small_level("act", "dosram");
  p.retention_s_at_ref = 1e-3;  // refresh interval 0.9 ms / 16 rows = 56.25 us
  p.refresh_enabled = true;
  Bench bench({p});
  bench.run([&](Bench& b) {
    uint8_t data[8] = {};
    tlm::tlm_response_status status;
    EXPECT_EQ(cycles(b.read(0, data, 8, status)), 3u);
    EXPECT_EQ(cycles(b.read(8, data, 8, status)), 6u);    // same bank: waits for the first
    EXPECT_EQ(cycles(b.read(256, data, 8, status)), 3u);  // row 1 is in bank 1
    const sc_time slot0(56.25, SC_US);  // slot 0 refreshes row 0 in bank 0 for 6 cycles
    EXPECT_EQ(cycles(b.read(4 * 256, data, 8, status, slot0)), 6u + 3u);  // row 4: bank 0
    EXPECT_EQ(cycles(b.read(5 * 256, data, 8, status, slot0)), 3u);       // bank 1: free
    // Slot 4 (row 4, bank 0) at 5 x 56.25 us: an access starting a cycle earlier is
    // interrupted by it.
    const sc_time before_slot4 = sc_time(5 * 56.25, SC_US) - sc_time(1, SC_NS);
    EXPECT_EQ(cycles(b.read(0, data, 8, status, before_slot4)), 3u + 6u);
    EXPECT_DOUBLE_EQ(stat(b, "act", "contention_wait_ns").value, 3.0);
    EXPECT_DOUBLE_EQ(stat(b, "act", "refresh_wait_ns").value, 12.0);
  });
}

TEST(Retention, ViolationExactlyWhenRetentionExpiresAndNotOneTickBefore) {
  Bench bench({leaky_level("act", RetentionPolicy::Error)});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(512, 0xa5);
    ASSERT_TRUE(b.memory->write_image(0, data.data(), data.size()));  // rows 0, 1 at t = 0
    const uint64_t retention_ps = 1000000000ULL;                      // 1 ms
    uint8_t back[8];
    tlm::tlm_response_status status;
    b.read(0, back, 8, status, ps(retention_ps - 1));
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    EXPECT_TRUE(b.memory->violations().empty());
    b.read(256 + 16, back, 8, status, ps(retention_ps));  // row 1 (bank 1)
    EXPECT_EQ(status, tlm::TLM_GENERIC_ERROR_RESPONSE);
    ASSERT_EQ(b.memory->violations().size(), 1u);
    const RetentionEvent event = b.memory->violations()[0];
    EXPECT_EQ(event.level, "act");
    EXPECT_EQ(event.address, 256u + 16u);
    EXPECT_EQ(to_ps(event.time), retention_ps);
    EXPECT_EQ(to_ps(event.restored_at), 0u);
    EXPECT_DOUBLE_EQ(event.retention_used, 1.0);
    EXPECT_EQ(event.policy, RetentionPolicy::Error);
    EXPECT_TRUE(b.memory->failed());
    const std::string message = event.message();
    EXPECT_NE(message.find("'act'"), std::string::npos) << message;
    EXPECT_NE(message.find("0x110"), std::string::npos) << message;
    EXPECT_NE(message.find("1 ms"), std::string::npos) << message;
    EXPECT_EQ(stat(b, "act", "retention_violations").count, 1u);
  });
}

TEST(Retention, EightyFiveCelsiusShortensRetentionByTheArrheniusFactor) {
  MemoryLevelParams p = leaky_level("act", RetentionPolicy::Error);
  p.retention_s_at_ref = 1.0;
  p.reference_temperature_k = 298.15;  // 1 s at 25 °C
  p.activation_energy_ev = 1.0;
  Bench bench({p}, 358.15);  // run at 85 °C
  bench.run([&](Bench& b) {
    const double factor = std::exp(1.0 / 8.617333262e-5 * (1.0 / 358.15 - 1.0 / 298.15));
    EXPECT_NEAR(b.memory->level(0).retention_s_at(sc_core::SC_ZERO_TIME), factor, factor * 1e-9);
    const auto retention_ps = static_cast<uint64_t>(std::llround(factor * 1e12));
    std::vector<uint8_t> data(512, 0xff);
    b.memory->write_image(0, data.data(), data.size());
    uint8_t back[8];
    tlm::tlm_response_status status;
    b.read(0, back, 8, status, ps(retention_ps - 1));
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    b.read(256, back, 8, status, ps(retention_ps));
    EXPECT_EQ(status, tlm::TLM_GENERIC_ERROR_RESPONSE);
    ASSERT_EQ(b.memory->violations().size(), 1u);
    EXPECT_EQ(to_ps(b.memory->violations()[0].time), retention_ps);
  });
}

TEST(Retention, RetentionIsConsumedFasterAfterTheTemperatureRises) {
  Bench bench({leaky_level("act", RetentionPolicy::Error)});  // 1 ms at 85 °C
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(1024, 0xff);
    b.memory->write_image(0, data.data(), data.size());  // rows 0..3 at t = 0
    sc_core::wait(100, SC_US);                           // 10 % used at 85 °C
    b.temperature.set(398.15);                           // 125 °C: t_ret = 38.6 us
    b.memory->temperature_changed(sc_core::sc_time_stamp());
    const double hot_us = std::exp(1.0 / 8.617333262e-5 * (1.0 / 398.15 - 1.0 / 358.15)) * 1e3;
    uint8_t back[8];
    tlm::tlm_response_status status;
    b.read(0, back, 8, status, sc_time(0.85 * hot_us, SC_US));  // 0.1 + 0.85 < 1
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    b.read(256, back, 8, status, sc_time(0.95 * hot_us, SC_US));  // 0.1 + 0.95 > 1
    EXPECT_EQ(status, tlm::TLM_GENERIC_ERROR_RESPONSE);
    ASSERT_EQ(b.memory->violations().size(), 1u);
    EXPECT_NEAR(b.memory->violations()[0].retention_used, 1.05, 1e-6);
  });
}

TEST(Retention, WarnPolicyCountsAndKeepsTheData) {
  Bench bench({leaky_level("act", RetentionPolicy::Warn)});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(256, 0x3c);
    b.memory->write_image(0, data.data(), data.size());
    std::vector<uint8_t> back(256);
    tlm::tlm_response_status status;
    b.read(0, back.data(), back.size(), status, sc_time(2, sc_core::SC_MS));
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(back, data);
    b.read(0, back.data(), back.size(), status, sc_time(3, sc_core::SC_MS));  // same expiry
    EXPECT_EQ(stat(b, "act", "retention_violations").count, 1u);
    EXPECT_FALSE(b.memory->failed());
  });
}

TEST(Retention, InjectDecaysBitsDeterministicallyFromTheSeed) {
  auto run_once = [](uint64_t seed, double after_ms) {
    Bench bench({leaky_level("act", RetentionPolicy::Inject)}, 358.15, nullptr, seed);
    std::vector<uint8_t> back(256);
    uint64_t decayed = 0;
    bench.run([&](Bench& b) {
      std::vector<uint8_t> data(256, 0xff);
      b.memory->write_image(0, data.data(), data.size());
      tlm::tlm_response_status status;
      b.read(0, back.data(), back.size(), status, sc_time(after_ms, sc_core::SC_MS));
      EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
      decayed = stat(b, "act", "decayed_bits").count;
    });
    uint64_t zeros = 0;
    for (uint8_t byte : back) zeros += 8 - static_cast<uint64_t>(__builtin_popcount(byte));
    EXPECT_EQ(zeros, decayed);  // every decayed bit is counted
    return back;
  };
  // 1.5 x retention with spread 0.5: a cell fails with probability 1 - exp(-1) = 63 %.
  const auto decayed = run_once(11, 1.5);
  uint64_t zeros = 0;
  for (uint8_t byte : decayed) zeros += 8 - static_cast<uint64_t>(__builtin_popcount(byte));
  EXPECT_NEAR(static_cast<double>(zeros) / 2048.0, 1.0 - std::exp(-1.0), 0.05);
}

// Randomized schedules: reads and writes of random sizes at random times and temperatures.
struct ScheduleResult {
  uint64_t violations = 0, refreshes = 0, mismatches = 0, errors = 0, decayed_bits = 0;
};

ScheduleResult run_random_schedule(uint64_t seed, bool refresh) {
  MemoryLevelParams p = small_level("act", "dosram");
  p.retention_s_at_ref = 20e-6;  // 20 us at 85 °C: hundreds of retention periods per run
  p.refresh_enabled = refresh;
  p.on_retention_violation = refresh ? RetentionPolicy::Error : RetentionPolicy::Inject;
  ScheduleResult result;
  Bench bench({p}, 358.15, nullptr, seed);
  bench.run([&](Bench& b) {
    std::mt19937_64 random(seed);
    std::uniform_int_distribution<int> gap_ns(0, 2000);
    std::uniform_real_distribution<double> temperature_k(345.0, 372.0);
    std::uniform_int_distribution<uint64_t> address(0, 4095);
    std::uniform_int_distribution<uint64_t> length(1, 700);
    std::bernoulli_distribution is_write(0.4), change_temperature(0.05), decoupled(0.3);
    std::vector<uint8_t> shadow(4096, 0);
    std::vector<uint8_t> buffer(700);
    for (int op = 0; op < 3000; ++op) {
      sc_core::wait(gap_ns(random), SC_NS);
      if (change_temperature(random)) {
        b.temperature.set(temperature_k(random));
        b.memory->temperature_changed(sc_core::sc_time_stamp());
      }
      const uint64_t at = address(random);
      const uint64_t size = std::min<uint64_t>(length(random), 4096 - at);
      // Some accesses run ahead in local time (temporal decoupling).
      const sc_time offset =
          decoupled(random) ? sc_time(gap_ns(random), SC_NS) : sc_core::SC_ZERO_TIME;
      tlm::tlm_response_status status;
      if (is_write(random)) {
        for (uint64_t i = 0; i < size; ++i) buffer[i] = static_cast<uint8_t>(random());
        b.write(at, buffer.data(), size, status, offset);
        std::copy(buffer.begin(), buffer.begin() + static_cast<long>(size),
                  shadow.begin() + static_cast<long>(at));
      } else {
        b.read(at, buffer.data(), size, status, offset);
        if (!std::equal(buffer.begin(), buffer.begin() + static_cast<long>(size),
                        shadow.begin() + static_cast<long>(at))) {
          ++result.mismatches;
        }
      }
      if (status != tlm::TLM_OK_RESPONSE) ++result.errors;
    }
    b.memory->finalize(sc_core::sc_time_stamp());
    result.violations = stat(b, "act", "retention_violations").count;
    result.refreshes = stat(b, "act", "refreshes").count;
    result.decayed_bits = stat(b, "act", "decayed_bits").count;
  });
  return result;
}

class RandomSchedule : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RandomSchedule, RefreshPreventsEveryViolation) {
  const ScheduleResult result = run_random_schedule(GetParam(), true);
  EXPECT_EQ(result.violations, 0u);
  EXPECT_EQ(result.errors, 0u);
  EXPECT_EQ(result.mismatches, 0u);
  EXPECT_GT(result.refreshes, 1000u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomSchedule, ::testing::Values(1u, 2u, 3u));

TEST(RandomScheduleControl, WithoutRefreshTheSameSchedulesLoseData) {
  const ScheduleResult result = run_random_schedule(1, false);
  EXPECT_GT(result.violations, 10u);
  EXPECT_GT(result.decayed_bits, 0u);
  EXPECT_GT(result.mismatches, 0u);
  EXPECT_EQ(result.refreshes, 0u);
}

TEST(PowerGating, GatedLevelKeepsItsDataWithinRetention) {
  MemoryLevelParams p = leaky_level("w", RetentionPolicy::Error);  // 1 ms, refresh off
  Bench bench({p});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(512);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
    tlm::tlm_response_status status;
    b.write(0, data.data(), data.size(), status);
    b.memory->set_gated(0, true, sc_time(10, SC_US));
    EXPECT_TRUE(b.memory->level(0).gated());
    sc_core::wait(600, SC_US);
    std::vector<uint8_t> back(512);
    // The first access wakes the level: wake-up (20 cycles) + read (3 + 63 beats).
    EXPECT_EQ(cycles(b.read(0, back.data(), back.size(), status)), 20u + 3u + 63u);
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(back, data);
    EXPECT_FALSE(b.memory->level(0).gated());
    b.memory->finalize(sc_time(1, sc_core::SC_MS));
    EXPECT_EQ(stat(b, "w", "wakeups").count, 1u);
    EXPECT_DOUBLE_EQ(stat(b, "w", "power_gated_ns").value, 590000.0);
    // No leakage while gated: 4096 * 8 bits leak for 1 ms - 590 us only.
    EXPECT_NEAR(stat(b, "w", "leakage_energy_pj").value, p.leakage_pw_per_bit * 32768 * 410e-6,
                1e-6);
    EXPECT_DOUBLE_EQ(stat(b, "w", "wakeup_energy_pj").value, p.wakeup_energy_pj);
    EXPECT_TRUE(b.memory->violations().empty());
  });
}

TEST(PowerGating, NoRefreshWhileGatedAndTheScheduleResumesAfter) {
  MemoryLevelParams p = leaky_level("w", RetentionPolicy::Error);
  p.refresh_enabled = true;  // interval 56.25 us; slot 0 at 56.25 us
  Bench bench({p});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(512, 0x77);
    tlm::tlm_response_status status;
    b.write(0, data.data(), data.size(), status);
    b.memory->set_gated(0, true, sc_time(10, SC_US));
    b.memory->set_gated(0, false, sc_time(600, SC_US));
    sc_core::wait(700, SC_US);
    std::vector<uint8_t> back(512);
    b.read(0, back.data(), back.size(), status);
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(back, data);
    b.memory->finalize(sc_time(1, sc_core::SC_MS));
    // The pointer stopped 46.25 us before slot 0: slots at 646.25 + k * 56.25 us <= 1 ms are 7
    // (17 without gating); rows 0-1 were 60 % used at wake-up and need no extra refresh.
    EXPECT_EQ(stat(b, "w", "refreshes").count, 7u);
    EXPECT_DOUBLE_EQ(stat(b, "w", "refresh_energy_pj").value, 7 * p.refresh_energy_pj_per_row);
  });
}

TEST(PowerGating, GatedBeyondRetentionLosesTheDataAndTheReadDetectsIt) {
  Bench bench({leaky_level("w", RetentionPolicy::Error)});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(512, 0x11);
    tlm::tlm_response_status status;
    b.write(0, data.data(), data.size(), status);
    b.memory->set_gated(0, true, sc_time(10, SC_US));
    sc_core::wait(1500, SC_US);
    std::vector<uint8_t> back(8);
    b.read(256, back.data(), back.size(), status);
    EXPECT_EQ(status, tlm::TLM_GENERIC_ERROR_RESPONSE);
    ASSERT_EQ(b.memory->violations().size(), 1u);
    // Sensed after the wake-up (20 cycles) of the access at 1.5 ms.
    EXPECT_EQ(to_ps(b.memory->violations()[0].time), 1500000000ULL + 20 * kCyclePs);
    EXPECT_EQ(b.memory->violations()[0].address, 256u);
  });
}

TEST(PowerGating, WithRefreshRowsExpiredWhileGatedAreFoundLostAtWakeUp) {
  MemoryLevelParams p = leaky_level("w", RetentionPolicy::Inject);
  p.refresh_enabled = true;
  Bench bench({p});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(512, 0xff);
    tlm::tlm_response_status status;
    b.write(0, data.data(), data.size(), status);
    b.memory->set_gated(0, true, sc_time(10, SC_US));
    b.memory->set_gated(0, false, sc_time(1500, SC_US));  // 1.5 x retention
    sc_core::wait(1600, SC_US);
    std::vector<uint8_t> back(512);
    b.read(0, back.data(), back.size(), status);
    EXPECT_EQ(status, tlm::TLM_OK_RESPONSE);  // inject: the decayed data are returned
    EXPECT_NE(back, data);
    uint64_t zeros = 0;
    for (uint8_t byte : back) zeros += 8 - static_cast<uint64_t>(__builtin_popcount(byte));
    EXPECT_EQ(stat(b, "w", "decayed_bits").count, zeros);
    EXPECT_EQ(stat(b, "w", "retention_violations").count, 2u);  // rows 0 and 1
    // Rows 0 and 1 were rewritten by the wake-up refresh burst (counted with the others).
    b.memory->finalize(sc_time(1600, SC_US));
    EXPECT_GE(stat(b, "w", "refreshes").count, 2u);
  });
}

TEST(PowerGating, SramLosesItsDataWhenGated) {
  MemoryLevelParams p = small_level("sram", "sram");
  Bench bench({p});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(64, 0x42);
    tlm::tlm_response_status status;
    b.write(0, data.data(), data.size(), status);
    b.memory->set_gated(0, true, sc_time(1, SC_US));
    b.memory->set_gated(0, false, sc_time(2, SC_US));
    sc_core::wait(3, SC_US);
    std::vector<uint8_t> back(64);
    b.read(0, back.data(), back.size(), status);
    EXPECT_EQ(status, tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_EQ(b.memory->violations().size(), 1u);
  });
}

TEST(Energy, EnergyAddsUpPerEvent) {
  MemoryLevelParams p = small_level("act", "dosram");
  p.stack_layer = 2;
  p.vertical_hop_cycles = 1;
  p.retention_s_at_ref = 1e-3;  // refresh interval 56.25 us
  Bench bench({p});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(128, 1);
    tlm::tlm_response_status status;
    b.write(0, data.data(), 64, status);
    sc_core::wait(1, SC_US);
    b.read(0, data.data(), 128, status);
    b.memory->set_gated(0, true, sc_time(2, SC_US));  // times are absolute
    b.memory->set_gated(0, false, sc_time(5, SC_US));
    sc_core::wait(9, SC_US);
    b.read(0, data.data(), 8, status);
    b.memory->finalize(sc_time(200, SC_US));

    const double access = 64 * 8 * p.write_energy_pj_per_bit + 136 * 8 * p.read_energy_pj_per_bit;
    const double hops = 200 * 8 * p.vertical_hop_energy_pj_per_bit * 2;
    // Slots at 56.25 us + 3 us (gated 2..5 us) + k * 56.25 us <= 200 us: 3.
    const uint64_t refreshes = 3;
    const double refresh = refreshes * p.refresh_energy_pj_per_row;
    const double wakeup = p.wakeup_energy_pj;
    const double leakage = p.leakage_pw_per_bit * 32768 * 197e-6;
    EXPECT_DOUBLE_EQ(stat(b, "act", "access_energy_pj").value, access);
    EXPECT_DOUBLE_EQ(stat(b, "act", "vertical_hop_energy_pj").value, hops);
    EXPECT_EQ(stat(b, "act", "refreshes").count, refreshes);
    EXPECT_DOUBLE_EQ(stat(b, "act", "refresh_energy_pj").value, refresh);
    EXPECT_DOUBLE_EQ(stat(b, "act", "wakeup_energy_pj").value, wakeup);
    EXPECT_NEAR(stat(b, "act", "leakage_energy_pj").value, leakage, leakage * 1e-12);
    EXPECT_NEAR(b.stats.total_energy_pj(), access + hops + refresh + wakeup + leakage, 1e-6);
    EXPECT_NEAR(b.stats.energy_pj(kernel::EnergyCategory::Leakage), leakage, leakage * 1e-12);
    EXPECT_EQ(stat(b, "act", "reads").count, 2u);
    EXPECT_EQ(stat(b, "act", "writes").count, 1u);
    EXPECT_EQ(stat(b, "act", "bytes_read").count, 136u);
    EXPECT_EQ(stat(b, "act", "bytes_written").count, 64u);
    const LevelActivity activity = b.memory->level(0).activity();
    EXPECT_NEAR(activity.total_energy_pj(), b.stats.total_energy_pj(), 1e-6);
    EXPECT_DOUBLE_EQ(activity.simulated_ns, 200000.0);
    EXPECT_DOUBLE_EQ(activity.gated_ns, 3000.0);
  });
}

TEST(Dmi, GrantedForPoweredSramOnlyAndInvalidatedByGating) {
  Bench bench({small_level("sram", "sram"), small_level("act", "dosram")});
  bench.run([&](Bench& b) {
    tlm::tlm_generic_payload trans;
    tlm::tlm_dmi dmi;
    trans.set_address(0);
    trans.set_command(tlm::TLM_WRITE_COMMAND);
    ASSERT_TRUE(b.socket->get_direct_mem_ptr(trans, dmi));
    EXPECT_EQ(dmi.get_start_address(), 0u);
    EXPECT_EQ(dmi.get_end_address(), 4095u);
    EXPECT_TRUE(dmi.is_read_write_allowed());
    EXPECT_EQ(cycles(dmi.get_read_latency()), 3u);
    dmi.get_dmi_ptr()[10] = 99;
    uint8_t value = 0;
    tlm::tlm_response_status status;
    b.read(10, &value, 1, status);
    EXPECT_EQ(value, 99);

    tlm::tlm_dmi denied;
    trans.set_address(b.memory->base(1) + 16);
    EXPECT_FALSE(b.socket->get_direct_mem_ptr(trans, denied));  // retention tracked: no DMI
    EXPECT_EQ(denied.get_start_address(), b.memory->base(1));
    EXPECT_EQ(denied.get_end_address(), b.memory->base(1) + 4095);

    b.memory->set_gated(0, true, sc_time(1, SC_US));
    EXPECT_EQ(b.invalidations, 1);
    EXPECT_EQ(b.invalidated_start, 0u);
    EXPECT_EQ(b.invalidated_end, 4095u);
    tlm::tlm_dmi after;
    trans.set_address(0);
    EXPECT_FALSE(b.socket->get_direct_mem_ptr(trans, after));
  });
}

// A read request gets a read-only pointer, a write request a read-write one; only a write
// pointer may have filled rows behind the level's back, so only then does the SRAM's power
// loss take every row for written and lost.
void gate_after_a_dmi_grant(tlm::tlm_command request, bool unwritten_row_lost) {
  Bench bench({small_level("sram", "sram")});
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(64, 0x42);
    tlm::tlm_response_status status;
    b.write(0, data.data(), data.size(), status);  // row 0 written through b_transport
    tlm::tlm_generic_payload trans;
    trans.set_address(0);
    trans.set_command(request);
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(b.socket->get_direct_mem_ptr(trans, dmi));
    EXPECT_TRUE(dmi.is_read_allowed());
    EXPECT_EQ(dmi.is_write_allowed(), request == tlm::TLM_WRITE_COMMAND);
    b.memory->set_gated(0, true, sc_time(1, SC_US));
    EXPECT_EQ(b.invalidations, 1);
    b.memory->set_gated(0, false, sc_time(2, SC_US));
    sc_core::wait(3, SC_US);
    // Row 5 was never written through b_transport.
    b.read(5 * 256, data.data(), 8, status);
    EXPECT_EQ(status, unwritten_row_lost ? tlm::TLM_GENERIC_ERROR_RESPONSE : tlm::TLM_OK_RESPONSE);
    b.read(0, data.data(), 8, status);
    EXPECT_EQ(status, tlm::TLM_GENERIC_ERROR_RESPONSE);  // row 0 held data: lost
    EXPECT_EQ(b.memory->violations().size(), unwritten_row_lost ? 2u : 1u);
    EXPECT_EQ(stat(b, "sram", "dmi_grants").count, 1u);
  });
}

TEST(Dmi, ReadOnlyGrantLeavesUnwrittenRowsUntrackedAcrossPowerLoss) {
  gate_after_a_dmi_grant(tlm::TLM_READ_COMMAND, false);
}

TEST(Dmi, WriteGrantMakesEveryRowHoldDataAcrossPowerLoss) {
  gate_after_a_dmi_grant(tlm::TLM_WRITE_COMMAND, true);
}

TEST(PowerControl, RegistersGateWakeAndReadTheStateAtTheTransactionTime) {
  Bench bench({small_level("w", "dosram"), small_level("a", "dosram")});
  bench.run([&](Bench& b) {
    uint64_t value = power_regs::kGate;
    EXPECT_EQ(b.power(tlm::TLM_WRITE_COMMAND, power_regs::offset(1), value, 8, sc_time(1, SC_US)),
              tlm::TLM_OK_RESPONSE);
    EXPECT_TRUE(b.memory->level(1).gated());
    EXPECT_FALSE(b.memory->level(0).gated());
    uint64_t state = 7;
    EXPECT_EQ(b.power(tlm::TLM_READ_COMMAND, power_regs::offset(1), state), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(state, power_regs::kGate);
    uint64_t low_half = 0;  // a 4-byte read is the register's low half
    EXPECT_EQ(b.power(tlm::TLM_READ_COMMAND, power_regs::offset(1), low_half, 4),
              tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(low_half, power_regs::kGate);
    state = 7;
    EXPECT_EQ(b.power(tlm::TLM_READ_COMMAND, power_regs::offset(0), state), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(state, power_regs::kWake);
    value = power_regs::kWake;  // a 4-byte write wakes it at 4 us
    EXPECT_EQ(b.power(tlm::TLM_WRITE_COMMAND, power_regs::offset(1), value, 4, sc_time(4, SC_US)),
              tlm::TLM_OK_RESPONSE);
    EXPECT_FALSE(b.memory->level(1).gated());
    EXPECT_FALSE(b.power_delay_changed);
    b.memory->finalize(sc_time(10, SC_US));
    // Gated from 1 us to 4 us (no gate-entry time in the small levels): as set_gated would.
    EXPECT_DOUBLE_EQ(stat(b, "a", "power_gated_ns").value, 3000.0);
    EXPECT_EQ(stat(b, "a", "gate_entries").count, 1u);
    EXPECT_EQ(stat(b, "a", "wakeups").count, 1u);
    EXPECT_EQ(stat(b, "w", "gate_entries").count, 0u);
  });
}

TEST(PowerControl, BadAccessesGetTheProperErrorResponse) {
  Bench bench({small_level("w", "dosram"), small_level("a", "dosram")});
  bench.run([&](Bench& b) {
    uint64_t value = power_regs::kGate;
    // Past the last level, between registers.
    EXPECT_EQ(b.power(tlm::TLM_WRITE_COMMAND, power_regs::offset(2), value),
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(b.power(tlm::TLM_READ_COMMAND, 4, value, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(b.power(tlm::TLM_WRITE_COMMAND, uint64_t{1} << 40, value),
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    // Sizes other than 4 and 8 bytes.
    EXPECT_EQ(b.power(tlm::TLM_WRITE_COMMAND, 0, value, 2), tlm::TLM_BURST_ERROR_RESPONSE);
    EXPECT_EQ(b.power(tlm::TLM_READ_COMMAND, 0, value, 1), tlm::TLM_BURST_ERROR_RESPONSE);
    unsigned char enables[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(b.power(tlm::TLM_WRITE_COMMAND, 0, value, 8, sc_core::SC_ZERO_TIME, enables),
              tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    // Neither gate nor wake.
    value = 2;
    EXPECT_EQ(b.power(tlm::TLM_WRITE_COMMAND, 0, value), tlm::TLM_GENERIC_ERROR_RESPONSE);
    value = 0;
    EXPECT_EQ(b.power(tlm::TLM_IGNORE_COMMAND, 0, value), tlm::TLM_COMMAND_ERROR_RESPONSE);
    EXPECT_FALSE(b.memory->level(0).gated());
    EXPECT_FALSE(b.memory->level(1).gated());
    EXPECT_EQ(stat(b, "w", "gate_entries").count, 0u);
  });
}

TEST(Vcd, RefreshGatedAndBankBusyAreTraced) {
  kernel::VcdTrace trace;
  MemoryLevelParams p = small_level("act", "dosram");
  p.retention_s_at_ref = 1e-3;
  Bench bench({p}, 358.15, &trace);
  bench.run([&](Bench& b) {
    uint8_t data[8] = {};
    tlm::tlm_response_status status;
    b.write(0, data, 8, status);
    b.memory->set_gated(0, true, sc_time(1, SC_US));
    b.memory->set_gated(0, false, sc_time(2, SC_US));
    b.memory->finalize(sc_time(200, SC_US));
  });
  EXPECT_EQ(trace.signal_count(), 2u + 4u);  // refresh, gated, 4 x bank busy
  // 2 bank-busy edges + 2 gated edges + 3 refresh pulses x 2 edges.
  EXPECT_EQ(trace.change_count(), 2u + 2u + 6u);
  const std::string path = ::testing::TempDir() + "memory_trace.vcd";
  ASSERT_TRUE(trace.write_vcd(path));
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  for (const char* name : {" refresh ", " gated ", " bank0_busy "}) {
    EXPECT_NE(text.str().find(name), std::string::npos) << name;
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cimtlm::memory::test

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
