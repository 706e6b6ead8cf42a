// A network link between two platforms (client and server of docs/recsys.md) as a TLM channel:
// payloads arrive on `target`, are serialised at the link's bandwidth one after another (a
// reservation, so back-to-back payloads queue), travel the link's latency and leave on
// `initiator` with the delay annotated. Energy is per byte (the radio's figure, both ends).
//
// Privacy as a checked property: every payload carries a ProvenanceExtension. A payload derived
// from a private source (the user's raw features) may cross only when the tensor it carries is
// one the link releases (the behaviour prediction vector); anything else, or a payload without
// provenance, is a violation: counted, reported, and under policy `enforce` refused
// (TLM_GENERIC_ERROR_RESPONSE, nothing sent). Policy `audit` forwards it and counts the leaked
// bytes (the raw-feature baseline, marked as leaking in the report).
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/kernel/stats.h"
#include "models/link/provenance.h"

namespace cimtlm::link {

enum class PrivacyPolicy { Enforce, Audit };

struct LinkParams {
  double bandwidth_bps = 10e6;      // bits per second of payload (after coding)
  double latency_s = 20e-3;         // one-way latency (propagation, scheduling, core network)
  double energy_pj_per_byte = 0.0;  // radio energy of both ends per byte carried
  uint64_t header_bytes = 0;        // protocol overhead per payload (counted in bytes and time)
  PrivacyPolicy privacy = PrivacyPolicy::Enforce;
  std::vector<TensorId> private_sources;  // tensors that must not leave
  std::vector<TensorId> released;         // derived tensors that may leave all the same

  // Throws std::invalid_argument naming the bad field.
  void validate() const;
};

// One refused or leaked payload.
struct PrivacyViolation {
  sc_core::sc_time time;
  TensorId tensor = 0;
  bool has_provenance = true;
  TensorId private_source = 0;
  bool refused = false;
};

class Link : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Link> target{"target"};
  tlm_utils::simple_initiator_socket<Link> initiator{"initiator"};

  Link(const sc_core::sc_module_name& name, const LinkParams& params, kernel::StatGroup& stats);

  const LinkParams& params() const { return params_; }
  const std::vector<PrivacyViolation>& violations() const { return violations_; }
  // Bytes a payload of `data_bytes` occupies on the link (with its header).
  uint64_t wire_bytes(uint64_t data_bytes) const { return data_bytes + params_.header_bytes; }
  // Serialisation time of `wire` bytes at the link's bandwidth.
  sc_core::sc_time serialisation(uint64_t wire) const;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  // The private source a payload may not carry (true with `source` set) or none (false).
  bool violates(const ProvenanceExtension* provenance, TensorId& source) const;

  LinkParams params_;
  sc_core::sc_time free_at_;  // the link is busy serialising until then
  std::vector<PrivacyViolation> violations_;

  uint64_t& payloads_;
  uint64_t& bytes_;
  uint64_t& violations_count_;
  uint64_t& refused_;
  uint64_t& leaked_bytes_;
  double& energy_pj_;
  double& busy_ns_;
  double& queue_wait_ns_;
};

}  // namespace cimtlm::link
