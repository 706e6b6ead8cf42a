// The statistics tree (registration, sums by component and energy category, JSON) and the VCD
// writer (out-of-order changes written in time order, GTKWave groups).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/kernel/stats.h"
#include "models/kernel/vcd.h"

namespace cimtlm::kernel {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(StatGroup, RegistrationReturnsStableReferencesAndSums) {
  StatGroup chip("chip", "chip");
  uint64_t& macs0 = chip.child("core0", "core").child("cim0", "cim").count("macs", "MACs");
  uint64_t& macs1 = chip.child("core1", "core").child("cim0", "cim").count("macs", "MACs");
  double& adc = chip.child("core0").child("cim0").energy_pj("adc_pj", EnergyCategory::Cim, "ADC");
  double& leak = chip.child("core0").child("cim0").energy_pj("leak_pj", EnergyCategory::Leakage, "leak");
  double& memory = chip.child("core0").child("memory", "memory").energy_pj("access_pj", EnergyCategory::Memory, "access");
  for (int i = 0; i < 100; ++i) chip.child("core2").count("filler" + std::to_string(i), "");
  macs0 += 10;
  macs1 += 5;
  adc += 1.5;
  leak += 2.0;
  memory += 4.0;
  // The same name registered again is the same statistic.
  EXPECT_EQ(&chip.child("core0").child("cim0").count("macs", "again"), &macs0);
  EXPECT_EQ(chip.sum("macs", "cim"), 15.0);
  EXPECT_EQ(chip.sum("macs", "memory"), 0.0);
  EXPECT_EQ(chip.energy_pj(EnergyCategory::Cim), 1.5);
  EXPECT_EQ(chip.energy_pj(EnergyCategory::Leakage), 2.0);
  EXPECT_EQ(chip.total_energy_pj(), 7.5);
  EXPECT_THROW(chip.child("core0").child("cim0").time_ns("macs", "kind clash"), std::logic_error);
}

TEST(StatGroup, JsonMirrorsTheTree) {
  StatGroup chip("chip");
  chip.child("core0").count("commands", "") = 3;
  chip.child("core0").child("arith").value("busy_cycles", "") = 12.5;
  const nlohmann::json json = chip.to_json();
  EXPECT_EQ(json["core0"]["commands"], 3);
  EXPECT_EQ(json["core0"]["arith"]["busy_cycles"], 12.5);
}

TEST(VcdTrace, ChangesAreWrittenInTimeOrderAndGrouped) {
  VcdTrace trace;
  VcdSignal* busy = trace.add_signal({"chip", "core0", "controller"}, "busy", 1);
  VcdSignal* rows = trace.add_signal({"chip", "core0", "cim0"}, "active_rows", 9);
  // Out of time order, as temporally decoupled cores report them.
  busy->set(3000, 1);
  rows->set(1000, 200);
  busy->set(5000, 0);
  rows->set(1000, 100);  // the last change at a time wins
  rows->set(2000, 100);  // unchanged: not written
  const std::string vcd = ::testing::TempDir() + "/kernel.vcd";
  ASSERT_TRUE(trace.write_vcd(vcd));
  const std::string text = read_text(vcd);
  EXPECT_NE(text.find("$timescale 1 ps $end"), std::string::npos);
  EXPECT_NE(text.find("$var wire 9 \" active_rows [8:0] $end"), std::string::npos);
  const size_t t1000 = text.find("#1000\nb1100100 \"");
  const size_t t3000 = text.find("#3000\n1!");
  const size_t t5000 = text.find("#5000\n0!");
  ASSERT_NE(t1000, std::string::npos) << text;
  ASSERT_NE(t3000, std::string::npos) << text;
  ASSERT_NE(t5000, std::string::npos) << text;
  EXPECT_LT(t1000, t3000);
  EXPECT_LT(t3000, t5000);
  EXPECT_EQ(text.find("#2000"), std::string::npos);
  const std::string gtkw = ::testing::TempDir() + "/kernel.gtkw";
  ASSERT_TRUE(trace.write_gtkw(gtkw, "kernel.vcd"));
  const std::string save = read_text(gtkw);
  EXPECT_NE(save.find("[dumpfile] \"kernel.vcd\""), std::string::npos);
  EXPECT_NE(save.find("-core0.controller\n"), std::string::npos);
  EXPECT_NE(save.find("-core0.cim0\n"), std::string::npos);
  EXPECT_NE(save.find("cimtlm.chip.core0.cim0.active_rows[8:0]"), std::string::npos);
}

}  // namespace
}  // namespace cimtlm::kernel
