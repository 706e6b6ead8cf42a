// The physical laws of the memory presets: retention (two-regime Arrhenius, JEDEC refresh
// window), leakage versus temperature, the cost of power gating, gated retention, macro versus
// array timing and the footprint split between the OS layers and the silicon base. Values are
// checked against the formulas written out here, at three temperatures where a law depends on
// temperature. Tests with a simulation build one Bench each (own process).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/memory/memory_report.h"
#include "models/memory/retention_timeline.h"
#include "platforms/config/config.h"
#include "platforms/spec/platform_spec.h"
#include "testbenches/unit/memory/memory_bench.h"

namespace cimtlm::memory::test {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

constexpr double kK = 8.617333262e-5;  // eV/K
constexpr double k25C = 298.15, k85C = 358.15, k125C = 398.15;

// exp(Ea/k (1/T - 1/T_ref)): the factor by which a retention time scales.
double arrhenius(double ea, double t, double t_ref) {
  return std::exp(ea / kK * (1.0 / t - 1.0 / t_ref));
}

const kernel::Stat& stat(const Bench& bench, const std::string& level, const std::string& name) {
  return *bench.stats.find_child(level)->find(name);
}

TEST(MemoryPhysics, OsRetentionFollowsTheTwoRegimeLawAtThreeTemperatures) {
  for (const std::string technology : {"nosram", "dosram", "igzo2t0c"}) {
    const MemoryLevelParams p = preset(technology);
    ASSERT_EQ(p.retention_law, RetentionLaw::Arrhenius) << technology;
    ASSERT_GT(p.retention_floor_s_at_ref, p.retention_s_at_ref) << technology;
    // 1/t = 1/t_os(T) + 1/t_floor(T), t(T_ref) = the published retention.
    const double os_ref = 1.0 / (1.0 / p.retention_s_at_ref - 1.0 / p.retention_floor_s_at_ref);
    for (double t : {k25C, k85C, k125C}) {
      const double os = os_ref * arrhenius(p.activation_energy_ev, t, p.reference_temperature_k);
      const double floor = p.retention_floor_s_at_ref *
                           arrhenius(p.floor_activation_energy_ev, t, p.reference_temperature_k);
      EXPECT_NEAR(p.retention_s(t), 1.0 / (1.0 / os + 1.0 / floor), 1e-9 * p.retention_s(t))
          << technology << " at " << t << " K";
    }
    EXPECT_NEAR(p.retention_s(p.reference_temperature_k), p.retention_s_at_ref,
                1e-9 * p.retention_s_at_ref);
  }
  // The floor caps the low-temperature extrapolation: NOSRAM's 1 h at 85 C would be x679 at
  // 25 C (28 days) with the OS path alone; with the floor path it is ~x263 (11 days), still
  // above [Atsumi12]'s "> 10 days" (x240).
  const MemoryLevelParams nosram = preset("nosram");
  EXPECT_NEAR(nosram.retention_s_at_ref, 3600.0, 1e-9);
  const double gain = nosram.retention_s(k25C) / nosram.retention_s(k85C);
  EXPECT_GT(gain, 240.0);
  EXPECT_LT(gain, 300.0);
  // Above the reference the OS path dominates: close to pure Arrhenius at 125 C.
  EXPECT_NEAR(nosram.retention_s(k125C) / 3600.0, arrhenius(1.0, k125C, k85C), 0.01 * 0.038);
  // imec's 2T0C: 200 s at 95 C [Izukashi25], ~2.3 ks at 25 C (the floor regime).
  const MemoryLevelParams igzo = preset("igzo2t0c");
  EXPECT_NEAR(igzo.retention_s(368.15), 200.0, 1e-9);
  EXPECT_GT(igzo.retention_s(k25C), 1000.0);
  EXPECT_LT(igzo.retention_s(k25C), 3000.0);
  // Without a floor the law is the single Arrhenius term.
  MemoryLevelParams plain = nosram;
  plain.retention_floor_s_at_ref = 0;
  EXPECT_DOUBLE_EQ(plain.retention_s(k25C), 3600.0 * arrhenius(1.0, k25C, k85C));
}

TEST(MemoryPhysics, FloorBelowTheMeasuredRetentionIsRejected) {
  MemoryLevelParams p = preset("nosram");
  p.retention_floor_s_at_ref = p.retention_s_at_ref / 2;
  EXPECT_NE(p.validate().find("retention_floor"), std::string::npos) << p.validate();
}

TEST(MemoryPhysics, DramRefreshWindowIsThe32MsSpecHalvedAbove85C) {
  const MemoryLevelParams dram = preset("dram");
  ASSERT_EQ(dram.retention_law, RetentionLaw::RefreshWindow);
  EXPECT_DOUBLE_EQ(dram.retention_s(k25C), 0.032);  // no Arrhenius stretch below 85 C
  EXPECT_DOUBLE_EQ(dram.retention_s(k85C), 0.032);  // Tc <= 85 C: tREFW
  EXPECT_DOUBLE_EQ(dram.retention_s(k85C + 0.5), 0.016);
  EXPECT_DOUBLE_EQ(dram.retention_s(k125C), 0.016);
  EXPECT_DOUBLE_EQ(dram.refresh_margin, 0.0);  // the controller refreshes exactly per tREFW
  // The refresh controller steps with it: every row once per tREFW(T).
  RetentionTimeline timeline(dram, 60000, k25C);
  const uint64_t rows = dram.rows();
  ASSERT_EQ(rows, 131072u);
  EXPECT_EQ(timeline.interval_ps_at(0), 32000000000ULL / rows);  // 244140 ps
  timeline.sample(1000000000ULL, k85C);                          // 1 ms: still 32 ms
  EXPECT_EQ(timeline.interval_ps_at(1000000000ULL), 32000000000ULL / rows);
  timeline.sample(2000000000ULL, 368.15);  // 95 C: 2x refresh rate
  EXPECT_EQ(timeline.interval_ps_at(2000000000ULL), 16000000000ULL / rows);
  timeline.sample(3000000000ULL, k25C);  // back below 85 C
  EXPECT_EQ(timeline.interval_ps_at(3000000000ULL), 32000000000ULL / rows);
}

TEST(MemoryPhysics, LeakageFollowsItsArrheniusLawAtThreeTemperatures) {
  for (const std::string technology : {"nosram", "dosram", "igzo2t0c", "sram", "dram"}) {
    const MemoryLevelParams p = preset(technology);
    ASSERT_GT(p.leakage_activation_energy_ev, 0) << technology;
    for (double t : {k25C, k85C, k125C}) {
      const double expected = p.leakage_pw_per_bit /
                              arrhenius(p.leakage_activation_energy_ev, t, p.leakage_temperature_k);
      EXPECT_NEAR(p.leakage_pw_per_bit_at(t), expected, 1e-12 * expected) << technology;
      EXPECT_NEAR(p.leakage_pw_per_bit_at(t, true),
                  expected * p.gated_leakage_pw_per_bit / p.leakage_pw_per_bit, 1e-12 * expected)
          << technology;
    }
  }
  // The presets' Ea is the cited x2.5 from 25 to 85 C (Liao et al., TCAD 2005, Fig. 2; (A3) of
  // platforms/schema.yaml): Ea = k ln 2.5 / (1/298.15 K - 1/358.15 K), rounded to 0.1 meV.
  const double cited_ea = kK * std::log(2.5) / (1.0 / k25C - 1.0 / k85C);
  for (const std::string technology : {"nosram", "dosram", "igzo2t0c", "sram", "dram"})
    EXPECT_NEAR(preset(technology).leakage_activation_energy_ev, cited_ea, 5e-5) << technology;
  const MemoryLevelParams sram = preset("sram");
  EXPECT_NEAR(sram.leakage_pw_per_bit_at(k85C) / sram.leakage_pw_per_bit_at(k25C), 2.5, 1e-3);
  EXPECT_NEAR(sram.leakage_pw_per_bit_at(k125C) / sram.leakage_pw_per_bit_at(k25C),
              1.0 / arrhenius(cited_ea, k125C, k25C), 1e-3);
  EXPECT_DOUBLE_EQ(sram.leakage_pw_per_bit_at(k85C), 50.0);  // given at 85 C
}

// One level, written once, that only leaks; the die goes 25 -> 125 -> 85 C.
TEST(MemoryPhysics, SimulatedLeakageIntegratesTheTemperatureHistory) {
  MemoryLevelParams p = small_level("s", "sram");
  p.leakage_activation_energy_ev = 0.3;
  p.leakage_temperature_k = k85C;
  Bench bench({p}, k25C);
  bench.run([&](Bench& b) {
    sc_core::wait(100, SC_US);
    b.temperature.set(k125C);
    b.memory->temperature_changed(sc_time(100, SC_US));
    sc_core::wait(200, SC_US);
    b.temperature.set(k85C);
    b.memory->temperature_changed(sc_time(300, SC_US));
    b.memory->finalize(sc_time(1000, SC_US));
    const double bits = 4096 * 8;
    const double expected =
        bits * (p.leakage_pw_per_bit_at(k25C) * 100e-6 + p.leakage_pw_per_bit_at(k125C) * 200e-6 +
                p.leakage_pw_per_bit_at(k85C) * 700e-6);
    EXPECT_NEAR(stat(b, "s", "leakage_energy_pj").value, expected, 1e-9 * expected);
  });
}

// A NOSRAM level with the preset's gating figures: entry, residual leakage, wake-up.
TEST(MemoryPhysics, GatingCostsWhatTheSchemaSays) {
  const MemoryLevelParams nosram = preset("nosram");
  // The schema's figures (assumption A4 of platforms/schema.yaml).
  ASSERT_EQ(nosram.gate_entry_cycles, 100);
  ASSERT_DOUBLE_EQ(nosram.gate_entry_energy_pj, 1000.0);
  ASSERT_NEAR(nosram.gated_leakage_pw_per_bit, 0.3, 1e-12);
  MemoryLevelParams p = small_level("w", "nosram");
  p.refresh_enabled = false;
  p.gate_entry_cycles = nosram.gate_entry_cycles;
  p.gate_entry_energy_pj = nosram.gate_entry_energy_pj;
  p.gated_leakage_pw_per_bit = nosram.gated_leakage_pw_per_bit;
  p.leakage_activation_energy_ev = nosram.leakage_activation_energy_ev;
  Bench bench({p}, k85C);
  bench.run([&](Bench& b) {
    std::vector<uint8_t> data(256, 0x5a), back(256);
    tlm::tlm_response_status status;
    b.write(0, data.data(), data.size(), status);
    b.memory->set_gated(0, true, sc_time(10, SC_US));
    // An access 10 cycles into the entry waits for the rest of it (90), the wake-up (20) and
    // then reads (3 + 31 beats).
    const sc_time delay = b.read(0, back.data(), back.size(), status, sc_time(10010, SC_NS));
    EXPECT_EQ((to_ps(delay) / kCyclePs), 90u + 20u + 3u + 31u);
    EXPECT_EQ(back, data);
    b.memory->set_gated(0, true, sc_time(20, SC_US));
    b.memory->set_gated(0, false, sc_time(620, SC_US));
    b.memory->finalize(sc_time(1000, SC_US));
    EXPECT_EQ(stat(b, "w", "gate_entries").count, 2u);
    EXPECT_DOUBLE_EQ(stat(b, "w", "gate_entry_energy_pj").value, 2 * 1000.0);
    EXPECT_EQ(stat(b, "w", "wakeups").count, 2u);
    // Gated from 10.1 to 10.1 us (woken at once) and from 20.1 to 620 us.
    const double gated_s = 599.9e-6;
    EXPECT_NEAR(stat(b, "w", "power_gated_ns").value, gated_s * 1e9, 1e-6);
    const double bits = 4096 * 8;
    const double expected = bits * (p.leakage_pw_per_bit_at(k85C) * (1e-3 - gated_s) +
                                    p.leakage_pw_per_bit_at(k85C, true) * gated_s);
    EXPECT_NEAR(stat(b, "w", "leakage_energy_pj").value, expected, 1e-9 * expected);
    EXPECT_GT(stat(b, "w", "leakage_energy_pj").value,
              bits * p.leakage_pw_per_bit_at(k85C) * (1e-3 - gated_s));  // residual > 0
  });
}

TEST(MemoryPhysics, GatedRetentionComesFromItsOwnFigure) {
  MemoryLevelParams p = small_level("w", "dosram");
  p.refresh_enabled = false;
  p.retention_s_at_ref = 1e-3;  // 1 ms powered at 85 C
  p.reference_temperature_k = k85C;
  p.gated_retention_s_at_ref = 4e-3;  // 4 ms on hold bias
  RetentionTimeline timeline(p, 6000, k85C);
  timeline.set_gated(10000000ULL, true, k85C);     // 10 us
  timeline.set_gated(2000000000ULL, false, k85C);  // 2 ms
  EXPECT_EQ(timeline.retention_ps_at(1000000000ULL), 4000000000ULL);
  EXPECT_NEAR(timeline.consumed(0, 2000000000ULL), 0.01 + 1.99 / 4, 1e-12);
  EXPECT_FALSE(timeline.expired(0, 2000000000ULL));
  // The same history with gated retention = powered retention has lost the data.
  p.gated_retention_s_at_ref = 0;
  RetentionTimeline powered(p, 6000, k85C);
  powered.set_gated(10000000ULL, true, k85C);
  powered.set_gated(2000000000ULL, false, k85C);
  EXPECT_TRUE(powered.expired(0, 2000000000ULL));
  // Scaled law: gated retention at 125 C = 4 ms x the powered Arrhenius factor.
  EXPECT_NEAR(p.retention_s(k125C, true), p.retention_s(k125C), 1e-15);
  p.gated_retention_s_at_ref = 4e-3;
  EXPECT_NEAR(p.retention_s(k125C, true), 4.0 * p.retention_s(k125C), 1e-15);
}

TEST(StackFootprint, PeripheryAndReadTransistorsSitInTheSiliconBase) {
  // Analytic check of the default stack (NOSRAM on OS layer 1, DOSRAM on OS layer 2, 1 MiB
  // each) over 0.5 mm2 of logic.
  const std::vector<MemoryLevelParams> levels = {preset("nosram"), preset("dosram")};
  const double bits = 8.0 * (1 << 20);
  const double silicon = 0.5 + (0.19 + 0.045) * bits * 1e-6;  // periphery + Si read FETs
  const double layer1 = 0.28 * bits * 1e-6;                   // NOSRAM cells
  const double layer2 = 0.105 * bits * 1e-6;                  // DOSRAM cells
  const StackFootprint footprint = stack_footprint(levels, 0.5);
  ASSERT_EQ(footprint.layers.size(), 3u);
  EXPECT_NEAR(footprint.layers[0].area_mm2, silicon, 1e-9);
  EXPECT_NEAR(footprint.layers[1].area_mm2, layer1, 1e-9);
  EXPECT_NEAR(footprint.layers[2].area_mm2, layer2, 1e-9);
  EXPECT_NEAR(footprint.stacked_mm2, std::max({silicon, layer1, layer2}), 1e-9);
  EXPECT_NEAR(footprint.planar_mm2, silicon + layer1 + layer2, 1e-9);
  // The silicon base, not the OS layer, now sets the stacked footprint.
  EXPECT_NEAR(footprint.stacked_mm2, silicon, 1e-9);
  EXPECT_EQ(footprint.layers[0].levels,
            (std::vector<std::string>{"nosram (periphery)", "dosram (periphery)"}));
}

platforms::PlatformSpec spec_of(const std::string& yaml) {
  return platforms::build_platform_spec(
      platforms::load_config_text(yaml, "timing.yaml", platforms::platform_schema()));
}

TEST(MemoryPhysics, MacroTimingByDefaultArrayTimingOnRequest) {
  const auto macro = spec_of("core:\n  memory:\n    levels:\n      a: {technology: dosram}\n");
  EXPECT_EQ(macro.memory_levels[0].read_cycles, 60);  // [Okamoto24] 1-Mbit macro
  EXPECT_EQ(macro.memory_levels[0].write_cycles, 50);
  const auto array =
      spec_of("core:\n  memory:\n    levels:\n      a: {technology: dosram, timing: array}\n");
  EXPECT_EQ(array.memory_levels[0].read_cycles, 5);  // [Onuki15] test array
  EXPECT_EQ(array.memory_levels[0].write_cycles, 5);
}

// Off-chip DRAM has its own clock: its latency is a time ([JESD209-4B] 40 ns read / 30 ns
// write, platforms/schema.yaml), converted at the core clock and rounded up, so a faster core
// waits more of its cycles for the same DRAM; on-chip levels keep their cycles.
TEST(MemoryPhysics, DramLatencyIsATimeConvertedAtTheCoreClock) {
  const std::string levels =
      "core:\n  memory:\n    levels:\n      a: {technology: dosram}\n      d: {technology: dram}\n";
  const auto at_1ghz = spec_of(levels);
  EXPECT_EQ(at_1ghz.memory_levels[1].read_cycles, 40);
  EXPECT_EQ(at_1ghz.memory_levels[1].write_cycles, 30);
  const auto at_2ghz = spec_of("clock: {frequency: 2 GHz}\n" + levels);
  EXPECT_EQ(at_2ghz.memory_levels[1].read_cycles, 80);
  EXPECT_EQ(at_2ghz.memory_levels[1].write_cycles, 60);
  EXPECT_EQ(at_2ghz.memory_levels[0].read_cycles, 60);  // on-chip: clocked with the core
  const auto at_700mhz = spec_of("clock: {frequency: 700 MHz}\n" + levels);
  EXPECT_EQ(at_700mhz.memory_levels[1].read_cycles, 28);   // 40 ns x 0.7 GHz = 28
  EXPECT_EQ(at_700mhz.memory_levels[1].write_cycles, 21);  // 30 ns x 0.7 GHz = 21
  const auto at_333mhz = spec_of("clock: {frequency: 333 MHz}\n" + levels);
  EXPECT_EQ(at_333mhz.memory_levels[1].read_cycles, 14);  // 13.32 rounded up
  // A level's cycles given in the file replace the preset latency; both at once is an error
  // naming file, line and key.
  const auto cycles = spec_of(
      "core:\n  memory:\n    levels:\n      a: {technology: dosram}\n"
      "      d: {technology: dram, read_cycles: 100}\n");
  EXPECT_EQ(cycles.memory_levels[1].read_cycles, 100);
  EXPECT_EQ(cycles.memory_levels[1].write_cycles, 30);
  const auto slower = spec_of(
      "core:\n  memory:\n    levels:\n      a: {technology: dosram}\n"
      "      d: {technology: dram, read_latency: 55 ns}\n");
  EXPECT_EQ(slower.memory_levels[1].read_cycles, 55);
  try {
    spec_of("core:\n  memory:\n    levels:\n      a: {technology: dosram}\n"
            "      d: {technology: dram, read_latency: 50 ns, read_cycles: 7}\n");
    ADD_FAILURE() << "no error for read_latency and read_cycles together";
  } catch (const platforms::ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("timing.yaml:5"), std::string::npos) << message;
    EXPECT_NE(message.find("core.memory.levels.d.read_latency"), std::string::npos) << message;
  }
}

TEST(MemoryPhysics, RetentionAboveItsFloorNamesFileLineAndKey) {
  try {
    spec_of(
        "core:\n  memory:\n    levels:\n      w:\n        technology: nosram\n"
        "        retention: 400 h\n");
    ADD_FAILURE() << "no error";
  } catch (const platforms::ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("timing.yaml:6:"), std::string::npos) << message;
    EXPECT_NE(message.find("core.memory.levels.w.retention:"), std::string::npos) << message;
    EXPECT_NE(message.find("retention_floor must exceed retention"), std::string::npos) << message;
  }
  // With the floor set too (or removed) the file is valid.
  EXPECT_NO_THROW(
      spec_of("core:\n  memory:\n    levels:\n      w: {technology: nosram, "
              "retention: 400 h, retention_floor: 0 s}\n"));
}

TEST(MemoryPhysics, DefaultPlacementKeepsWeightsAndActivationsApart) {
  // DOSRAM's macro is slower than NOSRAM's, yet activations stay in the other OS layer.
  const auto spec = spec_of("");
  EXPECT_EQ(spec.memory_levels[static_cast<size_t>(spec.weights_level)].technology, "nosram");
  EXPECT_EQ(spec.memory_levels[static_cast<size_t>(spec.activations_level)].technology, "dosram");
}

}  // namespace
}  // namespace cimtlm::memory::test
