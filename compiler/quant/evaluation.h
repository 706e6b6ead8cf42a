// Measuring a network on a data set with the reference executor: outputs, top-1 accuracy
// against labels, agreement and error against another network's outputs.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"
#include "compiler/quant/stats_database.h"

namespace cimtlm::quant {

// The first graph output of every sample's run. `runs` (optional) counts executor runs.
std::vector<graph::Tensor> run_outputs(const graph::Graph& graph,
                                       const std::vector<graph::ValueMap>& samples,
                                       int* runs = nullptr);

// Index of the largest element (the predicted class); ties go to the lower index.
int64_t arg_max(const graph::Tensor& scores);

// Fraction of samples whose arg-max equals the label.
double top1_accuracy(const std::vector<graph::Tensor>& outputs, const std::vector<int64_t>& labels);

// NMSE and top-1 agreement of `candidate` against `reference` outputs (same samples).
Sensitivity compare_outputs(const std::vector<graph::Tensor>& reference,
                            const std::vector<graph::Tensor>& candidate);

}  // namespace cimtlm::quant
