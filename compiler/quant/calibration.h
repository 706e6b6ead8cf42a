// Calibration: from statistics to quantization parameters.
//
// Activations are uint8 per tensor (what onnxruntime's QDQ kernels and the platform's datapath
// take); their clipping range comes from one of four methods working on the stored histogram.
// Weights are signed, symmetric (zero point 0) and stored in int8 containers whatever their bit
// width: a b-bit weight uses the codes [-2^(b-1), 2^(b-1) - 1], exactly what b bit cells of the
// CIM macro's offset encoding hold (w + 2^(b-1) stored unsigned). The extra negative level is
// free on the array and lowers the error of 2-bit weights ({-2, -1, 0, 1} instead of ternary).
#pragma once

#include <string>
#include <vector>

#include "compiler/graph/tensor.h"
#include "compiler/quant/tensor_statistics.h"

namespace cimtlm::quant {

enum class CalibrationMethod {
  MinMax,      // the observed range
  Percentile,  // clip at a percentile (RangeOptions::percentile)
  Entropy,     // minimum KL divergence between the clipped and the quantized histogram (TensorRT)
  Mse,         // minimum expected squared quantization error over the histogram
};
const char* to_string(CalibrationMethod method);
// Throws std::invalid_argument for an unknown name ("minmax", "percentile", "entropy"/"kl", "mse").
CalibrationMethod calibration_method_from_string(const std::string& name);

// How an activation's range is encoded in uint8.
enum class ActivationEncoding {
  Unsigned,    // range [0, hi], zero point 0 (non-negative tensors, e.g. after ReLU)
  Symmetric,   // range [-t, t], zero point 128
  Asymmetric,  // range [lo, hi] with lo < 0 < hi, zero point from the range
};
const char* to_string(ActivationEncoding encoding);

struct RangeOptions {
  double percentile = 99.99;   // Percentile method: kept fraction (percent)
  size_t entropy_bins = 2048;  // Entropy method: |x| histogram resolution
};

struct Range {
  double lo = 0.0;
  double hi = 0.0;
};

// Clipping range of an activation (always containing 0, as ONNX requires zero to be exact).
Range activation_range(const ValueStats& stats, CalibrationMethod method,
                       ActivationEncoding encoding, const RangeOptions& options = {});

// uint8 quantization parameters of an activation tensor.
struct ActivationQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
  ActivationEncoding encoding = ActivationEncoding::Asymmetric;
  CalibrationMethod method = CalibrationMethod::MinMax;
  Range range;
};
ActivationQuant activation_quant(const Range& range, ActivationEncoding encoding,
                                 CalibrationMethod method);

// Expected mean squared error of quantizing the histogram's values with `quant` (bin centres).
double histogram_quantization_mse(const Histogram& histogram, const ActivationQuant& quant);

// ---------------------------------------------------------------------------------------------
// Weights.

struct WeightSpec {
  int bits = 8;             // 2..8
  bool per_channel = true;  // one scale per output channel, else one per tensor
  CalibrationMethod method = CalibrationMethod::MinMax;  // MinMax or Mse (clipping search)
};

// Code range of a b-bit weight: [-2^(b-1), 2^(b-1) - 1]. Throws std::invalid_argument outside 2..8.
int weight_code_min(int bits);
int weight_code_max(int bits);

// Scale of one group of weights (a channel, or a whole tensor) at `bits`: min-max covers the
// group's largest and smallest value exactly; Mse searches smaller (clipping) scales for the least
// squared error. 1 for an all-zero group.
float weight_group_scale(const std::vector<float>& values, int bits, CalibrationMethod method);

struct QuantizedWeights {
  graph::Tensor codes;        // int8, the shape of the float weights
  std::vector<float> scales;  // one per channel along `axis`, or one
  int64_t axis = 0;
  // ||w - dequantized(codes)||^2 / ||w||^2 over the whole tensor.
  double relative_error = 0.0;
  // The mean over output channels of each channel's relative squared error: every channel feeds
  // the next layer at its own scale, so a small channel's error matters as much as a large one's.
  double channel_relative_error = 0.0;
};

// Quantizes float weights symmetrically; `axis` is the output-channel axis.
QuantizedWeights quantize_weights(const graph::Tensor& weights, int64_t axis,
                                  const WeightSpec& spec);

}  // namespace cimtlm::quant
