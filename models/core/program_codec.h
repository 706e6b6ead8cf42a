// A Program (models/core/program.h) as bytes in memory, so that a core started through its
// control registers (core_controller.h, README "Control/status registers") fetches its program
// like any processor: the host or another platform writes encode(program) at PROGRAM_BASE.
//
// Format (little-endian host order, version 1): "CIMP", u32 version, u32 prologue count, u32
// body count, then each command as a u8 variant index followed by its fields in declaration
// order; strings and vectors as a u64 count then the elements, optional tables (shared_ptr) as a
// u8 presence flag then the vector. Memory images are not part of it (they are already in memory).
// KernelOp cannot be encoded: its arithmetic is host code (encode throws std::invalid_argument).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/program.h"

namespace cimtlm::core {

// A malformed program image; the message names the byte offset and what was wrong.
class ProgramFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<uint8_t> encode_program(const Program& program);
// Throws ProgramFormatError on a truncated or malformed image (never reads past `bytes`).
Program decode_program(const uint8_t* data, uint64_t bytes);

}  // namespace cimtlm::core
