// Before main, SystemC's static constructors allocate a 3 MiB byte heap (sc_core::sc_temp_heap)
// with new[] and memset it: 768 page faults, each a trap into the hypervisor on the machines this
// runs on (half of `cimtlm --version`'s time in a profile). The executable's operator new[]
// interposes the library's, and while static initialization runs, a large array is placed on
// whole 2 MiB pages backed by transparent huge pages (two faults instead of 768). After that
// (sc_main calls static_initialization_done()) new[] is the plain one, so that large arrays
// allocated later still get their pages lazily. Then the heap is tuned for the simulation
// (tune_heap, below). Sanitizer builds keep their own allocator.
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

#include <cstdint>
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
// - The heap's first GiB of address space is taken from the kernel up front and backed by
//   transparent huge pages (kernel::advise_huge_pages): on the virtual machines this runs on,
//   the first touch of every 4 KiB page is a trap into the hypervisor (~25 us), even after an
//   madvise(MADV_POPULATE_WRITE) prefault, and a 2 MiB page costs about what eight 4 KiB ones
//   do. Only touched pages become resident, so the reservation costs address space, not memory.
// - M_TRIM_THRESHOLD above that reservation keeps it: glibc would otherwise give the top of the
//   heap back at the next free and fault it in again.
void tune_heap() {
  constexpr int kMapFrom = 32 << 20;  // glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
  constexpr std::size_t kHugeHeap = std::size_t{1} << 30;
  mallopt(M_MMAP_THRESHOLD, kMapFrom);
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * kHugeHeap - 1));
  // Blocks below the mapping threshold come from the top of the heap, one after the other.
  constexpr std::size_t kBlock = std::size_t{kMapFrom} - (std::size_t{1} << 20);
  constexpr std::size_t kBlocks = kHugeHeap / kBlock + 1;
  void* blocks[kBlocks];
  std::size_t count = 0;
  while (count < kBlocks && (blocks[count] = std::malloc(kBlock)) != nullptr) ++count;
  if (count == 0) return;
  const auto first = reinterpret_cast<std::uintptr_t>(blocks[0]);
  const auto last = reinterpret_cast<std::uintptr_t>(blocks[count - 1]);
  if (last > first && last - first < 2 * kHugeHeap) {  // one stretch of heap
    kernel::advise_huge_pages(blocks[0], last + kBlock - first);
  } else {
    for (std::size_t i = 0; i < count; ++i) kernel::advise_huge_pages(blocks[i], kBlock);
  }
  // Below its first 2 MiB boundary the heap stays on 4 KiB pages: those are faulted in at once.
  const std::uintptr_t boundary = (first + kernel::kHugePage - 1) & ~(kernel::kHugePage - 1);
  kernel::prefault(blocks[0], boundary - first);
  while (count > 0) std::free(blocks[--count]);  // back to the top of the heap: kept
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
  constexpr std::size_t kHugeFrom = std::size_t{1} << 20;
  if (static_initialization && size >= kHugeFrom) {
    // Whole 2 MiB pages: aligned_alloc's block is freed by free() like any other.
    const std::size_t rounded = (size + kernel::kHugePage - 1) & ~(kernel::kHugePage - 1);
    if (void* memory = std::aligned_alloc(kernel::kHugePage, rounded)) {
      kernel::advise_huge_pages(memory, rounded);
      return memory;
    }
  }
  void* memory = std::malloc(size ? size : 1);
  if (!memory) throw std::bad_alloc();
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
