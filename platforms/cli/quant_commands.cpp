// `cimtlm quantize` and `cimtlm search`: the quantization toolchain on the command line
// (compiler/quant/README.md). Both run the float model and candidates in-process through the
// reference executor; simulated costs come from `cimtlm run` child processes (SystemC elaborates
// once per process), at most --jobs at a time.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compiler/graph/lowering.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/quant/evaluation.h"
#include "compiler/quant/model_search.h"
#include "compiler/quant/quantizer.h"
#include "platforms/cli/commands.h"
#include "platforms/cli/options.h"
#include "platforms/config/config.h"
#include "platforms/run/child_process.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> strings_of(const po::variables_map& values, const char* key) {
  return values.count(key) ? values[key].as<std::vector<std::string>>()
                           : std::vector<std::string>();
}

std::string format(double value, int digits = 4) {
  std::ostringstream text;
  text << std::setprecision(digits) << value;
  return text.str();
}

std::string this_executable() {
  std::error_code code;
  const fs::path path = fs::read_symlink("/proc/self/exe", code);
  return code ? std::string("cimtlm") : path.string();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  if (!file) throw graph::ModelError(path + ": cannot write");
}

bool is_float_model(const graph::Graph& graph) {
  for (const auto& node : graph.nodes) {
    if (node.domain == "cimtlm" || node.op_type == "QuantizeLinear" ||
        node.op_type == "DequantizeLinear" || node.op_type == "QLinearConv" ||
        node.op_type == "QLinearMatMul" || node.op_type == "ConvInteger" ||
        node.op_type == "MatMulInteger" || node.op_type == "DynamicQuantizeLinear") {
      return false;
    }
  }
  return true;
}

// Bit widths the platform's CIM macros accept (core.cim.max_weight_bits).
std::vector<int> platform_bit_widths(const PlatformSpec* spec) {
  std::vector<int> widths;
  for (int bits : {8, 4, 2}) {
    if (!spec || bits <= spec->cim.max_weight_bits) widths.push_back(bits);
  }
  return widths;
}

// ---------------------------------------------------------------------------------------------
// `cimtlm run` as a child process per candidate.

struct SimulationJob {
  std::string model;
  std::string stats;
  std::string log;  // the child's stdout and stderr
  pid_t pid = -1;
  int status = -1;
};

class Simulator : public quant::CostEvaluator {
 public:
  Simulator(std::string platform, std::vector<std::string> overrides,
            std::vector<std::string> inputs, std::string directory, int jobs)
      : executable_(this_executable()),
        platform_(std::move(platform)),
        overrides_(std::move(overrides)),
        inputs_(std::move(inputs)),
        directory_(std::move(directory)),
        jobs_(std::max(1, jobs)) {}

  std::vector<quant::CostMeasure> evaluate(const std::vector<graph::Graph>& models,
                                           const std::vector<std::string>& names) override {
    std::vector<SimulationJob> jobs(models.size());
    for (size_t i = 0; i < models.size(); ++i) {
      jobs[i].model = (fs::path(directory_) / (names[i] + ".onnx")).string();
      jobs[i].stats = (fs::path(directory_) / (names[i] + ".stats.json")).string();
      jobs[i].log = (fs::path(directory_) / (names[i] + ".log")).string();
      onnx::save_onnx(models[i], jobs[i].model);
    }
    // At most jobs_ children at once.
    size_t next = 0, running = 0, done = 0;
    while (done < jobs.size()) {
      while (running < static_cast<size_t>(jobs_) && next < jobs.size()) {
        spawn(jobs[next++]);
        ++running;
      }
      int status = 0;
      const pid_t pid = waitpid(-1, &status, 0);
      if (pid < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
      }
      for (auto& job : jobs) {
        if (job.pid == pid) {
          job.status = status;
          --running;
          ++done;
        }
      }
    }
    std::vector<quant::CostMeasure> measures;
    for (const auto& job : jobs) measures.push_back(read(job));
    return measures;
  }

  // Simulates one model now (for `quantize`).
  quant::CostMeasure simulate(const graph::Graph& model, const std::string& name) {
    return evaluate({model}, {name}).at(0);
  }

 private:
  void spawn(SimulationJob& job) {
    std::vector<std::string> args = {executable_, "run",     platform_, "--network",
                                     job.model,   "--stats", job.stats, "--quiet"};
    for (const auto& override : overrides_) {
      args.push_back("--set");
      args.push_back(override);
    }
    for (const auto& input : inputs_) {
      args.push_back("--input");
      args.push_back(input);
    }
    job.pid = spawn_process(args, job.log);
  }

  static std::string tail_of(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    std::string all = text.str();
    while (!all.empty() && (all.back() == '\n' || all.back() == ' ')) all.pop_back();
    const size_t line = all.rfind('\n');
    return line == std::string::npos ? all : all.substr(line + 1);
  }

  static quant::CostMeasure read(const SimulationJob& job) {
    quant::CostMeasure measure;
    const int exit_code =
        WIFEXITED(job.status) ? WEXITSTATUS(job.status) : 128 + WTERMSIG(job.status);
    std::ifstream file(job.stats);
    if (exit_code == 2 || exit_code > 2 || !file) {
      measure.ok = false;
      measure.error = "cimtlm run exited " + std::to_string(exit_code) + ": " + tail_of(job.log) +
                      " (log " + job.log + ")";
      return measure;
    }
    try {
      const nlohmann::json stats = nlohmann::json::parse(file);
      const double inferences = std::max(1.0, stats.at("sim").at("inferences").get<double>());
      measure.energy_pj = stats.at("energy_pj").at("total").get<double>() / inferences;
      measure.latency_cycles = stats.at("sim").at("cycles").get<double>() / inferences;
      measure.latency_ns = stats.at("sim").at("simulated_ns").get<double>() / inferences;
      measure.tiles = stats.at("map").at("tiles").get<int64_t>();
      measure.bit_exact = stats.at("outputs").at("match_reference").get<bool>();
      for (const auto& network : stats.at("networks")) {
        for (const auto& layer : network.at("layers")) {
          quant::LayerCost cost;
          cost.weight_bits = layer.at("weight_bits").get<int>();
          cost.macs = layer.at("macs").get<int64_t>();
          cost.tiles = layer.at("tiles").get<int64_t>();
          measure.layers[layer.at("layer").get<std::string>()] = cost;
        }
      }
    } catch (const std::exception& error) {
      measure.ok = false;
      measure.error = job.stats + ": unreadable stats (" + error.what() + ")";
    }
    if (exit_code == 1 && measure.ok) measure.bit_exact = false;
    return measure;
  }

  std::string executable_;
  std::string platform_;
  std::vector<std::string> overrides_;
  std::vector<std::string> inputs_;
  std::string directory_;
  int jobs_;
};

// NAME=FILE arguments of `cimtlm run` feeding the first sample of `dataset`, written to
// `directory`.
std::vector<std::string> sample_inputs(const quant::Dataset& dataset,
                                       const std::string& directory) {
  std::vector<std::string> inputs;
  for (const auto& entry : dataset.samples.at(0)) {
    const std::string path = (fs::path(directory) / ("sample_" + entry.first + ".npy")).string();
    onnx::save_npy(entry.second, path);
    inputs.push_back(entry.first + "=" + path);
  }
  return inputs;
}

nlohmann::json cost_json(const quant::CostMeasure& cost) {
  if (!cost.ok) return {{"ok", false}, {"error", cost.error}};
  return {{"ok", true},
          {"energy_pj_per_inference", cost.energy_pj},
          {"cycles_per_inference", cost.latency_cycles},
          {"latency_ns_per_inference", cost.latency_ns},
          {"tiles", cost.tiles},
          {"bit_exact", cost.bit_exact}};
}

// Loads the float model, exit-2 problems as ModelError.
graph::Graph load_float_model(const std::string& path) {
  std::error_code code;
  if (!fs::exists(path, code)) throw graph::ModelError(path + ": no such file");
  graph::Graph graph = onnx::load_onnx(path);
  if (!is_float_model(graph)) {
    throw graph::ModelError(
        path +
        ": the model is already quantized (it has QuantizeLinear/QLinear ops); give the "
        "float model");
  }
  return graph;
}

std::string default_beside(const std::string& path, const std::string& suffix) {
  fs::path p(path);
  return (p.parent_path() / (p.stem().string() + suffix)).string();
}

// "0.97", "97%", "int8-1" (points below the all-8-bit model). Returns the fraction, or a negative
// drop (in fraction) relative to int8 in `relative_drop`.
double parse_min_accuracy(const std::string& text, std::optional<double>& relative_drop) {
  auto number = [&](const std::string& value) {
    size_t used = 0;
    double result = 0.0;
    try {
      result = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != value.size() || value.empty() || !std::isfinite(result) || result < 0.0) {
      throw ConfigError("cimtlm search: --min-accuracy " + text +
                        ": expected a fraction (0.97), a percentage (97%) or int8-POINTS "
                        "(int8-1: one point below the all-8-bit model)");
    }
    return result;
  };
  if (text.rfind("int8-", 0) == 0) {
    relative_drop = number(text.substr(5)) / 100.0;
    return 0.0;
  }
  if (!text.empty() && text.back() == '%') return number(text.substr(0, text.size() - 1)) / 100.0;
  const double value = number(text);
  if (value > 1.0) {
    throw ConfigError("cimtlm search: --min-accuracy " + text +
                      ": a fraction is at most 1 (write 97% for a percentage)");
  }
  return value;
}

void print_decisions(const quant::QuantizeResult& result, std::ostream& out) {
  out << "  layer                 bits  granularity  method   weight error\n";
  for (const auto& layer : result.report.at("layers")) {
    out << "  " << std::left << std::setw(22) << layer.at("layer").get<std::string>() << std::right
        << std::setw(4) << layer.at("weight_bits").get<int>() << "  " << std::left << std::setw(12)
        << layer.at("granularity").get<std::string>() << " " << std::setw(8)
        << layer.at("method").get<std::string>() << std::right << " "
        << format(layer.at("weight_relative_error").get<double>(), 3) << '\n';
  }
}

}  // namespace

// =============================================================================================

int quantize_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm quantize NET.onnx --calib DATA [options]");
  options.add_options()("help,h", "show this help")(
      "calib", po::value<std::string>(),
      "calibration inputs: .npy / .pb batch file or a directory of them")(
      "platform", po::value<std::string>(),
      "platform file: caps the weight bits, simulates the result")(
      "output,o", po::value<std::string>(), "quantized QDQ model (default NET.q.onnx)")(
      "db", po::value<std::string>(),
      "statistics database (SQLite); reused when it holds this model and data")(
      "policy", po::value<std::string>()->default_value("auto"),
      "auto | int8 | int4 | int2 | mixed")(
      "report", po::value<std::string>(),
      "JSON report of every decision (default OUTPUT minus .onnx + .report.json)")(
      "val", po::value<std::string>(),
      "optional labelled validation set: report float and quantized accuracy")(
      "labels", po::value<std::string>(), "labels of --val (default: found beside it)")(
      "no-simulate", "do not run the quantized model on the platform")(
      "set", po::value<std::vector<std::string>>(),
      "platform override key=value for the simulation (repeatable)")(
      "sensitivity-samples", po::value<size_t>()->default_value(128),
      "calibration samples for measured sensitivity")(
      "activation-method", po::value<std::string>()->default_value("measured"),
      "measured | minmax | percentile | entropy | mse: one activation calibration method for "
      "every tensor instead of measuring the candidates (fast for large networks)")(
      "verbose,v", "print every decision as it is made")(
      "model", po::value<std::string>(), "float ONNX model (the positional argument)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm quantize", "model", "NET.onnx"};
  command_line.required = {"calib"};
  command_line.help_epilogue =
      "Writes a QDQ ONNX model (uint8 activations, int8-container weights of 8/4/2 bits with\n"
      "metadata cimtlm.weight_bits.<layer>) and a JSON report of every decision and its "
      "reason.\n";
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const std::string model_path = values["model"].as<std::string>();
  const std::string output = values.count("output") ? values["output"].as<std::string>()
                                                    : default_beside(model_path, ".q.onnx");
  const std::string report_path = values.count("report") ? values["report"].as<std::string>()
                                                         : default_beside(output, ".report.json");
  quant::Policy policy;
  try {
    policy = quant::policy_from_string(values["policy"].as<std::string>());
  } catch (const std::invalid_argument& error) {
    err << "cimtlm quantize: --policy: " << error.what() << '\n';
    return kExitBadInput;
  }

  std::optional<quant::CalibrationMethod> activation_method;
  if (values["activation-method"].as<std::string>() != "measured") {
    try {
      activation_method =
          quant::calibration_method_from_string(values["activation-method"].as<std::string>());
    } catch (const std::invalid_argument& error) {
      err << "cimtlm quantize: --activation-method: " << error.what() << " or measured\n";
      return kExitBadInput;
    }
  }

  try {
    std::optional<PlatformSpec> spec;
    std::vector<Override> overrides;
    for (const auto& text : strings_of(values, "set")) overrides.push_back(parse_override(text));
    if (values.count("platform")) {
      spec = build_platform_spec(
          load_config(values["platform"].as<std::string>(), platform_schema(), overrides));
    }
    const std::vector<int> widths = platform_bit_widths(spec ? &*spec : nullptr);
    const int policy_bits =
        policy == quant::Policy::Int8
            ? 8
            : (policy == quant::Policy::Int4 ? 4 : (policy == quant::Policy::Int2 ? 2 : 0));
    if (policy_bits && std::find(widths.begin(), widths.end(), policy_bits) == widths.end()) {
      err << "cimtlm quantize: policy " << quant::to_string(policy) << " needs " << policy_bits
          << "-bit weights; the platform's CIM macros take at most core.cim.max_weight_bits = "
          << spec->cim.max_weight_bits << '\n';
      return kExitBadInput;
    }

    const graph::Graph float_graph = load_float_model(model_path);
    const quant::Dataset calibration =
        quant::load_dataset(values["calib"].as<std::string>(), float_graph);
    std::optional<quant::Dataset> validation;
    if (values.count("val")) {
      validation = quant::load_dataset(
          values["val"].as<std::string>(), float_graph,
          values.count("labels") ? values["labels"].as<std::string>() : "", true);
    }

    quant::QuantizeOptions quantize;
    quantize.policy = policy;
    if (values.count("db")) quantize.database_path = values["db"].as<std::string>();
    quantize.model_name = fs::path(model_path).stem().string();
    quantize.sensitivity_samples = values["sensitivity-samples"].as<size_t>();
    quantize.activation_method = activation_method;
    quantize.log = values.count("verbose") ? &out : nullptr;
    quant::QuantizationSession session(float_graph, calibration, quantize);
    for (const auto& note : session.notes()) out << note << '\n';
    std::optional<quant::LabelAccuracy> labelled;
    if (validation) labelled.emplace(*validation);
    quant::QuantizeResult result =
        policy == quant::Policy::Mixed
            ? quant::mixed_precision(session, labelled ? &*labelled : nullptr, 0.01, quantize.log)
            : session.quantize(policy);
    for (auto& [layer, bits] : result.bits) {
      if (std::find(widths.begin(), widths.end(), bits) == widths.end()) {
        err << "cimtlm quantize: layer " << layer << " needs " << bits
            << "-bit weights, more than the platform's "
            << "core.cim.max_weight_bits\n";
        return kExitBadInput;
      }
    }

    // Verification: the model lowers to the platform's integer ops, and its integers against float.
    const graph::Graph lowered = graph::lower_quantized(result.qdq);
    const quant::Dataset check = quant::head(calibration, quantize.sensitivity_samples);
    const quant::Sensitivity agreement = quant::compare_outputs(
        quant::run_outputs(float_graph, check.samples), quant::run_outputs(lowered, check.samples));
    nlohmann::json& report = result.report;
    report["output"] = output;
    report["verification"] = {{"lowered", true},
                              {"samples", check.samples.size()},
                              {"top1_agreement_with_float", agreement.top1_agreement},
                              {"output_nmse", agreement.output_nmse}};
    if (validation) {
      const double float_accuracy = quant::top1_accuracy(
          quant::run_outputs(float_graph, validation->samples), validation->labels);
      const double quantized_accuracy = quant::top1_accuracy(
          quant::run_outputs(lowered, validation->samples), validation->labels);
      report["validation"] = {{"source", validation->source},
                              {"samples", validation->samples.size()},
                              {"float_accuracy", float_accuracy},
                              {"quantized_accuracy", quantized_accuracy}};
    }
    onnx::save_onnx(result.qdq, output);
    // The exported file must load back and lower exactly as the in-memory model.
    const graph::Graph reloaded = graph::lower_quantized(onnx::load_onnx(output));
    if (quant::run_outputs(reloaded, {check.samples.at(0)}) !=
        quant::run_outputs(lowered, {check.samples.at(0)})) {
      err << "cimtlm quantize: " << output << " does not reproduce the in-memory model's outputs\n";
      return kExitFailure;
    }

    int status = kExitOk;
    if (spec && !values.count("no-simulate")) {
      const fs::path directory =
          fs::path(output).parent_path() / (fs::path(output).stem().string() + ".sim");
      fs::create_directories(directory);
      Simulator simulator(values["platform"].as<std::string>(), strings_of(values, "set"),
                          sample_inputs(validation ? *validation : calibration, directory.string()),
                          directory.string(), 1);
      const quant::CostMeasure cost = simulator.simulate(result.qdq, "quantized");
      report["simulation"] = cost_json(cost);
      report["simulation"]["platform"] = values["platform"].as<std::string>();
      report["simulation"]["stats"] = (directory / "quantized.stats.json").string();
      if (!cost.ok || !cost.bit_exact) status = kExitFailure;
    }
    write_text(report_path, report.dump(2) + "\n");

    out << "quantized " << model_path << " (policy " << quant::to_string(policy) << ", "
        << calibration.samples.size() << " calibration samples, statistics "
        << (session.statistics_reused()
                ? "reused from the database"
                : "collected in " + std::to_string(session.calibration_runs()) + " executor runs")
        << ")\n";
    print_decisions(result, out);
    out << "  agreement with the float model: " << format(100.0 * agreement.top1_agreement)
        << " % top-1, output NMSE " << format(agreement.output_nmse, 3) << " ("
        << check.samples.size() << " calibration samples)\n";
    if (report.contains("validation")) {
      out << "  validation accuracy: float "
          << format(100.0 * report["validation"]["float_accuracy"].get<double>())
          << " %, quantized "
          << format(100.0 * report["validation"]["quantized_accuracy"].get<double>()) << " %\n";
    }
    if (report.contains("simulation")) {
      const auto& simulation = report["simulation"];
      if (simulation["ok"].get<bool>()) {
        out << "  simulated: " << format(simulation["energy_pj_per_inference"].get<double>())
            << " pJ and " << format(simulation["cycles_per_inference"].get<double>())
            << " cycles per inference, " << simulation["tiles"].get<int64_t>()
            << " CIM tiles, outputs "
            << (simulation["bit_exact"].get<bool>() ? "bit-exact with the reference executor"
                                                    : "DIFFER from the reference executor")
            << '\n';
      } else {
        err << "cimtlm quantize: the simulation failed: " << simulation["error"].get<std::string>()
            << '\n';
      }
    }
    out << "wrote " << output << " and " << report_path << '\n';
    return status;
  } catch (const graph::ModelError& error) {
    err << "cimtlm quantize: " << error.what() << '\n';
    return kExitBadInput;
  } catch (const quant::DatabaseError& error) {
    err << "cimtlm quantize: " << error.what() << '\n';
    return kExitBadInput;
  }
}

// =============================================================================================

int search_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options(
      "cimtlm search NET.onnx --calib DATA --val DATA --platform P.yaml --target METRIC[=X] "
      "--min-accuracy A");
  options.add_options()("help,h", "show this help")(
      "calib", po::value<std::string>(), "calibration inputs (.npy / .pb batch or directory)")(
      "val", po::value<std::string>(),
      "validation inputs with labels (X_inputs.npy + X_labels.npy, or a directory)")(
      "labels", po::value<std::string>(), "labels of --val (default: found beside it)")(
      "platform", po::value<std::string>(), "platform file the candidates are simulated on")(
      "target", po::value<std::string>()->default_value("energy"),
      "energy | latency | size, optionally =X (pJ, cycles or weight bytes per inference): stop "
      "once met")("min-accuracy", po::value<std::string>()->default_value("int8-1"),
                  "0.97, 97% or int8-P (P points below the all-8-bit model)")(
      "output,o", po::value<std::string>(), "the chosen model (default OUT-DIR/chosen.onnx)")(
      "out-dir", po::value<std::string>(),
      "candidates, stats, pareto.csv/.png, report (default NET.search)")(
      "db", po::value<std::string>(), "statistics database (SQLite)")(
      "max-evaluations", po::value<int>()->default_value(24), "candidates to evaluate in all")(
      "jobs,j", po::value<int>()->default_value(2), "simulations at once")(
      "set", po::value<std::vector<std::string>>(), "platform override key=value (repeatable)")(
      "no-plot", "do not draw pareto.png")("model", po::value<std::string>(),
                                           "float ONNX model (the positional argument)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm search", "model", "NET.onnx"};
  command_line.required = {"calib", "val", "platform"};
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const std::string model_path = values["model"].as<std::string>();
  const int max_evaluations = values["max-evaluations"].as<int>();
  const int jobs = values["jobs"].as<int>();
  if (max_evaluations < 1 || jobs < 1) {
    err << "cimtlm search: --max-evaluations and --jobs must be at least 1\n";
    return kExitBadInput;
  }
  quant::SearchOptions search;
  std::optional<double> relative_drop;
  try {
    search.target = quant::parse_search_target(values["target"].as<std::string>());
    search.min_accuracy =
        parse_min_accuracy(values["min-accuracy"].as<std::string>(), relative_drop);
  } catch (const std::invalid_argument& error) {
    err << "cimtlm search: " << error.what() << '\n';
    return kExitBadInput;
  }

  try {
    std::vector<Override> overrides;
    for (const auto& text : strings_of(values, "set")) overrides.push_back(parse_override(text));
    const PlatformSpec spec = build_platform_spec(
        load_config(values["platform"].as<std::string>(), platform_schema(), overrides));
    search.bit_widths = platform_bit_widths(&spec);
    search.max_evaluations = max_evaluations;
    search.parallel = jobs;
    search.log = &out;

    const graph::Graph float_graph = load_float_model(model_path);
    const quant::Dataset calibration =
        quant::load_dataset(values["calib"].as<std::string>(), float_graph);
    const quant::Dataset validation =
        quant::load_dataset(values["val"].as<std::string>(), float_graph,
                            values.count("labels") ? values["labels"].as<std::string>() : "", true);
    const fs::path directory = values.count("out-dir")
                                   ? fs::path(values["out-dir"].as<std::string>())
                                   : fs::path(default_beside(model_path, ".search"));
    fs::create_directories(directory / "candidates");
    const std::string chosen_path = values.count("output") ? values["output"].as<std::string>()
                                                           : (directory / "chosen.onnx").string();

    quant::QuantizeOptions quantize;
    if (values.count("db")) quantize.database_path = values["db"].as<std::string>();
    quantize.model_name = fs::path(model_path).stem().string();
    quant::QuantizationSession session(float_graph, calibration, quantize);
    for (const auto& note : session.notes()) out << note << '\n';

    quant::LabelAccuracy accuracy(validation);
    const double float_accuracy = quant::top1_accuracy(
        quant::run_outputs(float_graph, validation.samples), validation.labels);
    out << "float model: " << format(100.0 * float_accuracy) << " % on "
        << validation.samples.size()
        << " validation samples; accuracy of candidates: " << accuracy.describe() << '\n';
    if (relative_drop) {
      std::map<std::string, int> eight;
      for (const auto& layer : session.layers()) eight[layer.name] = 8;
      search.min_accuracy = accuracy.accuracy(session.build(eight)) - *relative_drop;
    }
    out << "minimum accuracy " << format(100.0 * search.min_accuracy) << " %, target "
        << quant::to_string(search.target.metric)
        << (search.target.value ? " <= " + format(*search.target.value)
                                : std::string(" as low as possible"))
        << '\n';

    Simulator simulator(values["platform"].as<std::string>(), strings_of(values, "set"),
                        sample_inputs(validation, (directory / "candidates").string()),
                        (directory / "candidates").string(), jobs);
    const quant::SearchResult result =
        quant::search_mixed_precision(session, accuracy, simulator, search);

    const std::string csv = (directory / "pareto.csv").string();
    write_text(csv, quant::candidates_csv(result, session.layers()));
    nlohmann::json report = quant::search_report(result, search);
    report["model"] = model_path;
    report["platform"] = values["platform"].as<std::string>();
    report["float_accuracy"] = float_accuracy;
    report["validation"] = {{"source", validation.source}, {"samples", validation.samples.size()}};
    report["calibration"] = {{"source", calibration.source},
                             {"samples", calibration.samples.size()},
                             {"statistics_reused", session.statistics_reused()}};
    const std::string png = (directory / "pareto.png").string();
    if (!values.count("no-plot")) {
#ifdef CIMTLM_SOURCE_DIR
      const std::string script = std::string(CIMTLM_SOURCE_DIR) + "/scripts/plot_pareto.py";
#else
      const std::string script = "scripts/plot_pareto.py";
#endif
      if (run_python_script(script, {csv, png})) {
        report["plot"] = png;
      } else {
        out << "plot skipped (" << script
            << " with matplotlib did not run); draw it with: /usr/bin/python3 " << script << ' '
            << csv << ' ' << png << '\n';
      }
    }

    int status = kExitOk;
    if (result.chosen >= 0) {
      const quant::Candidate& chosen = result.candidates[static_cast<size_t>(result.chosen)];
      quant::QuantizeResult quantized = session.result_for(chosen.bits, quant::Policy::Mixed);
      quantized.qdq.metadata["cimtlm.search.candidate"] = std::to_string(chosen.id);
      onnx::save_onnx(quantized.qdq, chosen_path);
      report["chosen_model"] = chosen_path;
      report["chosen_quantization"] = quantized.report;
      out << "chosen: #" << chosen.id << " (" << chosen.origin << "): accuracy "
          << format(100.0 * chosen.accuracy) << " %, " << format(chosen.cost.energy_pj) << " pJ, "
          << format(chosen.cost.latency_cycles) << " cycles, " << chosen.cost.tiles
          << " tiles per inference; bits";
      for (const auto& layer : session.layers())
        out << ' ' << layer.name << '=' << chosen.bits.at(layer.name);
      out << "\n";
      if (!result.target_met) {
        out << "the target " << values["target"].as<std::string>()
            << " was not met; the chosen model is the best "
            << "candidate meeting the minimum accuracy\n";
        status = kExitFailure;
      }
      out << "wrote " << chosen_path << '\n';
    } else {
      err << "cimtlm search: no candidate reaches the minimum accuracy "
          << format(100.0 * search.min_accuracy) << " %\n";
      status = kExitFailure;
    }
    write_text((directory / "search_report.json").string(), report.dump(2) + "\n");
    out << "wrote " << csv << ", " << (directory / "search_report.json").string()
        << (report.contains("plot") ? ", " + png : std::string()) << '\n';
    return status;
  } catch (const graph::ModelError& error) {
    err << "cimtlm search: " << error.what() << '\n';
    return kExitBadInput;
  } catch (const quant::DatabaseError& error) {
    err << "cimtlm search: " << error.what() << '\n';
    return kExitBadInput;
  }
}

}  // namespace cimtlm::platforms::cli
