// The model search loop with deterministic stand-ins for the simulator and the accuracy.
#include <gtest/gtest.h>

#include "compiler/quant/model_search.h"
#include "quant_test_support.h"

namespace cimtlm::quant {
namespace {

std::map<std::string, int> bits_of(const graph::Graph& model) {
  std::map<std::string, int> bits;
  for (const auto& entry : model.metadata) {
    const std::string prefix = "cimtlm.weight_bits.";
    if (entry.first.rfind(prefix, 0) == 0)
      bits[entry.first.substr(prefix.size())] = std::stoi(entry.second);
  }
  return bits;
}

// Energy = sum of MACs x bits (fc1: 32 MACs, fc2: 24), latency half of it; `failing` bit
// configurations report a failed simulation.
class FakeCost : public CostEvaluator {
 public:
  std::vector<CostMeasure> evaluate(const std::vector<graph::Graph>& models,
                                    const std::vector<std::string>&) override {
    std::vector<CostMeasure> measures;
    for (const auto& model : models) {
      ++calls;
      const auto bits = bits_of(model);
      CostMeasure cost;
      cost.energy_pj = 32.0 * bits.at("fc1") + 24.0 * bits.at("fc2");
      cost.latency_cycles = cost.energy_pj / 2;
      cost.tiles = bits.at("fc1") > 4 ? 2 : 1;
      cost.layers["fc1"] = {bits.at("fc1"), 32, 1};
      cost.layers["fc2"] = {bits.at("fc2"), 24, 1};
      if (failing.count(bits)) {
        cost.ok = false;
        cost.error = "simulated failure";
      }
      measures.push_back(cost);
    }
    largest_batch = std::max(largest_batch, models.size());
    return measures;
  }
  std::set<std::map<std::string, int>> failing;
  int calls = 0;
  size_t largest_batch = 0;
};

// Accuracy 1 minus a penalty per layer and bit width: fc2 is cheap to quantize, fc1 at 2 bits
// is expensive.
class FakeAccuracy : public AccuracyEvaluator {
 public:
  double accuracy(const graph::Graph& qdq) override {
    const auto bits = bits_of(qdq);
    const std::map<int, double> fc1 = {{8, 0.0}, {4, 0.001}, {2, 0.05}};
    const std::map<int, double> fc2 = {{8, 0.0}, {4, 0.002}, {2, 0.004}};
    return 1.0 - fc1.at(bits.at("fc1")) - fc2.at(bits.at("fc2"));
  }
  std::string describe() const override { return "fake"; }
  size_t samples() const override { return 1000; }
};

class Search : public ::testing::Test {
 protected:
  Search() : session_(testing::small_mlp(), testing::small_mlp_data(16), QuantizeOptions{}) {}
  SearchResult run(SearchOptions options) {
    return search_mixed_precision(session_, accuracy_, cost_, options);
  }
  QuantizationSession session_;
  FakeAccuracy accuracy_;
  FakeCost cost_;
};

bool dominates(const Candidate& a, const Candidate& b) {
  return a.accuracy >= b.accuracy && a.cost.energy_pj <= b.cost.energy_pj &&
         a.cost.latency_cycles <= b.cost.latency_cycles &&
         (a.accuracy > b.accuracy || a.cost.energy_pj < b.cost.energy_pj ||
          a.cost.latency_cycles < b.cost.latency_cycles);
}

TEST_F(Search, FollowsTheSeedLoopAndChoosesTheCheapestAccurateModel) {
  SearchOptions options;
  options.min_accuracy = 0.99;
  options.max_evaluations = 10;
  const SearchResult result = run(options);
  ASSERT_GE(result.candidates.size(), 4u);
  EXPECT_LE(result.candidates.size(), 10u);
  EXPECT_LE(cost_.largest_batch, 3u);
  // 1. The single-bit-width models come first.
  for (size_t i = 0; i < 3; ++i) {
    const int bits = std::vector<int>{8, 4, 2}[i];
    EXPECT_EQ(result.candidates[i].bits,
              (std::map<std::string, int>{{"fc1", bits}, {"fc2", bits}}));
  }
  // 2. Layer evaluation parameters: accuracy drops measured from the all-8-bit model, energy
  // shares by MACs.
  ASSERT_EQ(result.layers.size(), 2u);
  EXPECT_NEAR(result.layers[0].accuracy_drop.at(2), 0.05, 1e-12);
  EXPECT_NEAR(result.layers[1].accuracy_drop.at(4), 0.002, 1e-12);
  EXPECT_NEAR(result.layers[0].energy_pj.at(8), 448.0 * 32 / 56, 1e-9);
  // 3. The first iteration expands the cheapest accurate candidate (all 4-bit) and quantizes the
  // layer with the largest weight (fc2: large gain, small accuracy cost) first.
  EXPECT_EQ(result.candidates[3].bits, (std::map<std::string, int>{{"fc1", 4}, {"fc2", 2}}));
  EXPECT_NE(result.candidates[3].origin.find("#1"), std::string::npos);
  // Every later candidate is an earlier one with one layer one level lower, and none repeats.
  std::set<std::map<std::string, int>> seen;
  for (size_t i = 0; i < result.candidates.size(); ++i) {
    EXPECT_TRUE(seen.insert(result.candidates[i].bits).second) << "candidate " << i << " repeats";
    if (i < 3) continue;
    bool derived = false;
    for (size_t j = 0; j < i; ++j) {
      int differing = 0, one_step = 0;
      for (const auto& entry : result.candidates[i].bits) {
        const int before = result.candidates[j].bits.at(entry.first);
        differing += before != entry.second;
        one_step += (before == 8 && entry.second == 4) || (before == 4 && entry.second == 2);
      }
      derived |= differing == 1 && one_step == 1;
    }
    EXPECT_TRUE(derived) << "candidate " << i;
  }
  // 4. The choice: least energy among the candidates meeting the minimum accuracy.
  ASSERT_GE(result.chosen, 0);
  const Candidate& chosen = result.candidates[static_cast<size_t>(result.chosen)];
  EXPECT_EQ(chosen.bits, (std::map<std::string, int>{{"fc1", 4}, {"fc2", 2}}));
  for (const auto& candidate : result.candidates) {
    if (candidate.accuracy >= options.min_accuracy) {
      EXPECT_GE(candidate.cost.energy_pj, chosen.cost.energy_pj);
    }
  }
  EXPECT_TRUE(result.target_met);
  // Pareto flags: exactly the non-dominated candidates.
  for (const auto& a : result.candidates) {
    bool dominated = false;
    for (const auto& b : result.candidates) dominated |= dominates(b, a);
    EXPECT_EQ(a.pareto, !dominated) << "candidate " << a.id;
  }
  // The CSV has a header and one row per candidate.
  const std::string csv = candidates_csv(result, session_.layers());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'),
            static_cast<long>(result.candidates.size()) + 1);
  EXPECT_NE(csv.find("\"bits:fc1\""), std::string::npos);
}

TEST_F(Search, StopsWhenTheTargetIsMetAndReportsAMissedTarget) {
  SearchOptions options;
  options.min_accuracy = 0.99;
  options.max_evaluations = 20;
  options.target = parse_search_target("energy=200");
  const SearchResult met = run(options);
  ASSERT_GE(met.chosen, 0);
  EXPECT_TRUE(met.target_met);
  EXPECT_LE(met.candidates[static_cast<size_t>(met.chosen)].cost.energy_pj, 200.0);
  EXPECT_LT(met.candidates.size(), 20u);  // stopped early

  options.target = parse_search_target("energy=10");
  const SearchResult missed = run(options);
  EXPECT_FALSE(missed.target_met);
  ASSERT_GE(missed.chosen, 0);  // still the best candidate meeting the accuracy
  EXPECT_GE(missed.candidates[static_cast<size_t>(missed.chosen)].accuracy, 0.99);
}

TEST_F(Search, FailedSimulationsAreNeverChosen) {
  cost_.failing.insert({{"fc1", 4}, {"fc2", 2}});
  SearchOptions options;
  options.min_accuracy = 0.99;
  options.max_evaluations = 12;
  const SearchResult result = run(options);
  ASSERT_GE(result.chosen, 0);
  const Candidate& chosen = result.candidates[static_cast<size_t>(result.chosen)];
  EXPECT_TRUE(chosen.cost.ok);
  EXPECT_NE(chosen.bits, (std::map<std::string, int>{{"fc1", 4}, {"fc2", 2}}));
}

TEST_F(Search, NoCandidateAccurateEnough) {
  SearchOptions options;
  options.min_accuracy = 1.5;
  options.max_evaluations = 6;
  const SearchResult result = run(options);
  EXPECT_EQ(result.chosen, -1);
  EXPECT_EQ(result.candidates.size(), 3u);  // nothing feasible to expand
}

TEST(SearchTarget, Parsing) {
  EXPECT_EQ(parse_search_target("latency").metric, SearchMetric::Latency);
  EXPECT_FALSE(parse_search_target("size").value);
  EXPECT_DOUBLE_EQ(*parse_search_target("energy=1.5e6").value, 1.5e6);
  EXPECT_THROW(parse_search_target("power=3"), std::invalid_argument);
  EXPECT_THROW(parse_search_target("energy=abc"), std::invalid_argument);
  EXPECT_THROW(parse_search_target("energy=-1"), std::invalid_argument);
}

}  // namespace
}  // namespace cimtlm::quant
