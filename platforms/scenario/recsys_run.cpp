#include "platforms/scenario/recsys_run.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compiler/graph/graph.h"
#include "platforms/run/child_process.h"
#include "platforms/run/output_files.h"
#include "platforms/run/workload.h"
#include "platforms/scenario/recsys_sim.h"
#include "platforms/scenario/recsys_spec.h"

namespace cimtlm::platforms {

namespace fs = std::filesystem;

RecsysQuality quality_at_k(const std::vector<std::vector<int32_t>>& top_k,
                           const std::vector<std::pair<int64_t, int64_t>>& heldout) {
  RecsysQuality quality;
  double hits = 0.0, gain = 0.0;
  std::vector<bool> seen(top_k.size(), false);
  for (const auto& [user, item] : heldout) {
    if (user < 0 || user >= static_cast<int64_t>(top_k.size())) continue;
    seen[static_cast<size_t>(user)] = true;
    ++quality.clicks;
    const auto& list = top_k[static_cast<size_t>(user)];
    for (size_t position = 0; position < list.size(); ++position) {
      if (list[position] == item) {
        hits += 1.0;
        gain += 1.0 / std::log2(2.0 + static_cast<double>(position));
        break;
      }
    }
  }
  for (bool user : seen) quality.users += user ? 1 : 0;
  if (quality.clicks > 0) {
    quality.hit_rate = hits / static_cast<double>(quality.clicks);
    quality.ndcg = gain / static_cast<double>(quality.clicks);
  }
  return quality;
}

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadInput = 2;

struct ModeRun {
  int status = -1;
  std::string errors;
  nlohmann::json figures;
};

// One mode in a forked child: SystemC elaborates once per process.
ModeRun run_mode(const RecsysSpec& spec, bool baseline, const std::string& scratch) {
  const std::string json_path = scratch + (baseline ? ".raw_features.json" : ".on_device.json");
  const ChildResult child = run_in_child_process(json_path + ".err", [&](std::ostream& err) {
    try {
      const nlohmann::json figures = recsys::simulate_mode(spec, baseline);
      std::ofstream(json_path, std::ios::trunc) << figures.dump(1) << '\n';
      const bool leaked_under_enforce =
          !baseline && spec.enforce_privacy &&
          figures["link.private_payload_violations"].get<double>() > 0;
      return !figures["errors"].empty() || leaked_under_enforce ? kExitFailure : kExitOk;
    } catch (const ConfigError& error) {
      err << error.what();
      return kExitBadInput;
    } catch (const graph::ModelError& error) {
      err << error.what();
      return kExitBadInput;
    } catch (const std::exception& error) {
      err << "simulation failed: " << error.what();
      return kExitFailure;
    }
  });
  ModeRun run;
  run.status = child.status;
  run.errors = child.errors;
  std::error_code ignored;
  std::ifstream figures(json_path);
  if (figures) run.figures = nlohmann::json::parse(figures, nullptr, false);
  fs::remove(json_path, ignored);
  return run;
}

double number(const nlohmann::json& figures, const std::string& key) {
  const auto found = figures.find(key);
  if (found == figures.end()) return 0.0;
  if (found->is_boolean()) return found->get<bool>() ? 1.0 : 0.0;
  return found->is_number() ? found->get<double>() : 0.0;
}

std::string fixed(double value, int digits) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(digits) << value;
  return text.str();
}

struct Row {
  std::string label, key;
  double scale;
  int digits;
};

const std::vector<Row>& table_rows() {
  static const std::vector<Row> rows = {
      {"uplink bytes per request", "uplink_bytes_per_request", 1.0, 0},
      {"link bytes (both directions)", "link.bytes", 1.0, 0},
      {"link payloads", "link.payloads", 1.0, 0},
      {"private payload violations", "link.private_payload_violations", 1.0, 0},
      {"client energy per request (uJ)", "client.energy_pj_per_request", 1e-6, 2},
      {"  of which radio (uJ)", "radio_pj_per_request", 1e-6, 2},
      {"  of which chip and embeddings (nJ)", "client_compute_pj_per_request", 1e-3, 2},
      {"client latency (us)", "client.latency_ns", 1e-3, 2},
      {"server energy per request (nJ)", "server.energy_pj_per_request", 1e-3, 2},
      {"server MACs per request", "server.macs_per_request", 1.0, 0},
      {"server busy per request (us)", "server.busy_ns_per_request", 1e-3, 2},
      {"end-to-end latency (ms)", "recsys.latency_ns", 1e-6, 3},
      {"hit rate@k (held-out)", "recsys.hit_rate_at_k", 1.0, 4},
      {"NDCG@k (held-out)", "recsys.ndcg_at_k", 1.0, 4},
  };
  return rows;
}

void add_derived(nlohmann::json& figures, const RecsysQuality& quality, int requests) {
  figures["recsys.hit_rate_at_k"] = quality.hit_rate;
  figures["recsys.ndcg_at_k"] = quality.ndcg;
  figures["recsys.quality_clicks"] = quality.clicks;
  figures["recsys.quality_users"] = quality.users;
  figures["uplink_bytes_per_request"] = number(figures, "link.uplink.bytes") / requests;
  figures["radio_pj_per_request"] = number(figures, "client.radio_energy_pj") / requests;
  figures["client_compute_pj_per_request"] =
      (number(figures, "client.chip_energy_pj") +
       number(figures, "client.embedding_memory_energy_pj")) /
      requests;
  figures["leaking"] = number(figures, "link.leaked_bytes") > 0 ||
                       number(figures, "link.private_payload_violations") > 0;
}

void write_file(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  std::ofstream file(path, std::ios::trunc);
  if (!(file << text)) throw ConfigError("cannot write " + path);
}

}  // namespace

int run_recsys_file(const RecsysOptions& options, std::ostream& out, std::ostream& err) {
  RecsysSpec spec;
  try {
    spec = load_recsys(options.scenario_path, options.overrides);
  } catch (const ConfigError& error) {
    err << error.what() << '\n';
    return kExitBadInput;
  }
  const std::string stem = fs::path(options.scenario_path).stem().string();
  const std::string stats_path =
      options.stats_path.empty() ? "traces/" + stem + ".stats.json" : options.stats_path;
  const std::string scratch = stats_path + "." + std::to_string(getpid());
  // Every output is checked before anything runs (a bad target is bad input) and written all
  // or none at the end.
  OutputFiles outputs;
  try {
    outputs.add(stats_path, "--stats");
    if (!options.csv_path.empty()) outputs.add(options.csv_path, "--csv");
    outputs.check();
  } catch (const ConfigError& error) {
    err << "cimtlm scenario: " << error.what() << '\n';
    return kExitBadInput;
  }

  // The modes, each its own SystemC run.
  std::vector<std::pair<std::string, ModeRun>> runs;
  runs.emplace_back("on_device", run_mode(spec, false, scratch));
  if (spec.compare_baseline) runs.emplace_back("raw_features", run_mode(spec, true, scratch));
  int status = kExitOk;
  for (auto& [mode, run] : runs) {
    if (run.status == kExitBadInput || run.figures.is_discarded() || run.figures.is_null()) {
      err << (run.errors.empty() ? "cimtlm scenario: the " + mode + " run failed (exit " +
                                       std::to_string(run.status) + ")"
                                 : run.errors)
          << '\n';
      return run.status == kExitBadInput ? kExitBadInput : kExitFailure;
    }
    if (run.status != kExitOk) status = kExitFailure;
  }

  // Quality on the held-out clicks, through the reference executor (to which the platforms are
  // bit-exact: every simulated request checked its top k against the same chain).
  RecsysQuality quality;
  try {
    const graph::Graph tower = load_network(spec.client_network);
    const graph::Graph scoring = load_network(spec.server_network);
    const recsys::ReferenceChain chain(tower, scoring);
    const recsys::EmbeddingStore store(spec);
    const int64_t users =
        spec.quality_users > 0 ? std::min<int64_t>(spec.quality_users, spec.users()) : spec.users();
    std::vector<std::vector<int32_t>> lists;
    for (int64_t user = 0; user < users; ++user) {
      lists.push_back(chain.top_k_of_user(spec, store, user));
    }
    quality = quality_at_k(lists, spec.heldout);
  } catch (const std::exception& error) {
    err << "cimtlm scenario: quality: " << error.what() << '\n';
    return kExitBadInput;
  }

  nlohmann::json stats;
  stats["scenario"] = spec.name;
  stats["file"] = spec.file;
  stats["seed"] = spec.seed;
  stats["top_k"] = spec.top_k;
  stats["requests"] = spec.requests;
  for (auto& [mode, run] : runs) add_derived(run.figures, quality, spec.requests);
  // The on-device figures at the top level (the stats keys of the issue), every mode below.
  for (const auto& [key, value] : runs[0].second.figures.items()) {
    if (key != "tree" && key != "top_k") stats[key] = value;
  }
  for (const auto& [mode, run] : runs) stats["modes"][mode] = run.figures;

  try {
    outputs.stage(stats_path, [&](const std::string& temporary) {
      write_file(temporary, stats.dump(2) + "\n");
    });
    if (!options.csv_path.empty()) {
      std::ostringstream csv;
      csv << "mode,leaking,uplink_bytes_per_request,link_bytes,client_energy_uj_per_request,"
             "radio_uj_per_request,client_compute_nj_per_request,server_energy_nj_per_request,"
             "latency_ms,hit_rate,ndcg,violations\n";
      for (const auto& [mode, run] : runs) {
        const auto& f = run.figures;
        csv << mode << ',' << (f["leaking"].get<bool>() ? 1 : 0) << ','
            << number(f, "uplink_bytes_per_request") << ',' << number(f, "link.bytes") << ','
            << number(f, "client.energy_pj_per_request") * 1e-6 << ','
            << number(f, "radio_pj_per_request") * 1e-6 << ','
            << number(f, "client_compute_pj_per_request") * 1e-3 << ','
            << number(f, "server.energy_pj_per_request") * 1e-3 << ','
            << number(f, "recsys.latency_ns") * 1e-6 << ',' << quality.hit_rate << ','
            << quality.ndcg << ',' << number(f, "link.private_payload_violations") << '\n';
      }
      outputs.stage(options.csv_path,
                    [&](const std::string& temporary) { write_file(temporary, csv.str()); });
    }
    outputs.commit();
  } catch (const std::exception& error) {
    err << "cimtlm scenario: " << error.what() << '\n';
    return kExitBadInput;
  }

  if (!options.quiet) {
    out << "recsys scenario '" << spec.name << "': " << spec.requests << " requests, top "
        << spec.top_k << ", link " << fixed(spec.uplink.bandwidth_bps * 1e-6, 2) << "/"
        << fixed(spec.downlink.bandwidth_bps * 1e-6, 2) << " Mbit/s up/down, "
        << fixed(spec.uplink.latency_s * 1e3, 1) << " ms one way\n\n";
    out << std::left << std::setw(38) << "";
    for (const auto& [mode, run] : runs) {
      out << std::right << std::setw(16) << (mode == "on_device" ? "on-device" : "raw features");
    }
    out << '\n';
    for (const Row& row : table_rows()) {
      out << std::left << std::setw(38) << row.label;
      for (const auto& [mode, run] : runs) {
        out << std::right << std::setw(16)
            << fixed(number(run.figures, row.key) * row.scale, row.digits);
      }
      out << '\n';
    }
    out << std::left << std::setw(38) << "privacy";
    for (const auto& [mode, run] : runs) {
      out << std::right << std::setw(16)
          << (run.figures["leaking"].get<bool>() ? "LEAKING" : "kept local");
    }
    out << "\n" << std::left << std::setw(38) << "top k == reference top k";
    for (const auto& [mode, run] : runs) {
      out << std::right << std::setw(16)
          << (run.figures["recsys.topk_match_reference"].get<bool>() ? "yes" : "NO");
    }
    out << "\n\nquality: " << quality.clicks << " held-out clicks of " << quality.users
        << " users (reference executor, bit-exact to the platforms); stats: " << stats_path << '\n';
  }
  for (const auto& [mode, run] : runs) {
    for (const auto& violation : run.figures["violations"]) {
      if (mode != "on_device") break;  // the baseline leaks by design; its count is reported
      err << "privacy (" << mode << "): the " << violation["link"].get<std::string>() << " "
          << (violation["refused"].get<bool>() ? "refused" : "let through") << " a payload '"
          << violation["tensor"].get<std::string>() << "' derived from '"
          << violation["private_source"].get<std::string>() << "' at "
          << fixed(violation["time_ns"].get<double>() * 1e-6, 3) << " ms\n";
    }
    for (const auto& error : run.figures["errors"]) {
      err << "cimtlm scenario (" << mode << "): " << error.get<std::string>() << '\n';
    }
  }

  if (!options.plot_path.empty()) {
    if (options.csv_path.empty()) {
      err << "cimtlm scenario: --plot needs --csv (the plot is drawn from it)\n";
      return kExitBadInput;
    }
    const std::vector<std::string> plot_args = {options.csv_path, options.plot_path};
    if (!run_python_script(options.plot_script, plot_args)) {
      err << "cimtlm scenario: the plot failed ("
          << python_command_text(options.plot_script, plot_args) << ")\n";
      if (status == kExitOk) status = kExitFailure;
    }
  }
  return status;
}

}  // namespace cimtlm::platforms
