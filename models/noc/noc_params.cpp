#include "models/noc/noc_params.h"

#include <sstream>

namespace cimtlm::noc {

int NocParams::flits_for_payload(long long payload_bytes) const {
  if (payload_bytes <= 0 || flit_bits <= 0) return 1;
  const long long bits = payload_bytes * 8;
  return static_cast<int>((bits + flit_bits - 1) / flit_bits);
}

namespace {

std::string bad(const std::string& field, const std::string& why) {
  return "noc." + field + ": " + why;
}

template <typename T>
std::string at_least(const std::string& field, T value, T minimum) {
  if (value >= minimum) return "";
  std::ostringstream message;
  message << "must be >= " << minimum << " (got " << value << ")";
  return bad(field, message.str());
}

}  // namespace

std::string NocParams::validate() const {
  if (model != "cycle" && model != "reservation") {
    return bad("model", "must be \"cycle\" or \"reservation\" (got \"" + model + "\")");
  }
  if (topology != "mesh" && topology != "torus") {
    return bad("topology", "must be \"mesh\" or \"torus\" (got \"" + topology + "\")");
  }
  // Large enough for any realistic chip, small enough that per-router arrays stay bounded.
  constexpr int kMaxRouters = 1 << 16;
  for (const auto& check : {at_least("rows", rows, 1), at_least("cols", cols, 1),
                            at_least("concentration", concentration, 1),
                            at_least("vcs", vcs, 1),
                            at_least("vc_buffer_flits", vc_buffer_flits, 1),
                            at_least("flit_bits", flit_bits, 1),
                            at_least("routing_cycles", routing_cycles, 0),
                            at_least("vc_allocation_cycles", vc_allocation_cycles, 1),
                            at_least("switch_allocation_cycles", switch_allocation_cycles, 1),
                            at_least("switch_traversal_cycles", switch_traversal_cycles, 1),
                            at_least("link_cycles", link_cycles, 1),
                            at_least("credit_delay_cycles", credit_delay_cycles, 0),
                            at_least("max_packet_payload_bytes", max_packet_payload_bytes, 1)}) {
    if (!check.empty()) return check;
  }
  if (static_cast<long long>(rows) * cols > kMaxRouters) {
    return bad("rows", "rows x cols must not exceed 65536 routers");
  }
  if (concentration > 32) return bad("concentration", "must be <= 32");
  if (vcs > 64) return bad("vcs", "must be <= 64");
  if (vc_buffer_flits > 1024) return bad("vc_buffer_flits", "must be <= 1024");
  for (const auto& stage :
       {std::make_pair("routing_cycles", routing_cycles),
        std::make_pair("vc_allocation_cycles", vc_allocation_cycles),
        std::make_pair("switch_allocation_cycles", switch_allocation_cycles),
        std::make_pair("switch_traversal_cycles", switch_traversal_cycles),
        std::make_pair("link_cycles", link_cycles),
        std::make_pair("credit_delay_cycles", credit_delay_cycles)}) {
    if (stage.second > 64) return bad(stage.first, "must be <= 64 cycles");
  }
  if (routing != "xy" && routing != "west_first" && routing != "odd_even") {
    return bad("routing", "must be \"xy\", \"west_first\" or \"odd_even\" (got \"" + routing + "\")");
  }
  if (topology == "torus") {
    if (routing != "xy") {
      return bad("routing", "\"" + routing + "\" is a mesh turn model; a torus needs \"xy\"");
    }
    if (vcs < 2) {
      return bad("vcs", "a torus needs >= 2 VCs (two dateline classes avoid ring deadlock)");
    }
  }
  for (const auto& energy : {std::make_pair("buffer_energy_pj_per_flit", buffer_energy_pj_per_flit),
                             std::make_pair("crossbar_energy_pj_per_flit", crossbar_energy_pj_per_flit),
                             std::make_pair("link_energy_pj_per_flit", link_energy_pj_per_flit),
                             std::make_pair("router_leakage_mw", router_leakage_mw)}) {
    if (!(energy.second >= 0.0)) return bad(energy.first, "must be >= 0");
  }
  return "";
}

}  // namespace cimtlm::noc
