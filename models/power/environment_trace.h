// The environment over simulated time: ambient temperature, power budget (battery or thermal
// budget) and input rate. Samples hold until the next sample (a step trace).
#pragma once

#include <string>
#include <vector>

namespace cimtlm::power {

struct EnvironmentSample {
  double time_s = 0.0;
  double ambient_k = 298.15;
  double budget_w = 1.0;  // average power the chip may draw
  double rate_hz = 0.0;   // inferences per second requested
};

class EnvironmentTrace {
 public:
  EnvironmentTrace() = default;
  explicit EnvironmentTrace(std::vector<EnvironmentSample> samples);

  // Empty when usable, otherwise "sample <i>: ..." naming the first bad sample: times must start
  // at 0 and increase strictly, ambient > 0 K, budget > 0, rate >= 0.
  std::string validate() const;

  // The sample in force at `time_s` (the last one whose time <= time_s).
  const EnvironmentSample& at(double time_s) const;
  // Time of the next sample after `time_s` (infinity when none).
  double next_change_s(double time_s) const;
  const std::vector<EnvironmentSample>& samples() const { return samples_; }

 private:
  std::vector<EnvironmentSample> samples_;
};

}  // namespace cimtlm::power
