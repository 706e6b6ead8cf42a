#include "models/arith/arith_device.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "models/core/program_codec.h"
#include "models/kernel/hex.h"
#include "models/kernel/overloaded.h"
#include "models/kernel/vcd.h"

namespace cimtlm::arith {

namespace {

// A rejected transaction: the response status and the reason in the descriptor's message.
class Rejected : public std::runtime_error {
 public:
  Rejected(tlm::tlm_response_status status, const std::string& what)
      : std::runtime_error(what), status(status) {}
  tlm::tlm_response_status status;
};

void need(bool condition, tlm::tlm_response_status status, const char* what) {
  if (!condition) throw Rejected(status, what);
}
// The same with a message built only on failure (several checks run per transaction).
template <typename Message, typename = std::enable_if_t<std::is_invocable_v<const Message&>>>
void need(bool condition, tlm::tlm_response_status status, const Message& what) {
  if (!condition) throw Rejected(status, what());
}

// The next operand of `bytes` bytes from `offset` in the payload's `total` bytes of data.
const uint8_t* operand(const uint8_t* data, uint64_t& offset, uint64_t bytes, uint64_t total) {
  need(offset + bytes <= total, tlm::TLM_BURST_ERROR_RESPONSE,
       [&] { return "operands of " + std::to_string(total) + " bytes, more expected"; });
  const uint8_t* at = data + offset;
  offset += bytes;
  return at;
}

void set_message(ArithCommand& command, const std::string& text) {
  const size_t length = std::min(text.size(), command.message.size() - 1);
  std::memcpy(command.message.data(), text.data(), length);
  command.message[length] = '\0';
}

}  // namespace

std::vector<std::shared_ptr<const core::ArithKernel>> kernel_table(const core::Program& program) {
  std::vector<std::shared_ptr<const core::ArithKernel>> table;
  std::unordered_map<const core::ArithKernel*, size_t> seen;
  for (const auto* commands : {&program.prologue, &program.body}) {
    for (const core::Command& command : *commands) {
      const auto* op = std::get_if<core::KernelOp>(&command);
      if (op == nullptr || op->kernel == nullptr) continue;
      if (seen.emplace(op->kernel.get(), table.size()).second) table.push_back(op->kernel);
    }
  }
  return table;
}

ArithDevice::ArithDevice(const sc_core::sc_module_name& name, const ArithParams& params,
                         const kernel::Clock& clock, kernel::StatGroup& stats,
                         kernel::VcdTrace* trace)
    : sc_module(name), clock_(clock) {
  unit_ = std::make_unique<ArithUnit>(params, stats, trace, kernel::scope_of(this->name()));
  target.register_b_transport(this, &ArithDevice::b_transport);
  target.register_transport_dbg(this, &ArithDevice::transport_dbg);
}

void ArithDevice::install_kernels(const core::Program& program) {
  kernels_ = kernel_table(program);
}

void ArithDevice::write_parameters(uint64_t offset, const uint8_t* data, uint64_t bytes) {
  Parameters entry;
  try {
    entry.command = core::decode_command(data, bytes, entry.kernel_slot);
  } catch (const core::ProgramFormatError& error) {
    throw Rejected(tlm::TLM_GENERIC_ERROR_RESPONSE,
                   "parameters at " + std::to_string(offset) + ": " + error.what());
  }
  parameters_.insert_or_assign(offset, std::move(entry));
}

uint64_t ArithDevice::run(uint64_t parameters, const uint8_t* data, uint64_t bytes) {
  const auto found = parameters_.find(parameters);
  need(found != parameters_.end(), tlm::TLM_COMMAND_ERROR_RESPONSE,
       [&] { return "no command at parameter offset " + std::to_string(parameters); });
  Parameters& entry = found->second;
  uint64_t offset = 0;
  auto next = [&](const core::TensorRef& tensor) {
    return operand(data, offset, tensor.bytes(), bytes);
  };
  const uint64_t cycles = std::visit(
      kernel::Overloaded{
          [&](const core::Requantize& c) {
            return unit_->requantize(c, requantize_column_major(c), result_);
          },
          [&](const core::Lookup& c) { return unit_->lookup(c, next(c.input), result_); },
          [&](const core::Eltwise& c) {
            const uint8_t* a = next(c.a);
            return unit_->eltwise(c, a, next(c.b), result_);
          },
          [&](const core::Pool& c) { return unit_->pool(c, next(c.input), result_); },
          [&](const core::Softmax& c) { return unit_->softmax(c, next(c.input), result_); },
          [&](const core::Quantize& c) { return unit_->quantize(c, next(c.input), result_); },
          [&](const core::Dequantize& c) { return unit_->dequantize(c, next(c.input), result_); },
          [&](const core::Gather& c) {
            const uint8_t* table = next(c.table);
            return unit_->gather(c, table, next(c.indices), result_);
          },
          [&](const core::KernelOp& c) {
            need(entry.kernel_slot < kernels_.size(), tlm::TLM_COMMAND_ERROR_RESPONSE, [&] {
              return "kernel op of layer '" + c.layer + "': no kernel in slot " +
                     std::to_string(entry.kernel_slot) + " (" + std::to_string(kernels_.size()) +
                     " installed)";
            });
            inputs_.clear();
            for (const auto& input : c.inputs) inputs_.push_back(next(input));
            // The decoded op takes its kernel from the table (installed before or after the
            // parameters were written).
            auto& op = std::get<core::KernelOp>(entry.command);
            op.kernel = kernels_[entry.kernel_slot];
            const uint64_t op_cycles = unit_->kernel_op(op, inputs_, outputs_);
            result_.clear();
            for (const auto& output : outputs_) {
              result_.insert(result_.end(), output.begin(), output.end());
            }
            return op_cycles;
          },
          [&](const auto&) -> uint64_t {
            throw Rejected(tlm::TLM_COMMAND_ERROR_RESPONSE,
                           "the command at parameter offset " + std::to_string(parameters) +
                               " is not an arithmetic-unit command");
          },
      },
      entry.command);
  need(offset == bytes, tlm::TLM_BURST_ERROR_RESPONSE, [&] {
    return std::to_string(bytes) + " bytes of operands, " + std::to_string(offset) + " expected";
  });
  return cycles;
}

uint64_t ArithDevice::accumulate(const ArithCommand& c, const uint8_t* data, uint64_t bytes) {
  need(c.vectors > 0 && c.cols > 0 && c.stride >= c.cols && c.column_offset >= 0 && c.bits >= 2 &&
           c.bits <= 32 && c.shift >= 0 && c.shift < 32,
       tlm::TLM_GENERIC_ERROR_RESPONSE, "an accumulation with invalid geometry");
  need(bytes == static_cast<uint64_t>(c.vectors * c.cols) * sizeof(int32_t),
       tlm::TLM_BURST_ERROR_RESPONSE, [&] {
         return std::to_string(bytes) + " bytes of partial sums for " + std::to_string(c.vectors) +
                " x " + std::to_string(c.cols);
       });
  int32_t* accumulators = nullptr;
  try {
    accumulators = unit_->accumulators(
        c.accumulator, static_cast<uint64_t>((c.vectors - 1) * c.stride + c.column_offset + c.cols),
        c.bits);
  } catch (const std::out_of_range& error) {
    throw Rejected(tlm::TLM_ADDRESS_ERROR_RESPONSE, error.what());
  }
  // The partial sums as int32 (the payload's bytes need not be aligned).
  const auto count = static_cast<size_t>(c.vectors * c.cols);
  const int32_t* partials = reinterpret_cast<const int32_t*>(data);
  std::vector<int32_t> aligned;
  if (reinterpret_cast<uintptr_t>(data) % alignof(int32_t) != 0) {
    aligned.resize(count);
    std::memcpy(aligned.data(), data, bytes);
    partials = aligned.data();
  }
  const bool add = (c.flags & map::kAdd) != 0;
  if (c.shift > 0 || c.bits < 32) {
    return unit_->accumulate_rescaled(partials, c.vectors, c.cols, accumulators + c.column_offset,
                                      c.stride, c.shift, c.bits, add);
  }
  return unit_->accumulate(partials, c.vectors, c.cols, accumulators + c.column_offset, c.stride,
                           add);
}

void ArithDevice::b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
  auto* extension = payload.get_extension<ArithCommandExtension>();
  try {
    need(payload.get_byte_enable_ptr() == nullptr, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE,
         "byte enables are not supported");
    need(payload.get_streaming_width() >= payload.get_data_length(), tlm::TLM_BURST_ERROR_RESPONSE,
         "streaming is not supported");
    const uint64_t address = payload.get_address();
    const uint64_t window = address / map::kWindowBytes * map::kWindowBytes;
    const uint64_t offset = address - window;
    const uint64_t bytes = payload.get_data_length();
    const uint8_t* data = payload.get_data_ptr();
    const bool is_write = payload.is_write();
    need(is_write || payload.is_read(), tlm::TLM_COMMAND_ERROR_RESPONSE,
         "neither a read nor a write");
    need(bytes == 0 || data != nullptr, tlm::TLM_GENERIC_ERROR_RESPONSE, "no data");
    uint64_t cycles = 0;
    if (window == map::kParameters && is_write) {
      write_parameters(offset, data, bytes);
    } else if (window == map::kResult && !is_write) {
      need(offset <= result_.size() && bytes <= result_.size() - offset,
           tlm::TLM_BURST_ERROR_RESPONSE, [&] {
             return "a read of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                    " of a " + std::to_string(result_.size()) + "-byte result";
           });
      if (bytes > 0) std::memcpy(payload.get_data_ptr(), result_.data() + offset, bytes);
    } else if ((window == map::kOperands || window == map::kAccumulate) && is_write) {
      need(offset == 0, tlm::TLM_ADDRESS_ERROR_RESPONSE, "operands start at their window");
      need(extension != nullptr, tlm::TLM_COMMAND_ERROR_RESPONSE,
           "a command needs its descriptor (ArithCommandExtension)");
      const ArithCommand& command = extension->command;
      if (window == map::kOperands) {
        need(command.opcode == map::kRun, tlm::TLM_COMMAND_ERROR_RESPONSE,
             "operands need a run descriptor");
        cycles = run(command.parameters, data, bytes);
      } else {
        need(command.opcode == map::kAccumulateSums, tlm::TLM_COMMAND_ERROR_RESPONSE,
             "partial sums need an accumulate descriptor");
        cycles = accumulate(command, data, bytes);
      }
    } else {
      throw Rejected(tlm::TLM_ADDRESS_ERROR_RESPONSE, std::string(is_write ? "a write" : "a read") +
                                                          " at 0x" + kernel::hex(address) +
                                                          " (no such window)");
    }
    if (cycles > 0) {
      // The unit starts at the transaction's time and is busy for its cycles.
      const sc_core::sc_time start = sc_core::sc_time_stamp() + delay;
      delay += clock_.cycles(cycles);
      unit_->trace_busy(kernel::to_ps(start), kernel::to_ps(sc_core::sc_time_stamp() + delay));
    }
    payload.set_response_status(tlm::TLM_OK_RESPONSE);
  } catch (const Rejected& rejected) {
    payload.set_response_status(rejected.status);
    if (extension) set_message(extension->command, rejected.what());
  } catch (const std::exception& failure) {
    // The datapath refused the command (a compiler defect: a table of the wrong size, a kernel
    // that produced the wrong output).
    payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    if (extension) set_message(extension->command, failure.what());
  }
}

unsigned int ArithDevice::transport_dbg(tlm::tlm_generic_payload& payload) {
  // Parameters are preloaded with the program (untimed, like memory images); the result may be
  // inspected.
  const uint64_t address = payload.get_address();
  const uint64_t bytes = payload.get_data_length();
  if (payload.get_data_ptr() == nullptr) return 0;
  if (payload.is_write() && address < map::kWindowBytes) {
    try {
      write_parameters(address, payload.get_data_ptr(), bytes);
    } catch (const Rejected&) {
      return 0;
    }
    return static_cast<unsigned int>(bytes);
  }
  if (payload.is_read() && address >= map::kResult && address < map::kResult + map::kWindowBytes) {
    const uint64_t offset = address - map::kResult;
    if (offset >= result_.size()) return 0;
    const uint64_t count = std::min<uint64_t>(bytes, result_.size() - offset);
    std::memcpy(payload.get_data_ptr(), result_.data() + offset, count);
    return static_cast<unsigned int>(count);
  }
  return 0;
}

}  // namespace cimtlm::arith
