// An address or value in hexadecimal (no prefix) for error messages: "0x" + hex(address).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace cimtlm::kernel {

inline std::string hex(uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace cimtlm::kernel
