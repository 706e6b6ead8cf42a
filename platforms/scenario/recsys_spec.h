// A recsys scenario file (platforms/recsys_schema.yaml, docs/recsys.md) checked and turned into
// plain structs, with its data (users, clicks, embedding tables) loaded and checked. Only this
// layer reads YAML and data files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/graph/tensor.h"
#include "models/link/link.h"
#include "platforms/config/config.h"

namespace cimtlm::platforms {

struct RecsysTable {
  std::string name;
  std::string file;
  graph::Tensor values;  // float32 [rows, width]
};

struct RecsysSpec {
  std::string name;
  std::string file;
  int requests = 8;
  double request_interval_s = 0.2;
  int top_k = 10;
  bool compare_baseline = true;
  uint64_t seed = 1;

  std::string client_platform, client_network, client_embedding_level;
  std::string client_network_where, server_network_where;  // "file:line:col: key" for messages
  bool gate_embeddings = true;
  uint64_t dequantize_cycles = 1;
  bool wire_behaviour = true;
  bool wire_raw_features = false;

  std::string server_platform, server_network, server_embedding_level;

  link::LinkParams uplink, downlink;  // privacy sets are filled by the run
  bool enforce_privacy = true;

  std::vector<RecsysTable> tables;
  graph::Tensor categorical;                                // int64 [users, tables]
  graph::Tensor dense;                                      // float32 [users, n]
  std::vector<std::pair<int64_t, int64_t>> heldout, train;  // (user, item)
  int quality_users = 0;                                    // 0: all

  int64_t users() const { return categorical.dim(0); }
  int64_t mlp_width() const;  // sum of table widths + dense features
};

const Schema& recsys_schema();
// Markdown reference of the format (`cimtlm docs --recsys`).
std::string recsys_reference();

// True when `path` is a YAML file whose top level has a `recsys` key (cimtlm scenario
// dispatches on it). False for anything else, including unreadable files.
bool is_recsys_file(const std::string& path);

// Loads and checks a recsys scenario and its data. Throws ConfigError naming the file, line and
// key path (or the data file and what is wrong with it).
RecsysSpec load_recsys(const std::string& path, const std::vector<Override>& overrides = {});

}  // namespace cimtlm::platforms
