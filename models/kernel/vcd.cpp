#include "models/kernel/vcd.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <utility>

#include "models/kernel/text_file.h"

namespace cimtlm::kernel {

VcdTrace::VcdTrace() = default;
VcdTrace::~VcdTrace() = default;

namespace {

// VCD identifier codes: printable ASCII 33..126, base 94.
std::string identifier_code(size_t index) {
  std::string code;
  do {
    code.push_back(static_cast<char>(33 + index % 94));
    index /= 94;
  } while (index > 0);
  return code;
}

// Sorts changes by time_ps, keeping the recording order of equal times: an LSD radix sort on
// 11-bit digits (stable by construction), skipping the digits every change shares. A comparison
// sort took half of write_vcd's instructions.
template <typename TimedChange>
void stable_sort_by_time(std::vector<TimedChange>& changes) {
  constexpr int kDigitBits = 11;
  constexpr uint64_t kDigitMask = (uint64_t{1} << kDigitBits) - 1;
  if (changes.size() < 2) return;
  uint64_t latest = 0;
  for (const auto& change : changes) latest = std::max(latest, change.time_ps);
  std::vector<TimedChange> scratch;
  scratch.reserve(changes.size());
  prefault(scratch.data(), changes.size() * sizeof(TimedChange));
  scratch.resize(changes.size());
  std::vector<size_t> offset(kDigitMask + 1);
  for (int shift = 0; shift < 64 && (latest >> shift) != 0; shift += kDigitBits) {
    std::fill(offset.begin(), offset.end(), 0);
    for (const auto& change : changes) ++offset[(change.time_ps >> shift) & kDigitMask];
    if (offset[(changes.front().time_ps >> shift) & kDigitMask] == changes.size()) continue;
    size_t start = 0;
    for (auto& count : offset) start += std::exchange(count, start);
    for (const auto& change : changes)
      scratch[offset[(change.time_ps >> shift) & kDigitMask]++] = change;
    changes.swap(scratch);
  }
}

uint64_t width_mask(unsigned width) {
  return width == 64 ? ~0ULL : ((1ULL << width) - 1);
}

std::string gtkw_name(const std::vector<std::string>& scope, const std::string& name,
                      unsigned width) {
  std::string path = "cimtlm";
  for (const auto& part : scope) path += "." + part;
  path += "." + name;
  if (width > 1) path += "[" + std::to_string(width - 1) + ":0]";
  return path;
}

}  // namespace

VcdSignal* VcdTrace::add_signal(const std::vector<std::string>& scope, const std::string& name,
                                unsigned width, uint64_t initial_value, const std::string& group) {
  if (width == 0 || width > 64) throw std::invalid_argument("VCD signal width must be 1..64");
  const auto index = static_cast<uint32_t>(signals_.size());
  std::string group_name = group;
  if (group_name.empty()) {
    for (size_t part = scope.size() > 1 ? 1 : 0; part < scope.size(); ++part) {
      group_name += (group_name.empty() ? "" : ".") + scope[part];
    }
    if (group_name.empty()) group_name = "top";
  }
  signals_.push_back({scope, name, group_name, width, initial_value, identifier_code(index)});
  handles_.push_back(std::unique_ptr<VcdSignal>(new VcdSignal(this, index, width)));
  return handles_.back().get();
}

bool VcdTrace::write_vcd(const std::string& path) const {
  TextFile out(path);
  if (!out.ok()) return false;
  out.put("$date cimtlm $end\n$version cimtlm VCD writer $end\n$timescale 1 ps $end\n");

  // Scopes as a tree, in declaration order, so that GTKWave shows the module hierarchy.
  struct ScopeNode {
    std::vector<std::pair<std::string, std::unique_ptr<ScopeNode>>> children;
    std::vector<size_t> signals;
    ScopeNode* child(const std::string& name) {
      for (auto& entry : children) {
        if (entry.first == name) return entry.second.get();
      }
      children.emplace_back(name, std::make_unique<ScopeNode>());
      return children.back().second.get();
    }
  };
  ScopeNode root;
  for (size_t index = 0; index < signals_.size(); ++index) {
    ScopeNode* node = &root;
    for (const auto& part : signals_[index].scope) node = node->child(part);
    node->signals.push_back(index);
  }
  auto emit = [&](auto& self, const ScopeNode& node, const std::string& name) -> void {
    out.put("$scope module ");
    out.put(name);
    out.put(" $end\n");
    for (size_t index : node.signals) {
      const auto& signal = signals_[index];
      out.put("$var wire ");
      out.decimal(signal.width);
      out.put(' ');
      out.put(signal.code);
      out.put(' ');
      out.put(signal.name);
      if (signal.width > 1) {
        out.put(" [");
        out.decimal(signal.width - 1);
        out.put(":0]");
      }
      out.put(" $end\n");
      out.flush_if_full();
    }
    for (const auto& entry : node.children) self(self, *entry.second, entry.first);
    out.put("$upscope $end\n");
  };
  emit(emit, root, "cimtlm");
  out.put("$enddefinitions $end\n");

  auto write_value = [&](const Declaration& signal, uint64_t value) {
    if (signal.width == 1) {
      out.put(static_cast<char>('0' + (value & 1U)));
    } else {
      out.put('b');
      out.binary(value & width_mask(signal.width));
      out.put(' ');
    }
    out.put(signal.code);
    out.put('\n');
    out.flush_if_full();
  };

  std::vector<uint64_t> current(signals_.size());
  out.put("#0\n$dumpvars\n");
  for (size_t index = 0; index < signals_.size(); ++index) {
    current[index] = signals_[index].initial_value;
    write_value(signals_[index], current[index]);
  }
  out.put("$end\n");

  std::vector<Change> sorted;
  sorted.reserve(change_count_);
  prefault(sorted.data(), change_count_ * sizeof(Change));
  for (size_t index = 0; index < change_count_; ++index) sorted.push_back(change(index));
  // Stable: changes at the same time stay in recording order (the last one of a signal wins).
  stable_sort_by_time(sorted);
  // Within one timestamp the last change of a signal wins; unchanged values are not written.
  size_t begin = 0;
  std::vector<uint64_t> pending(signals_.size());
  std::vector<uint32_t> touched;
  std::vector<bool> is_touched(signals_.size(), false);
  while (begin < sorted.size()) {
    const uint64_t time = sorted[begin].time_ps;
    size_t end = begin;
    touched.clear();
    for (; end < sorted.size() && sorted[end].time_ps == time; ++end) {
      const auto& change = sorted[end];
      if (!is_touched[change.signal]) {
        is_touched[change.signal] = true;
        touched.push_back(change.signal);
      }
      pending[change.signal] = change.value;
    }
    std::sort(touched.begin(), touched.end());
    bool stamped = false;
    for (uint32_t signal : touched) {
      is_touched[signal] = false;
      const uint64_t value = pending[signal] & width_mask(signals_[signal].width);
      if (value == current[signal]) continue;
      if (!stamped) {
        out.put('#');
        out.decimal(time);
        out.put('\n');
        stamped = true;
      }
      current[signal] = value;
      write_value(signals_[signal], value);
    }
    begin = end;
  }
  return out.close();
}

bool VcdTrace::write_gtkw(const std::string& path, const std::string& vcd_path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return false;
  out << "[*] GTKWave save file written by cimtlm: signals grouped by core and block\n";
  out << "[dumpfile] \"" << vcd_path << "\"\n";
  out << "[timestart] 0\n[size] 1600 900\n[pos] -1 -1\n[sst_width] 260\n[signals_width] 300\n";
  out << "[sst_expanded] 1\n[sst_vpaned_height] 200\n";
  // Zoom so that the whole run fills the wave pane (GTKWave's zoom is a log2 scale; the offset
  // was calibrated on GTKWave 3.3 with the [size] above).
  uint64_t end_ps = 1;
  for (size_t index = 0; index < change_count_; ++index) {
    end_ps = std::max(end_ps, change(index).time_ps);
  }
  char zoom[64];
  std::snprintf(zoom, sizeof zoom, "*%.6f 0",
                -std::log2(static_cast<double>(end_ps) / 1200.0) - 7.9);
  out << zoom;
  for (int marker = 0; marker < 26; ++marker) out << " -1";
  out << '\n';
  // Groups in order of first appearance; single-bit signals in binary, buses in decimal.
  std::vector<std::string> group_order;
  std::map<std::string, std::vector<size_t>> members;
  for (size_t index = 0; index < signals_.size(); ++index) {
    const auto& group = signals_[index].group;
    if (members.find(group) == members.end()) group_order.push_back(group);
    members[group].push_back(index);
  }
  for (const auto& group : group_order) {
    // Groups of more than a few signals (memory banks, NoC links) start collapsed, so that the
    // first screen shows every block of every core.
    out << (members[group].size() > 4 ? "@c00200\n-" : "@800200\n-") << group << '\n';
    for (size_t index : members[group]) {
      const auto& signal = signals_[index];
      out << (signal.width == 1 ? "@28\n" : "@24\n");
      out << gtkw_name(signal.scope, signal.name, signal.width) << '\n';
    }
    out << "@1000200\n-" << group << '\n';
  }
  out.flush();
  return static_cast<bool>(out);
}

std::vector<std::string> scope_of(const std::string& hierarchical_name) {
  std::vector<std::string> scope;
  std::string part;
  for (char c : hierarchical_name) {
    if (c == '.') {
      if (!part.empty()) scope.push_back(part);
      part.clear();
    } else {
      part.push_back(c);
    }
  }
  if (!part.empty()) scope.push_back(part);
  return scope;
}

}  // namespace cimtlm::kernel
