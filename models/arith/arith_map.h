// The contract between an initiator (a core's controller, a CPU, a DMA) and the arithmetic unit:
// the unit's memory map on its TLM-2.0 target socket (ArithDevice). Data travel in generic
// payloads (address, length, data pointer); the only extension, ArithCommandExtension, carries a
// descriptor by value (no pointers, no code).
//
//   kParameters   parameter memory: each command's encoding (program_codec.h, encode_command) is
//                 written at its own offset before the command runs (the unit's tables:
//                 requantization multipliers and biases, lookup and exponent tables, scales)
//   kOperands     a write with a kRun descriptor runs the command whose parameters are at
//                 `parameters`: the data are its operands one after another (first operand, then
//                 the second; a kernel op's inputs in order), each as long as its tensor
//   kAccumulate   a write with a kAccumulate descriptor adds (or stores) vectors x cols int32
//                 partial sums into the accumulator memory, rescaled when the descriptor says so
//   kResult       read: the last command's result (a kernel op's outputs one after another)
//
// A run or an accumulation completes within its transaction: the annotated delay grows by the
// unit's cycles (loosely timed), and the unit is traced busy over them. Kernel ops (float
// islands, activation x activation products) run kernels from the unit's kernel table, which the
// platform installs like microcode (ArithDevice::install_kernels): host code never travels in a
// payload; the encoded op names its kernel by slot (kernel_table below).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <tlm>
#include <type_traits>
#include <vector>

#include "models/core/program.h"

namespace cimtlm::arith {

namespace map {
constexpr uint64_t kParameters = 0x0000'0000;
constexpr uint64_t kOperands = 0x1000'0000;
constexpr uint64_t kAccumulate = 0x2000'0000;
constexpr uint64_t kResult = 0x3000'0000;
constexpr uint64_t kWindowBytes = 0x1000'0000;  // the size of each window (256 MiB)

enum Opcode : uint32_t { kRun = 1, kAccumulateSums = 2 };
enum Flag : uint32_t { kAdd = 1 };  // kAccumulateSums: add to the accumulators (else store)
}  // namespace map

// One command's descriptor, by value. `message` is the unit's answer when it rejects the command
// (a NUL-terminated reason, like a status register's error text).
struct ArithCommand {
  uint32_t opcode = map::kRun;
  uint32_t flags = 0;
  uint64_t parameters = 0;   // kRun: offset of the command's encoding in parameter memory
  uint64_t accumulator = 0;  // kAccumulateSums: first accumulator entry
  int64_t vectors = 0, cols = 0, stride = 0, column_offset = 0;
  int32_t shift = 0;  // rescale by 2^-shift (round half to even)
  int32_t bits = 32;  // accumulator width (saturating below 32)
  std::array<char, 160> message{};
};
static_assert(std::is_trivially_copyable_v<ArithCommand>, "a descriptor is plain data");

class ArithCommandExtension : public tlm::tlm_extension<ArithCommandExtension> {
 public:
  ArithCommand command;

  tlm::tlm_extension_base* clone() const override {
    auto* copy = new ArithCommandExtension;
    copy->command = command;
    return copy;
  }
  void copy_from(const tlm::tlm_extension_base& other) override {
    command = static_cast<const ArithCommandExtension&>(other).command;
  }
};

// The kernels of a program's kernel ops in slot order: each distinct kernel once, in the order
// of its first use (prologue, then body). The platform installs this table in the unit, and an
// initiator encodes each kernel op with its kernel's slot in it.
std::vector<std::shared_ptr<const core::ArithKernel>> kernel_table(const core::Program& program);

// Whether a requantization's results are ordered [column][vector] (runs along vectors, NCHW
// layouts) rather than [vector][column].
inline bool requantize_column_major(const core::Requantize& command) {
  return command.out_column_stride != 1 && command.out_vector_stride == 1;
}

}  // namespace cimtlm::arith
