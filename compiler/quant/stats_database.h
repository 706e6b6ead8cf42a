// The statistics database (SQLite): calibration statistics and measured sensitivities, kept
// across runs so that a later quantization of the same model with the same calibration data
// reuses them instead of running the calibration set again.
//
// Schema (version 1; compiler/quant/README.md shows it with examples):
//   schema_info(key PRIMARY KEY, value)            -- "version" = "1"
//   calibrations(id PRIMARY KEY, model_hash, model_name, data_hash, samples, tensor_bins,
//                channel_bins, executor_runs, created_utc,
//                UNIQUE(model_hash, data_hash, tensor_bins, channel_bins))
//   tensor_stats(calibration_id, tensor, channel (-1: whole tensor), kind ('activation'|'weight'),
//                channel_axis, count, min, max, mean, std, zero_fraction, outlier_ratio,
//                p0_01, p0_1, p1, p50, p99, p99_9, p99_99,
//                hist_lo, hist_hi, hist_counts (BLOB of little-endian uint64, one per bin),
//                PRIMARY KEY(calibration_id, tensor, channel))
//   sensitivity(calibration_id, subject (layer or tensor), config, samples, output_nmse,
//               top1_agreement, PRIMARY KEY(calibration_id, subject, config, samples))
// model_hash / data_hash are graph_fingerprint / samples_fingerprint (fingerprint.h): the key is
// the content, so a file renamed keeps its statistics and a retrained model does not inherit
// stale ones. Rows of the same model_name with another model_hash are stale (the model changed)
// and are reported and deleted when the new statistics are stored.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "compiler/quant/tensor_statistics.h"

struct sqlite3;

namespace cimtlm::quant {

// Unreadable, corrupt or foreign database files; the CLI exits 2 with the text.
class DatabaseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CalibrationRecord {
  int64_t id = 0;
  std::string model_hash;
  std::string model_name;
  std::string data_hash;
  int64_t samples = 0;
  int64_t tensor_bins = 0;
  int64_t channel_bins = 0;
  int64_t executor_runs = 0;  // reference-executor runs the calibration took
  std::string created_utc;
};

struct Sensitivity {
  int64_t samples = 0;
  double output_nmse = 0.0;     // ||y_q - y_float||^2 / ||y_float||^2 over the samples
  double top1_agreement = 1.0;  // fraction of samples whose arg-max equals the float model's
};

class StatsDatabase {
 public:
  // Opens (creating when missing) the database at `path`; ":memory:" keeps it in memory.
  explicit StatsDatabase(const std::string& path);
  ~StatsDatabase();
  StatsDatabase(const StatsDatabase&) = delete;
  StatsDatabase& operator=(const StatsDatabase&) = delete;

  const std::string& path() const { return path_; }

  std::optional<CalibrationRecord> find(const std::string& model_hash, const std::string& data_hash,
                                        const CollectOptions& options) const;
  // Calibrations of `model_name` whose model hash differs from `model_hash`.
  std::vector<CalibrationRecord> stale(const std::string& model_name,
                                       const std::string& model_hash) const;
  void remove(int64_t calibration_id);
  // Stores a calibration and its statistics in one transaction; returns the record with its id.
  CalibrationRecord store(CalibrationRecord record, const StatsTable& table);
  StatsTable load(int64_t calibration_id) const;

  std::optional<Sensitivity> sensitivity(int64_t calibration_id, const std::string& subject,
                                         const std::string& config, int64_t samples) const;
  void store_sensitivity(int64_t calibration_id, const std::string& subject,
                         const std::string& config, const Sensitivity& sensitivity);

 private:
  void execute(const std::string& sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace cimtlm::quant
