// Golden regression suites (`cimtlm regress SUITE.yaml`): the suite file, read with the line
// and column of every key so that a bad suite names file, line and key path (exit 2).
//
//   suite: NAME                     # optional
//   tolerance: {sim.cycles: 0, energy_pj: 1e-9}   # optional: relative, by stat key or prefix
//   cases:
//     - name: default               # unique
//       platform: PLATFORM.yaml     # or  scenario: SCENARIO.yaml  (paths relative to the suite)
//       network: [NET.onnx]         # optional (platform cases): replaces workload.networks
//       inferences: 2               # optional (platform cases)
//       set: {core.cim.adc_bits: 6} # optional --set overrides
//       figures: [cim.macs]         # optional stat keys tracked besides the default ones
//       tolerance: {...}            # optional, overrides the suite's per key
//       expected:                   # written by --update
//         sim.cycles: 123456
//         energy_pj.total: 1.5e6
//         outputs: fnv1a64:0123456789abcdef
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cimtlm::platforms::cli {

struct RegressCase {
  std::string name;
  bool scenario = false;
  std::string input;  // the platform or scenario file, as a path usable from the current directory
  std::vector<std::string> networks;
  std::vector<std::string> overrides;       // key=value
  int inferences = 0;                       // 0: the platform's
  std::vector<std::string> figures;         // tracked stat keys (defaults plus the case's own)
  std::map<std::string, double> tolerance;  // stat key or prefix -> relative tolerance
  bool has_expected = false;
  std::map<std::string, double> expected;
  std::optional<std::string> expected_outputs;  // digest of the output tensors
  // Where the case is in the file (0-based lines), for --update.
  int expected_line = -1;   // the `expected:` key, or -1
  int expected_column = 0;  // its column (also the column of the case's keys)
  int last_line = 0;        // the case's last line
  std::string where;        // "file:line:col" of the case
};

struct RegressSuite {
  std::string path;
  std::string name;
  std::vector<RegressCase> cases;
};

// Reads and checks a suite; throws ConfigError naming file, line, column and key path.
RegressSuite load_regress_suite(const std::string& path);

// The suite file with the expected figures of `cases` replaced (or added) by `figures` (stat key
// -> value) and `digests` (case -> output digest, when it has outputs).
std::string updated_suite_text(const std::string& text, const RegressSuite& suite,
                               const std::map<std::string, std::map<std::string, double>>& figures,
                               const std::map<std::string, std::string>& digests);

// A figure as the suite writes it: integers exactly, other numbers with 17 significant digits.
std::string format_figure(double value);

}  // namespace cimtlm::platforms::cli
