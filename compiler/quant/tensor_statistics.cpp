#include "compiler/quant/tensor_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace cimtlm::quant {

using graph::DataType;
using graph::Tensor;

uint64_t Histogram::total() const {
  uint64_t sum = 0;
  for (uint64_t count : counts) sum += count;
  return sum;
}

double Histogram::quantile(double q) const {
  const uint64_t all = total();
  if (all == 0 || counts.empty()) return lo;
  const double target = std::clamp(q, 0.0, 1.0) * static_cast<double>(all);
  double below = 0.0;
  for (size_t bin = 0; bin < counts.size(); ++bin) {
    const double in_bin = static_cast<double>(counts[bin]);
    if (in_bin > 0.0 && below + in_bin >= target) {
      const double inside = (target - below) / in_bin;
      return lo + (static_cast<double>(bin) + inside) * bin_width();
    }
    below += in_bin;
  }
  return hi;
}

Histogram Histogram::magnitudes(size_t bins) const {
  Histogram folded;
  folded.lo = 0.0;
  folded.hi = std::max(std::fabs(lo), std::fabs(hi));
  folded.counts.assign(bins, 0);
  if (folded.hi <= 0.0 || counts.empty()) {
    if (!folded.counts.empty()) folded.counts[0] = total();
    return folded;
  }
  const double target_width = folded.hi / static_cast<double>(bins);
  const double width = bin_width();
  // Fractional counts are accumulated in double and rounded once at the end.
  std::vector<double> mass(bins, 0.0);
  auto deposit = [&](double a, double b, double count) {  // |x| uniform over [a, b], 0 <= a <= b
    if (b <= a) {
      mass[std::min(bins - 1, static_cast<size_t>(a / target_width))] += count;
      return;
    }
    const size_t first = std::min(bins - 1, static_cast<size_t>(a / target_width));
    const size_t last = std::min(bins - 1, static_cast<size_t>(b / target_width));
    for (size_t bin = first; bin <= last; ++bin) {
      const double from = std::max(a, static_cast<double>(bin) * target_width);
      const double to =
          bin == bins - 1 ? b : std::min(b, static_cast<double>(bin + 1) * target_width);
      if (to > from) mass[bin] += count * (to - from) / (b - a);
    }
  };
  for (size_t bin = 0; bin < counts.size(); ++bin) {
    if (counts[bin] == 0) continue;
    const double a = lo + static_cast<double>(bin) * width;
    const double b = a + width;
    const double count = static_cast<double>(counts[bin]);
    if (a >= 0.0) {
      deposit(a, b, count);
    } else if (b <= 0.0) {
      deposit(-b, -a, count);
    } else {  // the bin straddles zero: split it
      deposit(0.0, -a, count * (-a) / width);
      deposit(0.0, b, count * b / width);
    }
  }
  for (size_t bin = 0; bin < bins; ++bin)
    folded.counts[bin] = static_cast<uint64_t>(std::llround(mass[bin]));
  return folded;
}

double ValueStats::abs_max() const {
  return std::max(std::fabs(min), std::fabs(max));
}

double ValueStats::tail_ratio() const {
  const double high = std::max(std::fabs(percentile(0.01)), std::fabs(percentile(99.99)));
  if (high <= 0.0) return abs_max() > 0.0 ? std::numeric_limits<double>::infinity() : 1.0;
  return abs_max() / high;
}

double ValueStats::percentile(double percent) const {
  for (size_t index = 0; index < kPercentiles.size(); ++index) {
    if (kPercentiles[index] == percent) return percentiles[index];
  }
  return histogram.quantile(percent / 100.0);
}

const char* to_string(TensorKind kind) {
  return kind == TensorKind::Weight ? "weight" : "activation";
}

namespace {

// First-pass sums of one tensor or channel.
struct Moments {
  uint64_t count = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0.0;
  double sum_squares = 0.0;
  uint64_t zeros = 0;

  void add(double value) {
    ++count;
    min = std::min(min, value);
    max = std::max(max, value);
    sum += value;
    sum_squares += value * value;
    if (value == 0.0) ++zeros;
  }
  double mean() const { return count ? sum / static_cast<double>(count) : 0.0; }
  double std() const {
    if (!count) return 0.0;
    const double m = mean();
    return std::sqrt(std::max(0.0, sum_squares / static_cast<double>(count) - m * m));
  }
};

// Second-pass accumulation: histogram over the first pass's range, outliers beyond 3 sigma.
struct Spread {
  Histogram histogram;
  double outlier_low = 0.0, outlier_high = 0.0;
  uint64_t outliers = 0;

  Spread(const Moments& moments, size_t bins) {
    histogram.lo = moments.count ? moments.min : 0.0;
    histogram.hi = moments.count ? moments.max : 0.0;
    // A constant tensor still gets a non-empty range so that bin arithmetic stays finite.
    if (!(histogram.hi > histogram.lo))
      histogram.hi = histogram.lo + std::max(1e-12, std::fabs(histogram.lo) * 1e-6);
    histogram.counts.assign(bins, 0);
    outlier_low = moments.mean() - 3.0 * moments.std();
    outlier_high = moments.mean() + 3.0 * moments.std();
  }
  void add(double value) {
    const double position = (value - histogram.lo) / (histogram.hi - histogram.lo) *
                            static_cast<double>(histogram.counts.size());
    const auto bin = static_cast<size_t>(
        std::clamp(position, 0.0, static_cast<double>(histogram.counts.size() - 1)));
    ++histogram.counts[bin];
    if (value < outlier_low || value > outlier_high) ++outliers;
  }
};

ValueStats finish(const Moments& moments, const Spread& spread) {
  ValueStats stats;
  stats.count = moments.count;
  stats.min = moments.count ? moments.min : 0.0;
  stats.max = moments.count ? moments.max : 0.0;
  stats.mean = moments.mean();
  stats.std = moments.std();
  stats.zero_fraction =
      moments.count ? static_cast<double>(moments.zeros) / static_cast<double>(moments.count) : 0.0;
  stats.outlier_ratio =
      moments.count ? static_cast<double>(spread.outliers) / static_cast<double>(moments.count)
                    : 0.0;
  stats.histogram = spread.histogram;
  for (size_t index = 0; index < kPercentiles.size(); ++index) {
    stats.percentiles[index] =
        std::clamp(stats.histogram.quantile(kPercentiles[index] / 100.0), stats.min, stats.max);
  }
  return stats;
}

// Channel of flat element `index` for a tensor of `channels` along an axis with `inner` elements
// per step.
inline size_t channel_of(int64_t index, int64_t inner, int64_t channels) {
  return static_cast<size_t>((index / inner) % channels);
}

struct Layout {
  int64_t channels = 0;  // 0: no per-channel statistics
  int64_t inner = 1;
};

Layout layout_of(const graph::Shape& shape, int64_t axis) {
  Layout layout;
  if (axis < 0 || axis >= static_cast<int64_t>(shape.size())) return layout;
  layout.channels = shape[static_cast<size_t>(axis)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) layout.inner *= shape[d];
  return layout;
}

// Accumulators of one tensor over both passes.
struct TensorAccumulator {
  int64_t axis = 1;
  Layout layout;
  Moments whole;
  std::vector<Moments> channels;
  std::vector<Spread> spreads;  // [0] whole tensor, [1 + c] channel c (pass 2)

  void first_pass(const float* values, int64_t count, const graph::Shape& shape) {
    if (channels.empty() && whole.count == 0) {
      layout = layout_of(shape, axis);
      channels.resize(static_cast<size_t>(layout.channels));
    }
    const Layout here = layout_of(shape, axis);
    const bool per_channel = here.channels == layout.channels && layout.channels > 0;
    for (int64_t i = 0; i < count; ++i) {
      const double value = values[i];
      whole.add(value);
      if (per_channel) channels[channel_of(i, here.inner, here.channels)].add(value);
    }
  }
  void start_second_pass(const CollectOptions& options) {
    spreads.clear();
    spreads.emplace_back(whole, options.tensor_bins);
    for (const auto& moments : channels) spreads.emplace_back(moments, options.channel_bins);
  }
  void second_pass(const float* values, int64_t count, const graph::Shape& shape) {
    const Layout here = layout_of(shape, axis);
    const bool per_channel = here.channels == layout.channels && layout.channels > 0;
    for (int64_t i = 0; i < count; ++i) {
      const double value = values[i];
      spreads[0].add(value);
      if (per_channel) spreads[1 + channel_of(i, here.inner, here.channels)].add(value);
    }
  }
  TensorStats result(const std::string& name, TensorKind kind) const {
    TensorStats stats;
    stats.name = name;
    stats.kind = kind;
    stats.channel_axis = layout.channels > 0 ? axis : -1;
    stats.whole = finish(whole, spreads[0]);
    for (size_t c = 0; c < channels.size(); ++c)
      stats.channels.push_back(finish(channels[c], spreads[1 + c]));
    return stats;
  }
};

}  // namespace

StatisticsCollector::StatisticsCollector(const graph::Graph& float_graph,
                                         const CollectOptions& options)
    : graph_(float_graph), options_(options) {}

StatsTable StatisticsCollector::collect(const std::vector<graph::ValueMap>& samples) {
  if (samples.empty()) throw graph::ModelError("calibration needs at least one sample");
  graph::ReferenceExecutor executor(graph_);
  std::map<std::string, TensorAccumulator> accumulators;
  // Values worth quantizing: float graph inputs and float node outputs (not constants).
  std::set<std::string> wanted;
  for (const auto& input : graph_.inputs) wanted.insert(input.name);
  for (const auto& node : graph_.nodes) {
    for (const auto& output : node.outputs) wanted.insert(output);
  }
  auto visit = [&](const graph::ValueMap& values, bool first) {
    for (const auto& entry : values) {
      if (!wanted.count(entry.first) || entry.second.type() != DataType::Float) continue;
      const Tensor& tensor = entry.second;
      TensorAccumulator& accumulator = accumulators[entry.first];
      if (first) {
        accumulator.first_pass(tensor.data<float>(), tensor.elements(), tensor.shape());
      } else {
        accumulator.second_pass(tensor.data<float>(), tensor.elements(), tensor.shape());
      }
    }
  };
  for (const auto& sample : samples) {
    graph::ValueMap values = executor.run(sample, true);
    ++executor_runs_;
    for (const auto& input : sample) values.emplace(input.first, input.second);
    visit(values, true);
  }
  for (auto& entry : accumulators) entry.second.start_second_pass(options_);
  for (const auto& sample : samples) {
    graph::ValueMap values = executor.run(sample, true);
    ++executor_runs_;
    for (const auto& input : sample) values.emplace(input.first, input.second);
    visit(values, false);
  }
  StatsTable table;
  for (const auto& entry : accumulators) {
    table[entry.first] = entry.second.result(entry.first, TensorKind::Activation);
  }
  return table;
}

TensorStats weight_statistics(const std::string& name, const Tensor& weights, int64_t channel_axis,
                              const CollectOptions& options) {
  if (weights.type() != DataType::Float) {
    throw graph::ModelError("weight '" + name + "' is " + graph::to_string(weights.type()) +
                            ", not float");
  }
  TensorAccumulator accumulator;
  accumulator.axis = channel_axis;
  accumulator.first_pass(weights.data<float>(), weights.elements(), weights.shape());
  accumulator.start_second_pass(options);
  accumulator.second_pass(weights.data<float>(), weights.elements(), weights.shape());
  return accumulator.result(name, TensorKind::Weight);
}

}  // namespace cimtlm::quant
