// Small helpers on raw 8-bit codes shared by the macro model's files (internal to models/cim).
#pragma once

#include <array>
#include <cstdint>

namespace cimtlm::cim::codes {

// Raw 8-bit code as an integer.
inline int32_t decode(const uint8_t* codes, int64_t index, bool is_signed) {
  return is_signed ? static_cast<int32_t>(static_cast<int8_t>(codes[index]))
                   : static_cast<int32_t>(codes[index]);
}

// Bits set in an 8-bit code (the baseline ISA has no POPCNT instruction).
constexpr std::array<uint8_t, 256> bits_in_byte_table() {
  std::array<uint8_t, 256> table{};
  for (int code = 0; code < 256; ++code) {
    for (int bit = 0; bit < 8; ++bit)
      table[code] = static_cast<uint8_t>(table[code] + ((code >> bit) & 1));
  }
  return table;
}
inline constexpr std::array<uint8_t, 256> kBitsInByte = bits_in_byte_table();

}  // namespace cimtlm::cim::codes
