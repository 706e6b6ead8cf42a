// The statistics tree (registration, sums by component and energy category, JSON) and the VCD
// writer (out-of-order changes written in time order, GTKWave groups).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
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
  double& leak =
      chip.child("core0").child("cim0").energy_pj("leak_pj", EnergyCategory::Leakage, "leak");
  double& memory = chip.child("core0")
                       .child("memory", "memory")
                       .energy_pj("access_pj", EnergyCategory::Memory, "access");
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

// The whole file, byte for byte: declarations, $dumpvars of the initial values (masked to the
// width), 64-bit values, zero on a bus, two-character identifier codes past 94 signals, and an
// unchanged value at a later time left out.
TEST(VcdTrace, FileIsExactlyTheVcdOfTheChanges) {
  VcdTrace trace;
  VcdSignal* bit = trace.add_signal({"chip", "core0"}, "busy", 1, 1);
  VcdSignal* wide = trace.add_signal({"chip", "core0"}, "word", 64);
  VcdSignal* bus = trace.add_signal({"chip"}, "level", 4, 0x1f);  // initial value masked: 0xf
  for (int filler = 3; filler < 95; ++filler)
    trace.add_signal({"x"}, "f" + std::to_string(filler), 1);
  VcdSignal* last = trace.add_signal({"x"}, "late", 3, 5);  // code of index 95: "\"\""
  wide->set(20, ~uint64_t{0});
  bus->set(10, 0);
  bit->set(10, 0);
  last->set(10, 5);    // unchanged from the initial value: not written
  bus->set(30, 0x13);  // masked to 0x3
  last->set(30, 2);
  wide->set(30, 1);
  const std::string path = ::testing::TempDir() + "/exact.vcd";
  ASSERT_TRUE(trace.write_vcd(path));
  std::string expected =
      "$date cimtlm $end\n$version cimtlm VCD writer $end\n$timescale 1 ps $end\n"
      "$scope module cimtlm $end\n$scope module chip $end\n"
      "$var wire 4 # level [3:0] $end\n"
      "$scope module core0 $end\n$var wire 1 ! busy $end\n$var wire 64 \" word [63:0] $end\n"
      "$upscope $end\n$upscope $end\n$scope module x $end\n";
  for (int filler = 3; filler < 94; ++filler) {
    expected += "$var wire 1 " + std::string(1, static_cast<char>(33 + filler)) + " f" +
                std::to_string(filler) + " $end\n";
  }
  expected +=
      "$var wire 1 !\" f94 $end\n"  // base 94, least significant digit first
      "$var wire 3 \"\" late [2:0] $end\n$upscope $end\n$upscope $end\n"
      "$enddefinitions $end\n#0\n$dumpvars\n1!\nb0 \"\nb1111 #\n";
  for (int filler = 3; filler < 94; ++filler) {
    expected += "0" + std::string(1, static_cast<char>(33 + filler)) + "\n";
  }
  expected += "0!\"\nb101 \"\"\n$end\n#10\n0!\nb0 #\n#20\nb" + std::string(64, '1') +
              " \"\n#30\nb1 \"\nb11 #\nb10 \"\"\n";
  EXPECT_EQ(read_text(path), expected);
}

// A trace larger than the writer's buffer: every change reaches the file, in time order.
TEST(VcdTrace, LongTraceIsWrittenWhole) {
  VcdTrace trace;
  VcdSignal* counter = trace.add_signal({"chip"}, "counter", 20);
  constexpr uint64_t kChanges = 300000;  // ~4 MB of VCD, recorded backwards in time
  for (uint64_t step = kChanges; step >= 1; --step) counter->set(step * 1000, step);
  const std::string path = ::testing::TempDir() + "/long.vcd";
  ASSERT_TRUE(trace.write_vcd(path));
  const std::string text = read_text(path);
  std::string changes;
  for (uint64_t step = 1; step <= kChanges; ++step) {
    changes += '#' + std::to_string(step * 1000) + "\nb";
    std::string bits;
    for (uint64_t value = step; value != 0; value >>= 1)
      bits.insert(bits.begin(), '0' + (value & 1));
    changes += bits + " !\n";
  }
  ASSERT_GT(text.size(), changes.size());
  EXPECT_EQ(text.substr(text.size() - changes.size()), changes);
  EXPECT_EQ(trace.change_count(), kChanges);
}

// Many changes out of time order with repeated times spread over 32 bits: at each time the change
// recorded last wins, and a value equal to the one before is not written.
TEST(VcdTrace, LastChangeRecordedAtATimeWinsAmongManyOutOfOrder) {
  VcdTrace trace;
  VcdSignal* level = trace.add_signal({"chip"}, "level", 3);
  std::mt19937_64 random(7);
  std::map<uint64_t, uint64_t> last_at;  // time -> the value recorded last
  for (int change = 0; change < 20000; ++change) {
    const uint64_t time = (random() % 3000) * 1000003;
    const uint64_t value = random() % 8;
    level->set(time, value);
    last_at[time] = value;
  }
  std::string expected = "b0 !\n$end\n";
  uint64_t current = 0;
  for (const auto& [time, value] : last_at) {
    if (value == current) continue;
    current = value;
    std::string bits;
    for (uint64_t rest = value; rest != 0; rest >>= 1) bits.insert(bits.begin(), '0' + (rest & 1));
    expected += '#' + std::to_string(time) + "\nb" + (bits.empty() ? "0" : bits) + " !\n";
  }
  const std::string path = ::testing::TempDir() + "/order.vcd";
  ASSERT_TRUE(trace.write_vcd(path));
  const std::string text = read_text(path);
  ASSERT_GT(text.size(), expected.size());
  EXPECT_EQ(text.substr(text.size() - expected.size()), expected);
}

TEST(VcdTrace, UnwritableFileIsReported) {
  VcdTrace trace;
  trace.add_signal({"chip"}, "busy", 1)->set(5, 1);
  EXPECT_FALSE(trace.write_vcd(::testing::TempDir() + "/no_such_folder/trace.vcd"));
  EXPECT_FALSE(trace.write_vcd("/dev/full"));
}

}  // namespace
}  // namespace cimtlm::kernel
