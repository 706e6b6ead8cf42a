// Measuring a variant on the platform: one full simulation (`cimtlm run` in a child process, so
// that each run gets a fresh SystemC kernel) of one and of two inferences. Their difference is
// the steady per-inference cost; the rest of the one-inference run is the program's prologue
// (the stationary weight loads into the CIM arrays), i.e. the cost of switching to the variant.
// Leakage, refresh and wake-ups are left out: the scenario simulates them itself.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "models/power/scenario_engine.h"
#include "platforms/config/config.h"

namespace cimtlm::platforms {

struct VariantMeasurement {
  power::VariantProfile profile;
  uint64_t cycles_per_inference = 0;
  double weight_bytes_loaded = 0;  // read from the weight level by the prologue (whole chip)
  bool match_reference = false;    // the simulated outputs equal the reference executor's
  // Dynamic energy of one inference by component ("cim", "memory", "arith", "noc"), joules.
  std::vector<std::pair<std::string, double>> component_energy_j;
};

// Simulates `network` on `platform_path` (with `overrides`). Throws ConfigError when the run
// fails: the message starts with `where` (the scenario's file, line and key of the variant) and
// carries the run's own message (e.g. the network does not fit the platform).
VariantMeasurement measure_variant(const std::string& platform_path,
                                   const std::vector<Override>& overrides,
                                   const std::string& network, const std::string& weights_level,
                                   const std::string& scratch_dir, const std::string& where);

// Top-1 accuracy of a quantized network on labelled data (first `samples`, 0: all), with the
// reference executor to which the simulated platform is bit-exact.
double measure_accuracy(const std::string& network, const std::string& inputs,
                        const std::string& labels, int samples, const std::string& where);

// Runs the first `samples` inputs of the labelled set through the platform, one simulation each
// (a child process, as above), and requires the simulated outputs to equal the reference
// executor's: then the accuracy measure_accuracy() gives is the platform's on those images.
// Throws ConfigError naming `where` when a run fails or differs. Returns the samples checked.
int check_on_platform(const std::string& platform_path, const std::vector<Override>& overrides,
                      const std::string& network, const std::string& inputs,
                      const std::string& labels, int samples, const std::string& scratch_dir,
                      const std::string& where);

}  // namespace cimtlm::platforms
