// Provenance of a payload: the tensor it carries and the tensors it was derived from, as small
// integer ids the platform assigns (docs/recsys.md). Carried by value in a TLM extension, so a
// block bound through its sockets alone can check it; no host pointers, no names.
#pragma once

#include <array>
#include <cstdint>
#include <tlm>

namespace cimtlm::link {

using TensorId = uint16_t;

class ProvenanceExtension : public tlm::tlm_extension<ProvenanceExtension> {
 public:
  // Enough for a tensor derived from a handful of inputs; a payload derived from more is a
  // modelling error the platform reports (add_source returns false).
  static constexpr int kMaxSources = 8;

  TensorId tensor = 0;  // what the payload carries

  bool add_source(TensorId source) {
    if (derived_from(source)) return true;
    if (source_count_ >= kMaxSources) return false;
    sources_[static_cast<size_t>(source_count_++)] = source;
    return true;
  }
  bool derived_from(TensorId source) const {
    for (int k = 0; k < source_count_; ++k) {
      if (sources_[static_cast<size_t>(k)] == source) return true;
    }
    return false;
  }
  int source_count() const { return source_count_; }
  TensorId source(int k) const { return sources_.at(static_cast<size_t>(k)); }

  tlm::tlm_extension_base* clone() const override { return new ProvenanceExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const ProvenanceExtension&>(other);
  }

 private:
  std::array<TensorId, kMaxSources> sources_{};
  int source_count_ = 0;
};

}  // namespace cimtlm::link
