#include "models/core/dmi_cache.h"

#include <algorithm>

namespace cimtlm::core {

namespace {

bool overlaps(uint64_t start, uint64_t end, uint64_t other_start, uint64_t other_end) {
  return start <= other_end && other_start <= end;
}

bool allows(const tlm::tlm_dmi& dmi, bool write) {
  return write ? dmi.is_write_allowed() : dmi.is_read_allowed();
}

}  // namespace

const tlm::tlm_dmi* DmiCache::find(bool write, uint64_t begin, uint64_t end) const {
  for (const tlm::tlm_dmi& region : regions_) {
    if (begin >= region.get_start_address() && end <= region.get_end_address() &&
        allows(region, write)) {
      return &region;
    }
  }
  return nullptr;
}

bool DmiCache::denied(bool write, uint64_t address) const {
  return std::any_of(denials_.begin(), denials_.end(), [&](const Denial& denial) {
    return denial.write == write && address >= denial.start && address <= denial.end;
  });
}

void DmiCache::record(bool write, uint64_t address, bool granted, const tlm::tlm_dmi& dmi) {
  const uint64_t start = dmi.get_start_address(), end = dmi.get_end_address();
  const bool holds_address = address >= start && address <= end;
  if (granted && holds_address && dmi.get_dmi_ptr() != nullptr &&
      dmi.get_granted_access() != tlm::tlm_dmi::DMI_ACCESS_NONE) {
    regions_.erase(std::remove_if(regions_.begin(), regions_.end(),
                                  [&](const tlm::tlm_dmi& region) {
                                    return overlaps(start, end, region.get_start_address(),
                                                    region.get_end_address());
                                  }),
                   regions_.end());
    regions_.push_back(dmi);
    if (allows(dmi, write)) return;
  }
  // A target that names a range without the address (or grants nothing usable) is taken to
  // deny that address only.
  denials_.push_back(holds_address ? Denial{start, end, write} : Denial{address, address, write});
}

void DmiCache::invalidate(uint64_t start, uint64_t end) {
  regions_.erase(std::remove_if(regions_.begin(), regions_.end(),
                                [&](const tlm::tlm_dmi& region) {
                                  return overlaps(start, end, region.get_start_address(),
                                                  region.get_end_address());
                                }),
                 regions_.end());
  denials_.erase(std::remove_if(denials_.begin(), denials_.end(),
                                [&](const Denial& denial) {
                                  return overlaps(start, end, denial.start, denial.end);
                                }),
                 denials_.end());
}

void DmiCache::hinted(uint64_t address) {
  denials_.erase(std::remove_if(denials_.begin(), denials_.end(),
                                [&](const Denial& denial) {
                                  return address >= denial.start && address <= denial.end;
                                }),
                 denials_.end());
}

}  // namespace cimtlm::core
