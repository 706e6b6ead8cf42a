#include "compiler/quant/model_search.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "compiler/graph/lowering.h"
#include "compiler/quant/evaluation.h"

namespace cimtlm::quant {

const char* to_string(SearchMetric metric) {
  switch (metric) {
    case SearchMetric::Energy:
      return "energy";
    case SearchMetric::Latency:
      return "latency";
    case SearchMetric::Size:
      return "size";
  }
  return "?";
}

SearchTarget parse_search_target(const std::string& text) {
  SearchTarget target;
  const size_t equals = text.find('=');
  const std::string metric = text.substr(0, equals);
  if (metric == "energy") {
    target.metric = SearchMetric::Energy;
  } else if (metric == "latency") {
    target.metric = SearchMetric::Latency;
  } else if (metric == "size") {
    target.metric = SearchMetric::Size;
  } else {
    throw std::invalid_argument("--target '" + text +
                                "': the metric must be energy, latency or size");
  }
  if (equals != std::string::npos) {
    const std::string value = text.substr(equals + 1);
    size_t used = 0;
    double number = 0.0;
    try {
      number = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != value.size() || value.empty() || !(number > 0.0)) {
      throw std::invalid_argument("--target '" + text +
                                  "': the value must be a positive number (pJ, cycles or bytes "
                                  "per inference)");
    }
    target.value = number;
  }
  return target;
}

// ---------------------------------------------------------------------------------------------

LabelAccuracy::LabelAccuracy(const Dataset& validation) : validation_(validation) {
  if (validation_.labels.size() != validation_.samples.size() || validation_.samples.empty()) {
    throw graph::ModelError(validation_.source + ": the validation set needs one label per sample");
  }
}

double LabelAccuracy::accuracy(const graph::Graph& qdq) {
  const graph::Graph lowered = graph::lower_quantized(qdq);
  return top1_accuracy(run_outputs(lowered, validation_.samples, &runs_), validation_.labels);
}

std::string LabelAccuracy::describe() const {
  return "top-1 accuracy of the lowered integer model on " +
         std::to_string(validation_.samples.size()) + " labelled samples of " + validation_.source;
}

std::vector<CostMeasure> ProxyCost::evaluate(const std::vector<graph::Graph>& models,
                                             const std::vector<std::string>&) {
  std::vector<CostMeasure> measures;
  for (const auto& model : models) {
    CostMeasure measure;
    for (const auto& layer : layers_) {
      auto bits = model.metadata.find("cimtlm.weight_bits." + layer.name);
      const int b = bits == model.metadata.end() ? 8 : std::stoi(bits->second);
      // One unit per MAC and weight bit.
      measure.energy_pj += static_cast<double>(layer.macs) * b;
      measure.latency_cycles += static_cast<double>(layer.macs) * b;
      measure.layers[layer.name] = {b, layer.macs, 0};
    }
    measures.push_back(std::move(measure));
  }
  return measures;
}

double Candidate::metric(SearchMetric which) const {
  switch (which) {
    case SearchMetric::Energy:
      return cost.energy_pj;
    case SearchMetric::Latency:
      return cost.latency_cycles;
    case SearchMetric::Size:
      return size_bytes;
  }
  return 0.0;
}

double LayerEvaluation::metric(SearchMetric which, int bits) const {
  const std::map<int, double>& table =
      which == SearchMetric::Energy
          ? energy_pj
          : (which == SearchMetric::Latency ? latency_cycles : size_bytes);
  auto found = table.find(bits);
  return found == table.end() ? 0.0 : found->second;
}

namespace {

std::string format(double value, int digits = 4) {
  std::ostringstream text;
  text << std::setprecision(digits) << value;
  return text.str();
}

class Search {
 public:
  Search(QuantizationSession& session, AccuracyEvaluator& accuracy, CostEvaluator& cost,
         const SearchOptions& options)
      : session_(session), accuracy_(accuracy), cost_(cost), options_(options) {
    widths_ = options_.bit_widths;
    std::sort(widths_.begin(), widths_.end(), std::greater<int>());
    widths_.erase(std::unique(widths_.begin(), widths_.end()), widths_.end());
    if (widths_.empty()) throw std::invalid_argument("the search needs at least one bit width");
    for (int bits : widths_) weight_code_max(bits);  // throws for widths outside 2..8
  }

  SearchResult run() {
    // 1. Single-bit-width models.
    std::vector<std::map<std::string, int>> singles;
    std::vector<std::string> origins;
    for (int bits : widths_) {
      std::map<std::string, int> uniform;
      for (const auto& layer : session_.layers()) uniform[layer.name] = bits;
      singles.push_back(uniform);
      origins.push_back("all " + std::to_string(bits) + "-bit");
    }
    evaluate(singles, origins);

    // 2. Evaluation parameters of every layer.
    evaluate_layers();

    // 3. Iterate.
    while (static_cast<int>(result_.candidates.size()) < options_.max_evaluations) {
      if (options_.target.value && best_meeting_target() >= 0) {
        say("target " + std::string(to_string(options_.target.metric)) +
            " <= " + format(*options_.target.value) + " met by #" +
            std::to_string(result_.candidates[static_cast<size_t>(best_meeting_target())].id));
        break;
      }
      const int chosen = choose_candidate();
      if (chosen < 0) {
        say("no candidate meeting the minimum accuracy can be quantized further");
        break;
      }
      const size_t budget = static_cast<size_t>(
          std::min<int>(std::max(1, options_.parallel),
                        options_.max_evaluations - static_cast<int>(result_.candidates.size())));
      std::vector<std::map<std::string, int>> proposals;
      std::vector<std::string> proposal_origins;
      propose(static_cast<size_t>(chosen), budget, proposals, proposal_origins);
      if (proposals.empty()) continue;  // the candidate is exhausted now; choose again
      evaluate(proposals, proposal_origins);
    }

    // 4. Pareto front and choice.
    mark_pareto();
    choose_result();
    return std::move(result_);
  }

 private:
  void say(const std::string& line) {
    result_.log.push_back(line);
    if (options_.log) *options_.log << line << '\n';
  }

  bool known(const std::map<std::string, int>& bits) const {
    for (const auto& candidate : result_.candidates) {
      if (candidate.bits == bits) return true;
    }
    return false;
  }

  double size_of(const std::map<std::string, int>& bits) const {
    double bytes = 0.0;
    for (const auto& layer : session_.layers())
      bytes += static_cast<double>(layer.parameters) * bits.at(layer.name) / 8.0;
    return bytes;
  }

  void evaluate(const std::vector<std::map<std::string, int>>& configs,
                const std::vector<std::string>& origins) {
    std::vector<graph::Graph> models;
    std::vector<std::string> names;
    for (size_t i = 0; i < configs.size(); ++i) {
      models.push_back(session_.build(configs[i]));
      names.push_back("candidate_" + std::to_string(result_.candidates.size() + i));
    }
    const std::vector<CostMeasure> costs = cost_.evaluate(models, names);
    for (size_t i = 0; i < configs.size(); ++i) {
      Candidate candidate;
      candidate.id = static_cast<int>(result_.candidates.size());
      candidate.bits = configs[i];
      candidate.origin = origins[i];
      candidate.accuracy = accuracy_.accuracy(models[i]);
      candidate.cost = costs.at(i);
      candidate.size_bytes = size_of(configs[i]);
      std::string text = "#" + std::to_string(candidate.id) + " (" + candidate.origin +
                         "): accuracy " + format(100.0 * candidate.accuracy) + " %";
      if (candidate.cost.ok) {
        text += ", energy " + format(candidate.cost.energy_pj) + " pJ, latency " +
                format(candidate.cost.latency_cycles) + " cycles, " +
                std::to_string(candidate.cost.tiles) + " tiles, " + format(candidate.size_bytes) +
                " weight bytes";
        if (!candidate.cost.bit_exact) text += " (simulated outputs differ from the reference!)";
      } else {
        text += ", cost not evaluated: " + candidate.cost.error;
      }
      say(text);
      result_.candidates.push_back(std::move(candidate));
    }
  }

  void evaluate_layers() {
    const Candidate* eight = nullptr;
    for (const auto& candidate : result_.candidates) {
      if (candidate.origin == "all " + std::to_string(widths_.front()) + "-bit") eight = &candidate;
    }
    const double base_accuracy = eight ? eight->accuracy : 0.0;
    int64_t total_macs = 0;
    for (const auto& layer : session_.layers()) total_macs += layer.macs;
    for (const auto& layer : session_.layers()) {
      LayerEvaluation evaluation;
      evaluation.layer = layer.name;
      evaluation.macs = layer.macs;
      evaluation.parameters = layer.parameters;
      for (size_t w = 0; w < widths_.size(); ++w) {
        const int bits = widths_[w];
        const Candidate& single = result_.candidates[w];
        // The layer's share of the single-bit model: by MACs (the simulator's own count when it
        // reports the layer), since every layer of the model computes at the same precision.
        int64_t macs = layer.macs, all_macs = total_macs;
        auto reported = single.cost.layers.find(layer.name);
        if (reported != single.cost.layers.end() && reported->second.macs > 0) {
          all_macs = 0;
          for (const auto& entry : single.cost.layers) all_macs += entry.second.macs;
          macs = reported->second.macs;
          evaluation.tiles[bits] = reported->second.tiles;
        }
        const double share =
            all_macs > 0 ? static_cast<double>(macs) / static_cast<double>(all_macs) : 0.0;
        evaluation.energy_pj[bits] = single.cost.energy_pj * share;
        evaluation.latency_cycles[bits] = single.cost.latency_cycles * share;
        evaluation.size_bytes[bits] = static_cast<double>(layer.parameters) * bits / 8.0;
        if (w == 0) {
          evaluation.accuracy_drop[bits] = 0.0;
        } else {
          std::map<std::string, int> config;
          for (const auto& other : session_.layers()) config[other.name] = widths_.front();
          config[layer.name] = bits;
          evaluation.accuracy_drop[bits] =
              base_accuracy - accuracy_.accuracy(session_.build(config));
        }
      }
      std::string text = "layer " + layer.name + ": " + std::to_string(layer.macs) + " MACs";
      for (int bits : widths_) {
        text += "; " + std::to_string(bits) + " bits: accuracy drop " +
                format(100.0 * evaluation.accuracy_drop[bits], 3) + " pt, " +
                format(evaluation.energy_pj[bits]) + " pJ, " +
                format(evaluation.latency_cycles[bits]) + " cycles";
      }
      say(text);
      result_.layers.push_back(std::move(evaluation));
    }
  }

  bool feasible(const Candidate& candidate) const {
    return candidate.cost.ok && candidate.accuracy >= options_.min_accuracy;
  }

  int best_meeting_target() const {
    int best = -1;
    for (size_t i = 0; i < result_.candidates.size(); ++i) {
      const Candidate& candidate = result_.candidates[i];
      if (!feasible(candidate) || candidate.metric(options_.target.metric) > *options_.target.value)
        continue;
      if (best < 0 || candidate.accuracy > result_.candidates[static_cast<size_t>(best)].accuracy)
        best = static_cast<int>(i);
    }
    return best;
  }

  int next_lower(int bits) const {
    for (int width : widths_) {
      if (width < bits) return width;
    }
    return -1;
  }

  bool expandable(const Candidate& candidate) const {
    for (const auto& entry : candidate.bits) {
      if (next_lower(entry.second) > 0 && !candidate.tried.count(entry.first)) return true;
    }
    return false;
  }

  // The feasible, still expandable candidate that is best on the target (ties: more accurate).
  int choose_candidate() const {
    int best = -1;
    for (size_t i = 0; i < result_.candidates.size(); ++i) {
      const Candidate& candidate = result_.candidates[i];
      if (!feasible(candidate) || !expandable(candidate)) continue;
      if (best < 0) {
        best = static_cast<int>(i);
        continue;
      }
      const Candidate& incumbent = result_.candidates[static_cast<size_t>(best)];
      const double a = candidate.metric(options_.target.metric),
                   b = incumbent.metric(options_.target.metric);
      if (a < b || (a == b && candidate.accuracy > incumbent.accuracy)) best = static_cast<int>(i);
    }
    return best;
  }

  const LayerEvaluation& evaluation_of(const std::string& layer) const {
    for (const auto& evaluation : result_.layers) {
      if (evaluation.layer == layer) return evaluation;
    }
    throw std::logic_error("no evaluation of layer " + layer);
  }

  // Quantization weights of the chosen candidate's layers; the `budget` largest whose result is
  // new become proposals.
  void propose(size_t chosen, size_t budget, std::vector<std::map<std::string, int>>& proposals,
               std::vector<std::string>& origins) {
    Candidate& candidate = result_.candidates[chosen];
    // Accuracy is known to one sample of the evaluation set at best; a layer that costs nothing
    // measurable is weighted as if it cost half of that.
    const double resolution = 0.5 / std::max<double>(1.0, static_cast<double>(accuracy_.samples()));
    struct Weighted {
      std::string layer;
      int from, to;
      double gain, loss, weight;
    };
    std::vector<Weighted> weights;
    for (const auto& entry : candidate.bits) {
      const int to = next_lower(entry.second);
      if (to < 0 || candidate.tried.count(entry.first)) continue;
      const LayerEvaluation& evaluation = evaluation_of(entry.first);
      const double gain = evaluation.metric(options_.target.metric, entry.second) -
                          evaluation.metric(options_.target.metric, to);
      const double loss = std::max(
          0.0, evaluation.accuracy_drop.at(to) - evaluation.accuracy_drop.at(entry.second));
      weights.push_back(
          {entry.first, entry.second, to, gain, loss, std::max(0.0, gain) / (loss + resolution)});
    }
    std::sort(weights.begin(), weights.end(),
              [](const Weighted& a, const Weighted& b) { return a.weight > b.weight; });
    std::string table;
    for (const auto& w : weights) {
      table += (table.empty() ? "" : ", ") + w.layer + " " + format(w.weight, 3) + " (gain " +
               format(w.gain, 3) + ", accuracy cost " + format(100.0 * w.loss, 3) + " pt)";
    }
    say("choose #" + std::to_string(candidate.id) + " (" +
        format(candidate.metric(options_.target.metric)) + " " + unit() + ", accuracy " +
        format(100.0 * candidate.accuracy) + " %); quantization weights: " + table);
    for (const auto& w : weights) {
      if (proposals.size() >= budget) break;
      candidate.tried.insert(w.layer);
      std::map<std::string, int> bits = candidate.bits;
      bits[w.layer] = w.to;
      if (known(bits)) continue;
      bool duplicate = false;
      for (const auto& proposal : proposals) duplicate |= proposal == bits;
      if (duplicate) continue;
      proposals.push_back(bits);
      origins.push_back("#" + std::to_string(candidate.id) + " with " + w.layer + " " +
                        std::to_string(w.from) + "->" + std::to_string(w.to) + " (weight " +
                        format(w.weight, 3) + ")");
    }
  }

  std::string unit() const {
    switch (options_.target.metric) {
      case SearchMetric::Energy:
        return "pJ";
      case SearchMetric::Latency:
        return "cycles";
      case SearchMetric::Size:
        return "bytes";
    }
    return "";
  }

  void mark_pareto() {
    for (auto& candidate : result_.candidates) {
      candidate.pareto = false;
      if (!candidate.cost.ok) continue;
      bool dominated = false;
      for (const auto& other : result_.candidates) {
        if (&other == &candidate || !other.cost.ok) continue;
        const bool no_worse = other.accuracy >= candidate.accuracy &&
                              other.cost.energy_pj <= candidate.cost.energy_pj &&
                              other.cost.latency_cycles <= candidate.cost.latency_cycles;
        const bool better = other.accuracy > candidate.accuracy ||
                            other.cost.energy_pj < candidate.cost.energy_pj ||
                            other.cost.latency_cycles < candidate.cost.latency_cycles;
        if (no_worse && better) {
          dominated = true;
          break;
        }
      }
      candidate.pareto = !dominated;
    }
  }

  void choose_result() {
    const SearchMetric metric = options_.target.metric;
    if (options_.target.value) {
      result_.chosen = best_meeting_target();
      if (result_.chosen >= 0) {
        result_.target_met = true;
        return;
      }
    }
    for (size_t i = 0; i < result_.candidates.size(); ++i) {
      const Candidate& candidate = result_.candidates[i];
      if (!feasible(candidate)) continue;
      if (result_.chosen < 0) {
        result_.chosen = static_cast<int>(i);
        continue;
      }
      const Candidate& incumbent = result_.candidates[static_cast<size_t>(result_.chosen)];
      const double a = candidate.metric(metric), b = incumbent.metric(metric);
      if (a < b || (a == b && candidate.accuracy > incumbent.accuracy))
        result_.chosen = static_cast<int>(i);
    }
    result_.target_met = result_.chosen >= 0 && !options_.target.value;
  }

 private:
  QuantizationSession& session_;
  AccuracyEvaluator& accuracy_;
  CostEvaluator& cost_;
  SearchOptions options_;
  std::vector<int> widths_;
  SearchResult result_;
};

}  // namespace

SearchResult search_mixed_precision(QuantizationSession& session, AccuracyEvaluator& accuracy,
                                    CostEvaluator& cost, const SearchOptions& options) {
  Search search(session, accuracy, cost, options);
  return search.run();
}

}  // namespace cimtlm::quant

namespace cimtlm::quant {

std::string candidates_csv(const SearchResult& result, const std::vector<QuantLayer>& layer_order) {
  std::ostringstream csv;
  csv << std::setprecision(10);
  csv << "id,origin,accuracy,energy_pj,latency_cycles,latency_ns,tiles,weight_bytes,bit_exact,cost_"
         "ok,pareto,chosen";
  for (const auto& layer : layer_order) csv << ",\"bits:" << layer.name << "\"";
  csv << '\n';
  for (size_t i = 0; i < result.candidates.size(); ++i) {
    const Candidate& c = result.candidates[i];
    std::string origin = c.origin;
    std::replace(origin.begin(), origin.end(), '"', '\'');
    csv << c.id << ",\"" << origin << "\"," << c.accuracy << ',' << c.cost.energy_pj << ','
        << c.cost.latency_cycles << ',' << c.cost.latency_ns << ',' << c.cost.tiles << ','
        << c.size_bytes << ',' << (c.cost.bit_exact ? 1 : 0) << ',' << (c.cost.ok ? 1 : 0) << ','
        << (c.pareto ? 1 : 0) << ',' << (static_cast<int>(i) == result.chosen ? 1 : 0);
    for (const auto& layer : layer_order) {
      auto found = c.bits.find(layer.name);
      csv << ',' << (found == c.bits.end() ? 0 : found->second);
    }
    csv << '\n';
  }
  return csv.str();
}

nlohmann::json search_report(const SearchResult& result, const SearchOptions& options) {
  nlohmann::json report;
  report["target"] = {{"metric", to_string(options.target.metric)}};
  if (options.target.value) report["target"]["value"] = *options.target.value;
  report["min_accuracy"] = options.min_accuracy;
  report["max_evaluations"] = options.max_evaluations;
  report["bit_widths"] = options.bit_widths;
  report["target_met"] = result.target_met;
  report["chosen"] = result.chosen >= 0
                         ? nlohmann::json(result.candidates[static_cast<size_t>(result.chosen)].id)
                         : nlohmann::json(nullptr);
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& evaluation : result.layers) {
    nlohmann::json entry = {{"layer", evaluation.layer},
                            {"macs", evaluation.macs},
                            {"parameters", evaluation.parameters}};
    for (const auto& drop : evaluation.accuracy_drop) {
      const std::string bits = std::to_string(drop.first);
      entry["by_bits"][bits] = {
          {"accuracy_drop", drop.second},
          {"energy_pj", evaluation.metric(SearchMetric::Energy, drop.first)},
          {"latency_cycles", evaluation.metric(SearchMetric::Latency, drop.first)},
          {"size_bytes", evaluation.metric(SearchMetric::Size, drop.first)}};
      auto tiles = evaluation.tiles.find(drop.first);
      if (tiles != evaluation.tiles.end()) entry["by_bits"][bits]["tiles"] = tiles->second;
    }
    layers.push_back(entry);
  }
  report["layer_evaluations"] = layers;
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& c : result.candidates) {
    nlohmann::json entry = {{"id", c.id},
                            {"origin", c.origin},
                            {"bits", c.bits},
                            {"accuracy", c.accuracy},
                            {"energy_pj", c.cost.energy_pj},
                            {"latency_cycles", c.cost.latency_cycles},
                            {"latency_ns", c.cost.latency_ns},
                            {"tiles", c.cost.tiles},
                            {"weight_bytes", c.size_bytes},
                            {"bit_exact", c.cost.bit_exact},
                            {"pareto", c.pareto}};
    if (!c.cost.ok) entry["error"] = c.cost.error;
    candidates.push_back(entry);
  }
  report["candidates"] = candidates;
  report["log"] = result.log;
  return report;
}

QuantizeResult mixed_precision(QuantizationSession& session, AccuracyEvaluator* accuracy,
                               double max_drop, std::ostream* log) {
  FloatFidelity fidelity(session);
  AccuracyEvaluator& evaluator = accuracy ? *accuracy : fidelity;
  ProxyCost cost(session.layers());
  std::map<std::string, int> eight;
  for (const auto& layer : session.layers()) eight[layer.name] = 8;
  SearchOptions options;
  options.target.metric = SearchMetric::Energy;
  options.min_accuracy = evaluator.accuracy(session.build(eight)) - max_drop;
  options.max_evaluations = 3 + 4 * static_cast<int>(session.layers().size());
  options.log = log;
  const SearchResult result = search_mixed_precision(session, evaluator, cost, options);
  std::map<std::string, int> bits = eight;
  std::string why = "no candidate kept the minimum accuracy; all layers stay 8-bit";
  if (result.chosen >= 0) {
    const Candidate& chosen = result.candidates[static_cast<size_t>(result.chosen)];
    bits = chosen.bits;
    why = "model search with the in-process energy proxy (MACs x weight bits) and " +
          evaluator.describe() + ": candidate #" + std::to_string(chosen.id) + " (" +
          chosen.origin + ") has the lowest proxy energy " + format(chosen.cost.energy_pj) +
          " among " + std::to_string(result.candidates.size()) +
          " candidates scoring >= " + format(100.0 * options.min_accuracy) + " % (it scores " +
          format(100.0 * chosen.accuracy) + " %)";
  }
  for (const auto& entry : bits)
    session.record({entry.first, "weight_bits", std::to_string(entry.second), why});
  QuantizeResult quantized = session.result_for(bits, Policy::Mixed);
  quantized.report["search"] = search_report(result, options);
  return quantized;
}

}  // namespace cimtlm::quant
