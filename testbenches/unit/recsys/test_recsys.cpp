// The recsys scenario: the top-k selection, quality measured on held-out clicks only, and the
// scenario through the cimtlm executable: byte counts equal the analytic payload sizes, the
// simulated top k equals the reference top k, a mis-wired client that ships its raw features is
// caught by the link, bad data is refused naming the key.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "compiler/graph/reference_executor.h"
#include "compiler/onnx/onnx_io.h"
#include "platforms/scenario/recsys_nodes.h"
#include "platforms/scenario/recsys_run.h"
#include "platforms/scenario/recsys_sim.h"
#include "testbenches/regression/cli_runner.h"

namespace cimtlm::platforms::test {
namespace {

using cimtlm::testing::run_cimtlm;
namespace fs = std::filesystem;

const std::string kScenario = "configs/scenarios/recsys_client_server.yaml";
constexpr int kRequests = 4;
// Payload sizes from the shipped workload (scripts/make_recsys.py): the behaviour vector is 16
// float32, the answer 10 int32 item ids, the raw features 3 int64 ids and 64 float32; the link
// adds a 40-byte IPv4 + TCP header to each.
constexpr double kHeader = 40, kBehaviour = 16 * 4, kAnswer = 10 * 4, kRaw = 3 * 8 + 64 * 4;

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file);
}

std::string output(const std::string& name) {
  return std::string(CIMTLM_TEST_OUTPUT_DIR) + "/" + name;
}

TEST(TopK, LargestFirstTiesToTheLowerItemAndCountsInserts) {
  const std::vector<float> scores = {0.5f, 2.0f, -1.0f, 2.0f, 3.0f, 0.5f, 1.0f};
  uint64_t inserts = 0;
  EXPECT_EQ(recsys::top_k(scores, 3, &inserts), (std::vector<int32_t>{4, 1, 3}));
  // 0.5, 2.0, -1.0 fill the buffer; 2.0 and 3.0 beat its last entry; 0.5 and 1.0 do not.
  EXPECT_EQ(inserts, 5u);
  EXPECT_EQ(recsys::top_k(scores, 10).size(), scores.size());
}

// The server's streaming selection against the reference (a full stable sort) on random scores
// drawn from a few values, so that ties are frequent, for every k up to past the item count.
TEST(TopK, StreamingSelectionEqualsAFullStableSort) {
  std::mt19937 random(12);
  std::uniform_int_distribution<int> level(-6, 6);
  int cases = 0;
  for (int items : {1, 2, 7, 33, 400}) {
    for (int k : {1, 2, 3, 10, 16, 100, 401}) {
      for (int trial = 0; trial < 8; ++trial) {
        std::vector<float> scores(static_cast<size_t>(items));
        for (float& score : scores) score = 0.25f * static_cast<float>(level(random));
        uint64_t inserts = 0;
        const std::vector<int32_t> streamed = recsys::top_k(scores, k, &inserts);
        ASSERT_EQ(streamed, recsys::reference_top_k(scores, k))
            << items << " items, k " << k << ", trial " << trial;
        EXPECT_EQ(streamed.size(), static_cast<size_t>(std::min(items, k)));
        EXPECT_LE(inserts, static_cast<uint64_t>(items));
        EXPECT_GE(inserts, static_cast<uint64_t>(std::min(items, k)));
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 5 * 7 * 8);
  // Largest first, ties in item order.
  EXPECT_EQ(recsys::reference_top_k({1.0f, 3.0f, 1.0f, 3.0f, 2.0f}, 4),
            (std::vector<int32_t>{1, 3, 4, 0}));
}

// Only held-out clicks count (quality_at_k sees nothing else; the loader refuses held-out clicks
// that are training clicks, below), and clicks of users without recommendations are skipped.
TEST(Quality, HitRateAndNdcgOnHeldOutClicksOnly) {
  const std::vector<std::vector<int32_t>> top = {{5, 7, 9}, {1, 2, 3}};
  const std::vector<std::pair<int64_t, int64_t>> heldout = {{0, 7}, {0, 4}, {1, 1}, {2, 5}};
  const RecsysQuality quality = quality_at_k(top, heldout);
  EXPECT_EQ(quality.clicks, 3);
  EXPECT_EQ(quality.users, 2);
  EXPECT_DOUBLE_EQ(quality.hit_rate, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(quality.ndcg, (1.0 / std::log2(3.0) + 1.0) / 3.0);
}

TEST(Scenario, ByteCountsAreAnalyticAndTopKEqualsTheReference) {
  const std::string stats = output("recsys_ok.stats.json");
  const auto result = run_cimtlm({"scenario", kScenario, "--stats", stats, "--set",
                                  "recsys.requests=" + std::to_string(kRequests)});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const nlohmann::json json = read_json(stats);
  const auto& on_device = json["modes"]["on_device"];
  const auto& baseline = json["modes"]["raw_features"];
  EXPECT_DOUBLE_EQ(on_device["link.bytes"].get<double>(),
                   kRequests * (kBehaviour + kHeader + kAnswer + kHeader));
  EXPECT_DOUBLE_EQ(on_device["link.uplink.bytes"].get<double>(),
                   kRequests * (kBehaviour + kHeader));
  EXPECT_DOUBLE_EQ(baseline["link.bytes"].get<double>(),
                   kRequests * (kRaw + kHeader + kAnswer + kHeader));
  EXPECT_DOUBLE_EQ(on_device["link.payloads"].get<double>(), 2 * kRequests);
  // The keys at the top level are the on-device run's.
  EXPECT_EQ(json["link.bytes"], on_device["link.bytes"]);
  for (const char* key :
       {"link.bytes", "link.payloads", "link.private_payload_violations", "recsys.hit_rate_at_k",
        "recsys.ndcg_at_k", "client.energy_pj", "server.energy_pj", "recsys.latency_ns"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  // Privacy: nothing private left the client on-device; the baseline leaked every request.
  EXPECT_EQ(on_device["link.private_payload_violations"].get<double>(), 0);
  EXPECT_FALSE(on_device["leaking"].get<bool>());
  EXPECT_EQ(baseline["link.private_payload_violations"].get<double>(), kRequests);
  EXPECT_DOUBLE_EQ(baseline["link.leaked_bytes"].get<double>(), kRequests * (kRaw + kHeader));
  EXPECT_TRUE(baseline["leaking"].get<bool>());
  // Every request answered with the reference top k, every network output bit-exact.
  for (const auto* mode : {&on_device, &baseline}) {
    EXPECT_EQ((*mode)["recsys.answered"].get<int>(), kRequests);
    EXPECT_TRUE((*mode)["recsys.topk_match_reference"].get<bool>());
    EXPECT_TRUE((*mode)["outputs.match_reference"].get<bool>());
    ASSERT_EQ((*mode)["top_k"].size(), static_cast<size_t>(kRequests));
    EXPECT_EQ((*mode)["top_k"][0].size(), 10u);
  }
  EXPECT_EQ(on_device["top_k"], baseline["top_k"]);
  // The top k runs on the server's arithmetic unit (a KernelOp after the scoring): per request
  // 400 compares plus the expected inserts k (1 + H_400 - H_10), each a 4-step binary search,
  // priced at the unit's element-wise energy (5.5 pJ, platforms/schema.yaml). Nothing else on
  // the server is a kernel op.
  double harmonic = 0.0;
  for (int i = 11; i <= 400; ++i) harmonic += 1.0 / i;
  const double top_k_ops = 400 + std::llround(10 * (1 + harmonic) * 4);
  for (const auto* mode : {&on_device, &baseline}) {
    double kernel_pj = 0.0;
    for (const auto& [name, group] : (*mode)["tree"]["server"].items()) {
      if (name.rfind("core", 0) == 0)
        kernel_pj += group["arith"]["energy_kernel_ops_pj"].get<double>();
    }
    EXPECT_NEAR(kernel_pj, kRequests * top_k_ops * 5.5, 1e-6 * kernel_pj);
  }
  // The client looked up one row per table per request and gated the level in between.
  EXPECT_DOUBLE_EQ(on_device["client.embedding_reads"].get<double>(), 3 * kRequests);
  EXPECT_GT(on_device["client.embedding_power_gated_ns"].get<double>(), 0.5 * 200e6 * 3);
  EXPECT_EQ(on_device["embeddings.retention_violations"].get<double>(), 0);
  // End to end: at least the serialisation of both payloads and two one-way latencies.
  const double floor_ns = 2 * 35e6 + (kBehaviour + kHeader) * 8 / 5.64e6 * 1e9 +
                          (kAnswer + kHeader) * 8 / 12.74e6 * 1e9;
  EXPECT_GT(on_device["recsys.latency_ns"].get<double>(), floor_ns);
  EXPECT_LT(on_device["recsys.latency_ns"].get<double>(), floor_ns + 100e3);
  // Quality over all 600 users' held-out clicks (4 each).
  EXPECT_EQ(json["recsys.quality_clicks"].get<int>(), 2400);
  EXPECT_GT(json["recsys.hit_rate_at_k"].get<double>(), 0.1);
  EXPECT_LT(json["recsys.hit_rate_at_k"].get<double>(), 1.0);
}

// A mis-wired client that ships the raw features besides the behaviour vector: the link refuses
// each such payload, the run fails (exit 1) naming the payload; the behaviour vector still gets
// its answer.
TEST(Scenario, PrivacyCheckCatchesAMisWiredClient) {
  const std::string stats = output("recsys_miswired.stats.json");
  const auto result =
      run_cimtlm({"scenario", kScenario, "--stats", stats, "--set",
                  "recsys.requests=" + std::to_string(kRequests), "--set",
                  "client.wire.raw_features=true", "--set", "recsys.compare_baseline=false"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_NE(result.err.find("refused a payload 'raw_features' derived from 'user.categorical'"),
            std::string::npos)
      << result.err;
  const nlohmann::json json = read_json(stats);
  EXPECT_EQ(json["link.private_payload_violations"].get<double>(), kRequests);
  EXPECT_EQ(json["link.refused_payloads"].get<double>(), kRequests);
  EXPECT_EQ(json["recsys.answered"].get<int>(), kRequests);
  EXPECT_DOUBLE_EQ(json["link.uplink.bytes"].get<double>(), kRequests * (kBehaviour + kHeader));
}

// Under audit the same wiring runs, delivers the raw features and is reported as leaking.
TEST(Scenario, AuditLetsTheMisWiredClientRunButReportsTheLeak) {
  const std::string stats = output("recsys_audit.stats.json");
  const auto result =
      run_cimtlm({"scenario", kScenario, "--stats", stats, "--set", "recsys.requests=2", "--set",
                  "client.wire.raw_features=true", "--set", "privacy.policy=audit", "--set",
                  "recsys.compare_baseline=false"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  const nlohmann::json json = read_json(stats);
  EXPECT_TRUE(json["leaking"].get<bool>());
  EXPECT_DOUBLE_EQ(json["link.leaked_bytes"].get<double>(), 2 * (kRaw + kHeader));
}

TEST(Scenario, HeldOutClicksThatAreTrainingClicksAreRefused) {
  const auto result = run_cimtlm(
      {"scenario", kScenario, "--set", "data.heldout=configs/networks/recsys/data/train.npy"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("data.heldout"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("also a training click"), std::string::npos) << result.err;
}

TEST(Scenario, UnknownEmbeddingLevelIsBadInput) {
  const auto result =
      run_cimtlm({"scenario", kScenario, "--set", "client.embedding_level=sram_cache"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("no level 'sram_cache'"), std::string::npos) << result.err;
}

TEST(Scenario, TablesAndCategoricalColumnsMustAgree) {
  const std::string path = output("recsys_two_tables.yaml");
  std::ifstream source(std::string(CIMTLM_SOURCE_DIR) + "/" + kScenario);
  std::stringstream text;
  text << source.rdbuf();
  std::string yaml = text.str();
  const std::string device = "  device: {file: ../networks/recsys/tables/device.npy}\n";
  yaml.erase(yaml.find(device), device.size());
  const std::string base = std::string(CIMTLM_SOURCE_DIR) + "/configs/scenarios/";
  for (size_t at = yaml.find("../"); at != std::string::npos; at = yaml.find("../", at + 1)) {
    yaml.replace(at, 3, base + "../");
    at += base.size();
  }
  std::ofstream(path) << yaml;
  const auto result = run_cimtlm({"scenario", path});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("data.categorical"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("3 categorical columns, but 2 tables"), std::string::npos)
      << result.err;
}

// The report's CSV holds the figures of the stats, one row per mode, and the plot is drawn from it
// (a PNG from scripts/plot_recsys.py).
TEST(Scenario, CsvAndPlotComeFromTheRun) {
  const std::string stats = output("recsys_plot.stats.json");
  const std::string csv = output("recsys_plot.csv");
  const std::string plot = output("recsys_plot.png");
  fs::remove(plot);
  const auto result = run_cimtlm({"scenario", kScenario, "--quiet", "--stats", stats, "--csv", csv,
                                  "--plot", plot, "--set", "recsys.requests=2"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const nlohmann::json json = read_json(stats);
  std::istringstream lines(cimtlm::testing::read_text(csv));
  std::string header, line;
  std::getline(lines, header);
  EXPECT_EQ(header.rfind("mode,leaking,uplink_bytes_per_request,link_bytes,", 0), 0u) << header;
  std::map<std::string, std::vector<std::string>> rows;
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 12u) << line;
    rows[cells[0]] = cells;
  }
  ASSERT_EQ(rows.size(), 2u);
  for (const char* mode : {"on_device", "raw_features"}) {
    const auto& figures = json["modes"][mode];
    const auto& cells = rows.at(mode);
    EXPECT_EQ(cells[1], figures["leaking"].get<bool>() ? "1" : "0") << mode;
    EXPECT_DOUBLE_EQ(std::stod(cells[2]), figures["uplink_bytes_per_request"].get<double>());
    EXPECT_DOUBLE_EQ(std::stod(cells[3]), figures["link.bytes"].get<double>());
    EXPECT_NEAR(std::stod(cells[4]), figures["client.energy_pj_per_request"].get<double>() * 1e-6,
                1e-5 * std::stod(cells[4]));
    EXPECT_NEAR(std::stod(cells[8]), figures["recsys.latency_ns"].get<double>() * 1e-6,
                1e-5 * std::stod(cells[8]));
    EXPECT_NEAR(std::stod(cells[9]), json["recsys.hit_rate_at_k"].get<double>(), 1e-5);
    EXPECT_DOUBLE_EQ(std::stod(cells[11]),
                     figures["link.private_payload_violations"].get<double>());
  }
  EXPECT_EQ(rows.at("on_device")[1], "0");
  EXPECT_EQ(rows.at("raw_features")[1], "1");
  const std::string png = cimtlm::testing::read_text(plot);
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

// The exported user tower with its Gather lookups (user_tower.onnx, float) computes what the
// split the client runs computes: the tables' rows and the dense features, then user_mlp.onnx.
TEST(Workload, UserTowerWithGathersEqualsTablesThenMlp) {
  const std::string root = std::string(CIMTLM_SOURCE_DIR) + "/configs/networks/recsys/";
  const graph::Graph tower = onnx::load_onnx(root + "user_tower.onnx");
  const graph::Graph mlp = onnx::load_onnx(root + "user_mlp.onnx");
  const graph::Tensor categorical = onnx::load_npy(root + "data/users_categorical.npy");
  const graph::Tensor dense = onnx::load_npy(root + "data/users_dense.npy");
  std::vector<graph::Tensor> tables;
  for (const char* name : {"age_band", "region", "device"}) {
    tables.push_back(onnx::load_npy(root + "tables/" + name + ".npy"));
  }
  ASSERT_EQ(categorical.dim(1), 3);
  const int64_t dense_count = dense.dim(1);
  // One Gather per table (the export also gathers each column of the ids; those take no table).
  int lookups = 0;
  for (const auto& node : tower.nodes) {
    lookups += node.op_type == "Gather" && tower.is_initializer(node.inputs.at(0)) ? 1 : 0;
  }
  EXPECT_EQ(lookups, 3);
  double largest_difference = 0.0;
  for (int64_t user = 0; user < 64; ++user) {
    graph::Tensor ids(graph::DataType::Int64, {1, 3});
    std::memcpy(ids.raw(), categorical.data<int64_t>() + 3 * user, 3 * sizeof(int64_t));
    graph::Tensor features(graph::DataType::Float, {1, dense_count});
    std::memcpy(features.raw(), dense.data<float>() + user * dense_count,
                static_cast<size_t>(dense_count) * sizeof(float));
    std::vector<float> row;
    for (size_t f = 0; f < tables.size(); ++f) {
      const int64_t width = tables[f].dim(1);
      const float* values = tables[f].data<float>() + ids.data<int64_t>()[f] * width;
      row.insert(row.end(), values, values + width);
    }
    row.insert(row.end(), features.data<float>(), features.data<float>() + dense_count);
    graph::Tensor mlp_input(graph::DataType::Float, {1, static_cast<int64_t>(row.size())});
    std::memcpy(mlp_input.raw(), row.data(), row.size() * sizeof(float));
    const auto whole = graph::ReferenceExecutor(tower)
                           .run({{"categorical", ids}, {"dense", features}})
                           .at("behaviour")
                           .to_float_vector();
    const auto split = graph::ReferenceExecutor(mlp)
                           .run({{mlp.inputs.at(0).name, mlp_input}})
                           .at(mlp.outputs.at(0).name)
                           .to_float_vector();
    ASSERT_EQ(whole.size(), 16u);
    ASSERT_EQ(split.size(), whole.size());
    for (size_t k = 0; k < whole.size(); ++k) {
      largest_difference =
          std::max(largest_difference, static_cast<double>(std::fabs(whole[k] - split[k])));
    }
  }
  // The same float ops in the same order: bit for bit.
  EXPECT_EQ(largest_difference, 0.0) << "user_tower.onnx and tables + user_mlp.onnx disagree";
}

std::string fixed(double value, int digits) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(digits) << value;
  return text.str();
}

// The tables of docs/recsys.md and README.md come from the shipped scenario as it runs now.
TEST(Docs, RecsysTableMatchesAFreshRun) {
  const std::string stats = output("recsys_docs.stats.json");
  const auto result = run_cimtlm({"scenario", kScenario, "--quiet", "--stats", stats});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const nlohmann::json json = read_json(stats);
  const auto& a = json["modes"]["on_device"];
  const auto& b = json["modes"]["raw_features"];
  auto value = [](const nlohmann::json& mode, const char* key) { return mode[key].get<double>(); };
  std::ifstream file(std::string(CIMTLM_SOURCE_DIR) + "/docs/recsys.md");
  std::stringstream text;
  text << file.rdbuf();
  const std::string docs = text.str();
  const std::vector<std::string> rows = {
      "| uplink bytes | " + fixed(value(a, "uplink_bytes_per_request"), 0) + " | " +
          fixed(value(b, "uplink_bytes_per_request"), 0) + " |",
      "| client energy (µJ) | " + fixed(value(a, "client.energy_pj_per_request") * 1e-6, 1) +
          " | " + fixed(value(b, "client.energy_pj_per_request") * 1e-6, 1) + " |",
      "| server energy (nJ) | " + fixed(value(a, "server.energy_pj_per_request") * 1e-3, 1) +
          " | " + fixed(value(b, "server.energy_pj_per_request") * 1e-3, 1) + " |",
      "| end-to-end latency (ms) | " + fixed(value(a, "recsys.latency_ns") * 1e-6, 3) + " | " +
          fixed(value(b, "recsys.latency_ns") * 1e-6, 3) + " |",
      "| hit rate@10 (2400 held-out clicks) | " + fixed(value(a, "recsys.hit_rate_at_k"), 4) +
          " | " + fixed(value(b, "recsys.hit_rate_at_k"), 4) + " |",
      "| NDCG@10 | " + fixed(value(a, "recsys.ndcg_at_k"), 4) + " | " +
          fixed(value(b, "recsys.ndcg_at_k"), 4) + " |",
  };
  for (const auto& row : rows) {
    EXPECT_NE(docs.find(row), std::string::npos) << "docs/recsys.md lacks the row " << row;
  }
  // README.md's shorter table of the same run.
  std::ifstream readme_file(std::string(CIMTLM_SOURCE_DIR) + "/README.md");
  std::stringstream readme_text;
  readme_text << readme_file.rdbuf();
  const std::string readme = readme_text.str();
  const auto quality = [&](const nlohmann::json& mode) {
    return fixed(value(mode, "recsys.hit_rate_at_k"), 4) + " / " +
           fixed(value(mode, "recsys.ndcg_at_k"), 4);
  };
  const std::vector<std::string> readme_rows = {
      "| per request (" + std::to_string(json["requests"].get<int>()) +
          " requests, LTE) | on-device | raw features (baseline) |",
      rows[0],
      "| private payloads on the link (" + std::to_string(json["requests"].get<int>()) +
          " requests) | " + fixed(value(a, "link.private_payload_violations"), 0) + " | " +
          fixed(value(b, "link.private_payload_violations"), 0) + " (LEAKING) |",
      "| client energy (µJ; radio + chip + embedding memory) | " +
          fixed(value(a, "client.energy_pj_per_request") * 1e-6, 1) + " | " +
          fixed(value(b, "client.energy_pj_per_request") * 1e-6, 1) + " |",
      rows[2],
      rows[3],
      "| hit rate@10 / NDCG@10 (2400 held-out clicks) | " + quality(a) + " | " + quality(b) + " |",
  };
  EXPECT_FALSE(a["leaking"].get<bool>());
  EXPECT_TRUE(b["leaking"].get<bool>());
  for (const auto& row : readme_rows) {
    EXPECT_NE(readme.find(row), std::string::npos) << "README.md lacks the row " << row;
  }
}

// Same scenario and seed: identical stats (nothing host-timed is in them).
TEST(Scenario, StatsAreDeterministic) {
  std::string texts[2];
  for (int k = 0; k < 2; ++k) {
    const std::string stats = output("recsys_det" + std::to_string(k) + ".stats.json");
    const auto result = run_cimtlm(
        {"scenario", kScenario, "--quiet", "--stats", stats, "--set", "recsys.requests=2"});
    ASSERT_EQ(result.exit_status, 0) << result.err;
    texts[k] = cimtlm::testing::read_text(stats);
  }
  EXPECT_EQ(texts[0], texts[1]);
}

// configs/scenarios/recsys.md is generated from the schema; it must not drift.
TEST(Docs, RecsysReferenceIsUpToDate) {
  const auto result = run_cimtlm({"docs", "--recsys"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  std::ifstream file(std::string(CIMTLM_SOURCE_DIR) + "/configs/scenarios/recsys.md");
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(result.out, text.str()) << "regenerate: build/cimtlm docs --recsys -o "
                                       "configs/scenarios/recsys.md";
}

}  // namespace
}  // namespace cimtlm::platforms::test

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
