#include "models/link/link.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cimtlm::link {

void LinkParams::validate() const {
  if (!(bandwidth_bps > 0.0) || !std::isfinite(bandwidth_bps)) {
    throw std::invalid_argument("bandwidth_bps must be positive");
  }
  if (!(latency_s >= 0.0) || !std::isfinite(latency_s)) {
    throw std::invalid_argument("latency_s must be >= 0");
  }
  if (!(energy_pj_per_byte >= 0.0) || !std::isfinite(energy_pj_per_byte)) {
    throw std::invalid_argument("energy_pj_per_byte must be >= 0");
  }
}

Link::Link(const sc_core::sc_module_name& name, const LinkParams& params, kernel::StatGroup& stats)
    : sc_module(name),
      params_(params),
      payloads_(stats.count("payloads", "payloads delivered")),
      bytes_(stats.count("bytes", "bytes delivered, headers included")),
      violations_count_(stats.count("private_payload_violations",
                                    "payloads derived from private tensors (or without "
                                    "provenance) that are not released tensors")),
      refused_(stats.count("refused_payloads", "violating payloads refused (policy enforce)")),
      leaked_bytes_(stats.count("leaked_bytes", "bytes of violating payloads let through (audit)")),
      energy_pj_(stats.energy_pj("energy_pj", kernel::EnergyCategory::None,
                                 "radio energy of the bytes delivered (both ends)")),
      busy_ns_(stats.time_ns("busy_ns", "time spent serialising payloads")),
      queue_wait_ns_(stats.time_ns("queue_wait_ns", "time payloads waited for the link")) {
  params_.validate();
  target.register_b_transport(this, &Link::b_transport);
}

sc_core::sc_time Link::serialisation(uint64_t wire) const {
  // Picosecond resolution, rounded up: a byte never takes zero time.
  const double ps = std::ceil(static_cast<double>(wire) * 8.0 / params_.bandwidth_bps * 1e12);
  return sc_core::sc_time(ps, sc_core::SC_PS);
}

bool Link::violates(const ProvenanceExtension* provenance, TensorId& source) const {
  if (!provenance) return true;
  if (std::find(params_.released.begin(), params_.released.end(), provenance->tensor) !=
      params_.released.end()) {
    return false;
  }
  for (TensorId candidate : params_.private_sources) {
    if (provenance->tensor == candidate || provenance->derived_from(candidate)) {
      source = candidate;
      return true;
    }
  }
  return false;
}

void Link::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const auto* provenance = trans.get_extension<ProvenanceExtension>();
  TensorId source = 0;
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  if (violates(provenance, source)) {
    ++violations_count_;
    PrivacyViolation violation;
    violation.time = now + delay;
    violation.has_provenance = provenance != nullptr;
    violation.tensor = provenance ? provenance->tensor : 0;
    violation.private_source = source;
    violation.refused = params_.privacy == PrivacyPolicy::Enforce;
    violations_.push_back(violation);
    if (violation.refused) {
      ++refused_;
      trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      return;
    }
    leaked_bytes_ += wire_bytes(trans.get_data_length());
  }
  const uint64_t wire = wire_bytes(trans.get_data_length());
  const sc_core::sc_time ready = now + delay;
  const sc_core::sc_time start = std::max(ready, free_at_);
  const sc_core::sc_time serialised = serialisation(wire);
  free_at_ = start + serialised;
  queue_wait_ns_ += (start - ready).to_seconds() * 1e9;
  busy_ns_ += serialised.to_seconds() * 1e9;
  ++payloads_;
  bytes_ += wire;
  energy_pj_ += static_cast<double>(wire) * params_.energy_pj_per_byte;
  sc_core::sc_time arrival =
      free_at_ + sc_core::sc_time(params_.latency_s * 1e12, sc_core::SC_PS) - now;
  initiator->b_transport(trans, arrival);
  delay = arrival;
}

}  // namespace cimtlm::link
