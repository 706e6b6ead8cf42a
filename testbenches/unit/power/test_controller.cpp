// The controller's policies: thresholds with hysteresis (exact switching points, no chatter on a
// noisy input) and the PI budget policy.
#include <gtest/gtest.h>

#include <random>

#include "models/power/controller.h"

namespace cimtlm::power::test {
namespace {

std::vector<VariantCost> two_variants() {
  return {{"int8", 1.0e-6, 36e-6, 0.98}, {"int4", 0.8e-6, 23e-6, 0.97}};
}

ControllerInputs cool_inputs(double time_s, double temperature_k) {
  ControllerInputs in;
  in.time_s = time_s;
  in.temperature_k = temperature_k;
  in.budget_w = 1.0;  // far above any variant: only the temperature decides
  in.rate_hz = 100.0;
  in.idle_power_w = 1e-3;
  return in;
}

// Temperature ramps 60 -> 90 -> 60 C in 0.01 K steps: the switch to the lean variant happens at
// the first sample >= 80 C and the switch back at the first sample <= 70 C, nowhere else.
TEST(ThresholdPolicy, SwitchesExactlyAtTheThresholdsWithHysteresis) {
  ThresholdParams params;
  params.temperature_high_k = 353.15;
  params.temperature_low_k = 343.15;
  ThresholdPolicy policy(params);
  const auto variants = two_variants();
  int current = 0, switches = 0;
  std::vector<std::pair<double, int>> events;
  double t = 0.0;
  auto feed = [&](double kelvin) {
    const int next = policy.choose(cool_inputs(t, kelvin), current, variants);
    if (next != current) {
      ++switches;
      events.emplace_back(kelvin, next);
    }
    current = next;
    t += 1e-3;
  };
  for (int i = 0; i <= 3000; ++i) feed(333.15 + 0.01 * i);
  for (int i = 3000; i >= 0; --i) feed(333.15 + 0.01 * i);
  ASSERT_EQ(switches, 2);
  EXPECT_EQ(events[0].second, 1);
  EXPECT_GE(events[0].first, 353.15);
  EXPECT_LT(events[0].first - 0.01, 353.15);  // the previous sample was below the threshold
  EXPECT_EQ(events[1].second, 0);
  EXPECT_LE(events[1].first, 343.15);
  EXPECT_GT(events[1].first + 0.01, 343.15);
}

// A noisy temperature that crosses the upper threshold hundreds of times but stays inside the
// band afterwards: one switch. The same input with a band of 1 mK chatters.
TEST(ThresholdPolicy, DoesNotChatterOnANoisyTrace) {
  const auto variants = two_variants();
  auto count_switches = [&](double band_k) {
    ThresholdParams params;
    params.temperature_high_k = 353.15;
    params.temperature_low_k = 353.15 - band_k;
    ThresholdPolicy policy(params);
    std::mt19937_64 random(7);
    std::uniform_real_distribution<double> noise(-3.0, 3.0);
    int current = 0, switches = 0, crossings = 0;
    bool above = false;
    for (int i = 0; i < 5000; ++i) {
      const double kelvin = 353.15 + noise(random);
      if ((kelvin >= 353.15) != above) ++crossings;
      above = kelvin >= 353.15;
      const int next = policy.choose(cool_inputs(i * 1e-3, kelvin), current, variants);
      if (next != current) ++switches;
      current = next;
    }
    EXPECT_GT(crossings, 1000);
    return switches;
  };
  EXPECT_EQ(count_switches(10.0), 1);     // band wider than the noise (6 K peak to peak)
  EXPECT_GT(count_switches(0.001), 100);  // no band: it chatters
}

TEST(ThresholdPolicy, BudgetThresholdsWithHysteresis) {
  ThresholdParams params;
  params.budget_high = 1.0;
  params.budget_low = 0.9;
  ThresholdPolicy policy(params);
  const auto variants = two_variants();  // at 1000/s: 2 mW and 1.8 mW with 1 mW idle
  ControllerInputs in = cool_inputs(0.0, 300.0);
  in.rate_hz = 1000.0;
  in.budget_w = 2.0005e-3;  // int8 fits (not above high x budget)
  EXPECT_EQ(policy.choose(in, 0, variants), 0);
  in.budget_w = 1.999e-3;
  EXPECT_EQ(policy.choose(in, 0, variants), 1);
  in.budget_w = 2.1e-3;  // int8 would need 2 mW > 0.9 x 2.1 mW: hold the lean variant
  EXPECT_EQ(policy.choose(in, 1, variants), 1);
  in.budget_w = 2.21e-3;  // 0.9 x 2.21 = 1.989 mW < 2 mW: still held
  EXPECT_EQ(policy.choose(in, 1, variants), 1);
  in.budget_w = 2.23e-3;  // 0.9 x 2.23 = 2.007 mW >= 2 mW: back to int8
  EXPECT_EQ(policy.choose(in, 1, variants), 0);
}

TEST(ThresholdPolicy, MinimumDwellDelaysTheNextSwitch) {
  ThresholdParams params;
  params.min_dwell_s = 1.0;
  ThresholdPolicy policy(params);
  const auto variants = two_variants();
  EXPECT_EQ(policy.choose(cool_inputs(0.0, 360.0), 0, variants), 1);
  EXPECT_EQ(policy.choose(cool_inputs(0.5, 300.0), 1, variants), 1);
  EXPECT_EQ(policy.choose(cool_inputs(1.0, 300.0), 1, variants), 0);
}

TEST(PiBudgetPolicy, PicksTheRichestVariantUnderTheAllowedPower) {
  PiBudgetParams params;
  params.kp = 0.0;
  params.ki = 0.0;
  params.setpoint = 1.0;
  PiBudgetPolicy policy(params);
  const auto variants = two_variants();
  ControllerInputs in = cool_inputs(0.0, 300.0);
  in.rate_hz = 1000.0;
  in.budget_w = 1.9e-3;
  in.average_power_w = 1.9e-3;  // no error
  EXPECT_EQ(policy.choose(in, 0, variants), 1);
  in.budget_w = 2.001e-3;
  in.average_power_w = 2.001e-3;
  EXPECT_EQ(policy.choose(in, 1, variants), 0);
}

TEST(PiBudgetPolicy, IntegralRaisesTheAllowedPowerWhileBelowTheSetPoint) {
  PiBudgetParams params;
  params.kp = 0.0;
  params.ki = 1.0;
  params.setpoint = 1.0;
  params.integral_limit = 0.5;
  PiBudgetPolicy policy(params);
  const auto variants = two_variants();
  ControllerInputs in = cool_inputs(0.0, 300.0);
  in.rate_hz = 1000.0;
  in.budget_w = 1.9e-3;
  in.average_power_w = 1.71e-3;  // 10 % below: the integral grows 0.1 per second
  EXPECT_EQ(policy.choose(in, 1, variants), 1);
  in.time_s = 0.4;  // integral 0.04: allowed 1.9 mW x 1.04 = 1.976 mW < 2 mW
  EXPECT_EQ(policy.choose(in, 1, variants), 1);
  in.time_s = 0.6;  // integral 0.06: allowed 2.014 mW >= 2 mW
  EXPECT_EQ(policy.choose(in, 1, variants), 0);
  // Anti-windup: with the richest variant running and the power still below the target, the
  // integral does not grow further.
  EXPECT_NEAR(policy.integral(), 0.04, 1e-12);
  in.time_s = 5.0;
  EXPECT_EQ(policy.choose(in, 0, variants), 0);
  EXPECT_NEAR(policy.integral(), 0.04, 1e-12);
}

// The digits variants on the edge platform: int8 and int4 cost more and are less accurate than
// the pruned model, so no policy runs them; the thresholds step pruned -> search -> int2.
std::vector<VariantCost> digits_variants() {
  return {{"int8", 0.282e-6, 125e-6, 0.9806},
          {"int4", 0.178e-6, 66e-6, 0.9778},
          {"pruned", 0.168e-6, 64e-6, 0.9861},
          {"search", 0.129e-6, 37e-6, 0.9778},
          {"int2", 0.125e-6, 36e-6, 0.9583}};
}

TEST(ParetoLadder, LeavesOutVariantsBeatenOnEnergyAndAccuracy) {
  EXPECT_EQ(pareto_ladder(digits_variants()), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(pareto_ladder(two_variants()), (std::vector<int>{0, 1}));
  // Equal twins: one of them.
  EXPECT_EQ(pareto_ladder({{"a", 1e-6, 1e-6, 0.9}, {"b", 1e-6, 1e-6, 0.9}}), (std::vector<int>{0}));
}

TEST(ThresholdPolicy, StepsAlongTheParetoLadder) {
  ThresholdParams params;
  ThresholdPolicy policy(params);
  const auto variants = digits_variants();
  EXPECT_EQ(policy.choose(cool_inputs(0.0, 300.0), 0, variants), 2);  // int8 -> pruned
  EXPECT_EQ(policy.choose(cool_inputs(0.1, 360.0), 2, variants), 3);  // hot: pruned -> search
  EXPECT_EQ(policy.choose(cool_inputs(0.2, 360.0), 3, variants), 4);  // still hot: -> int2
  EXPECT_EQ(policy.choose(cool_inputs(0.3, 360.0), 4, variants), 4);  // the leanest
  EXPECT_EQ(policy.choose(cool_inputs(0.4, 300.0), 4, variants), 3);  // cool: back up
}

TEST(PiBudgetPolicy, RunsTheMostAccurateVariantThatFits) {
  PiBudgetParams params;
  params.kp = 0.0;
  params.ki = 0.0;
  params.setpoint = 1.0;
  PiBudgetPolicy policy(params);
  const auto variants = digits_variants();
  ControllerInputs in = cool_inputs(0.0, 300.0);
  in.rate_hz = 2000.0;
  in.budget_w = 2e-3;  // everything fits: the pruned model is the most accurate
  in.average_power_w = in.budget_w;
  EXPECT_EQ(policy.choose(in, 0, variants), 2);
  in.budget_w = 1.3e-3;  // 1 mW + 2000 x 0.129 uJ = 1.258 mW fits, pruned (1.336 mW) not
  in.average_power_w = in.budget_w;
  EXPECT_EQ(policy.choose(in, 2, variants), 3);
}

TEST(PolicyParams, ValidateRejectsAnInvertedBand) {
  ThresholdParams thresholds;
  thresholds.temperature_low_k = thresholds.temperature_high_k + 1.0;
  EXPECT_NE(thresholds.validate().find("temperature_low"), std::string::npos);
  PiBudgetParams pi;
  pi.setpoint = 1.5;
  EXPECT_NE(pi.validate().find("setpoint"), std::string::npos);
}

}  // namespace
}  // namespace cimtlm::power::test
