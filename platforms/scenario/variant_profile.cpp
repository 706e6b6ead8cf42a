#include "platforms/scenario/variant_profile.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compiler/onnx/onnx_io.h"
#include "compiler/quant/dataset.h"
#include "compiler/quant/model_search.h"
#include "platforms/run/child_process.h"
#include "platforms/run/run.h"
#include "platforms/run/workload.h"

namespace cimtlm::platforms {

namespace fs = std::filesystem;

namespace {

struct ChildRun {
  int status = 1;
  std::string errors;
  nlohmann::json stats;
};

// `cimtlm run` of `inferences` inferences in a forked child: the parent has not elaborated any
// SystemC module yet, and the child's kernel dies with it.
ChildRun run_in_child(const RunOptions& options) {
  const ChildResult child =
      run_in_child_process(options.stats_path + ".err", [&](std::ostream& err) {
        std::ostringstream out;
        return run_platform(options, out, err);
      });
  ChildRun run;
  run.status = child.status;
  run.errors = child.errors;
  if (run.status == 0) {
    std::ifstream stats(options.stats_path);
    run.stats = nlohmann::json::parse(stats);
  }
  return run;
}

double number_at(const nlohmann::json& json, std::initializer_list<const char*> keys) {
  const nlohmann::json* node = &json;
  for (const char* key : keys) {
    if (!node->contains(key)) return 0.0;
    node = &(*node)[key];
  }
  return node->is_number() ? node->get<double>() : 0.0;
}

// Energy the modules spent on the work itself: total minus leakage, refresh and wake-ups.
double dynamic_pj(const nlohmann::json& stats) {
  double joules =
      number_at(stats, {"energy_pj", "total"}) - number_at(stats, {"energy_pj", "leakage"});
  if (stats.contains("memory")) {
    for (const auto& level : stats["memory"].items()) {
      joules -= number_at(level.value(), {"energy_pj", "refresh"});
      joules -= number_at(level.value(), {"energy_pj", "wakeup"});
    }
  }
  return joules;
}

}  // namespace

VariantMeasurement measure_variant(const std::string& platform_path,
                                   const std::vector<Override>& overrides,
                                   const std::string& network, const std::string& weights_level,
                                   const std::string& scratch_dir, const std::string& where) {
  fs::create_directories(scratch_dir);
  ChildRun runs[2];
  for (int k = 0; k < 2; ++k) {
    RunOptions options;
    options.config_path = platform_path;
    options.overrides = overrides;
    options.networks = {network};
    options.inferences = k + 1;
    options.quiet = true;
    options.stats_path = (fs::path(scratch_dir) / (fs::path(network).stem().string() + "_" +
                                                   std::to_string(k + 1) + ".stats.json"))
                             .string();
    runs[k] = run_in_child(options);
    if (runs[k].status != 0) {
      std::string message = runs[k].errors;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      throw ConfigError(
          where + ": the variant does not run on " + platform_path + ": " +
          (message.empty() ? "exit status " + std::to_string(runs[k].status) : message));
    }
  }
  const nlohmann::json& one = runs[0].stats;
  const nlohmann::json& two = runs[1].stats;
  VariantMeasurement m;
  const double t1 = number_at(one, {"sim", "simulated_ns"}) * 1e-9;
  const double t2 = number_at(two, {"sim", "simulated_ns"}) * 1e-9;
  const double e1 = dynamic_pj(one) * 1e-12, e2 = dynamic_pj(two) * 1e-12;
  auto& p = m.profile;
  p.latency_s = t2 - t1;
  p.energy_j = e2 - e1;
  p.switch_latency_s = std::max(0.0, t1 - p.latency_s);
  p.switch_energy_j = std::max(0.0, e1 - p.energy_j);
  m.cycles_per_inference =
      static_cast<uint64_t>(number_at(two, {"sim", "cycles"}) - number_at(one, {"sim", "cycles"}));
  const double r1 = number_at(one, {"memory", weights_level.c_str(), "bytes_read"});
  const double r2 = number_at(two, {"memory", weights_level.c_str(), "bytes_read"});
  m.weight_bytes_loaded = std::max(0.0, r1 - (r2 - r1));
  for (const char* component : {"cim", "memory", "arith", "noc"}) {
    m.component_energy_j.emplace_back(component, (number_at(two, {"energy_pj", component}) -
                                                  number_at(one, {"energy_pj", component})) *
                                                     1e-12);
  }
  m.match_reference = one.contains("outputs") && one["outputs"].value("match_reference", false);
  if (!(p.latency_s > 0.0) || !(p.energy_j > 0.0)) {
    throw ConfigError(where + ": the variant's second inference cost no time or energy on " +
                      platform_path + " (cannot profile it)");
  }
  return m;
}

double measure_accuracy(const std::string& network, const std::string& inputs,
                        const std::string& labels, int samples, const std::string& where) {
  try {
    const graph::Graph qdq = onnx::load_onnx(network);
    quant::Dataset data = quant::load_dataset(inputs, qdq, labels, true);
    if (samples > 0) data = quant::head(data, static_cast<size_t>(samples));
    quant::LabelAccuracy accuracy(data);
    return accuracy.accuracy(qdq);
  } catch (const graph::ModelError& error) {
    throw ConfigError(where + ": cannot measure the accuracy: " + error.what());
  }
}

int check_on_platform(const std::string& platform_path, const std::vector<Override>& overrides,
                      const std::string& network, const std::string& inputs,
                      const std::string& labels, int samples, const std::string& scratch_dir,
                      const std::string& where) {
  if (samples <= 0) return 0;
  quant::Dataset data;
  std::string input_name;
  try {
    const graph::Graph qdq = onnx::load_onnx(network);
    if (qdq.inputs.size() != 1) {
      throw ConfigError(where + ": accuracy.platform_samples takes a network with one input");
    }
    input_name = qdq.inputs.front().name;
    data =
        quant::head(quant::load_dataset(inputs, qdq, labels, true), static_cast<size_t>(samples));
  } catch (const graph::ModelError& error) {
    throw ConfigError(where + ": cannot check the accuracy on the platform: " + error.what());
  }
  fs::create_directories(scratch_dir);
  const std::string stem = fs::path(network).stem().string();
  for (size_t i = 0; i < data.samples.size(); ++i) {
    const std::string sample_path =
        (fs::path(scratch_dir) / (stem + "_sample_" + std::to_string(i) + ".npy")).string();
    onnx::save_npy(data.samples[i].at(input_name), sample_path);
    RunOptions options;
    options.config_path = platform_path;
    options.overrides = overrides;
    options.networks = {network};
    options.inputs = {{input_name, sample_path}};
    options.inferences = 1;
    options.quiet = true;
    options.stats_path =
        (fs::path(scratch_dir) / (stem + "_sample_" + std::to_string(i) + ".stats.json")).string();
    const ChildRun run = run_in_child(options);
    fs::remove(sample_path);
    if (run.status != 0 || !run.stats.contains("outputs") ||
        !run.stats["outputs"].value("match_reference", false)) {
      std::string message = run.errors;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      throw ConfigError(where + ": sample " + std::to_string(i) + " of " + inputs +
                        " on the platform is not bit-exact with the reference executor (" +
                        (message.empty() ? "exit status " + std::to_string(run.status) : message) +
                        "), so its accuracy is not the reference executor's: measure it with "
                        "cimtlm evaluate and give the variant's `accuracy`");
    }
  }
  return static_cast<int>(data.samples.size());
}

}  // namespace cimtlm::platforms
