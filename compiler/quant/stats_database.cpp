#include "compiler/quant/stats_database.h"

#include <sqlite3.h>

#include <cstring>
#include <ctime>

namespace cimtlm::quant {

namespace {

constexpr const char* kSchemaVersion = "1";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_info(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calibrations(
  id INTEGER PRIMARY KEY,
  model_hash TEXT NOT NULL,
  model_name TEXT NOT NULL,
  data_hash TEXT NOT NULL,
  samples INTEGER NOT NULL,
  tensor_bins INTEGER NOT NULL,
  channel_bins INTEGER NOT NULL,
  executor_runs INTEGER NOT NULL,
  created_utc TEXT NOT NULL,
  UNIQUE(model_hash, data_hash, tensor_bins, channel_bins));
CREATE TABLE IF NOT EXISTS tensor_stats(
  calibration_id INTEGER NOT NULL REFERENCES calibrations(id) ON DELETE CASCADE,
  tensor TEXT NOT NULL,
  channel INTEGER NOT NULL,
  kind TEXT NOT NULL,
  channel_axis INTEGER NOT NULL,
  count INTEGER NOT NULL,
  min REAL, max REAL, mean REAL, std REAL, zero_fraction REAL, outlier_ratio REAL,
  p0_01 REAL, p0_1 REAL, p1 REAL, p50 REAL, p99 REAL, p99_9 REAL, p99_99 REAL,
  hist_lo REAL, hist_hi REAL, hist_counts BLOB,
  PRIMARY KEY(calibration_id, tensor, channel));
CREATE TABLE IF NOT EXISTS sensitivity(
  calibration_id INTEGER NOT NULL REFERENCES calibrations(id) ON DELETE CASCADE,
  subject TEXT NOT NULL,
  config TEXT NOT NULL,
  samples INTEGER NOT NULL,
  output_nmse REAL NOT NULL,
  top1_agreement REAL NOT NULL,
  PRIMARY KEY(calibration_id, subject, config, samples));
)sql";

// A prepared statement; columns and parameters are 0-based here (SQLite binds 1-based).
class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value) {
    check(sqlite3_bind_int64(statement_, index + 1, value));
    return *this;
  }
  Statement& bind(int index, double value) {
    check(sqlite3_bind_double(statement_, index + 1, value));
    return *this;
  }
  Statement& bind(int index, const std::string& value) {
    check(sqlite3_bind_text(statement_, index + 1, value.c_str(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind_blob(int index, const void* data, size_t bytes) {
    check(
        sqlite3_bind_blob(statement_, index + 1, data, static_cast<int>(bytes), SQLITE_TRANSIENT));
    return *this;
  }
  // True while rows come.
  bool step() {
    const int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    fail("step");
  }
  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  double real(int column) const { return sqlite3_column_double(statement_, column); }
  std::string text(int column) const {
    const auto* value = sqlite3_column_text(statement_, column);
    return value ? reinterpret_cast<const char*>(value) : std::string();
  }
  std::vector<uint64_t> counts(int column) const {
    const void* blob = sqlite3_column_blob(statement_, column);
    const int bytes = sqlite3_column_bytes(statement_, column);
    std::vector<uint64_t> values(static_cast<size_t>(bytes) / sizeof(uint64_t));
    if (blob && !values.empty()) std::memcpy(values.data(), blob, values.size() * sizeof(uint64_t));
    return values;
  }

 private:
  void check(int code) {
    if (code != SQLITE_OK) fail("bind");
  }
  [[noreturn]] void fail(const char* what) {
    throw DatabaseError(path_ + ": SQLite " + what + " failed: " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  std::string path_;
  sqlite3_stmt* statement_ = nullptr;
};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

CalibrationRecord record_of(const Statement& row) {
  CalibrationRecord record;
  record.id = row.integer(0);
  record.model_hash = row.text(1);
  record.model_name = row.text(2);
  record.data_hash = row.text(3);
  record.samples = row.integer(4);
  record.tensor_bins = row.integer(5);
  record.channel_bins = row.integer(6);
  record.executor_runs = row.integer(7);
  record.created_utc = row.text(8);
  return record;
}

constexpr const char* kRecordColumns =
    "id, model_hash, model_name, data_hash, samples, tensor_bins, channel_bins, executor_runs, "
    "created_utc";

}  // namespace

StatsDatabase::StatsDatabase(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw DatabaseError(path + ": cannot open the statistics database: " + message);
  }
  try {
    execute("PRAGMA foreign_keys = ON;");
    execute(kSchema);
    Statement version(db_, path_, "SELECT value FROM schema_info WHERE key = 'version'");
    if (version.step()) {
      if (version.text(0) != kSchemaVersion) {
        throw DatabaseError(path + ": statistics database schema version " + version.text(0) +
                            ", this cimtlm reads version " + kSchemaVersion);
      }
    } else {
      execute(std::string("INSERT INTO schema_info(key, value) VALUES('version', '") +
              kSchemaVersion + "');");
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

StatsDatabase::~StatsDatabase() {
  sqlite3_close(db_);
}

void StatsDatabase::execute(const std::string& sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    // A file that is not a database at all reads as "file is not a database".
    throw DatabaseError(path_ + ": " + text);
  }
}

std::optional<CalibrationRecord> StatsDatabase::find(const std::string& model_hash,
                                                     const std::string& data_hash,
                                                     const CollectOptions& options) const {
  Statement query(db_, path_,
                  (std::string("SELECT ") + kRecordColumns +
                   " FROM calibrations WHERE model_hash = ? AND data_hash = ? AND tensor_bins = ? "
                   "AND channel_bins = ?")
                      .c_str());
  query.bind(0, model_hash).bind(1, data_hash);
  query.bind(2, static_cast<int64_t>(options.tensor_bins))
      .bind(3, static_cast<int64_t>(options.channel_bins));
  if (!query.step()) return std::nullopt;
  return record_of(query);
}

std::vector<CalibrationRecord> StatsDatabase::stale(const std::string& model_name,
                                                    const std::string& model_hash) const {
  Statement query(db_, path_,
                  (std::string("SELECT ") + kRecordColumns +
                   " FROM calibrations WHERE model_name = ? AND model_hash != ?")
                      .c_str());
  query.bind(0, model_name).bind(1, model_hash);
  std::vector<CalibrationRecord> records;
  while (query.step()) records.push_back(record_of(query));
  return records;
}

void StatsDatabase::remove(int64_t calibration_id) {
  Statement erase(db_, path_, "DELETE FROM calibrations WHERE id = ?");
  erase.bind(0, calibration_id);
  erase.step();
}

CalibrationRecord StatsDatabase::store(CalibrationRecord record, const StatsTable& table) {
  execute("BEGIN;");
  try {
    if (record.created_utc.empty()) record.created_utc = utc_now();
    // A calibration under the same key is replaced (its statistics go with it).
    Statement previous(
        db_, path_,
        "DELETE FROM calibrations WHERE model_hash = ? AND data_hash = ? AND tensor_bins = ? AND "
        "channel_bins = ?");
    previous.bind(0, record.model_hash)
        .bind(1, record.data_hash)
        .bind(2, record.tensor_bins)
        .bind(3, record.channel_bins);
    previous.step();
    Statement insert(
        db_, path_,
        "INSERT INTO calibrations(model_hash, model_name, data_hash, samples, tensor_bins, "
        "channel_bins, executor_runs, created_utc) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(0, record.model_hash).bind(1, record.model_name).bind(2, record.data_hash);
    insert.bind(3, record.samples).bind(4, record.tensor_bins).bind(5, record.channel_bins);
    insert.bind(6, record.executor_runs).bind(7, record.created_utc);
    insert.step();
    record.id = sqlite3_last_insert_rowid(db_);

    Statement row(db_, path_,
                  "INSERT INTO tensor_stats(calibration_id, tensor, channel, kind, channel_axis, "
                  "count, min, max, "
                  "mean, std, zero_fraction, outlier_ratio, p0_01, p0_1, p1, p50, p99, p99_9, "
                  "p99_99, hist_lo, "
                  "hist_hi, hist_counts) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                  "?, ?, ?, ?, ?)");
    auto put = [&](const TensorStats& tensor, int64_t channel, const ValueStats& stats) {
      row.reset();
      row.bind(0, record.id)
          .bind(1, tensor.name)
          .bind(2, channel)
          .bind(3, std::string(to_string(tensor.kind)));
      row.bind(4, tensor.channel_axis).bind(5, static_cast<int64_t>(stats.count));
      row.bind(6, stats.min).bind(7, stats.max).bind(8, stats.mean).bind(9, stats.std);
      row.bind(10, stats.zero_fraction).bind(11, stats.outlier_ratio);
      for (size_t p = 0; p < kPercentiles.size(); ++p)
        row.bind(12 + static_cast<int>(p), stats.percentiles[p]);
      row.bind(19, stats.histogram.lo).bind(20, stats.histogram.hi);
      row.bind_blob(21, stats.histogram.counts.data(),
                    stats.histogram.counts.size() * sizeof(uint64_t));
      row.step();
    };
    for (const auto& entry : table) {
      put(entry.second, -1, entry.second.whole);
      for (size_t c = 0; c < entry.second.channels.size(); ++c) {
        put(entry.second, static_cast<int64_t>(c), entry.second.channels[c]);
      }
    }
    execute("COMMIT;");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    throw;
  }
  return record;
}

StatsTable StatsDatabase::load(int64_t calibration_id) const {
  Statement query(
      db_, path_,
      "SELECT tensor, channel, kind, channel_axis, count, min, max, mean, std, zero_fraction, "
      "outlier_ratio, p0_01, p0_1, p1, p50, p99, p99_9, p99_99, hist_lo, hist_hi, hist_counts "
      "FROM tensor_stats WHERE calibration_id = ? ORDER BY tensor, channel");
  query.bind(0, calibration_id);
  StatsTable table;
  while (query.step()) {
    TensorStats& tensor = table[query.text(0)];
    tensor.name = query.text(0);
    tensor.kind = query.text(2) == "weight" ? TensorKind::Weight : TensorKind::Activation;
    tensor.channel_axis = query.integer(3);
    ValueStats stats;
    stats.count = static_cast<uint64_t>(query.integer(4));
    stats.min = query.real(5);
    stats.max = query.real(6);
    stats.mean = query.real(7);
    stats.std = query.real(8);
    stats.zero_fraction = query.real(9);
    stats.outlier_ratio = query.real(10);
    for (size_t p = 0; p < kPercentiles.size(); ++p)
      stats.percentiles[p] = query.real(11 + static_cast<int>(p));
    stats.histogram.lo = query.real(18);
    stats.histogram.hi = query.real(19);
    stats.histogram.counts = query.counts(20);
    const int64_t channel = query.integer(1);
    if (channel < 0) {
      tensor.whole = std::move(stats);
    } else {
      if (tensor.channels.size() <= static_cast<size_t>(channel))
        tensor.channels.resize(static_cast<size_t>(channel) + 1);
      tensor.channels[static_cast<size_t>(channel)] = std::move(stats);
    }
  }
  return table;
}

std::optional<Sensitivity> StatsDatabase::sensitivity(int64_t calibration_id,
                                                      const std::string& subject,
                                                      const std::string& config,
                                                      int64_t samples) const {
  Statement query(
      db_, path_,
      "SELECT samples, output_nmse, top1_agreement FROM sensitivity WHERE calibration_id = ? AND "
      "subject = ? AND config = ? AND samples = ?");
  query.bind(0, calibration_id).bind(1, subject).bind(2, config).bind(3, samples);
  if (!query.step()) return std::nullopt;
  Sensitivity result;
  result.samples = query.integer(0);
  result.output_nmse = query.real(1);
  result.top1_agreement = query.real(2);
  return result;
}

void StatsDatabase::store_sensitivity(int64_t calibration_id, const std::string& subject,
                                      const std::string& config, const Sensitivity& sensitivity) {
  Statement insert(
      db_, path_,
      "INSERT OR REPLACE INTO sensitivity(calibration_id, subject, config, samples, output_nmse, "
      "top1_agreement) VALUES(?, ?, ?, ?, ?, ?)");
  insert.bind(0, calibration_id).bind(1, subject).bind(2, config).bind(3, sensitivity.samples);
  insert.bind(4, sensitivity.output_nmse).bind(5, sensitivity.top1_agreement);
  insert.step();
}

}  // namespace cimtlm::quant
