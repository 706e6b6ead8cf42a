// Calibration and validation data: input tensors from .npy / ONNX TensorProto .pb files, split
// into samples of the model's input shape, plus optional integer labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::quant {

struct Dataset {
  std::string source;                    // the path it came from (for messages and reports)
  std::vector<graph::ValueMap> samples;  // one map of graph inputs per inference
  std::vector<int64_t> labels;           // empty, or one class per sample
  std::string fingerprint;               // hash of the samples (keys the statistics database)
};

// Loads samples for `graph` from `path`:
//   * a .npy or .pb file holding a batch along the first axis ([N, ...] for an input of shape
//     [1, ...]), or exactly one sample;
//   * a directory: either files named after the graph inputs (<input>.npy / .pb, batches), or,
//     for a single-input graph, every .npy / .pb file in name order (files whose name contains
//     "label" are labels, not inputs).
// Labels come from `labels_path` when given, else from a label file beside or inside `path`
// (X_inputs.npy -> X_labels.npy; DIR/labels.npy). `require_labels` makes their absence an error.
// Throws graph::ModelError naming the file for unreadable files, wrong types or shapes.
Dataset load_dataset(const std::string& path, const graph::Graph& graph,
                     const std::string& labels_path = "", bool require_labels = false);

// The first `count` samples (all when count >= size), same labels.
Dataset head(const Dataset& dataset, size_t count);

}  // namespace cimtlm::quant
