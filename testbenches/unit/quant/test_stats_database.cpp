// The statistics database: exact round trip, reuse without recalibration, stale-model detection,
// sensitivity cache, unreadable files.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "compiler/quant/quantizer.h"
#include "compiler/quant/stats_database.h"
#include "quant_test_support.h"

namespace cimtlm::quant {
namespace {

int64_t count_rows(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr);
  int64_t value = -1;
  if (sqlite3_step(statement) == SQLITE_ROW) value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

TEST(StatsDatabase, StoresAndLoadsStatisticsExactly) {
  const std::string path = testing::scratch_dir("db_roundtrip") + "/stats.sqlite";
  graph::Graph g = testing::small_mlp();
  StatisticsCollector collector(g, CollectOptions{});
  StatsTable table = collector.collect(testing::small_mlp_data(20).samples);
  table["w1"] = weight_statistics("w1", *g.initializer("w1"), 0, CollectOptions{});
  CalibrationRecord record;
  record.model_hash = "m";
  record.model_name = "small";
  record.data_hash = "d";
  record.samples = 20;
  record.tensor_bins = 2048;
  record.channel_bins = 128;
  record.executor_runs = collector.executor_runs();
  int64_t id = 0;
  {
    StatsDatabase db(path);
    id = db.store(record, table).id;
  }
  StatsDatabase db(path);  // reopened: persisted on disk
  const auto found = db.find("m", "d", CollectOptions{});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->executor_runs, 40);
  EXPECT_FALSE(db.find("m", "other data", CollectOptions{}));
  const StatsTable loaded = db.load(id);
  ASSERT_EQ(loaded.size(), table.size());
  for (const auto& entry : table) {
    const TensorStats& a = entry.second;
    const TensorStats& b = loaded.at(entry.first);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.channel_axis, b.channel_axis);
    ASSERT_EQ(a.channels.size(), b.channels.size());
    auto same = [](const ValueStats& x, const ValueStats& y) {
      EXPECT_EQ(x.count, y.count);
      EXPECT_EQ(x.min, y.min);
      EXPECT_EQ(x.max, y.max);
      EXPECT_EQ(x.mean, y.mean);
      EXPECT_EQ(x.std, y.std);
      EXPECT_EQ(x.zero_fraction, y.zero_fraction);
      EXPECT_EQ(x.outlier_ratio, y.outlier_ratio);
      EXPECT_EQ(x.percentiles, y.percentiles);
      EXPECT_EQ(x.histogram.lo, y.histogram.lo);
      EXPECT_EQ(x.histogram.hi, y.histogram.hi);
      EXPECT_EQ(x.histogram.counts, y.histogram.counts);
    };
    same(a.whole, b.whole);
    for (size_t c = 0; c < a.channels.size(); ++c) same(a.channels[c], b.channels[c]);
  }
}

TEST(StatsDatabase, SecondQuantizationReusesStatisticsWithoutRunningCalibration) {
  const std::string path = testing::scratch_dir("db_reuse") + "/stats.sqlite";
  const graph::Graph g = onnx::load_onnx(testing::digits_model());
  const Dataset calibration = load_dataset(testing::digits_calib(), g);
  QuantizeOptions options;
  options.database_path = path;
  options.model_name = "digits_cnn";

  graph::Graph first_model, second_model;
  std::string created;
  {
    QuantizationSession first(g, calibration, options);
    EXPECT_FALSE(first.statistics_reused());
    EXPECT_EQ(first.calibration_runs(), 2 * static_cast<int>(calibration.samples.size()));
    first_model = first.quantize(Policy::Auto).qdq;
    EXPECT_GT(first.sensitivity_runs(), 0);
    created = first.calibration().created_utc;
  }
  const int64_t rows = count_rows(path, "SELECT COUNT(*) FROM tensor_stats");
  EXPECT_GT(rows, 0);

  QuantizationSession second(g, calibration, options);
  EXPECT_TRUE(second.statistics_reused());
  // Not one reference-executor run: neither calibration nor the measured sensitivities rerun.
  second_model = second.quantize(Policy::Auto).qdq;
  EXPECT_EQ(second.calibration_runs(), 0);
  EXPECT_EQ(second.sensitivity_runs(), 0);
  EXPECT_EQ(second.calibration().created_utc, created);
  EXPECT_EQ(count_rows(path, "SELECT COUNT(*) FROM calibrations"), 1);
  EXPECT_EQ(count_rows(path, "SELECT COUNT(*) FROM tensor_stats"), rows);
  // The same decisions from the stored statistics: the same model.
  EXPECT_EQ(graph_fingerprint(first_model), graph_fingerprint(second_model));
}

TEST(StatsDatabase, ChangedModelIsDetectedAsStaleAndRecalibrated) {
  const std::string path = testing::scratch_dir("db_stale") + "/stats.sqlite";
  const Dataset data = testing::small_mlp_data(16);
  QuantizeOptions options;
  options.database_path = path;
  options.model_name = "small_mlp";
  graph::Graph original = testing::small_mlp();
  std::string old_hash;
  {
    QuantizationSession session(original, data, options);
    old_hash = session.calibration().model_hash;
  }
  graph::Graph retrained = testing::small_mlp();
  retrained.initializers["w1"].data<float>()[0] += 0.25f;  // one weight changed
  QuantizationSession session(retrained, data, options);
  EXPECT_FALSE(session.statistics_reused());
  EXPECT_GT(session.calibration_runs(), 0);
  EXPECT_NE(session.calibration().model_hash, old_hash);
  bool reported = false;
  for (const auto& note : session.notes())
    reported |= note.find("stale") != std::string::npos && note.find(old_hash) != std::string::npos;
  EXPECT_TRUE(reported);
  // Only the new model's statistics remain.
  EXPECT_EQ(count_rows(path, "SELECT COUNT(*) FROM calibrations"), 1);
  EXPECT_EQ(
      count_rows(path, "SELECT COUNT(*) FROM calibrations WHERE model_hash = '" + old_hash + "'"),
      0);
  EXPECT_EQ(count_rows(path,
                       "SELECT COUNT(*) FROM tensor_stats WHERE calibration_id NOT IN (SELECT id "
                       "FROM calibrations)"),
            0);
}

TEST(StatsDatabase, DifferentCalibrationDataIsNotReused) {
  const std::string path = testing::scratch_dir("db_data") + "/stats.sqlite";
  QuantizeOptions options;
  options.database_path = path;
  const graph::Graph g = testing::small_mlp();
  { QuantizationSession session(g, testing::small_mlp_data(16), options); }
  QuantizationSession other(g, testing::small_mlp_data(24), options);
  EXPECT_FALSE(other.statistics_reused());
  EXPECT_EQ(count_rows(path, "SELECT COUNT(*) FROM calibrations"), 2);  // both kept: same model
}

TEST(StatsDatabase, SensitivityIsCached) {
  StatsDatabase db(":memory:");
  CalibrationRecord record;
  record.model_hash = "m";
  record.data_hash = "d";
  record = db.store(record, {});
  EXPECT_FALSE(db.sensitivity(record.id, "fc1", "weights:4", 10));
  db.store_sensitivity(record.id, "fc1", "weights:4", {10, 0.125, 0.75});
  const auto cached = db.sensitivity(record.id, "fc1", "weights:4", 10);
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->output_nmse, 0.125);
  EXPECT_EQ(cached->top1_agreement, 0.75);
  EXPECT_FALSE(db.sensitivity(record.id, "fc1", "weights:4", 20));  // other sample count
}

TEST(StatsDatabase, NonDatabaseFileIsAClearError) {
  const std::string path = testing::scratch_dir("db_bad") + "/not_a_db.sqlite";
  std::ofstream(path)
      << "this is not an SQLite database, just text that is long enough to have a header....";
  try {
    StatsDatabase db(path);
    FAIL() << "opened a text file as a database";
  } catch (const DatabaseError& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos);
  }
}

}  // namespace
}  // namespace cimtlm::quant
