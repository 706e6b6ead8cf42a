#include "platforms/cli/regress_suite.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/graph/input_limits.h"
#include "platforms/config/config.h"

namespace cimtlm::platforms::cli {

namespace {

namespace fs = std::filesystem;

// The stat keys every case of a kind tracks (ARCHITECTURE.md, the stats contract).
const std::vector<std::string> kPlatformFigures = {
    "sim.cycles",      "energy_pj.total", "energy_pj.cim",    "energy_pj.memory",
    "energy_pj.arith", "energy_pj.noc",   "energy_pj.leakage"};
// Scenarios report seconds and joules (platforms/scenario): inferences run, energy by component
// and the peak temperature.
const std::vector<std::string> kScenarioFigures = {"sim.inferences",
                                                   "power.energy_j",
                                                   "power.dynamic_j",
                                                   "power.leakage_j",
                                                   "power.components.cim.dynamic_j",
                                                   "power.components.memory.dynamic_j",
                                                   "power.components.arith.dynamic_j",
                                                   "power.components.noc.dynamic_j",
                                                   "thermal.max_c"};
// Default tolerances (relative): cycles exact; energies absorb the last bits of a
// floating-point sum whose order another compiler may change.
const std::map<std::string, double> kDefaultTolerance = {
    {"sim.cycles", 0.0}, {"energy_pj", 1e-9}, {"power", 1e-9}, {"thermal", 1e-9}};

class SuiteReader {
 public:
  explicit SuiteReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const {
    std::string where = path_;
    if (node.Mark().line >= 0) {
      where +=
          ":" + std::to_string(node.Mark().line + 1) + ":" + std::to_string(node.Mark().column + 1);
    }
    throw ConfigError(where + ": " + (key.empty() ? "" : key + ": ") + message);
  }
  std::string where(const YAML::Node& node) const {
    return path_ + ":" + std::to_string(node.Mark().line + 1) + ":" +
           std::to_string(node.Mark().column + 1);
  }

  std::string text(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "expected a text value");
    return node.Scalar();
  }
  double number(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "expected a number");
    try {
      const double value = node.as<double>();
      if (!std::isfinite(value)) fail(node, key, "expected a finite number");
      return value;
    } catch (const YAML::BadConversion&) {
      fail(node, key, "expected a number, got '" + node.Scalar() + "'");
    }
  }
  std::vector<std::string> texts(const YAML::Node& node, const std::string& key) const {
    std::vector<std::string> values;
    if (node.IsScalar()) return {text(node, key)};
    if (!node.IsSequence()) fail(node, key, "expected a text or a list of texts");
    for (size_t i = 0; i < node.size(); ++i) {
      values.push_back(text(node[i], key + "[" + std::to_string(i) + "]"));
    }
    return values;
  }
  std::map<std::string, double> tolerances(const YAML::Node& node, const std::string& key) const {
    if (!node.IsMap())
      fail(node, key, "expected a map of stat key (or prefix) -> relative tolerance");
    std::map<std::string, double> values;
    for (const auto& entry : node) {
      const std::string name = text(entry.first, key);
      const double value = number(entry.second, key + "." + name);
      if (value < 0) fail(entry.second, key + "." + name, "a tolerance must be >= 0");
      values[name] = value;
    }
    return values;
  }
  // A path in the suite, relative to the suite's folder.
  std::string file(const YAML::Node& node, const std::string& key) const {
    const std::string name = text(node, key);
    if (name.empty()) fail(node, key, "empty file name");
    const fs::path resolved =
        fs::path(name).is_absolute() ? fs::path(name) : fs::path(path_).parent_path() / name;
    std::error_code error;
    if (!fs::is_regular_file(resolved, error)) {
      fail(node, key, "no such file: " + resolved.string());
    }
    return resolved.lexically_normal().string();
  }

 private:
  std::string path_;
};

int last_line_of(const YAML::Node& node) {
  int last = node.Mark().line;
  if (node.IsMap()) {
    for (const auto& entry : node) {
      last = std::max({last, last_line_of(entry.first), last_line_of(entry.second)});
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) last = std::max(last, last_line_of(item));
  }
  return last;
}

RegressCase read_case(const SuiteReader& reader, const YAML::Node& node, const std::string& key,
                      const std::map<std::string, double>& suite_tolerance) {
  if (!node.IsMap()) reader.fail(node, key, "a case is a map (name, platform or scenario, ...)");
  RegressCase c;
  c.where = reader.where(node);
  c.tolerance = suite_tolerance;
  c.last_line = last_line_of(node);
  c.expected_column = node.Mark().column;
  static const std::set<std::string> known = {"name",    "platform",   "scenario",
                                              "network", "inferences", "set",
                                              "figures", "tolerance",  "expected"};
  bool named = false, has_input = false;
  std::vector<std::string> extra_figures;
  for (const auto& entry : node) {
    const std::string name = reader.text(entry.first, key);
    const std::string path = key + "." + name;
    const YAML::Node& value = entry.second;
    if (!known.count(name)) {
      reader.fail(entry.first, path,
                  "unknown key (a case has name, platform or scenario, network, inferences, set, "
                  "figures, tolerance, expected)");
    }
    if (name == "name") {
      c.name = reader.text(value, path);
      if (c.name.empty()) reader.fail(value, path, "empty case name");
      named = true;
    } else if (name == "platform" || name == "scenario") {
      if (has_input) reader.fail(entry.first, path, "a case runs one platform or one scenario");
      has_input = true;
      c.scenario = name == "scenario";
      c.input = reader.file(value, path);
    } else if (name == "network") {
      for (size_t i = 0; i < (value.IsSequence() ? value.size() : 1); ++i) {
        const YAML::Node item = value.IsSequence() ? value[i] : value;
        c.networks.push_back(reader.file(item, path));
      }
    } else if (name == "inferences") {
      const double count = reader.number(value, path);
      if (count < 1 || count > 1e6 || count != std::floor(count)) {
        reader.fail(value, path, "expected a whole number from 1 to 1000000");
      }
      c.inferences = static_cast<int>(count);
    } else if (name == "set") {
      if (value.IsMap()) {
        for (const auto& item : value) {
          const std::string set_key = reader.text(item.first, path);
          c.overrides.push_back(set_key + "=" + reader.text(item.second, path + "." + set_key));
        }
      } else {
        for (const auto& text : reader.texts(value, path)) {
          if (text.find('=') == std::string::npos || text.front() == '=') {
            reader.fail(value, path, "expected key.path=value, got '" + text + "'");
          }
          c.overrides.push_back(text);
        }
      }
    } else if (name == "figures") {
      extra_figures = reader.texts(value, path);
    } else if (name == "tolerance") {
      for (const auto& [figure, tolerance] : reader.tolerances(value, path)) {
        c.tolerance[figure] = tolerance;
      }
    } else if (name == "expected") {
      if (!value.IsMap()) reader.fail(value, path, "expected a map of stat key -> figure");
      c.has_expected = true;
      c.expected_line = entry.first.Mark().line;
      c.expected_column = entry.first.Mark().column;
      for (const auto& item : value) {
        const std::string figure = reader.text(item.first, path);
        if (figure == "outputs") {
          const std::string digest = reader.text(item.second, path + ".outputs");
          if (digest.rfind("fnv1a64:", 0) != 0 || digest.size() != 24) {
            reader.fail(item.second, path + ".outputs",
                        "expected fnv1a64:<16 hex digits> (written by --update)");
          }
          c.expected_outputs = digest;
        } else {
          c.expected[figure] = reader.number(item.second, path + "." + figure);
        }
      }
    }
  }
  if (!named) reader.fail(node, key, "a case needs a name");
  if (!has_input)
    reader.fail(node, key + " (" + c.name + ")", "a case needs platform: or scenario:");
  if (c.scenario && (!c.networks.empty() || c.inferences > 0)) {
    reader.fail(node, key + " (" + c.name + ")",
                "network and inferences apply to platform cases (a scenario names its own)");
  }
  c.figures = c.scenario ? kScenarioFigures : kPlatformFigures;
  for (const auto& figure : extra_figures) {
    if (std::find(c.figures.begin(), c.figures.end(), figure) == c.figures.end()) {
      c.figures.push_back(figure);
    }
  }
  return c;
}

}  // namespace

RegressSuite load_regress_suite(const std::string& path) {
  SuiteReader reader(path);
  YAML::Node root;
  try {
    // Only a regular file within the input limit (never /dev/zero, a folder or a huge file).
    std::string text;
    const std::string problem = graph::read_input_file(path, text);
    if (!problem.empty()) throw ConfigError(path + ": " + problem);
    root = YAML::Load(text);
  } catch (const YAML::ParserException& error) {
    throw ConfigError(path + ":" + std::to_string(error.mark.line + 1) + ":" +
                      std::to_string(error.mark.column + 1) + ": invalid YAML: " + error.msg);
  }
  if (!root.IsMap())
    reader.fail(root, "", "a suite is a map with `cases:` (see cimtlm regress --help)");
  RegressSuite suite;
  suite.path = path;
  suite.name = fs::path(path).stem().string();
  std::map<std::string, double> tolerance = kDefaultTolerance;
  YAML::Node cases;
  for (const auto& entry : root) {
    const std::string name = reader.text(entry.first, "");
    if (name == "suite") {
      suite.name = reader.text(entry.second, name);
    } else if (name == "tolerance") {
      for (const auto& [figure, value] : reader.tolerances(entry.second, name))
        tolerance[figure] = value;
    } else if (name == "cases") {
      cases = entry.second;
    } else {
      reader.fail(entry.first, name, "unknown key (a suite has suite, tolerance, cases)");
    }
  }
  if (!cases || !cases.IsSequence() || cases.size() == 0) {
    reader.fail(cases ? cases : root, "cases", "expected a non-empty list of cases");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string key = "cases[" + std::to_string(i) + "]";
    RegressCase c = read_case(reader, cases[i], key, tolerance);
    if (!names.insert(c.name).second) {
      reader.fail(cases[i]["name"], key + ".name", "duplicate case name '" + c.name + "'");
    }
    suite.cases.push_back(std::move(c));
  }
  return suite;
}

std::string format_figure(double value) {
  char text[64];
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.17g", value);
  }
  return text;
}

std::string updated_suite_text(const std::string& text, const RegressSuite& suite,
                               const std::map<std::string, std::map<std::string, double>>& figures,
                               const std::map<std::string, std::string>& digests) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  auto indent_of = [](const std::string& line) {
    const size_t first = line.find_first_not_of(' ');
    return first == std::string::npos ? std::string::npos : first;
  };
  // From the last case to the first, so that earlier line numbers stay valid.
  for (auto c = suite.cases.rbegin(); c != suite.cases.rend(); ++c) {
    const auto found = figures.find(c->name);
    if (found == figures.end()) continue;
    const std::string pad(static_cast<size_t>(c->expected_column), ' ');
    std::vector<std::string> block = {pad + "expected:"};
    for (const auto& figure : c->figures) {
      const auto value = found->second.find(figure);
      if (value != found->second.end()) {
        block.push_back(pad + "  " + figure + ": " + format_figure(value->second));
      }
    }
    const auto digest = digests.find(c->name);
    if (digest != digests.end()) block.push_back(pad + "  outputs: " + digest->second);
    size_t begin = 0, end = 0;
    if (c->expected_line >= 0) {
      // The block runs to the last line indented deeper than its key.
      begin = static_cast<size_t>(c->expected_line);
      end = begin + 1;
      size_t last_content = begin;
      while (end < lines.size()) {
        const size_t indent = indent_of(lines[end]);
        if (indent != std::string::npos && indent <= static_cast<size_t>(c->expected_column)) break;
        if (indent != std::string::npos) last_content = end;
        ++end;
      }
      end = last_content + 1;
    } else {
      begin = end = std::min(lines.size(), static_cast<size_t>(c->last_line) + 1);
    }
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(begin),
                lines.begin() + static_cast<std::ptrdiff_t>(end));
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(begin), block.begin(), block.end());
  }
  std::string result;
  for (const auto& line : lines) result += line + "\n";
  return result;
}

}  // namespace cimtlm::platforms::cli
