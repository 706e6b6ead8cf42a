// The contract between an initiator (a core's controller, a CPU, a DMA) and a CIM macro: the
// macro's memory map on its TLM-2.0 target socket. Data travel in generic payloads (address,
// length, data pointer); the only extension, CimCommandExtension, carries a command descriptor
// by value (no pointers, no code), so the macro works through its socket alone.
//
//   kRegisters     32-bit little-endian registers (Register below)
//   kWeightWindow  rows x cols 8-bit weight codes, row-major (write)
//   kZeroPoints    cols int32 weight zero points, one per logical column (write)
//   kInputBuffer   vectors x rows 8-bit input codes, row-major (write)
//   kOutputBuffer  vectors x cols int32 partial sums, row-major (read)
//
// Register use (a CPU or DMA): write the weights and zero points, set kRows, kCols, kWeightBits,
// kFlags, write kCommandLoadWeights to kCommand; write inputs, set kVectors, kInputZeroPoint,
// kInputBits, kFlags, write kCommandCompute to kCommand; read kStatus and the output buffer.
// A write to kCommand runs the job to completion: its annotated delay ends when the job does
// (loosely timed), and kCycles holds the job's cycles.
//
// Fast path (the core controller): a write to kWeightWindow or kInputBuffer carrying a
// CimCommandExtension sets the registers from the descriptor and runs the job on the payload's
// data directly, one transaction per job.
#pragma once

#include <cstdint>
#include <tlm>
#include <type_traits>

namespace cimtlm::cim {

namespace map {
constexpr uint64_t kRegisters = 0x0000'0000;
constexpr uint64_t kWeightWindow = 0x1000'0000;
constexpr uint64_t kZeroPoints = 0x1800'0000;
constexpr uint64_t kInputBuffer = 0x2000'0000;
constexpr uint64_t kOutputBuffer = 0x3000'0000;
constexpr uint64_t kWindowBytes = 0x0800'0000;  // the size of each buffer window (128 MiB)

// Register offsets in kRegisters (4 bytes each).
enum Register : uint64_t {
  kRows = 0x00,            // tile rows (input elements)
  kCols = 0x04,            // tile logical columns (outputs per vector)
  kWeightBits = 0x08,      // bits used by the weights, 1..8
  kFlags = 0x0C,           // kWeightsSigned | kInputsSigned | kAccumulate
  kVectors = 0x10,         // input vectors in the input buffer
  kInputZeroPoint = 0x14,  // int32
  kInputBits = 0x18,       // bits of the inputs applied bit-serially, 1..8
  kCommand = 0x1C,         // write: kCommandLoadWeights or kCommandCompute starts the job
  kStatus = 0x20,          // read: kStatusIdle, kStatusDone or kStatusError
  kCycles = 0x24,          // read: cycles of the last job (low 32 bits)
  kCyclesHigh = 0x28,      // read: high 32 bits
  kRegisterBytes = 0x2C,
};
enum Flag : uint32_t { kWeightsSigned = 1, kInputsSigned = 2, kAccumulate = 4 };
enum Command : uint32_t { kCommandLoadWeights = 1, kCommandCompute = 2 };
enum Status : uint32_t { kStatusIdle = 0, kStatusDone = 1, kStatusError = 2 };
}  // namespace map

// The registers of one job, by value.
struct CimCommand {
  uint32_t command = map::kCommandCompute;
  uint32_t flags = 0;
  int64_t rows = 0, cols = 0;    // LoadWeights
  int32_t weight_bits = 8;       // LoadWeights
  int64_t vectors = 0;           // Compute
  int32_t input_zero_point = 0;  // Compute
  int32_t input_bits = 8;        // Compute
};
static_assert(std::is_trivially_copyable_v<CimCommand>, "a descriptor is plain data");

class CimCommandExtension : public tlm::tlm_extension<CimCommandExtension> {
 public:
  CimCommand command;

  tlm::tlm_extension_base* clone() const override {
    auto* copy = new CimCommandExtension;
    copy->command = command;
    return copy;
  }
  void copy_from(const tlm::tlm_extension_base& other) override {
    command = static_cast<const CimCommandExtension&>(other).command;
  }
};

}  // namespace cimtlm::cim
