// `cimtlm evaluate PLATFORM.yaml --network NET.onnx --data DATA`: top-1 accuracy of a labelled
// data set run through the simulated platform (every sample one `cimtlm run`, so that the CIM
// macros' ADCs, sparsity compensation, non-idealities and the memories' retention act on it),
// next to the float model and the ideal integer model (the reference executor), for the platform
// as given and for sweeps of its error sources (ADC bits, sparsity threshold, retention, ...).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compiler/graph/lowering.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/quant/dataset.h"
#include "compiler/quant/evaluation.h"
#include "platforms/cli/commands.h"
#include "platforms/cli/options.h"
#include "platforms/config/config.h"
#include "platforms/run/child_process.h"
#include "platforms/run/workload.h"
#include "platforms/spec/platform_spec.h"


namespace cimtlm::platforms::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// One platform configuration to evaluate: the base overrides plus a sweep point's.
struct EvaluationPoint {
  std::string sweep;  // "" for the platform as given, else the swept key
  std::string value;  // the swept value
  std::vector<std::string> overrides;
  std::vector<std::string> fixed;  // the sweep's fixed overrides (after '@')
};

struct PointResult {
  int64_t correct = 0;
  int64_t agree_with_integer = 0;  // same predicted class as the ideal integer model
  int64_t bit_exact = 0;           // every output equal to the ideal integer model's
  int64_t failed = 0;              // runs that produced no output
  double energy_pj = 0.0;          // summed over samples
  double retention_violations = 0.0;
};

// "KEY=V1,V2,...[@K2=V,K3=V]": the values of KEY, each with the fixed overrides after '@'.
std::vector<EvaluationPoint> parse_sweep(const std::string& text) {
  const size_t at = text.find('@');
  const std::string head = text.substr(0, at);
  const size_t equals = head.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 >= head.size()) {
    throw ConfigError("cimtlm evaluate: --sweep '" + text +
                      "': expected KEY=V1,V2,...[@KEY=V,...]");
  }
  std::vector<std::string> fixed;
  if (at != std::string::npos) {
    std::stringstream rest(text.substr(at + 1));
    std::string item;
    while (std::getline(rest, item, ',')) {
      if (item.find('=') == std::string::npos) {
        throw ConfigError("cimtlm evaluate: --sweep '" + text + "': '" + item +
                          "' is not KEY=VALUE");
      }
      fixed.push_back(item);
    }
  }
  const std::string key = head.substr(0, equals);
  std::vector<EvaluationPoint> points;
  std::stringstream values(head.substr(equals + 1));
  std::string value;
  while (std::getline(values, value, ',')) {
    if (value.empty()) throw ConfigError("cimtlm evaluate: --sweep '" + text + "': empty value");
    EvaluationPoint point{key, value, fixed, fixed};
    point.overrides.push_back(key + "=" + value);
    points.push_back(point);
  }
  return points;
}

// The sweeps of the README: lossy ADC bits; the sparsity threshold with a lossy 5-bit ADC (the
// narrowed range is what sparse mode changes); activation retention shorter than their lifetime
// with decayed bits injected.
const std::vector<std::string> kDefaultSweeps = {
    "core.cim.adc_bits=3,4,5,6,7",
    "core.cim.sparsity_threshold=0,0.2,0.4,0.6,0.8,1@core.cim.adc_bits=5",
    "core.memory.levels.activations.retention=100 ns,300 ns,1 us,3 us,10 us,30 us,1 s"
    "@core.memory.on_retention_violation=inject,core.memory.levels.activations.refresh=false",
};

struct Job {
  pid_t pid = -1;
  size_t point = 0;
  size_t sample = 0;
  std::string directory;
};

class Runner {
 public:
  Runner(std::string executable, std::string platform, std::string network, std::string input_name,
         int jobs)
      : executable_(std::move(executable)),
        platform_(std::move(platform)),
        network_(std::move(network)),
        input_name_(std::move(input_name)),
        jobs_(std::max(1, jobs)) {}

  // Runs every (point, sample) and calls `done(point, sample, directory)` as runs finish.
  template <typename Done>
  void run_all(const std::vector<EvaluationPoint>& points, const std::vector<std::string>& inputs,
               const std::string& root, Done done) {
    std::vector<Job> running;
    size_t next = 0;
    const size_t total = points.size() * inputs.size();
    while (next < total || !running.empty()) {
      while (next < total && static_cast<int>(running.size()) < jobs_) {
        Job job;
        job.point = next / inputs.size();
        job.sample = next % inputs.size();
        job.directory = root + "/p" + std::to_string(job.point) + "_s" + std::to_string(job.sample);
        spawn(job, points[job.point], inputs[job.sample]);
        running.push_back(job);
        ++next;
      }
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0) break;
      auto it = std::find_if(running.begin(), running.end(),
                             [pid](const Job& job) { return job.pid == pid; });
      if (it == running.end()) continue;
      done(it->point, it->sample, it->directory);
      running.erase(it);
    }
  }

 private:
  void spawn(Job& job, const EvaluationPoint& point, const std::string& input) {
    fs::create_directories(job.directory);
    std::vector<std::string> args = {executable_,
                                     "run",
                                     platform_,
                                     "--network",
                                     network_,
                                     "--input",
                                     input_name_ + "=" + input,
                                     "--output-dir",
                                     job.directory,
                                     "--stats",
                                     job.directory + "/stats.json",
                                     "--quiet",
                                     "--inferences",
                                     "1"};
    for (const auto& override : point.overrides) {
      args.push_back("--set");
      args.push_back(override);
    }
    job.pid = spawn_process(args, job.directory + "/log.txt");
  }

  std::string executable_, platform_, network_, input_name_;
  int jobs_;
};

std::string this_executable() {
  std::error_code code;
  const fs::path path = fs::read_symlink("/proc/self/exe", code);
  return code ? std::string("cimtlm") : path.string();
}

std::string percent(double fraction) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << 100.0 * fraction;
  return text.str();
}

bool same_values(const graph::Tensor& a, const graph::Tensor& b) {
  if (a.elements() != b.elements()) return false;
  for (int64_t i = 0; i < a.elements(); ++i) {
    if (a.as_double(i) != b.as_double(i)) return false;
  }
  return true;
}

// The float model beside a quantized one: NET.q.onnx -> NET.onnx.
std::string float_beside(const std::string& path) {
  const std::string suffix = ".q.onnx";
  if (path.size() > suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    const std::string candidate = path.substr(0, path.size() - suffix.size()) + ".onnx";
    std::error_code code;
    if (fs::exists(candidate, code)) return candidate;
  }
  return "";
}

int evaluate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options(
      "cimtlm evaluate PLATFORM.yaml --network NET.onnx --data DATA [options]");
  options.add_options()("help,h", "show this help")("network", po::value<std::string>(),
                                                    "quantized (QDQ) ONNX model the platform runs")(
      "data", po::value<std::string>(),
      "labelled inputs (X_inputs.npy + X_labels.npy, or a directory; see cimtlm quantize)")(
      "labels", po::value<std::string>(), "labels of --data (default: found beside it)")(
      "float", po::value<std::string>(),
      "float ONNX model for the float column (default: NET.onnx beside NET.q.onnx, else the QDQ "
      "model evaluated in float)")("samples", po::value<int64_t>()->default_value(0),
                                   "evaluate the first N samples (0: all)")(
      "sweep", po::value<std::vector<std::string>>(),
      "KEY=V1,V2,...[@KEY=V,...]: also evaluate the platform with KEY at each value (repeatable)")(
      "default-sweeps",
      "sweep ADC bits, sparsity threshold (5-bit ADC) and activation retention (policy inject)")(
      "jobs,j", po::value<int>()->default_value(2), "simulations at once")(
      "out-dir", po::value<std::string>(), "runs, table and plot (default traces/evaluate)")(
      "no-plot", "do not draw the plot")("set", po::value<std::vector<std::string>>(),
                                         "platform override for every run (repeatable)")(
      "config", po::value<std::string>(), "platform file (positional)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm evaluate", "config", "PLATFORM.yaml"};
  command_line.required = {"network", "data"};
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const std::string platform = values["config"].as<std::string>();
  const std::string network = values["network"].as<std::string>();
  const std::vector<std::string> base_overrides = values.count("set")
                                                      ? values["set"].as<std::vector<std::string>>()
                                                      : std::vector<std::string>{};
  const int jobs = values["jobs"].as<int>();
  if (jobs < 1) {
    err << "cimtlm evaluate: --jobs must be at least 1\n";
    return kExitBadInput;
  }

  // Everything a run would reject is rejected here first (exit 2 naming the file and key).
  std::vector<EvaluationPoint> points = {{"", "", base_overrides, {}}};
  std::vector<std::string> sweeps = values.count("sweep")
                                        ? values["sweep"].as<std::vector<std::string>>()
                                        : std::vector<std::string>{};
  if (values.count("default-sweeps"))
    sweeps.insert(sweeps.end(), kDefaultSweeps.begin(), kDefaultSweeps.end());
  for (const auto& sweep : sweeps) {
    for (auto point : parse_sweep(sweep)) {
      point.overrides.insert(point.overrides.begin(), base_overrides.begin(), base_overrides.end());
      points.push_back(point);
    }
  }
  graph::Graph qdq, lowered, float_graph;
  quant::Dataset data;
  std::string float_source;
  for (const auto& point : points) {
    std::vector<Override> overrides;
    for (const auto& text : point.overrides) overrides.push_back(parse_override(text));
    build_platform_spec(load_config(platform, platform_schema(), overrides));
  }
  qdq = onnx::load_onnx(network);
  lowered = load_network(network);
  data =
      quant::load_dataset(values["data"].as<std::string>(), qdq,
                          values.count("labels") ? values["labels"].as<std::string>() : "", true);
  const int64_t wanted = values["samples"].as<int64_t>();
  if (wanted < 0) {
    err << "cimtlm evaluate: --samples must be >= 0\n";
    return kExitBadInput;
  }
  if (wanted > 0) {
    data = quant::head(data, static_cast<size_t>(wanted));
    data.labels.resize(std::min(data.labels.size(), static_cast<size_t>(wanted)));
  }
  if (data.samples.empty()) throw graph::ModelError(data.source + ": no samples");
  if (qdq.inputs.size() != 1) {
    throw graph::ModelError(network + ": evaluate takes a network with one input");
  }
  float_source = values.count("float") ? values["float"].as<std::string>() : float_beside(network);
  float_graph = float_source.empty() ? qdq : onnx::load_onnx(float_source);
  if (float_source.empty()) float_source = network + " (QDQ model in float arithmetic)";

  // The references: float and ideal integer model on the reference executor.
  const std::vector<graph::Tensor> float_outputs = quant::run_outputs(float_graph, data.samples);
  const std::vector<graph::Tensor> integer_outputs = quant::run_outputs(lowered, data.samples);
  const double float_accuracy = quant::top1_accuracy(float_outputs, data.labels);
  const double integer_accuracy = quant::top1_accuracy(integer_outputs, data.labels);
  std::vector<int64_t> integer_class;
  for (const auto& output : integer_outputs) integer_class.push_back(quant::arg_max(output));

  const fs::path root = values.count("out-dir") ? fs::path(values["out-dir"].as<std::string>())
                                                : fs::path("traces/evaluate");
  fs::create_directories(root / "samples");
  std::vector<std::string> inputs;
  const std::string input_name = qdq.inputs.front().name;
  for (size_t i = 0; i < data.samples.size(); ++i) {
    const std::string path =
        fs::absolute(root / "samples" / ("sample_" + std::to_string(i) + ".npy")).string();
    onnx::save_npy(data.samples[i].at(input_name), path);
    inputs.push_back(path);
  }

  out << "evaluating " << data.samples.size() << " samples of " << data.source << " on "
      << points.size() << " platform configurations (" << points.size() * data.samples.size()
      << " simulations, " << jobs << " at once)\n";
  std::vector<PointResult> results(points.size());
  Runner runner(this_executable(), fs::absolute(platform).string(), fs::absolute(network).string(),
                input_name, jobs);
  runner.run_all(points, inputs, fs::absolute(root / "runs").string(),
                 [&](size_t point, size_t sample, const std::string& directory) {
                   PointResult& result = results[point];
                   std::error_code code;
                   const std::string output = directory + "/output_0.npy";
                   if (!fs::exists(output, code)) {
                     ++result.failed;
                     return;
                   }
                   const graph::Tensor simulated = onnx::load_npy(output);
                   const int64_t predicted = quant::arg_max(simulated);
                   if (predicted == data.labels[sample]) ++result.correct;
                   if (predicted == integer_class[sample]) ++result.agree_with_integer;
                   if (same_values(simulated, integer_outputs[sample])) ++result.bit_exact;
                   try {
                     std::ifstream file(directory + "/stats.json");
                     const nlohmann::json stats = nlohmann::json::parse(file);
                     result.energy_pj += stats.at("energy_pj.per_inference").get<double>();
                     double violations = 0.0;
                     for (const auto& level : stats.at("memory").items()) {
                       if (level.value().contains("retention_violations")) {
                         violations += level.value()["retention_violations"].get<double>();
                       }
                     }
                     result.retention_violations += violations;
                   } catch (const std::exception&) {
                   }
                   fs::remove_all(directory, code);
                 });

  const double samples = static_cast<double>(data.samples.size());
  std::ostringstream csv;
  csv << "sweep,value,samples,accuracy,agreement_with_integer,bit_exact_fraction,failed_runs,"
         "energy_pj_per_inference,retention_violations_per_inference,float_accuracy,"
         "integer_accuracy,fixed\n";
  out << "\nfloat model (" << float_source << "): " << percent(float_accuracy) << " %\n"
      << "ideal integer model (reference executor): " << percent(integer_accuracy) << " %\n\n";
  out << std::left << std::setw(52) << "platform configuration" << std::right << std::setw(10)
      << "top-1 %" << std::setw(12) << "= int cls %" << std::setw(12) << "bit-exact %"
      << std::setw(14) << "pJ/inference" << std::setw(12) << "violations" << '\n';
  for (size_t p = 0; p < points.size(); ++p) {
    const PointResult& r = results[p];
    const std::string label =
        points[p].sweep.empty() ? "as given" : points[p].sweep + " = " + points[p].value;
    const double ran = std::max(1.0, samples - static_cast<double>(r.failed));
    out << std::left << std::setw(52) << label << std::right << std::setw(10)
        << percent(r.correct / samples) << std::setw(12) << percent(r.agree_with_integer / samples)
        << std::setw(12) << percent(r.bit_exact / samples) << std::setw(14) << std::setprecision(6)
        << r.energy_pj / ran << std::setw(12) << r.retention_violations / ran
        << (r.failed ? "  (" + std::to_string(r.failed) + " runs failed)" : std::string()) << '\n';
    csv << (points[p].sweep.empty() ? "base" : points[p].sweep) << ",\"" << points[p].value << "\","
        << data.samples.size() << ',' << r.correct / samples << ','
        << r.agree_with_integer / samples << ',' << r.bit_exact / samples << ',' << r.failed << ','
        << r.energy_pj / ran << ',' << r.retention_violations / ran << ',' << float_accuracy << ','
        << integer_accuracy << ",\"";
    for (size_t i = 0; i < points[p].fixed.size(); ++i) {
      csv << (i ? ";" : "") << points[p].fixed[i];
    }
    csv << "\"\n";
  }
  const std::string csv_path = (root / "accuracy.csv").string();
  {
    std::ofstream file(csv_path);
    file << csv.str();
    if (!file) {
      err << "cimtlm evaluate: cannot write " << csv_path << '\n';
      return kExitBadInput;
    }
  }
  out << "\nwrote " << csv_path << '\n';
  if (!values.count("no-plot") && points.size() > 1) {
#ifdef CIMTLM_SOURCE_DIR
    const std::string script = std::string(CIMTLM_SOURCE_DIR) + "/scripts/plot_evaluate.py";
#else
    const std::string script = "scripts/plot_evaluate.py";
#endif
    const std::string png = (root / "accuracy.png").string();
    if (run_python_script(script, {csv_path, png})) {
      out << "wrote " << png << '\n';
    } else {
      out << "plot skipped; draw it with: /usr/bin/python3 " << script << ' ' << csv_path << ' '
          << png << '\n';
    }
  }
  const bool any_failed = std::any_of(results.begin(), results.end(),
                                      [](const PointResult& r) { return r.failed > 0; });
  if (any_failed) {
    err << "cimtlm evaluate: some simulations produced no output (logs under "
        << (root / "runs").string() << ")\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int evaluate_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    return evaluate(args, out, err);
  } catch (const graph::ModelError& error) {
    err << "cimtlm evaluate: " << error.what() << '\n';
    return kExitBadInput;
  }
}

}  // namespace cimtlm::platforms::cli
