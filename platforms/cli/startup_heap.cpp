// Before main, SystemC's static constructors allocate a 3 MiB byte heap (sc_core::sc_temp_heap)
// with new[] and memset it: 768 page faults, each a trap into the hypervisor on the machines this
// runs on (half of `cimtlm --version`'s time in a profile). The executable's operator new[]
// interposes the library's, and while static initialization runs, a large array is faulted in by
// one madvise(MADV_POPULATE_WRITE) instead of page by page. After that (sc_main calls
// static_initialization_done()) new[] is the plain one, so that large arrays allocated later
// still get their pages lazily. Sanitizer builds keep their own allocator.
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
#include <cstdlib>
#include <new>

#include "models/kernel/prefault.h"
#endif

namespace cimtlm::platforms::cli {
namespace {
// Constant-initialized, so it is true before any dynamic initializer runs.
bool static_initialization = true;
}  // namespace

void static_initialization_done() {
  static_initialization = false;
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
