// The network quantization method (compiler/quant/README.md):
//   1. database construction: statistics of every float tensor over the calibration set, stored
//      in (or reused from) the SQLite statistics database;
//   2. parameter generation: a quantization type per layer (granularity, symmetry, bit width,
//      calibration method) decided from the database and from measured sensitivity, each
//      decision logged with its reason;
//   3. network construction: the QDQ graph (qdq_builder.h).
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/quant/calibration.h"
#include "compiler/quant/dataset.h"
#include "compiler/quant/qdq_builder.h"
#include "compiler/quant/quant_layers.h"
#include "compiler/quant/stats_database.h"
#include "compiler/quant/tensor_statistics.h"

namespace cimtlm::quant {

// How weight bit widths are chosen.
enum class Policy {
  Auto,   // per layer: the fewest bits (2, 4, 8) whose measured sensitivity stays in tolerance
  Int8,   // every layer 8-bit
  Int4,   // every layer 4-bit
  Int2,   // every layer 2-bit (ternary)
  Mixed,  // the model search (model_search.h) with an in-process energy proxy
};
const char* to_string(Policy policy);
// Throws std::invalid_argument naming the accepted values.
Policy policy_from_string(const std::string& name);

struct QuantizeOptions {
  Policy policy = Policy::Auto;
  std::string database_path;  // empty: statistics live in memory for this session only
  std::string model_name;     // the model's name in the database (default: graph name)
  CollectOptions collect;
  RangeOptions ranges;
  // Calibration samples used for measured sensitivity (network outputs against the float model).
  size_t sensitivity_samples = 128;
  // Activations use min-max without measuring when no calibration method narrows the range by
  // more than this fraction (nothing worth clipping); otherwise the four methods are measured.
  double clip_tolerance = 0.05;
  // One calibration method for every activation instead of measuring the candidates on the
  // network outputs (each candidate costs a reference run per sensitivity sample: hundreds of
  // runs for a 224x224 network). Empty: measured as above.
  std::optional<CalibrationMethod> activation_method;
  // Weights: per tensor when its relative error is within this factor of per channel's.
  double per_tensor_error_factor = 1.05;
  // Weights: MSE clipping when it lowers the relative weight error by at least this fraction.
  double mse_gain = 0.10;
  // Auto policy: a layer alone at b bits must keep this top-1 agreement with the float model and
  // at most this output NMSE...
  double auto_min_agreement = 0.99;
  double auto_max_nmse = 0.01;
  // ...and all layers together at most this agreement below the all-8-bit model.
  double auto_max_agreement_drop = 0.01;
  std::ostream* log = nullptr;  // decisions as they are made (null: silent)
};

// One logged decision: what was decided for which layer or tensor, the choice and why.
struct Decision {
  std::string subject;  // layer or tensor name
  std::string aspect;   // "weight_bits", "weight_granularity", "weight_symmetry", "weight_method",
                        // "activation_encoding", "activation_method", "activation_params"
  std::string choice;
  std::string reason;
};

struct LayerDecision {
  std::string layer;
  WeightSpec weights;
  double weight_error = 0.0;  // relative squared error of the quantized weights
  std::vector<Decision> decisions;
};

struct ActivationDecision {
  std::string tensor;
  ActivationQuant quant;
  std::vector<Decision> decisions;
};

struct QuantizeResult {
  graph::Graph qdq;                 // the quantized model
  std::map<std::string, int> bits;  // weight bits per layer
  std::vector<LayerDecision> layers;
  std::vector<ActivationDecision> activations;
  std::vector<Decision> decisions;  // every decision in the order made
  nlohmann::json report;            // the JSON report (quantizer part)
};

class QuantizationSession {
 public:
  // Loads the statistics from the database when it holds them for this model and calibration
  // set, else runs the calibration (and stores it). Throws graph::ModelError / DatabaseError.
  QuantizationSession(const graph::Graph& float_graph, const Dataset& calibration,
                      const QuantizeOptions& options);
  ~QuantizationSession();

  const graph::Graph& float_graph() const { return graph_; }
  const std::vector<QuantLayer>& layers() const { return layers_; }
  const StatsTable& statistics() const { return stats_; }
  const CalibrationRecord& calibration() const { return record_; }
  bool statistics_reused() const { return reused_; }
  // Reference-executor runs this session spent collecting statistics (0 when reused).
  int calibration_runs() const { return calibration_runs_; }
  // Reference-executor runs spent measuring sensitivity (0 when every result came from the DB).
  int sensitivity_runs() const { return sensitivity_runs_; }
  const std::vector<std::string>& notes() const { return notes_; }
  size_t sensitivity_samples() const { return sensitivity_set_.samples.size(); }

  // Activation parameters for every quantized tensor (decided on first use).
  const std::vector<ActivationDecision>& activations();
  // Weight granularity and calibration method of `layer` at `bits` (decided and cached).
  const LayerDecision& layer_decision(const std::string& layer, int bits);
  // The QDQ graph with the decided types and these weight bits (layers not listed: 8).
  graph::Graph build(const std::map<std::string, int>& bits);
  // Output NMSE / top-1 agreement against the float model on the sensitivity samples with only
  // `layer`'s weights quantized at `bits` (measured once, cached in the database).
  Sensitivity weight_sensitivity(const std::string& layer, int bits);
  // Same for a whole QDQ graph (not cached).
  Sensitivity model_sensitivity(const graph::Graph& qdq);

  // Quantizes under a fixed or the auto policy (Mixed: see model_search.h, mixed_precision()).
  QuantizeResult quantize(Policy policy);
  // A result for given bits (decisions, report) — what quantize() returns for its choice.
  QuantizeResult result_for(const std::map<std::string, int>& bits, Policy policy);

  void record(const Decision& decision);

 private:
  const QuantLayer& layer(const std::string& name) const;
  std::map<std::string, int> auto_bits();
  const std::vector<graph::Tensor>& float_outputs();
  Sensitivity measure(const std::string& subject, const std::string& config,
                      const graph::Graph& qdq);
  void decide_activations();

  graph::Graph graph_;
  QuantizeOptions options_;
  Dataset calibration_;
  Dataset sensitivity_set_;
  std::vector<QuantLayer> layers_;
  StatsTable stats_;
  std::unique_ptr<StatsDatabase> database_;
  CalibrationRecord record_;
  bool reused_ = false;
  int calibration_runs_ = 0;
  int sensitivity_runs_ = 0;
  std::vector<std::string> notes_;
  std::vector<ActivationDecision> activations_;
  bool activations_decided_ = false;
  std::map<std::pair<std::string, int>, LayerDecision> layer_decisions_;
  std::vector<graph::Tensor> float_outputs_;
  bool have_float_outputs_ = false;
  std::vector<Decision> decisions_;
};

}  // namespace cimtlm::quant
