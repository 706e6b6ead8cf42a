#include "compiler/quant/quantizer.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "compiler/quant/evaluation.h"
#include "compiler/quant/fingerprint.h"

namespace cimtlm::quant {

using graph::Graph;
using graph::ModelError;

const char* to_string(Policy policy) {
  switch (policy) {
    case Policy::Auto:
      return "auto";
    case Policy::Int8:
      return "int8";
    case Policy::Int4:
      return "int4";
    case Policy::Int2:
      return "int2";
    case Policy::Mixed:
      return "mixed";
  }
  return "?";
}

Policy policy_from_string(const std::string& name) {
  if (name == "auto") return Policy::Auto;
  if (name == "int8") return Policy::Int8;
  if (name == "int4") return Policy::Int4;
  if (name == "int2") return Policy::Int2;
  if (name == "mixed") return Policy::Mixed;
  throw std::invalid_argument("unknown policy '" + name + "' (auto, int8, int4, int2, mixed)");
}

namespace {

std::string format(double value, int digits = 3) {
  std::ostringstream text;
  text << std::setprecision(digits) << value;
  return text.str();
}

std::string percent(double fraction, int digits = 3) {
  return format(100.0 * fraction, digits) + " %";
}

std::string bits_key(const std::map<std::string, int>& bits) {
  std::string key;
  for (const auto& entry : bits)
    key += (key.empty() ? "" : ",") + entry.first + "=" + std::to_string(entry.second);
  return key;
}

}  // namespace

QuantizationSession::QuantizationSession(const Graph& float_graph, const Dataset& calibration,
                                         const QuantizeOptions& options)
    : graph_(float_graph), options_(options), calibration_(calibration) {
  if (calibration_.samples.empty())
    throw ModelError(calibration_.source + ": the calibration set is empty");
  sensitivity_set_ = head(calibration_, options_.sensitivity_samples);
  layers_ = find_quant_layers(graph_, nullptr);
  if (layers_.empty()) {
    throw ModelError(
        "the model has no Conv, Gemm or MatMul layer with constant float weights to quantize");
  }
  database_ = std::make_unique<StatsDatabase>(
      options_.database_path.empty() ? ":memory:" : options_.database_path);
  const std::string model_hash = graph_fingerprint(graph_);
  const std::string model_name = !options_.model_name.empty()
                                     ? options_.model_name
                                     : (graph_.name.empty() ? "model" : graph_.name);

  const std::vector<CalibrationRecord> stale = database_->stale(model_name, model_hash);
  if (auto found = database_->find(model_hash, calibration_.fingerprint, options_.collect)) {
    record_ = *found;
    stats_ = database_->load(found->id);
    reused_ = true;
    notes_.push_back("statistics of model '" + model_name + "' (hash " + model_hash +
                     ") and calibration set " + calibration_.fingerprint + " reused from " +
                     database_->path() + " (collected " + found->created_utc + " in " +
                     std::to_string(found->executor_runs) + " executor runs)");
  } else {
    StatisticsCollector collector(graph_, options_.collect);
    stats_ = collector.collect(calibration_.samples);
    calibration_runs_ = collector.executor_runs();
    for (const auto& layer : layers_) {
      stats_[layer.weight] = weight_statistics(layer.weight, *graph_.initializer(layer.weight),
                                               layer.weight_axis, options_.collect);
    }
    CalibrationRecord record;
    record.model_hash = model_hash;
    record.model_name = model_name;
    record.data_hash = calibration_.fingerprint;
    record.samples = static_cast<int64_t>(calibration_.samples.size());
    record.tensor_bins = static_cast<int64_t>(options_.collect.tensor_bins);
    record.channel_bins = static_cast<int64_t>(options_.collect.channel_bins);
    record.executor_runs = calibration_runs_;
    record_ = database_->store(record, stats_);
    notes_.push_back(
        "calibrated model '" + model_name + "' (hash " + model_hash + ") on " +
        std::to_string(calibration_.samples.size()) + " samples in " +
        std::to_string(calibration_runs_) + " executor runs" +
        (options_.database_path.empty() ? "" : "; stored in " + options_.database_path));
  }
  for (const auto& old : stale) {
    database_->remove(old.id);
    notes_.push_back("the database held statistics of an earlier version of model '" + model_name +
                     "' (hash " + old.model_hash + ", " + old.created_utc + "): stale, removed");
  }
  // MACs per inference from the stored activation sizes (no extra executor run).
  for (auto& layer : layers_) {
    const std::string& raw_output = graph_.nodes[layer.node].outputs[0];
    auto found = stats_.find(raw_output);
    if (found != stats_.end() && record_.samples > 0) {
      const auto elements =
          static_cast<int64_t>(found->second.whole.count / static_cast<uint64_t>(record_.samples));
      layer.macs = elements * (layer.parameters / std::max<int64_t>(1, layer.channels));
    }
  }
  if (options_.log) {
    for (const auto& note : notes_) *options_.log << note << '\n';
  }
}

QuantizationSession::~QuantizationSession() = default;

void QuantizationSession::record(const Decision& decision) {
  decisions_.push_back(decision);
  if (options_.log) {
    *options_.log << decision.subject << ": " << decision.aspect << " = " << decision.choice
                  << " -- " << decision.reason << '\n';
  }
}

const QuantLayer& QuantizationSession::layer(const std::string& name) const {
  for (const auto& candidate : layers_) {
    if (candidate.name == name) return candidate;
  }
  throw ModelError("no quantizable layer named '" + name + "'");
}

const std::vector<graph::Tensor>& QuantizationSession::float_outputs() {
  if (!have_float_outputs_) {
    float_outputs_ = run_outputs(graph_, sensitivity_set_.samples, &sensitivity_runs_);
    have_float_outputs_ = true;
  }
  return float_outputs_;
}

Sensitivity QuantizationSession::measure(const std::string& subject, const std::string& config,
                                         const Graph& qdq) {
  const auto samples = static_cast<int64_t>(sensitivity_set_.samples.size());
  if (auto cached = database_->sensitivity(record_.id, subject, config, samples)) return *cached;
  const std::vector<graph::Tensor> outputs =
      run_outputs(qdq, sensitivity_set_.samples, &sensitivity_runs_);
  const Sensitivity result = compare_outputs(float_outputs(), outputs);
  database_->store_sensitivity(record_.id, subject, config, result);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Activations.

const std::vector<ActivationDecision>& QuantizationSession::activations() {
  if (!activations_decided_) decide_activations();
  return activations_;
}

void QuantizationSession::decide_activations() {
  activations_decided_ = true;
  std::map<std::string, ActivationQuant> decided;
  for (const std::string& tensor : activation_tensors(graph_, layers_)) {
    auto found = stats_.find(tensor);
    if (found == stats_.end() || found->second.kind != TensorKind::Activation)
      continue;  // not float
    ActivationDecision decision;
    decision.tensor = tensor;
    const int producer = graph_.producer(tensor);
    if (producer >= 0) {
      const graph::Node& node = graph_.nodes[static_cast<size_t>(producer)];
      auto input = decided.find(node.inputs.empty() ? std::string() : node.inputs[0]);
      if (passes_quantization_through(node) && input != decided.end()) {
        decision.quant = input->second;
        decision.decisions.push_back(
            {tensor, "activation_params", "as " + node.inputs[0],
             node.op_type +
                 " only moves values: its output keeps the input's scale and zero point, so the "
                 "integer op needs no requantization (onnxruntime drops the DQ/Q pair likewise)"});
        for (const auto& d : decision.decisions) record(d);
        decided[tensor] = decision.quant;
        activations_.push_back(std::move(decision));
        continue;
      }
    }
    const ValueStats& stats = found->second.whole;
    // Encoding.
    ActivationEncoding encoding;
    std::string why;
    const std::string range_text = "[" + format(stats.min, 4) + ", " + format(stats.max, 4) + "]";
    if (stats.min >= 0.0) {
      encoding = ActivationEncoding::Unsigned;
      why = "non-negative range " + range_text + " (" + percent(stats.zero_fraction) +
            " zeros): uint8 with zero point 0 uses all 256 codes, lets a preceding ReLU fuse into "
            "the "
            "layer's clamp, and keeps zeros at code 0 for the CIM sparsity detector";
    } else {
      const double low = -stats.min, high = stats.max;
      const double balance = std::max(low, high) / std::max(1e-30, std::min(low, high));
      if (high > 0.0 && balance <= 1.25) {
        encoding = ActivationEncoding::Symmetric;
        why = "range " + range_text + " is balanced around zero (ratio " + format(balance) +
              " <= 1.25): symmetric, zero point 128";
      } else {
        encoding = ActivationEncoding::Asymmetric;
        why = "range " + range_text + " is skewed (ratio " + format(balance) +
              "): an asymmetric zero point wastes no codes";
      }
    }
    decision.decisions.push_back({tensor, "activation_encoding", to_string(encoding), why});
    // Calibration method: the ranges the four methods give, from the histogram.
    const double tail = stats.tail_ratio();
    const CalibrationMethod candidates[] = {CalibrationMethod::MinMax,
                                            CalibrationMethod::Percentile,
                                            CalibrationMethod::Entropy, CalibrationMethod::Mse};
    std::vector<ActivationQuant> options;
    double narrowest = 1.0;
    std::string ranges;
    for (CalibrationMethod candidate : candidates) {
      options.push_back(activation_quant(
          activation_range(stats, candidate, encoding, options_.ranges), encoding, candidate));
      const Range& full = options.front().range;
      const Range& range = options.back().range;
      if (full.hi > full.lo)
        narrowest = std::min(narrowest, (range.hi - range.lo) / (full.hi - full.lo));
      ranges += (ranges.empty() ? "" : ", ") + std::string(to_string(candidate)) + " [" +
                format(range.lo, 4) + ", " + format(range.hi, 4) + "]";
    }
    const std::string tail_text = "max|x| = " + format(tail) +
                                  " x the 99.99th percentile of |x|, outlier ratio " +
                                  percent(stats.outlier_ratio);
    CalibrationMethod method = CalibrationMethod::MinMax;
    if (options_.activation_method) {
      method = *options_.activation_method;
      why = std::string("fixed by the caller (--activation-method ") + to_string(method) +
            "), not measured (" + ranges + "; " + tail_text + ")";
    } else if (narrowest >= 1.0 - options_.clip_tolerance) {
      why = "no method clips more than " + percent(options_.clip_tolerance, 2) + " of the range (" +
            ranges + "; " + tail_text + "): min-max, nothing worth clipping";
    } else {
      // Measure each method's range on the network outputs with only this tensor quantized.
      double best_nmse = 0.0;
      std::string measured;
      for (const ActivationQuant& quant : options) {
        QdqPlan plan;
        plan.activations[tensor] = quant;
        const Sensitivity s = measure(
            tensor,
            std::string("activation:") + to_string(encoding) + ":" + to_string(quant.method),
            build_qdq_graph(graph_, layers_, plan));
        measured += (measured.empty() ? "" : ", ") + std::string(to_string(quant.method)) + " [" +
                    format(quant.range.lo, 4) + ", " + format(quant.range.hi, 4) + "] NMSE " +
                    format(s.output_nmse);
        // A later (more elaborate) method must be clearly better to be chosen.
        if (quant.method == CalibrationMethod::MinMax || s.output_nmse < best_nmse * 0.98) {
          best_nmse = s.output_nmse;
          method = quant.method;
        }
      }
      why = "the methods disagree on the range (" + tail_text +
            "); measured output NMSE with only this tensor "
            "quantized (" +
            std::to_string(sensitivity_set_.samples.size()) + " calibration samples): " + measured;
    }
    decision.decisions.push_back({tensor, "activation_method", to_string(method), why});
    decision.quant = activation_quant(activation_range(stats, method, encoding, options_.ranges),
                                      encoding, method);
    decision.decisions.push_back(
        {tensor, "activation_params",
         "scale " + format(decision.quant.scale, 6) + ", zero point " +
             std::to_string(decision.quant.zero_point),
         "uint8 over [" + format(decision.quant.range.lo, 4) + ", " +
             format(decision.quant.range.hi, 4) +
             "], per tensor (one input zero point "
             "per CIM array; activation scales cannot vary along the dot product)"});
    for (const auto& d : decision.decisions) record(d);
    decided[tensor] = decision.quant;
    activations_.push_back(std::move(decision));
  }
}

// ---------------------------------------------------------------------------------------------
// Weights.

const LayerDecision& QuantizationSession::layer_decision(const std::string& name, int bits) {
  const auto key = std::make_pair(name, bits);
  auto cached = layer_decisions_.find(key);
  if (cached != layer_decisions_.end()) return cached->second;
  const QuantLayer& l = layer(name);
  const graph::Tensor& weights = *graph_.initializer(l.weight);
  LayerDecision decision;
  decision.layer = name;
  decision.weights.bits = bits;
  const std::string at = " at " + std::to_string(bits) + " bits";

  // Method per granularity, then granularity.
  struct Choice {
    CalibrationMethod method;
    double error;
    double minmax_error;
  };
  auto choose_method = [&](bool per_channel) {
    WeightSpec spec;
    spec.bits = bits;
    spec.per_channel = per_channel;
    spec.method = CalibrationMethod::MinMax;
    const double minmax = quantize_weights(weights, l.weight_axis, spec).channel_relative_error;
    spec.method = CalibrationMethod::Mse;
    const double mse = quantize_weights(weights, l.weight_axis, spec).channel_relative_error;
    if (mse <= (1.0 - options_.mse_gain) * minmax)
      return Choice{CalibrationMethod::Mse, mse, minmax};
    return Choice{CalibrationMethod::MinMax, minmax, minmax};
  };
  const Choice channel = choose_method(true);
  const Choice tensor = choose_method(false);
  double spread = 1.0;
  auto stats = stats_.find(l.weight);
  if (stats != stats_.end() && !stats->second.channels.empty()) {
    double lo = std::numeric_limits<double>::infinity(), hi = 0.0;
    for (const auto& c : stats->second.channels) {
      lo = std::min(lo, c.abs_max());
      hi = std::max(hi, c.abs_max());
    }
    spread = lo > 0.0 ? hi / lo : std::numeric_limits<double>::infinity();
  }
  const bool per_tensor = tensor.error <= options_.per_tensor_error_factor * channel.error;
  const Choice& chosen = per_tensor ? tensor : channel;
  decision.weights.per_channel = !per_tensor;
  decision.weights.method = chosen.method;
  decision.weight_error = chosen.error;
  decision.decisions.push_back({name, "weight_symmetry", "symmetric",
                                "the CIM macro stores the centred weight w - z_w: a zero point "
                                "other than 0 would need one more bit for "
                                "the same number of levels and a zero-point correction per output; "
                                "onnxruntime's per-channel "
                                "QLinearConv also requires equal weight zero points"});
  decision.decisions.push_back(
      {name, "weight_granularity", per_tensor ? "per_tensor" : "per_channel",
       (per_tensor
            ? std::string("channel ranges are alike (max|w| spread ") + format(spread) +
                  "x): per-tensor error (mean relative squared error per output channel) " +
                  format(tensor.error) + " is within " + format(options_.per_tensor_error_factor) +
                  "x of per-channel " + format(channel.error) + at
            : std::string("channel ranges differ (max|w| spread ") + format(spread) +
                  "x): mean relative squared error per output channel " + format(channel.error) +
                  " per channel" + " vs per-tensor " + format(tensor.error) + at +
                  "; each CIM output column has its own requantization "
                  "multiplier, so per-channel scales cost nothing")});
  decision.decisions.push_back(
      {name, "weight_method", to_string(chosen.method),
       chosen.method == CalibrationMethod::Mse
           ? "clipping at the MSE-optimal scale lowers the weight error (mean relative squared "
             "error per output channel) from " +
                 format(chosen.minmax_error) + " (min-max) to " + format(chosen.error) + at
           : "MSE clipping would not lower the weight error by " + percent(options_.mse_gain, 2) +
                 at + " (min-max " + format(chosen.minmax_error) + ")"});
  for (const auto& d : decision.decisions) record(d);
  return layer_decisions_.emplace(key, std::move(decision)).first->second;
}

Graph QuantizationSession::build(const std::map<std::string, int>& bits) {
  QdqPlan plan;
  for (const auto& activation : activations())
    plan.activations[activation.tensor] = activation.quant;
  for (const auto& l : layers_) {
    auto found = bits.find(l.name);
    plan.weights[l.name] = layer_decision(l.name, found == bits.end() ? 8 : found->second).weights;
  }
  return build_qdq_graph(graph_, layers_, plan);
}

Sensitivity QuantizationSession::weight_sensitivity(const std::string& name, int bits) {
  const LayerDecision& decision = layer_decision(name, bits);
  QdqPlan plan;
  plan.weights[name] = decision.weights;
  const std::string config = "weights:" + std::to_string(bits) + ":" +
                             (decision.weights.per_channel ? "per_channel" : "per_tensor") + ":" +
                             to_string(decision.weights.method);
  return measure(name, config, build_qdq_graph(graph_, layers_, plan));
}

Sensitivity QuantizationSession::model_sensitivity(const Graph& qdq) {
  return measure("<model>", "qdq:" + graph_fingerprint(qdq), qdq);
}

// ---------------------------------------------------------------------------------------------
// Policies.

std::map<std::string, int> QuantizationSession::auto_bits() {
  std::map<std::string, int> bits;
  std::map<std::string, Sensitivity> chosen_sensitivity;
  const std::string thresholds = "agreement >= " + percent(options_.auto_min_agreement) +
                                 " and NMSE <= " + format(options_.auto_max_nmse);
  for (const auto& l : layers_) {
    int chosen = 8;
    std::string measured;
    Sensitivity at_chosen = weight_sensitivity(l.name, 8);
    for (int b : {2, 4}) {
      const Sensitivity s = weight_sensitivity(l.name, b);
      measured += (measured.empty() ? "" : "; ") + std::to_string(b) + " bits: agreement " +
                  percent(s.top1_agreement) + ", NMSE " + format(s.output_nmse);
      if (s.top1_agreement >= options_.auto_min_agreement &&
          s.output_nmse <= options_.auto_max_nmse) {
        chosen = b;
        at_chosen = s;
        break;
      }
    }
    bits[l.name] = chosen;
    chosen_sensitivity[l.name] = at_chosen;
    record({l.name, "weight_bits", std::to_string(chosen),
            "fewest bits whose measured sensitivity (this layer alone quantized, " +
                std::to_string(sensitivity_set_.samples.size()) +
                " calibration samples against the float model) "
                "keeps " +
                thresholds + ": " + measured});
  }
  // All layers together must stay close to the all-8-bit model.
  std::map<std::string, int> eight;
  for (const auto& l : layers_) eight[l.name] = 8;
  const Sensitivity int8 = model_sensitivity(build(eight));
  while (true) {
    const Sensitivity joint = model_sensitivity(build(bits));
    if (joint.top1_agreement >= int8.top1_agreement - options_.auto_max_agreement_drop) {
      record({"<model>", "joint_check", bits_key(bits),
              "all layers together: agreement " + percent(joint.top1_agreement) + " (int8 model " +
                  percent(int8.top1_agreement) + "), NMSE " + format(joint.output_nmse) +
                  " (int8 " + format(int8.output_nmse) + ")"});
      break;
    }
    // Raise the layer whose bit width costs the most output error.
    std::string worst;
    double worst_nmse = -1.0;
    for (const auto& entry : bits) {
      if (entry.second >= 8) continue;
      const double nmse = chosen_sensitivity[entry.first].output_nmse;
      if (nmse > worst_nmse) {
        worst_nmse = nmse;
        worst = entry.first;
      }
    }
    if (worst.empty()) break;
    const int raised = bits[worst] == 2 ? 4 : 8;
    record({worst, "weight_bits", std::to_string(raised),
            "raised from " + std::to_string(bits[worst]) + ": all layers together kept only " +
                percent(joint.top1_agreement) + " agreement (int8 model " +
                percent(int8.top1_agreement) + ", allowed drop " +
                percent(options_.auto_max_agreement_drop) + "); this layer had the largest NMSE " +
                format(worst_nmse)});
    bits[worst] = raised;
    chosen_sensitivity[worst] = weight_sensitivity(worst, raised);
  }
  return bits;
}

QuantizeResult QuantizationSession::quantize(Policy policy) {
  std::map<std::string, int> bits;
  switch (policy) {
    case Policy::Int8:
    case Policy::Int4:
    case Policy::Int2: {
      const int b = policy == Policy::Int8 ? 8 : (policy == Policy::Int4 ? 4 : 2);
      for (const auto& l : layers_) {
        bits[l.name] = b;
        record(
            {l.name, "weight_bits", std::to_string(b), std::string("policy ") + to_string(policy)});
      }
      break;
    }
    case Policy::Auto:
      bits = auto_bits();
      break;
    case Policy::Mixed:
      throw std::logic_error(
          "the mixed policy runs the model search: use mixed_precision() (model_search.h)");
  }
  return result_for(bits, policy);
}

QuantizeResult QuantizationSession::result_for(const std::map<std::string, int>& bits,
                                               Policy policy) {
  QuantizeResult result;
  result.qdq = build(bits);
  result.qdq.metadata["cimtlm.quant.policy"] = to_string(policy);
  result.qdq.metadata["cimtlm.quant.source_hash"] = record_.model_hash;
  result.activations = activations();
  for (const auto& l : layers_) {
    const auto found = bits.find(l.name);
    const int b = found == bits.end() ? 8 : found->second;
    result.bits[l.name] = b;
    result.layers.push_back(layer_decision(l.name, b));
  }
  result.decisions = decisions_;

  nlohmann::json& report = result.report;
  report["model"] = record_.model_name;
  report["model_hash"] = record_.model_hash;
  report["policy"] = to_string(policy);
  report["calibration"] = {{"source", calibration_.source},
                           {"samples", calibration_.samples.size()},
                           {"data_hash", calibration_.fingerprint},
                           {"database", options_.database_path},
                           {"statistics_reused", reused_},
                           {"calibration_executor_runs", calibration_runs_},
                           {"sensitivity_executor_runs", sensitivity_runs_},
                           {"created_utc", record_.created_utc},
                           {"notes", notes_}};
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < layers_.size(); ++i) {
    const QuantLayer& l = layers_[i];
    const LayerDecision& d = result.layers[i];
    nlohmann::json reasons = nlohmann::json::array();
    for (const auto& decision : d.decisions) {
      reasons.push_back(
          {{"aspect", decision.aspect}, {"choice", decision.choice}, {"reason", decision.reason}});
    }
    for (const auto& decision : decisions_) {
      if (decision.subject == l.name && decision.aspect == "weight_bits") {
        reasons.push_back({{"aspect", decision.aspect},
                           {"choice", decision.choice},
                           {"reason", decision.reason}});
      }
    }
    layers.push_back({{"layer", l.name},
                      {"op", l.op},
                      {"weight_bits", d.weights.bits},
                      {"granularity", d.weights.per_channel ? "per_channel" : "per_tensor"},
                      {"symmetric", true},
                      {"method", to_string(d.weights.method)},
                      {"weight_relative_error", d.weight_error},
                      {"parameters", l.parameters},
                      {"macs", l.macs},
                      {"input", l.input},
                      {"output", l.output},
                      {"decisions", reasons}});
  }
  report["layers"] = layers;
  nlohmann::json activations = nlohmann::json::array();
  for (const auto& a : result.activations) {
    nlohmann::json reasons = nlohmann::json::array();
    for (const auto& decision : a.decisions) {
      reasons.push_back(
          {{"aspect", decision.aspect}, {"choice", decision.choice}, {"reason", decision.reason}});
    }
    activations.push_back({{"tensor", a.tensor},
                           {"encoding", to_string(a.quant.encoding)},
                           {"method", to_string(a.quant.method)},
                           {"scale", a.quant.scale},
                           {"zero_point", a.quant.zero_point},
                           {"range", {a.quant.range.lo, a.quant.range.hi}},
                           {"decisions", reasons}});
  }
  report["activations"] = activations;
  nlohmann::json log = nlohmann::json::array();
  for (const auto& decision : decisions_) {
    log.push_back({{"subject", decision.subject},
                   {"aspect", decision.aspect},
                   {"choice", decision.choice},
                   {"reason", decision.reason}});
  }
  report["decision_log"] = log;
  return result;
}

}  // namespace cimtlm::quant
