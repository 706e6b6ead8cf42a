// What an LT initiator remembers of a target's direct memory interface (TLM-2.0 DMI, as in the
// Accellera lt_dmi example and qbox): the regions granted, with their pointers, access and
// latencies, and the ranges denied, so that get_direct_mem_ptr is asked once per region and not
// on every access. Plain C++: the initiator asks, records the answer and forwards the target's
// invalidate_direct_mem_ptr here.
#pragma once

#include <cstdint>
#include <tlm>
#include <vector>

namespace cimtlm::core {

class DmiCache {
 public:
  // A granted region holding all of [begin, end] with write (or read) access, else nullptr.
  const tlm::tlm_dmi* find(bool write, uint64_t begin, uint64_t end) const;
  // True when the target denied this access at `address` and has not allowed it since: the
  // initiator does not ask again.
  bool denied(bool write, uint64_t address) const;
  // The target's answer to a get_direct_mem_ptr for a read (write) at `address`. A grant
  // replaces the regions it overlaps; a grant without the access asked for (read-only for a
  // write) is kept for reads and denies writes over its range; a denial covers the range the
  // target gave (only `address` when that range does not hold it).
  void record(bool write, uint64_t address, bool granted, const tlm::tlm_dmi& dmi);
  // invalidate_direct_mem_ptr: forget regions and denials overlapping [start, end] (the target
  // changed its mind about that range).
  void invalidate(uint64_t start, uint64_t end);
  // A transaction at `address` came back with the DMI hint set: the denials holding the address
  // (for reads and writes: the hint is the address's, not the command's) no longer hold.
  void hinted(uint64_t address);

  size_t regions() const { return regions_.size(); }

 private:
  struct Denial {
    uint64_t start, end;
    bool write;
  };
  std::vector<tlm::tlm_dmi> regions_;
  std::vector<Denial> denials_;
};

}  // namespace cimtlm::core
