// Environment inputs that models read through one interface: today a fixed parameter, later the
// power/thermal model (models/power) or an environment trace.
#pragma once

#include <systemc>

namespace cimtlm::kernel {

class TemperatureSource {
 public:
  virtual ~TemperatureSource() = default;
  // Die temperature in kelvin at simulated time `at`.
  virtual double temperature_k(const sc_core::sc_time& at) const = 0;
};

class FixedTemperature : public TemperatureSource {
 public:
  explicit FixedTemperature(double kelvin) : kelvin_(kelvin) {}
  double temperature_k(const sc_core::sc_time&) const override { return kelvin_; }
  void set(double kelvin) { kelvin_ = kelvin; }

 private:
  double kelvin_;
};

}  // namespace cimtlm::kernel
