// Shared set-up of the libFuzzer targets (issue 16). A target feeds one input to one reader and
// accepts exactly the errors that reader promises for bad input (ConfigError, graph::ModelError):
// any other exception escapes and libFuzzer reports it as a crash, like a signal, a sanitizer
// finding, a leak, a timeout or an allocation above -rss_limit_mb.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

namespace cimtlm::fuzz {

// Budgets small enough that a shape the checks let through cannot exhaust the fuzzer's memory
// limit (-rss_limit_mb=2048): what passes is cheap, what is refused is the limit at work.
inline void set_small_budgets() {
  setenv("CIMTLM_MEMORY_BUDGET", "64M", 1);
  setenv("CIMTLM_MAX_INPUT_BYTES", "1M", 1);
}

inline std::string text_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace cimtlm::fuzz
