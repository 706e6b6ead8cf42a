// Before main, SystemC's static constructors allocate a 3 MiB byte heap (sc_core::sc_temp_heap)
// with new[] and memset it: 768 page faults, each a trap into the hypervisor on the machines this
// runs on (half of `cimtlm --version`'s time in a profile). The executable's operator new[]
// interposes the library's, and while static initialization runs, a large array is faulted in by
// one madvise(MADV_POPULATE_WRITE) instead of page by page. After that (sc_main calls
// static_initialization_done()) new[] is the plain one, so that large arrays allocated later
// still get their pages lazily. Then the heap is tuned for the simulation (tune_heap, below).
// Sanitizer builds keep their own allocator.
#include "platforms/cli/startup_heap.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIMTLM_OWN_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CIMTLM_OWN_ALLOCATOR 1
#endif

#ifndef CIMTLM_OWN_ALLOCATOR
#include <malloc.h>

#include <cstdlib>
#include <new>

#include "models/kernel/prefault.h"
#endif

namespace cimtlm::platforms::cli {
namespace {
// Constant-initialized, so it is true before any dynamic initializer runs.
bool static_initialization = true;
}  // namespace

#ifndef CIMTLM_OWN_ALLOCATOR
namespace {
// The malloc heap, set once for a simulator's pattern: buffers of 128 KiB to a few MiB (im2col
// blocks, accumulators, transfer and tile images) allocated and freed on every layer of every
// inference.
// - Below 32 MiB they come from the heap and are reused. glibc's default maps each one from
//   the kernel (128 KiB threshold, raised only by the size of the freed block) and unmaps it on
//   free, so every inference faulted the same pages in again: ResNet-18 at 224x224 on 4 cores,
//   2 inferences, took 47,100 page faults, 35,900 after (CPU time -15 to -25 %, same peak RSS).
// - The first 2 MiB of heap (a tiny network's whole run uses about 2.2 MiB) are faulted in by one
//   madvise: 1,004 faults -> 535 for the 3-layer MLP's whole run.
// M_TRIM_THRESHOLD at twice the mapping threshold is what glibc's dynamic rule would set.
void tune_heap() {
  constexpr int kMapFrom = 32 << 20;  // glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
  mallopt(M_MMAP_THRESHOLD, kMapFrom);
  mallopt(M_TRIM_THRESHOLD, 2 * kMapFrom);
  constexpr std::size_t kPrefault = std::size_t{2} << 20;
  void* block = std::malloc(kPrefault);
  if (!block) return;
  kernel::prefault(block, kPrefault);
  std::free(block);  // back to the top of the heap, below the trim threshold: kept
}
}  // namespace
#endif

void static_initialization_done() {
  static_initialization = false;
#ifndef CIMTLM_OWN_ALLOCATOR
  tune_heap();
#endif
}

#ifndef CIMTLM_OWN_ALLOCATOR
namespace {
void* allocate_array(std::size_t size) {
  void* memory = std::malloc(size ? size : 1);
  if (!memory) throw std::bad_alloc();
  constexpr std::size_t kPrefaultFrom = std::size_t{1} << 20;
  if (static_initialization && size >= kPrefaultFrom) kernel::prefault(memory, size);
  return memory;
}
}  // namespace
#endif

}  // namespace cimtlm::platforms::cli

#ifndef CIMTLM_OWN_ALLOCATOR
void* operator new[](std::size_t size) {
  return cimtlm::platforms::cli::allocate_array(size);
}
void operator delete[](void* memory) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, std::size_t) noexcept {
  std::free(memory);
}
#endif
