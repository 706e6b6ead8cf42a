// Thermal RC network and temperature-dependent leakage against their analytic solutions.
#include <gtest/gtest.h>

#include <cmath>

#include "models/power/power_model.h"
#include "models/power/thermal_model.h"

namespace cimtlm::power::test {
namespace {

ThermalParams one_node(double r, double c, double initial_k) {
  ThermalParams params;
  params.nodes = {ThermalNodeParams{"die", r, c}};
  params.initial_temperature_k = initial_k;
  return params;
}

// A step in power from equilibrium: T(t) = Ta + P R (1 - exp(-t / RC)), in many unequal steps
// as the scenario engine takes them; within 1 % of the rise (in fact to rounding).
TEST(ThermalModel, StepInPowerFollowsTheAnalyticRcSolution) {
  const double r = 40.0, c = 0.05, ambient = 298.15, watts = 0.5;  // tau = 2 s, rise 20 K
  ThermalModel thermal(one_node(r, c, ambient));
  double t = 0.0;
  for (int step = 0; t < 10.0; ++step) {
    const double dt = step % 3 == 0 ? 1e-3 : 3.7e-3;
    thermal.advance(dt, watts, ambient);
    t += dt;
    const double analytic = ambient + watts * r * (1.0 - std::exp(-t / (r * c)));
    ASSERT_NEAR(thermal.junction_k(), analytic, 0.01 * watts * r) << "t = " << t;
    ASSERT_NEAR(thermal.junction_k(), analytic, 1e-9);
  }
  EXPECT_NEAR(thermal.junction_k(), thermal.steady_state_k(watts, ambient), 0.01 * watts * r);
  // Past times are read back from the recorded steps (the TemperatureSource interface).
  const double at = 1.2345;
  EXPECT_NEAR(thermal.temperature_k(sc_core::sc_time(at * 1e12, sc_core::SC_PS)),
              ambient + watts * r * (1.0 - std::exp(-at / (r * c))), 1e-6);
}

TEST(ThermalModel, CoolingAndAmbientSteps) {
  ThermalModel thermal(one_node(10.0, 0.2, 350.0));  // tau = 2 s
  thermal.advance(2.0, 0.0, 300.0);
  EXPECT_NEAR(thermal.junction_k(), 300.0 + 50.0 * std::exp(-1.0), 1e-9);
}

// Two stacked nodes: the steady state is Ta + P (R1 + R2) and node 1 sits at Ta + P R2.
TEST(ThermalModel, TwoNodeChainReachesItsSteadyState) {
  ThermalParams params;
  params.nodes = {ThermalNodeParams{"logic", 5.0, 0.01}, ThermalNodeParams{"package", 30.0, 0.1}};
  params.initial_temperature_k = 300.0;
  ThermalModel thermal(params);
  thermal.advance(60.0, 1.0, 300.0);  // 20 time constants of the slow node
  EXPECT_NEAR(thermal.junction_k(), 335.0, 0.01);
  EXPECT_NEAR(thermal.node_k(1), 330.0, 0.01);
}

TEST(ThermalParams, ValidateNamesTheBadField) {
  ThermalParams params = one_node(0.0, 1.0, 300.0);
  EXPECT_NE(params.validate().find("resistance_k_per_w"), std::string::npos);
  params = one_node(1.0, -1.0, 300.0);
  EXPECT_NE(params.validate().find("capacitance_j_per_k"), std::string::npos);
}

TEST(PowerModel, LeakageIsExponentialInTemperatureAndZeroWhenGated) {
  PowerParams params;
  params.components = {{"logic", 1e-3, 358.15, 0.02, false}, {"memory", 2e-3, 358.15, 0.01, true}};
  PowerModel model(params);
  EXPECT_DOUBLE_EQ(model.leakage_w(358.15, false), 3e-3);
  EXPECT_NEAR(model.leakage_w(338.15, false), 1e-3 * std::exp(-0.4) + 2e-3 * std::exp(-0.2), 1e-15);
  EXPECT_NEAR(model.leakage_w(338.15, true), 1e-3 * std::exp(-0.4), 1e-15);
  const double joules = model.account(2.0, 5e-3, 358.15, true);
  EXPECT_DOUBLE_EQ(joules, 5e-3 + 2e-3);
  EXPECT_DOUBLE_EQ(model.component_leakage_j(1), 0.0);
  EXPECT_DOUBLE_EQ(model.dynamic_j(), 5e-3);
}

}  // namespace
}  // namespace cimtlm::power::test

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
