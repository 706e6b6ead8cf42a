// cimtlm regress SUITE.yaml [--update] [--set key=value]... [--only NAME]... [--keep DIR]
//
// Runs every case of a golden suite (platforms/cli/regress_suite.h) as a separate `cimtlm run`
// or `cimtlm scenario` process (SystemC elaborates one platform per process), compares the
// stats and the output tensors with the expected figures, prints a pass/fail table with the
// deviations and exits 1 on any failure (2 on a bad suite or a case that is bad input).
// --update writes the figures of this build into the suite instead.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platforms/cli/commands.h"
#include "platforms/cli/options.h"
#include "platforms/cli/regress_suite.h"
#include "platforms/config/config.h"
#include "platforms/run/child_process.h"


namespace cimtlm::platforms::cli {

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Runs this executable with `args`, stdout and stderr into files of `folder`; the exit status.
int run_self(const std::vector<std::string>& args, const fs::path& folder) {
  std::vector<std::string> argv_text = {"/proc/self/exe"};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  // The executable behind /proc/self/exe, resolved now (the child's /proc/self is itself).
  std::error_code error;
  argv_text[0] = fs::read_symlink("/proc/self/exe", error).string();
  pid_t child = 0;
  try {
    child = spawn_process(argv_text, (folder / "stdout.txt").string(),
                          (folder / "stderr.txt").string());
  } catch (const std::runtime_error&) {
    return -1;
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// FNV-1a (64 bit) over the output tensors (output_<k>.npy, in k order): a regression digest,
// not a security hash.
std::string outputs_digest(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.path().extension() == ".npy") files.push_back(entry.path());
  }
  if (files.empty()) return "";
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    const std::string x = a.filename().string(), y = b.filename().string();
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  });
  uint64_t hash = 14695981039346656037ULL;
  for (const auto& file : files) {
    for (const char byte : read_file(file)) {
      hash ^= static_cast<uint8_t>(byte);
      hash *= 1099511628211ULL;
    }
  }
  char text[32];
  std::snprintf(text, sizeof text, "fnv1a64:%016llx", static_cast<unsigned long long>(hash));
  return text;
}

// A stat by its dotted key: the flat key when the stats have it, else the nested path.
const nlohmann::json* stat_of(const nlohmann::json& stats, const std::string& key) {
  if (stats.is_object() && stats.contains(key)) return &stats[key];
  const nlohmann::json* node = &stats;
  size_t begin = 0;
  while (true) {
    const size_t end = key.find('.', begin);
    const std::string part = key.substr(begin, end == std::string::npos ? end : end - begin);
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &(*node)[part];
    if (end == std::string::npos) return node;
    begin = end + 1;
  }
}

// The tolerance of a figure: the longest tolerance key equal to it or a dotted prefix of it.
double tolerance_of(const RegressCase& c, const std::string& figure) {
  double tolerance = 0;
  size_t best = 0;
  for (const auto& [key, value] : c.tolerance) {
    const bool matches = figure == key || (figure.rfind(key + ".", 0) == 0);
    if (matches && key.size() >= best) {
      best = key.size();
      tolerance = value;
    }
  }
  return tolerance;
}

struct Row {
  std::string case_name, figure, expected, actual, deviation, tolerance;
  bool pass = false;
};

std::string percent(double relative) {
  std::ostringstream text;
  text << std::showpos << std::setprecision(3) << relative * 100 << '%';
  return text.str();
}

void print_table(const std::vector<Row>& rows, std::ostream& out) {
  const std::vector<std::string> head = {"case",      "figure",    "expected", "actual",
                                         "deviation", "tolerance", "result"};
  std::vector<size_t> width(head.size());
  for (size_t i = 0; i < head.size(); ++i) width[i] = head[i].size();
  auto cells = [](const Row& row) {
    return std::vector<std::string>{
        row.case_name,           row.figure, row.expected, row.actual, row.deviation, row.tolerance,
        row.pass ? "ok" : "FAIL"};
  };
  for (const auto& row : rows) {
    const auto line = cells(row);
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  auto print = [&](const std::vector<std::string>& line) {
    for (size_t i = 0; i < line.size(); ++i) {
      if (i + 1 == line.size()) {
        out << line[i] << '\n';
      } else {
        out << std::left << std::setw(static_cast<int>(width[i])) << line[i] << "  ";
      }
    }
  };
  print(head);
  for (const auto& row : rows) print(cells(row));
}

}  // namespace

int regress_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm regress SUITE.yaml [options]");
  options.add_options()("help,h", "show this help")(
      "update", "write this build's figures into the suite as the expected ones")(
      "set", po::value<std::vector<std::string>>(),
      "override a key in every platform case: --set core.memory.levels.dram.read_latency=80ns")(
      "only", po::value<std::vector<std::string>>(), "run only the named case (repeatable)")(
      "keep", po::value<std::string>(), "keep each case's stats and outputs under DIR")(
      "suite", po::value<std::string>(), "the suite file (the positional argument)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm regress", "suite", "SUITE.yaml"};
  command_line.help_epilogue =
      "A suite lists cases (platform or scenario, network, --set overrides) and their\n"
      "expected figures: sim.cycles, energy_pj.{total,cim,memory,arith,noc,leakage} and\n"
      "a digest of the output tensors (scenarios: sim.inferences,\n"
      "power.{energy_j,dynamic_j,leakage_j}, power.components.*.dynamic_j, thermal.max_c),\n"
      "plus any stat keys under `figures:`. Tolerances are relative, by stat key or\n"
      "prefix (defaults: sim.cycles 0, energy_pj/power/thermal 1e-9). Format: "
      "testbenches/regression/golden/README.md.\n"
      "Exit status: 0 every figure within tolerance, 1 a figure moved or a case failed,\n"
      "2 bad input (suite, command line, or a case's platform).\n";
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const std::string suite_path = values["suite"].as<std::string>();
  const RegressSuite suite = load_regress_suite(suite_path);
  const bool update = values.count("update") != 0;
  std::vector<std::string> overrides;
  if (values.count("set")) {
    for (const auto& text : values["set"].as<std::vector<std::string>>()) {
      (void)parse_override(text);  // ConfigError (exit 2) on a malformed one
      overrides.push_back(text);
    }
  }
  std::vector<std::string> only;
  if (values.count("only")) only = values["only"].as<std::vector<std::string>>();
  for (const auto& name : only) {
    const bool known = std::any_of(suite.cases.begin(), suite.cases.end(),
                                   [&](const RegressCase& c) { return c.name == name; });
    if (!known) {
      err << "cimtlm regress: --only " << name << ": no such case in " << suite_path << '\n';
      return kExitBadInput;
    }
  }

  // A scratch folder per run (kept with --keep).
  fs::path scratch;
  const bool keep = values.count("keep") != 0;
  if (keep) {
    scratch = values["keep"].as<std::string>();
    std::error_code error;
    fs::create_directories(scratch, error);
    if (error) {
      err << "cimtlm regress: --keep " << scratch.string() << ": " << error.message() << '\n';
      return kExitBadInput;
    }
  } else {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/cimtlm-regress-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      err << "cimtlm regress: cannot create a scratch folder under " << pattern << '\n';
      return kExitFailure;
    }
    scratch = pattern;
  }

  std::vector<Row> rows;
  bool failed = false, bad_input = false;
  std::map<std::string, std::map<std::string, double>> figures;
  std::map<std::string, std::string> digests;
  for (size_t index = 0; index < suite.cases.size(); ++index) {
    const RegressCase& c = suite.cases[index];
    if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) continue;
    const fs::path folder = scratch / ("case_" + std::to_string(index));
    fs::create_directories(folder / "outputs");
    const fs::path stats_path = folder / "stats.json";
    std::vector<std::string> command = {c.scenario ? "scenario" : "run", c.input, "--quiet",
                                        "--stats", stats_path.string()};
    if (!c.scenario) {
      command.insert(command.end(), {"--output-dir", (folder / "outputs").string()});
      for (const auto& network : c.networks) command.insert(command.end(), {"--network", network});
      if (c.inferences > 0) {
        command.insert(command.end(), {"--inferences", std::to_string(c.inferences)});
      }
    }
    for (const auto& set : c.overrides) command.insert(command.end(), {"--set", set});
    if (!c.scenario) {
      for (const auto& set : overrides) command.insert(command.end(), {"--set", set});
    }
    const int status = run_self(command, folder);
    if (status != kExitOk) {
      const std::string message = read_file(folder / "stderr.txt");
      err << c.where << ": case '" << c.name << "': cimtlm " << command.front() << " exited "
          << status << (message.empty() ? "\n" : ":\n" + message);
      rows.push_back({c.name, "(run)", "exit 0", "exit " + std::to_string(status), "", "", false});
      (status == kExitBadInput ? bad_input : failed) = true;
      continue;
    }
    nlohmann::json stats;
    try {
      stats = nlohmann::json::parse(read_file(stats_path));
    } catch (const nlohmann::json::exception& error) {
      err << c.where << ": case '" << c.name << "': unreadable stats " << stats_path.string()
          << ": " << error.what() << '\n';
      rows.push_back({c.name, "(stats)", "", "unreadable", "", "", false});
      failed = true;
      continue;
    }
    // This build's figures.
    auto& actual = figures[c.name];
    for (const auto& figure : c.figures) {
      const nlohmann::json* value = stat_of(stats, figure);
      if (value && value->is_number()) actual[figure] = value->get<double>();
    }
    const std::string digest = c.scenario ? "" : outputs_digest(folder / "outputs");
    if (!digest.empty()) digests[c.name] = digest;
    if (update) {
      for (const auto& figure : c.figures) {
        if (!actual.count(figure)) {
          err << c.where << ": case '" << c.name << "': the stats have no number '" << figure
              << "'\n";
          bad_input = true;
        }
      }
      continue;
    }
    if (!c.has_expected) {
      rows.push_back({c.name, "(expected)", "", "", "", "", false});
      err << c.where << ": case '" << c.name << "' has no expected figures (run with --update)\n";
      failed = true;
      continue;
    }
    for (const auto& [figure, expected] : c.expected) {
      Row row{c.name, figure, format_figure(expected), "missing", "", "", false};
      const nlohmann::json* value = stat_of(stats, figure);
      const double tolerance = tolerance_of(c, figure);
      row.tolerance = tolerance == 0 ? "exact" : percent(tolerance).substr(1);
      if (value && value->is_number()) {
        const double measured = value->get<double>();
        row.actual = format_figure(measured);
        const double deviation = expected == 0 ? (measured == 0 ? 0 : HUGE_VAL)
                                               : (measured - expected) / std::fabs(expected);
        row.deviation = deviation == 0 ? "0" : std::isinf(deviation) ? "inf" : percent(deviation);
        row.pass = std::fabs(deviation) <= tolerance;
      }
      failed = failed || !row.pass;
      rows.push_back(row);
    }
    if (c.expected_outputs) {
      Row row{c.name, "outputs", *c.expected_outputs,          digest.empty() ? "none" : digest,
              "",     "exact",   digest == *c.expected_outputs};
      row.deviation = row.pass ? "0" : "differ";
      failed = failed || !row.pass;
      rows.push_back(row);
    }
  }
  if (!keep) {
    std::error_code error;
    fs::remove_all(scratch, error);
  }

  if (update) {
    if (bad_input || failed) {
      err << "cimtlm regress: " << suite_path << " not updated (a case did not run)\n";
      return bad_input ? kExitBadInput : kExitFailure;
    }
    const std::string text = updated_suite_text(read_file(suite_path), suite, figures, digests);
    const std::string temporary = suite_path + ".update";
    {
      std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
      if (!(file << text) || !file.flush()) {
        err << "cimtlm regress: cannot write " << temporary << '\n';
        return kExitFailure;
      }
    }
    std::error_code error;
    fs::rename(temporary, suite_path, error);
    if (error) {
      err << "cimtlm regress: cannot replace " << suite_path << ": " << error.message() << '\n';
      return kExitFailure;
    }
    out << "updated the expected figures of " << figures.size() << " case(s) in " << suite_path
        << '\n';
    return kExitOk;
  }
  print_table(rows, out);
  const auto failures =
      std::count_if(rows.begin(), rows.end(), [](const Row& r) { return !r.pass; });
  out << "\n"
      << suite.name << ": " << (failures == 0 ? "PASS" : "FAIL") << " (" << rows.size()
      << " figures, " << failures << " outside tolerance)\n";
  if (bad_input) return kExitBadInput;
  return failed ? kExitFailure : kExitOk;
}

}  // namespace cimtlm::platforms::cli
