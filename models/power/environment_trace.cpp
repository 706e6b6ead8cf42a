#include "models/power/environment_trace.h"

#include <algorithm>
#include <limits>

namespace cimtlm::power {

EnvironmentTrace::EnvironmentTrace(std::vector<EnvironmentSample> samples)
    : samples_(std::move(samples)) {}

std::string EnvironmentTrace::validate() const {
  if (samples_.empty()) return "sample 0: the trace is empty";
  if (samples_.front().time_s != 0.0) return "sample 0: the first sample must be at time 0";
  for (size_t i = 0; i < samples_.size(); ++i) {
    const auto& s = samples_[i];
    const std::string where = "sample " + std::to_string(i) + ": ";
    if (i > 0 && !(s.time_s > samples_[i - 1].time_s)) {
      return where + "time is not after the previous sample's (the trace must increase in time)";
    }
    if (!(s.ambient_k > 0.0)) return where + "ambient must be above 0 K";
    if (!(s.budget_w > 0.0)) return where + "budget must be > 0 W";
    if (!(s.rate_hz >= 0.0)) return where + "rate must be >= 0";
  }
  return "";
}

const EnvironmentSample& EnvironmentTrace::at(double time_s) const {
  auto after = std::upper_bound(samples_.begin(), samples_.end(), time_s,
                                [](double t, const EnvironmentSample& s) { return t < s.time_s; });
  return after == samples_.begin() ? samples_.front() : *(after - 1);
}

double EnvironmentTrace::next_change_s(double time_s) const {
  auto after = std::upper_bound(samples_.begin(), samples_.end(), time_s,
                                [](double t, const EnvironmentSample& s) { return t < s.time_s; });
  return after == samples_.end() ? std::numeric_limits<double>::infinity() : after->time_s;
}

}  // namespace cimtlm::power
