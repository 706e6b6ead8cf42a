#include "compiler/quant/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "compiler/graph/quantized_math.h"

namespace cimtlm::quant {

const char* to_string(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::MinMax:
      return "minmax";
    case CalibrationMethod::Percentile:
      return "percentile";
    case CalibrationMethod::Entropy:
      return "entropy";
    case CalibrationMethod::Mse:
      return "mse";
  }
  return "?";
}

CalibrationMethod calibration_method_from_string(const std::string& name) {
  if (name == "minmax" || name == "min-max") return CalibrationMethod::MinMax;
  if (name == "percentile") return CalibrationMethod::Percentile;
  if (name == "entropy" || name == "kl") return CalibrationMethod::Entropy;
  if (name == "mse") return CalibrationMethod::Mse;
  throw std::invalid_argument("unknown calibration method '" + name +
                              "' (minmax, percentile, entropy, mse)");
}

const char* to_string(ActivationEncoding encoding) {
  switch (encoding) {
    case ActivationEncoding::Unsigned:
      return "unsigned";
    case ActivationEncoding::Symmetric:
      return "symmetric";
    case ActivationEncoding::Asymmetric:
      return "asymmetric";
  }
  return "?";
}

namespace {

// Range of an encoding over a magnitude threshold / an observed range.
Range shaped(ActivationEncoding encoding, double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  switch (encoding) {
    case ActivationEncoding::Unsigned:
      return {0.0, hi};
    case ActivationEncoding::Symmetric: {
      const double t = std::max(-lo, hi);
      return {-t, t};
    }
    case ActivationEncoding::Asymmetric:
      return {lo, hi};
  }
  return {lo, hi};
}

// Threshold on |x| minimizing KL(P || Q) (the entropy calibration of TensorRT / onnxruntime).
double entropy_threshold(const Histogram& magnitudes, size_t levels) {
  const size_t bins = magnitudes.counts.size();
  if (bins <= levels) return magnitudes.hi;
  std::vector<double> hist(magnitudes.counts.begin(), magnitudes.counts.end());
  std::vector<double> suffix(bins + 1, 0.0);
  for (size_t bin = bins; bin-- > 0;) suffix[bin] = suffix[bin + 1] + hist[bin];
  double best_divergence = std::numeric_limits<double>::infinity();
  size_t best = bins;
  std::vector<double> p, q;
  for (size_t kept = levels; kept <= bins; ++kept) {
    p.assign(hist.begin(), hist.begin() + static_cast<std::ptrdiff_t>(kept));
    p[kept - 1] += suffix[kept];  // clipped values pile up in the last kept bin
    // Q: the kept bins merged into `levels` groups, each group's mass spread evenly over the
    // bins that are non-empty in the reference.
    q.assign(kept, 0.0);
    for (size_t level = 0; level < levels; ++level) {
      const size_t start = level * kept / levels;
      const size_t stop = (level + 1) * kept / levels;
      double mass = 0.0;
      size_t nonzero = 0;
      for (size_t bin = start; bin < stop; ++bin) {
        mass += hist[bin];
        if (p[bin] != 0.0) ++nonzero;
      }
      if (nonzero == 0) continue;
      for (size_t bin = start; bin < stop; ++bin) {
        if (p[bin] != 0.0) q[bin] = mass / static_cast<double>(nonzero);
      }
    }
    double p_sum = 0.0, q_sum = 0.0;
    for (size_t bin = 0; bin < kept; ++bin) {
      p_sum += p[bin];
      q_sum += q[bin];
    }
    if (p_sum <= 0.0 || q_sum <= 0.0) continue;
    double divergence = 0.0;
    for (size_t bin = 0; bin < kept; ++bin) {
      if (p[bin] <= 0.0) continue;
      const double pn = p[bin] / p_sum;
      // A reference bin the quantized distribution misses: smoothed with a tiny probability.
      const double qn = q[bin] > 0.0 ? q[bin] / q_sum : 1e-12;
      divergence += pn * std::log(pn / qn);
    }
    if (divergence < best_divergence) {
      best_divergence = divergence;
      best = kept;
    }
  }
  return static_cast<double>(best) * magnitudes.bin_width();
}

}  // namespace

Range activation_range(const ValueStats& stats, CalibrationMethod method,
                       ActivationEncoding encoding, const RangeOptions& options) {
  const Range full = shaped(encoding, stats.min, stats.max);
  switch (method) {
    case CalibrationMethod::MinMax:
      return full;
    case CalibrationMethod::Percentile: {
      const double tail = (100.0 - options.percentile) / 100.0;
      if (encoding == ActivationEncoding::Symmetric) {
        const double t =
            stats.histogram.magnitudes(stats.histogram.counts.size()).quantile(1.0 - tail);
        return shaped(encoding, -t, t);
      }
      return shaped(encoding, stats.histogram.quantile(tail), stats.histogram.quantile(1.0 - tail));
    }
    case CalibrationMethod::Entropy: {
      const Histogram magnitudes = stats.histogram.magnitudes(options.entropy_bins);
      const size_t levels = encoding == ActivationEncoding::Unsigned ? 256 : 128;
      const double t = entropy_threshold(magnitudes, levels);
      return shaped(encoding, std::max(stats.min, -t), std::min(stats.max, t));
    }
    case CalibrationMethod::Mse: {
      double best_error = std::numeric_limits<double>::infinity();
      Range best = full;
      for (int step = 0; step <= 80; ++step) {
        const double ratio = 1.0 - 0.01 * step;  // clip down to 20 % of the range
        const Range candidate{full.lo * ratio, full.hi * ratio};
        const double error = histogram_quantization_mse(
            stats.histogram, activation_quant(candidate, encoding, CalibrationMethod::Mse));
        if (error < best_error) {
          best_error = error;
          best = candidate;
        }
      }
      return best;
    }
  }
  return full;
}

ActivationQuant activation_quant(const Range& range, ActivationEncoding encoding,
                                 CalibrationMethod method) {
  ActivationQuant quant;
  quant.encoding = encoding;
  quant.method = method;
  quant.range = shaped(encoding, range.lo, range.hi);
  const double lo = quant.range.lo, hi = quant.range.hi;
  switch (encoding) {
    case ActivationEncoding::Unsigned:
      quant.scale = static_cast<float>(hi / 255.0);
      quant.zero_point = 0;
      break;
    case ActivationEncoding::Symmetric:
      quant.scale = static_cast<float>(hi / 127.0);
      quant.zero_point = 128;
      break;
    case ActivationEncoding::Asymmetric: {
      quant.scale = static_cast<float>((hi - lo) / 255.0);
      const double zero = quant.scale > 0.0f ? -lo / static_cast<double>(quant.scale) : 0.0;
      quant.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(zero), 0.0, 255.0));
      break;
    }
  }
  // An all-zero tensor: any scale represents it; 1 is what onnxruntime's quantizer uses.
  if (!(quant.scale > 0.0f) || !std::isfinite(quant.scale)) quant.scale = 1.0f;
  return quant;
}

double histogram_quantization_mse(const Histogram& histogram, const ActivationQuant& quant) {
  double error = 0.0;
  uint64_t count = 0;
  for (size_t bin = 0; bin < histogram.counts.size(); ++bin) {
    if (!histogram.counts[bin]) continue;
    const double x = histogram.bin_centre(bin);
    const int32_t code =
        graph::quantize(static_cast<float>(x), quant.scale, quant.zero_point, 0, 255);
    const double back = graph::dequantize(code, quant.scale, quant.zero_point);
    error += static_cast<double>(histogram.counts[bin]) * (x - back) * (x - back);
    count += histogram.counts[bin];
  }
  return count ? error / static_cast<double>(count) : 0.0;
}

// ---------------------------------------------------------------------------------------------

void check_weight_bits(int bits) {
  if (bits < 2 || bits > 8)
    throw std::invalid_argument("weight bits must be 2..8, got " + std::to_string(bits));
}

int weight_code_max(int bits) {
  check_weight_bits(bits);
  return (1 << (bits - 1)) - 1;
}

int weight_code_min(int bits) {
  check_weight_bits(bits);
  return -(1 << (bits - 1));
}

namespace {

struct CodeRange {
  int lo;
  int hi;
};

// The squared error of quantizing `values` with each of `scales`, all in one pass over the values:
// the inner loop over the scales vectorizes, and each scale's sum keeps its own order, so that
// errors[s] is the sum, in value order, of (w - dequantize(quantize(w, scales[s]), scales[s]))^2
// bit for bit: graph::quantize()/dequantize() with zero point 0, written for a clamped value (an
// integer code < 2^23 in float). Test Calibration.MseScaleEqualsTheOneScaleAtATimeSearch.
std::vector<double> squared_errors(const std::vector<float>& values,
                                   const std::vector<float>& scales, CodeRange codes) {
  std::vector<double> errors(scales.size(), 0.0);
  const auto lo = static_cast<float>(codes.lo), hi = static_cast<float>(codes.hi);
  constexpr float kTwoTo23 = 8388608.0f;  // round_half_even for |x| < 2^23, without the branch
  const size_t count = scales.size();
  for (float w : values) {
    const auto exact = static_cast<double>(w);
    for (size_t s = 0; s < count; ++s) {
      const float clamped = std::min(std::max(w / scales[s], lo), hi);
      const float code = std::copysign((std::fabs(clamped) + kTwoTo23) - kTwoTo23, clamped);
      const double d = exact - static_cast<double>(code * scales[s]);
      errors[s] += d * d;
    }
  }
  return errors;
}

// Scale of one group of weights (a channel or the whole tensor): min-max covers both ends of the
// group exactly; MSE searches clipped scales below that.
float group_scale(const std::vector<float>& values, CodeRange codes, CalibrationMethod method) {
  double lo = 0.0, hi = 0.0;
  for (float w : values) {
    lo = std::min(lo, static_cast<double>(w));
    hi = std::max(hi, static_cast<double>(w));
  }
  const double cover = std::max(hi / codes.hi, lo / codes.lo);
  if (!(cover > 0.0)) return 1.0f;
  const auto full = static_cast<float>(cover);
  if (method != CalibrationMethod::Mse) return full;
  // Clip down to 5 % of the range: 2-bit weights want a step well below max|w|.
  std::vector<float> scales = {full};
  for (int step = 1; step <= 95; ++step) {
    scales.push_back(static_cast<float>(cover * (1.0 - 0.01 * step)));
  }
  const std::vector<double> errors = squared_errors(values, scales, codes);
  float best = full;
  double best_error = errors[0];
  for (size_t index = 1; index < scales.size(); ++index) {
    if (errors[index] < best_error) {
      best_error = errors[index];
      best = scales[index];
    }
  }
  return best;
}

}  // namespace

float weight_group_scale(const std::vector<float>& values, int bits, CalibrationMethod method) {
  return group_scale(values, CodeRange{weight_code_min(bits), weight_code_max(bits)}, method);
}

QuantizedWeights quantize_weights(const graph::Tensor& weights, int64_t axis,
                                  const WeightSpec& spec) {
  if (weights.type() != graph::DataType::Float) {
    throw graph::ModelError("weights must be float to quantize, got " +
                            std::string(graph::to_string(weights.type())));
  }
  const CodeRange code_range{weight_code_min(spec.bits), weight_code_max(spec.bits)};
  if (axis < 0) axis += weights.rank();
  if (axis < 0 || axis >= weights.rank())
    throw graph::ModelError("weight channel axis out of range");
  const int64_t channels = weights.dim(axis);
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < weights.rank(); ++d) inner *= weights.dim(d);
  const float* w = weights.data<float>();
  const int64_t count = weights.elements();
  auto channel_of = [&](int64_t index) { return (index / inner) % channels; };

  QuantizedWeights result;
  result.axis = axis;
  if (spec.per_channel) {
    std::vector<std::vector<float>> groups(static_cast<size_t>(channels));
    for (int64_t i = 0; i < count; ++i) groups[static_cast<size_t>(channel_of(i))].push_back(w[i]);
    for (const auto& group : groups)
      result.scales.push_back(group_scale(group, code_range, spec.method));
  } else {
    result.scales.push_back(group_scale(std::vector<float>(w, w + count), code_range, spec.method));
  }
  result.codes = graph::Tensor(graph::DataType::Int8, weights.shape());
  int8_t* codes = result.codes.data<int8_t>();
  double error = 0.0, energy = 0.0;
  std::vector<double> channel_error(static_cast<size_t>(channels), 0.0),
      channel_energy(static_cast<size_t>(channels), 0.0);
  for (int64_t i = 0; i < count; ++i) {
    const auto channel = static_cast<size_t>(channel_of(i));
    const float scale = result.scales[spec.per_channel ? channel : 0];
    const int32_t code = graph::quantize(w[i], scale, 0, code_range.lo, code_range.hi);
    codes[i] = static_cast<int8_t>(code);
    const double d =
        static_cast<double>(w[i]) - static_cast<double>(graph::dequantize(code, scale, 0));
    const double e = static_cast<double>(w[i]) * static_cast<double>(w[i]);
    error += d * d;
    energy += e;
    channel_error[channel] += d * d;
    channel_energy[channel] += e;
  }
  result.relative_error = energy > 0.0 ? error / energy : 0.0;
  double sum = 0.0;
  for (size_t c = 0; c < channel_error.size(); ++c) {
    sum += channel_energy[c] > 0.0 ? channel_error[c] / channel_energy[c] : 0.0;
  }
  result.channel_relative_error = channels > 0 ? sum / static_cast<double>(channels) : 0.0;
  return result;
}

}  // namespace cimtlm::quant
