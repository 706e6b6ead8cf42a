// Provenance of a payload: the tensor it carries and the tensors it was derived from, as small
// integer ids the platform assigns (docs/recsys.md). Carried by value in a TLM extension, so a
// block bound through its sockets alone can check it; no host pointers, no names.
#pragma once

#include <array>
#include <cstdint>
#include <tlm>

namespace cimtlm::link {

using TensorId = uint16_t;

// The data, by value (plain: testbenches/unit/kernel/test_extensions.cpp checks it). Fill it
// through ProvenanceExtension::add_source.
struct Provenance {
  // Enough for a tensor derived from a handful of inputs; a payload derived from more is a
  // modelling error the platform reports (add_source returns false).
  static constexpr int kMaxSources = 8;

  TensorId tensor = 0;  // what the payload carries
  std::array<TensorId, kMaxSources> source_ids{};
  int sources_used = 0;
};

class ProvenanceExtension : public tlm::tlm_extension<ProvenanceExtension>, public Provenance {
 public:
  bool add_source(TensorId source) {
    if (derived_from(source)) return true;
    if (sources_used >= kMaxSources) return false;
    source_ids[static_cast<size_t>(sources_used++)] = source;
    return true;
  }
  bool derived_from(TensorId source) const {
    for (int k = 0; k < sources_used; ++k) {
      if (source_ids[static_cast<size_t>(k)] == source) return true;
    }
    return false;
  }
  int source_count() const { return sources_used; }
  TensorId source(int k) const { return source_ids.at(static_cast<size_t>(k)); }

  tlm::tlm_extension_base* clone() const override { return new ProvenanceExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    static_cast<Provenance&>(*this) = static_cast<const ProvenanceExtension&>(other);
  }
};

}  // namespace cimtlm::link
