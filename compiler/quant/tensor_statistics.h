// Statistics of the float tensors of a network over a calibration set (step 1 of the network
// quantization method: the statistical information database). Activations come from running the
// float graph through the reference executor, weights from the initializers themselves.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::quant {

// Equal-width histogram over [lo, hi]; values outside are counted in the end bins.
struct Histogram {
  double lo = 0.0;
  double hi = 0.0;
  std::vector<uint64_t> counts;

  uint64_t total() const;
  double bin_width() const {
    return counts.empty() ? 0.0 : (hi - lo) / static_cast<double>(counts.size());
  }
  double bin_centre(size_t bin) const {
    return lo + (static_cast<double>(bin) + 0.5) * bin_width();
  }
  // Value below which the fraction `q` (0..1) of the counts lies, interpolated inside its bin.
  double quantile(double q) const;
  // The histogram of |x| over [0, max(|lo|, |hi|)] with `bins` bins (counts of a source bin are
  // split in proportion to its overlap with each target bin).
  Histogram magnitudes(size_t bins) const;
};

// Percentiles kept for every tensor and channel (percent).
constexpr std::array<double, 7> kPercentiles = {0.01, 0.1, 1.0, 50.0, 99.0, 99.9, 99.99};

// Statistics of one tensor, or of one channel of it.
struct ValueStats {
  uint64_t count = 0;
  double min = 0.0;
  double max = 0.0;
  double mean = 0.0;
  double std = 0.0;
  // Fraction of values that are exactly zero (post-ReLU sparsity: what the CIM macro skips).
  double zero_fraction = 0.0;
  // Fraction of values farther than 3 standard deviations from the mean (0.27 % for a Gaussian).
  double outlier_ratio = 0.0;
  std::array<double, kPercentiles.size()> percentiles{};  // at kPercentiles
  Histogram histogram;

  double abs_max() const;
  // max(|x|) over the 99.99th percentile of |x|: 1 for a bounded distribution, large when a
  // few outliers stretch the range that min-max calibration would cover.
  double tail_ratio() const;
  double percentile(double percent) const;  // one of kPercentiles, else from the histogram
};

enum class TensorKind { Activation, Weight };
const char* to_string(TensorKind kind);

struct TensorStats {
  std::string name;
  TensorKind kind = TensorKind::Activation;
  int64_t channel_axis = 1;  // activations: 1 (NCHW / [N, features]); weights: output channels
  ValueStats whole;
  std::vector<ValueStats> channels;
};

using StatsTable = std::map<std::string, TensorStats>;

struct CollectOptions {
  size_t tensor_bins =
      2048;  // histogram bins per tensor (TensorRT's entropy calibration uses 2048)
  size_t channel_bins = 128;  // per channel
};

// Runs the float graph over `samples` and gathers the statistics of every float value the graph
// computes (and of its float graph inputs). Two passes: ranges, means and deviations first, then
// histograms and outliers over the ranges found. Every ReferenceExecutor::run is counted.
class StatisticsCollector {
 public:
  StatisticsCollector(const graph::Graph& float_graph, const CollectOptions& options);
  StatsTable collect(const std::vector<graph::ValueMap>& samples);
  int executor_runs() const { return executor_runs_; }

 private:
  const graph::Graph& graph_;
  CollectOptions options_;
  int executor_runs_ = 0;
};

// Statistics of a weight initializer, per output channel along `channel_axis`.
TensorStats weight_statistics(const std::string& name, const graph::Tensor& weights,
                              int64_t channel_axis, const CollectOptions& options);

}  // namespace cimtlm::quant
