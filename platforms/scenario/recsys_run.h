// The recsys scenario (docs/recsys.md): on-device user-behaviour prediction against the
// raw-feature baseline. Each mode is one SystemC run of the client platform, the server platform
// and the link between them; the parent compares them, measures the recommendation quality on
// the held-out clicks and writes the report, the stats JSON, a CSV and a plot.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "platforms/config/config.h"

namespace cimtlm::platforms {

struct RecsysOptions {
  std::string scenario_path;
  std::vector<Override> overrides;
  std::string stats_path;  // empty: traces/<scenario stem>.stats.json
  std::string csv_path;    // empty: none
  std::string plot_path;   // empty: none (needs plot_script and /usr/bin/python3)
  std::string plot_script;
  bool quiet = false;
};

// Returns the exit status: 0 success; 1 a run failed (a privacy violation under `enforce`, a
// mismatch with the reference, a request left unanswered); 2 bad input.
int run_recsys_file(const RecsysOptions& options, std::ostream& out, std::ostream& err);

struct RecsysQuality {
  double hit_rate = 0.0;  // held-out clicks whose item is in the user's top k
  double ndcg = 0.0;      // mean of 1 / log2(2 + position) over those clicks (0 when absent)
  int64_t clicks = 0;     // held-out clicks measured
  int64_t users = 0;
};

// Hit rate and NDCG at k of per-user recommendations (`top_k[u]` for user u < top_k.size()) on
// `heldout` clicks only; clicks of users without recommendations are skipped.
RecsysQuality quality_at_k(const std::vector<std::vector<int32_t>>& top_k,
                           const std::vector<std::pair<int64_t, int64_t>>& heldout);

}  // namespace cimtlm::platforms
