// Mixed-precision model search (the machine learning model search method, README.md):
//   1. single-bit-width models: every layer at 8, at 4 and at 2 bits, each evaluated;
//   2. evaluation parameters of every layer: accuracy sensitivity (the all-8-bit model with only
//      that layer at 4 / 2 bits) and its share of energy, latency, size and CIM tiles in each
//      single-bit model;
//   3. a candidate set, initially the single-bit models; each iteration chooses the candidate that
//      is best on the target among those meeting the minimum accuracy, computes each layer's
//      quantization weight (target gain of one step fewer bits over the accuracy it costs, from
//      the evaluation parameters), quantizes the layer with the largest weight one step further,
//      evaluates the result and adds it to the candidates;
//   4. the Pareto front (accuracy, energy, latency) and the chosen model.
// Costs come from a CostEvaluator: the simulator (the CLI runs `cimtlm run` per candidate) or the
// in-process proxy below. Accuracy comes from an AccuracyEvaluator.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/quant/dataset.h"
#include "compiler/quant/quantizer.h"

namespace cimtlm::quant {

enum class SearchMetric { Energy, Latency, Size };
const char* to_string(SearchMetric metric);

struct SearchTarget {
  SearchMetric metric = SearchMetric::Energy;
  std::optional<double> value;  // pJ, cycles or bytes per inference; none: as low as possible
};
// "energy", "energy=1.2e6", "latency=30000", "size=4096". Throws std::invalid_argument.
SearchTarget parse_search_target(const std::string& text);

struct LayerCost {
  int weight_bits = 8;
  int64_t macs = 0;
  int64_t tiles = 0;
};

// Cost of one candidate per inference.
struct CostMeasure {
  bool ok = true;
  std::string error;  // why !ok
  double energy_pj = 0.0;
  double latency_cycles = 0.0;
  double latency_ns = 0.0;
  int64_t tiles = 0;
  bool bit_exact = true;                    // simulated outputs equal the reference executor's
  std::map<std::string, LayerCost> layers;  // per layer, when the evaluator knows them
};

class CostEvaluator {
 public:
  virtual ~CostEvaluator() = default;
  // One measure per model; `names` are short labels (file names, log lines). May run several
  // models at once.
  virtual std::vector<CostMeasure> evaluate(const std::vector<graph::Graph>& models,
                                            const std::vector<std::string>& names) = 0;
};

class AccuracyEvaluator {
 public:
  virtual ~AccuracyEvaluator() = default;
  virtual double accuracy(const graph::Graph& qdq) = 0;
  virtual std::string describe() const = 0;
  // Samples an accuracy is measured on (its resolution is one sample).
  virtual size_t samples() const = 0;
};

// Top-1 accuracy of the lowered (integer) model on a labelled data set: exactly what the platform
// computes, since the simulator is bit-exact to the reference executor.
class LabelAccuracy : public AccuracyEvaluator {
 public:
  explicit LabelAccuracy(const Dataset& validation);
  double accuracy(const graph::Graph& qdq) override;
  std::string describe() const override;
  size_t samples() const override { return validation_.samples.size(); }
  int executor_runs() const { return runs_; }

 private:
  const Dataset& validation_;
  int runs_ = 0;
};

// Fidelity to the float model on the session's sensitivity samples, for when there are no labels:
// top-1 agreement minus output NMSE. Agreement alone is too coarse on an easy calibration set
// (every sample may still agree while the outputs drift); the NMSE term ranks those models.
class FloatFidelity : public AccuracyEvaluator {
 public:
  explicit FloatFidelity(QuantizationSession& session) : session_(session) {}
  double accuracy(const graph::Graph& qdq) override {
    const Sensitivity s = session_.model_sensitivity(qdq);
    return s.top1_agreement - s.output_nmse;
  }
  std::string describe() const override {
    return "fidelity to the float model on calibration samples (top-1 agreement minus output NMSE)";
  }
  size_t samples() const override { return session_.sensitivity_samples(); }

 private:
  QuantizationSession& session_;
};

// In-process cost proxy: energy and latency proportional to sum over layers of MACs x weight bits
// (bit-sliced weights: cells and conversions grow with the bits), no tiles. For the `mixed` policy
// of `cimtlm quantize`, which has no platform to simulate.
class ProxyCost : public CostEvaluator {
 public:
  explicit ProxyCost(const std::vector<QuantLayer>& layers) : layers_(layers) {}
  std::vector<CostMeasure> evaluate(const std::vector<graph::Graph>& models,
                                    const std::vector<std::string>& names) override;

 private:
  std::vector<QuantLayer> layers_;
};

struct Candidate {
  int id = 0;
  std::map<std::string, int> bits;  // per layer
  std::string origin;               // "all 8-bit", "#3 with /fc1/Gemm 4->2 (weight 1.2e+05)"
  double accuracy = 0.0;
  CostMeasure cost;
  double size_bytes = 0.0;      // weight storage at the layers' bit widths
  std::set<std::string> tried;  // layers already quantized further from this candidate
  bool pareto = false;
  double metric(SearchMetric which) const;
};

struct LayerEvaluation {
  std::string layer;
  int64_t macs = 0;
  int64_t parameters = 0;
  std::map<int, double>
      accuracy_drop;  // bits -> accuracy of the all-8-bit model minus this layer at bits
  std::map<int, double> energy_pj;  // bits -> the layer's share in the single-bit model
  std::map<int, double> latency_cycles;
  std::map<int, double> size_bytes;
  std::map<int, int64_t> tiles;
  double metric(SearchMetric which, int bits) const;
};

struct SearchOptions {
  SearchTarget target;
  double min_accuracy = 0.0;  // candidates below are never chosen nor expanded
  int max_evaluations = 24;   // candidates evaluated in all (the single-bit models included)
  std::vector<int> bit_widths = {8, 4, 2};
  int parallel = 2;  // candidates handed to the cost evaluator at once
  std::ostream* log = nullptr;
};

struct SearchResult {
  std::vector<LayerEvaluation> layers;
  std::vector<Candidate> candidates;
  int chosen = -1;          // index into candidates; -1 when none meets the minimum accuracy
  bool target_met = false;  // the chosen candidate meets target.value (true without a value)
  std::vector<std::string> log;
};

SearchResult search_mixed_precision(QuantizationSession& session, AccuracyEvaluator& accuracy,
                                    CostEvaluator& cost, const SearchOptions& options);

// Candidates as CSV (one row each; bits per layer in `layer_order` as columns).
std::string candidates_csv(const SearchResult& result, const std::vector<QuantLayer>& layer_order);
nlohmann::json search_report(const SearchResult& result, const SearchOptions& options);

// The `mixed` policy of `cimtlm quantize`: the search with the in-process proxy cost and
// `accuracy` (labelled validation data; null: FloatFidelity), minimum accuracy = the all-8-bit
// model's minus `max_drop`.
QuantizeResult mixed_precision(QuantizationSession& session, AccuracyEvaluator* accuracy,
                               double max_drop, std::ostream* log);

}  // namespace cimtlm::quant
