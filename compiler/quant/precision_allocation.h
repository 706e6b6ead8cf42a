// Several networks on one chip (the network accuracy quantification method, README.md):
//   1. a reference precision from the chip's total cores and the cores each network needs at each
//      weight precision: the highest precision at which all networks fit together;
//   2. a target precision per network from the reference and the total cores: networks start one
//      level above the reference and the downgrades to the reference that cost the least accuracy
//      per freed core are taken, in that order, until everything fits.
// Plus the graph rewrite that gives a lowered network fewer weight bits, so that the result can
// be mapped.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/quant/calibration.h"

namespace cimtlm::quant {

struct NetworkDemand {
  std::string name;
  // Cores the network needs with all its CIM weights at these bits (from mapping it), one entry
  // per level of the allocation (8, 4 and 2 by default).
  std::map<int, int> cores;
  // Estimated accuracy cost of running at these bits instead of the highest level: a measured
  // sensitivity (QuantizationSession, statistics database) or weight_error_proxy(). The costs
  // of all networks must come from the same kind of estimate to be comparable.
  std::map<int, double> accuracy_cost;
};

struct PrecisionAllocation {
  bool fits = false;       // false: not even the lowest level fits (targets are then all lowest)
  int reference_bits = 0;  // highest precision at which every network fits at once (0: none)
  std::vector<int> target_bits;  // per network, in the order given
  std::vector<int> cores;        // per network at its target
  int cores_used = 0;
  std::vector<std::string> log;  // each step with its reason
};

// Decides the precisions. `levels` are the weight bit widths allowed (any order). Properties
// (tested): the targets fit whenever `fits`; every target is the reference or one level above;
// giving the chip more cores never lowers any network's precision (the downgrade order does not
// depend on the core count, and more cores take a shorter prefix of it).
// Throws std::invalid_argument when a network lacks the cores or costs of a level, or needs more
// cores at a lower precision than at a higher one.
PrecisionAllocation allocate_precision(int total_cores, const std::vector<NetworkDemand>& networks,
                                       std::vector<int> levels = {8, 4, 2});

// ---------------------------------------------------------------------------------------------
// Lowered graphs.

struct RequantizedLayer {
  std::string layer;
  int from_bits = 8;  // bits the layer's centred codes needed before
  int to_bits = 8;
  double relative_error = 0.0;  // ||w' - w||^2 / ||w||^2 of the dequantized weights
};

// Re-quantizes the CIM layers (cimtlm.QConv / QGemm with constant weights and a requantized
// output) of a lowered graph to at most `bits_of[layer]` bits (layers not listed: `default_bits`;
// 0 = unchanged): per output channel (or per tensor when the layer has one scale), the
// dequantized weights are quantized again onto [-2^(b-1), 2^(b-1) - 1] around the layer's zero
// points with a new scale (min-max or MSE clipping), w_scales is updated (so the requantization
// multiplier (x_scale * w_scale) / y_scale follows), and the int32 bias is rescaled to the new
// x_scale * w_scale. Weights and biases become new initializers; graph.metadata
// "cimtlm.weight_bits.<layer>" is updated. Layers already within the bits are left as they are.
graph::Graph requantize_cim_weights(const graph::Graph& lowered,
                                    const std::map<std::string, int>& bits_of, int default_bits,
                                    CalibrationMethod method = CalibrationMethod::Mse,
                                    std::vector<RequantizedLayer>* report = nullptr);

// Weight-quantization-error proxy of a lowered network at `bits`: the MAC-weighted mean over CIM
// layers of the relative squared error of requantizing their weights to `bits` (0 for layers
// already within it). MACs per layer come from `values` (one reference run, keep_all) when given,
// else weights count equally.
double weight_error_proxy(const graph::Graph& lowered, int bits,
                          const graph::ValueMap* values = nullptr);

}  // namespace cimtlm::quant
