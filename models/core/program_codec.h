// A Program (models/core/program.h) as bytes in memory, so that a core started through its
// control registers (core_controller.h, README "Control/status registers") fetches its program
// like any processor: the host or another platform writes encode(program) at PROGRAM_BASE.
//
// Format (little-endian host order, version 1): "CIMP", u32 version, u32 prologue count, u32
// body count, then each command as a u8 variant index followed by its fields in declaration
// order; strings and vectors as a u64 count then the elements, optional tables (shared_ptr) as a
// u8 presence flag then the vector. Memory images are not part of it (they are already in memory).
// KernelOp cannot be encoded in a program image: its arithmetic is host code (encode throws
// std::invalid_argument). One command alone (encode_command) is the arithmetic unit's parameter
// format (models/arith/arith_map.h): there a kernel op names its kernel by a slot in the unit's
// kernel table.
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

// One command: its variant index, then its fields as in a program image; a KernelOp with
// `kernel_slot` instead of its kernel.
std::vector<uint8_t> encode_command(const Command& command, uint32_t kernel_slot = 0);
// Throws ProgramFormatError as decode_program does; a KernelOp comes back without its kernel,
// the slot in `kernel_slot`.
Command decode_command(const uint8_t* data, uint64_t bytes, uint32_t& kernel_slot);

}  // namespace cimtlm::core
