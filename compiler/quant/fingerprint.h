// Content hashes that key the statistics database: a changed model or calibration set gets a
// different key, so stored statistics are never applied to the wrong one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::quant {

// 64-bit FNV-1a, incremental.
class Fingerprint {
 public:
  Fingerprint& add(const void* data, size_t bytes);
  Fingerprint& add(const std::string& text);
  Fingerprint& add(int64_t value);
  Fingerprint& add(const graph::Tensor& tensor);
  uint64_t value() const { return state_; }
  std::string hex() const;  // 16 hex digits

 private:
  uint64_t state_ = 1469598103934665603ull;
};

// Hash of everything that determines a graph's results: nodes (ops, attributes, wiring),
// initializers (names, types, shapes, bytes), inputs and outputs. Metadata is ignored.
std::string graph_fingerprint(const graph::Graph& graph);

// Hash of samples (names, shapes, bytes, in order).
std::string samples_fingerprint(const std::vector<graph::ValueMap>& samples);

}  // namespace cimtlm::quant
