// Parameters, Arrhenius retention, the retention timeline (refresh pointer) and the report
// helpers: no simulation needed.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "models/memory/memory_params.h"
#include "models/memory/memory_report.h"
#include "models/memory/retention_timeline.h"
#include "testbenches/unit/memory/memory_bench.h"

namespace cimtlm::memory {
namespace {

using test::preset;

TEST(MemoryParams, DefaultsOfEveryTechnologyAreValid) {
  for (const std::string name : {"nosram", "dosram", "igzo2t0c", "sram", "dram"}) {
    const MemoryLevelParams params = preset(name);
    EXPECT_EQ(params.validate(), "") << name;
    EXPECT_EQ(params.name, name);
  }
  EXPECT_THROW(preset("flash"), platforms::ConfigError);
}

TEST(MemoryParams, OsMemoriesStackOverSiliconAndRetainLongerThanDram) {
  const auto nosram = preset("nosram");
  const auto dosram = preset("dosram");
  const auto dram = preset("dram");
  EXPECT_EQ(nosram.stack_layer, 1);
  EXPECT_EQ(dosram.stack_layer, 2);
  // Both are published as "> 1 h" at 85 C [Ishizu17, Onuki15, Okamoto24]: the same bound.
  EXPECT_DOUBLE_EQ(nosram.retention_s(358.15), dosram.retention_s(358.15));
  EXPECT_GT(dosram.retention_s(358.15), dram.retention_s(358.15));
  // The 1-Mbit DOSRAM macro (60 ns) is slower than the NOSRAM macro (140 MHz), but denser.
  EXPECT_GT(dosram.read_cycles, nosram.read_cycles);
  EXPECT_LT(dosram.area_um2_per_bit, nosram.area_um2_per_bit);
  EXPECT_TRUE(std::isinf(preset("sram").retention_s(358.15)));
}

TEST(MemoryParams, ValidateNamesTheBadField) {
  auto params = preset("dosram");
  params.row_bytes = 100;
  EXPECT_NE(params.validate().find("row_bytes"), std::string::npos) << params.validate();
  params = preset("dosram");
  params.refresh_margin = 1.5;
  EXPECT_NE(params.validate().find("refresh_margin"), std::string::npos);
  params = preset("dosram");
  params.technology = "mram";
  EXPECT_NE(params.validate().find("technology"), std::string::npos);
  params = preset("dosram");
  params.capacity_bytes = 4096 + 256;  // 17 rows over 8 banks
  EXPECT_NE(params.validate().find("banks"), std::string::npos);
}

TEST(MemoryParams, PolicyNamesRoundTrip) {
  for (auto policy : {RetentionPolicy::Error, RetentionPolicy::Inject, RetentionPolicy::Warn}) {
    RetentionPolicy parsed = RetentionPolicy::Error;
    ASSERT_TRUE(parse_retention_policy(to_string(policy), parsed));
    EXPECT_EQ(parsed, policy);
  }
  RetentionPolicy parsed = RetentionPolicy::Error;
  EXPECT_FALSE(parse_retention_policy("ignore", parsed));
}

TEST(Arrhenius, EightyFiveCelsiusShortensRetentionByTheArrheniusFactor) {
  // Ea = 1 eV between 25 and 85 °C: exp(1 / k * (1/358.15 - 1/298.15)) = 1 / 678.9.
  const double factor = std::exp(1.0 / 8.617333262e-5 * (1.0 / 358.15 - 1.0 / 298.15));
  EXPECT_NEAR(1.0 / factor, 678.9, 0.05);
  EXPECT_DOUBLE_EQ(arrhenius_retention_s(3600.0, 298.15, 1.0, 358.15), 3600.0 * factor);
  EXPECT_DOUBLE_EQ(arrhenius_retention_s(3600.0, 358.15, 1.0, 358.15), 3600.0);
  auto params = preset("dosram");
  params.retention_floor_s_at_ref = 0;  // the OS path alone (the floor has its own test)
  params.reference_temperature_k = 298.15;
  EXPECT_DOUBLE_EQ(params.retention_s(358.15), params.retention_s_at_ref * factor);
}

MemoryLevelParams timeline_level() {
  MemoryLevelParams p = preset("dosram");
  p.capacity_bytes = 16 * 256;
  p.row_bytes = 256;
  p.banks = 4;
  p.retention_s_at_ref = 1e-3;
  p.refresh_margin = 0.1;
  return p;
}

TEST(RetentionTimeline, ExpiryIsExactToThePicosecondAtConstantTemperature) {
  auto p = timeline_level();
  p.refresh_enabled = false;
  RetentionTimeline timeline(p, 6000, 358.15);
  EXPECT_EQ(timeline.retention_ps_at(0), 1000000000ULL);
  EXPECT_FALSE(timeline.expired(5, 5 + 999999999ULL));
  EXPECT_TRUE(timeline.expired(5, 5 + 1000000000ULL));
  // Gating splits phases but not the retention group: still exact.
  timeline.set_gated(1000, true, 358.15);
  timeline.set_gated(2000, false, 358.15);
  EXPECT_FALSE(timeline.expired(5, 5 + 999999999ULL));
  EXPECT_TRUE(timeline.expired(5, 5 + 1000000000ULL));
}

TEST(RetentionTimeline, RefreshSlotsCoverEveryRowOncePerPeriod) {
  const auto p = timeline_level();
  RetentionTimeline timeline(p, 6000, 358.15);
  const uint64_t interval = timeline.interval_ps_at(0);
  EXPECT_EQ(interval, static_cast<uint64_t>(0.9e9 / 16));
  for (uint64_t row = 0; row < 16; ++row) {
    EXPECT_EQ(timeline.slot_time(row), (row + 1) * interval);
    EXPECT_EQ(timeline.last_refresh_of_row(row, (row + 1) * interval), (row + 1) * interval);
    EXPECT_EQ(timeline.last_refresh_of_row(row, (row + 1) * interval - 1),
              RetentionTimeline::kNever);
    EXPECT_EQ(timeline.next_refresh_of_row(row, 1), (row + 1) * interval);
    EXPECT_EQ(timeline.next_refresh_of_row(row, (row + 1) * interval + 1), (row + 17) * interval);
  }
  EXPECT_EQ(timeline.slots_through(16 * interval), 16u);
}

TEST(RetentionTimeline, RandomTemperatureHistoryNeverLetsARowExpireBetweenRefreshes) {
  // The pointer keeps its place across temperature changes, so the retention consumed between
  // two refreshes of a row stays <= 1 - margin whatever the history.
  const auto p = timeline_level();
  RetentionTimeline timeline(p, 6000, 358.15);
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> temperature(330.0, 390.0);
  std::uniform_int_distribution<uint64_t> gap(1000, 300000000);
  uint64_t now = 0;
  for (int change = 0; change < 400; ++change) {
    now += gap(random);
    timeline.sample(now, temperature(random));
  }
  double worst = 0;
  for (uint64_t row = 0; row < 16; ++row) {
    uint64_t previous = 0;  // written at 0
    for (uint64_t slot = row;; slot += 16) {
      const uint64_t time = timeline.slot_time(slot);
      if (time > now) break;
      worst = std::max(worst, timeline.consumed(previous, time));
      previous = time;
    }
  }
  EXPECT_GT(worst, 0.5);
  EXPECT_LE(worst, 0.9 + 1e-6);
}

TEST(RetentionTimeline, RefreshThatCannotKeepUpIsAnError) {
  auto p = timeline_level();
  p.retention_s_at_ref = 1e-7;  // 100 ns for 16 rows of 6 ns each over 4 banks
  EXPECT_THROW(RetentionTimeline(p, 60000, 358.15), std::runtime_error);
}

TEST(StackFootprint, StackedIsTheLargestLayerAndPlanarTheSum) {
  std::vector<MemoryLevelParams> levels = {
      preset("nosram"), preset("dosram"), preset("dram")};
  const StackFootprint footprint = stack_footprint(levels, 0.5);
  ASSERT_EQ(footprint.layers.size(), 3u);
  // Cells on their OS layers, periphery (and NOSRAM's Si read FETs) on the silicon base.
  const double bits = 8.0 * (1 << 20);
  const double base_mm2 = 0.5 + (0.19 + 0.045) * bits * 1e-6;
  const double nosram_mm2 = 0.28 * bits * 1e-6;
  const double dosram_mm2 = 0.105 * bits * 1e-6;
  EXPECT_NEAR(footprint.layers[0].area_mm2, base_mm2, 1e-12);
  EXPECT_NEAR(footprint.layers[1].area_mm2, nosram_mm2, 1e-12);
  EXPECT_NEAR(footprint.layers[2].area_mm2, dosram_mm2, 1e-12);
  EXPECT_NEAR(footprint.stacked_mm2, base_mm2, 1e-12);
  EXPECT_NEAR(footprint.planar_mm2, base_mm2 + nosram_mm2 + dosram_mm2, 1e-12);
  ASSERT_EQ(footprint.vertical_hops.size(), 3u);
  EXPECT_EQ(footprint.vertical_hops[0].layers_crossed, 1);
  EXPECT_EQ(footprint.vertical_hops[1].layers_crossed, 2);
  EXPECT_EQ(footprint.vertical_hops[2].layers_crossed, 0);  // off chip
  std::ostringstream text;
  print_footprint(text, footprint);
  EXPECT_NE(text.str().find("stacked footprint"), std::string::npos);
}

TEST(SramComparison, SameActivityAtSramEnergyAndLeakageForTheWholeRun) {
  const auto level = preset("nosram");
  LevelActivity activity;
  activity.bytes_read = 1000;
  activity.bytes_written = 500;
  activity.simulated_ns = 2e6;  // 2 ms
  activity.leakage_energy_pj = 1.0;
  const auto sram = preset("sram");
  const SramComparison comparison = sram_equivalent(level, activity, sram, 358.15);
  EXPECT_DOUBLE_EQ(comparison.sram_access_pj,
                   8000 * sram.read_energy_pj_per_bit + 4000 * sram.write_energy_pj_per_bit);
  // SRAM leakage is given at 85 C; at 125 C it is higher by its temperature law.
  EXPECT_DOUBLE_EQ(comparison.sram_leakage_pj, sram.leakage_pw_per_bit * 8.0 * (1 << 20) * 2e-3);
  EXPECT_DOUBLE_EQ(sram_equivalent(level, activity, sram, 398.15).sram_leakage_pj,
                   sram.leakage_pw_per_bit_at(398.15) * 8.0 * (1 << 20) * 2e-3);
  EXPECT_DOUBLE_EQ(comparison.actual_keep_data_pj(), 1.0);
  std::ostringstream text;
  print_sram_comparison(text, {comparison});
  EXPECT_NE(text.str().find("nosram"), std::string::npos);
}

TEST(RetentionTable, CsvHasOneColumnPerTechnologyAndTheReferenceValueAt85C) {
  const RetentionTable table =
      retention_table({preset("nosram"), preset("dosram"), preset("dram"), preset("sram")});
  ASSERT_EQ(table.temperatures_c.front(), 25.0);
  ASSERT_EQ(table.temperatures_c.back(), 125.0);
  ASSERT_EQ(table.temperatures_c.size(), 21u);
  const size_t at85 = 12;
  ASSERT_DOUBLE_EQ(table.temperatures_c[at85], 85.0);
  EXPECT_NEAR(table.retention_s[at85][0], preset("nosram").retention_s_at_ref, 1e-6);
  EXPECT_NEAR(table.retention_s[at85][1], preset("dosram").retention_s_at_ref, 1e-9);
  std::ostringstream csv;
  write_retention_csv(csv, table);
  EXPECT_EQ(csv.str().substr(0, csv.str().find('\n')),
            "temperature_c,temperature_k,nosram_s,dosram_s,dram_s,sram_s");
  EXPECT_NE(csv.str().find(",inf\n"), std::string::npos);
  std::ostringstream text;
  print_retention_table(text, table);
  EXPECT_NE(text.str().find("days"), std::string::npos);
  EXPECT_EQ(format_duration_s(5400.0), "90 min");
}

}  // namespace
}  // namespace cimtlm::memory
