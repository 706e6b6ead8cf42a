#include "models/core/core_controller.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "models/core/controller_internal.h"
#include "models/core/program_codec.h"
#include "models/kernel/hex.h"
#include "models/kernel/overloaded.h"
#include "models/noc/noc.h"

namespace cimtlm::core {

using internal::kAccumulatorSpace;
using internal::layer_of;
using internal::max_time;
using kernel::hex;
using kernel::Overloaded;

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

namespace {

// Largest program image a start fetches (a corrupt length must not exhaust host memory).
constexpr uint64_t kMaxProgramBytes = uint64_t{1} << 28;

// One transaction on `socket` at absolute time `at`, with `descriptor` by value in an Extension
// when given; returns the completion time. On an error response `on_error(payload, extension)`
// throws the caller's message.
template <typename Extension, typename Descriptor, typename Socket, typename OnError>
sc_time transport_at(Socket& socket, kernel::PayloadPool& pool, tlm::tlm_command command,
                     uint64_t address, uint8_t* data, uint64_t bytes, const Descriptor* descriptor,
                     const sc_time& at, const OnError& on_error) {
  Extension extension;
  kernel::PayloadPool::Payload pooled(pool);
  tlm::tlm_generic_payload& payload = *pooled;
  kernel::prepare(payload, command, address, data, bytes);
  if (descriptor) {
    extension.command = *descriptor;
    payload.set_extension(&extension);
  }
  const sc_time now = sc_core::sc_time_stamp();
  sc_time delay = at > now ? at - now : SC_ZERO_TIME;
  socket->b_transport(payload, delay);
  if (descriptor) payload.clear_extension(&extension);
  if (payload.is_response_error()) on_error(payload, extension);
  return sc_core::sc_time_stamp() + delay;
}

}  // namespace

CoreServices& no_services() {
  static CoreServices ignoring;
  return ignoring;
}

CoreController::CoreController(const sc_core::sc_module_name& name, int core_id,
                               const CoreParams& params, const kernel::Clock& clock,
                               CoreServices& services, kernel::StatGroup& stats,
                               kernel::VcdTrace* trace)
    : sc_module(name),
      core_id_(core_id),
      params_(params),
      clock_(clock),
      services_(services),
      macro_free_(static_cast<size_t>(params.macros), SC_ZERO_TIME),
      commands_(stats.count("commands", "commands executed")),
      inferences_done_(stats.count("inferences", "inferences completed")),
      bytes_read_(stats.count("bytes_read", "bytes read from the memory hierarchy")),
      bytes_written_(stats.count("bytes_written", "bytes written to the memory hierarchy")),
      bytes_sent_(stats.count("bytes_sent", "bytes sent over the NoC")),
      receive_wait_ns_(stats.time_ns("receive_wait_ns", "time waiting for data from other cores")),
      busy_ns_(stats.time_ns("busy_ns", "time from the first command to the last completion")),
      dmi_reads_(stats.count("dmi_reads", "memory reads served by DMI (per transfer chunk)")),
      dmi_writes_(stats.count("dmi_writes", "memory writes served by DMI (per transfer chunk)")) {
  network_in.register_b_transport(this, &CoreController::network_in_transport);
  memory.register_invalidate_direct_mem_ptr(this, &CoreController::invalidate_direct_mem_ptr);
  control.register_b_transport(this, &CoreController::control_transport);
  for (int macro = 0; macro < params.macros; ++macro) {
    cim.push_back(std::make_unique<tlm_utils::simple_initiator_socket<CoreController>>(
        ("cim" + std::to_string(macro)).c_str()));
  }
  if (trace) {
    const auto scope = kernel::scope_of(this->name());
    busy_trace_ = kernel::BusyTracer(trace->add_signal(scope, "busy", 1));
    inference_signal_ = trace->add_signal(scope, "inference", 16);
  }
  // A thread spawned during elaboration: the IEEE 1666-2023 way without SC_HAS_PROCESS.
  sc_core::sc_spawn_options options;
  sc_core::sc_spawn([this] { run(); }, "controller", &options);
}

void CoreController::load(Program program, int inferences) {
  program_ = std::move(program);
  inferences_ = inferences;
  loaded_ = true;
}

void CoreController::run() {
  if (loaded_) run_program();
  for (;;) {
    wait(start_event_);
    done_irq.write(false);
    status_ = regs::kStatusBusy;
    error_code_ = 0;
    error_.clear();
    finished_ = false;
    quantum_keeper_.reset();
    issue_time_ = sc_core::sc_time_stamp();
    // Fetch the program through the memory socket (timed like any read), then decode it.
    std::vector<uint8_t> image(program_bytes_);
    try {
      issue_time_ = read(program_base_, image.data(), image.size(), issue_time_);
      program_ = decode_program(image.data(), image.size());
      inferences_ = static_cast<int>(start_inferences_);
    } catch (const std::exception& failure) {
      error_ = "core " + std::to_string(core_id_) + ": program at 0x" + hex(program_base_) + ": " +
               failure.what();
      error_code_ = 1;
      program_ = Program{};
      inferences_ = 0;
    }
    run_program();
    status_ = regs::kStatusDone | (error_.empty() ? 0 : regs::kStatusError);
    if (!error_.empty() && error_code_ == 0) error_code_ = 2;
    done_irq.write(true);
  }
}

void CoreController::control_transport(tlm::tlm_generic_payload& payload, sc_time& delay) {
  (void)delay;  // registers answer at once
  const uint64_t address = payload.get_address();
  const unsigned length = payload.get_data_length();
  if ((length != 4 && length != 8) || address % 8 != 0 || address + 8 > regs::kSize ||
      payload.get_byte_enable_ptr() != nullptr || payload.get_streaming_width() < length) {
    payload.set_response_status(length == 4 || length == 8 ? tlm::TLM_ADDRESS_ERROR_RESPONSE
                                                           : tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  uint64_t value = 0;
  if (payload.is_write()) {
    std::memcpy(&value, payload.get_data_ptr(), length);
    switch (address) {
      case regs::kProgramBase:
        program_base_ = value;
        break;
      case regs::kProgramBytes:
        if (value > kMaxProgramBytes) {
          payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
          return;
        }
        program_bytes_ = value;
        break;
      case regs::kInferences:
        if (value > 1000000) {
          payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
          return;
        }
        start_inferences_ = value;
        break;
      case regs::kControl:
        if ((value & 1) != 0 && (status_ & regs::kStatusBusy) == 0) {
          status_ = regs::kStatusBusy;
          start_event_.notify(SC_ZERO_TIME);
        }
        break;
      case regs::kStatus:
        status_ &= ~(value & (regs::kStatusDone | regs::kStatusError));
        if ((status_ & regs::kStatusDone) == 0) done_irq.write(false);
        break;
      default:
        payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);  // read-only
        return;
    }
  } else if (payload.is_read()) {
    switch (address) {
      case regs::kProgramBase:
        value = program_base_;
        break;
      case regs::kProgramBytes:
        value = program_bytes_;
        break;
      case regs::kInferences:
        value = start_inferences_;
        break;
      case regs::kControl:
        value = 0;
        break;
      case regs::kStatus:
        value = status_;
        break;
      case regs::kError:
        value = error_code_;
        break;
      case regs::kCommands:
        value = commands_;
        break;
      case regs::kInferencesDone:
        value = inferences_done_;
        break;
      case regs::kFinishCycle:
        value = clock_.to_cycles(finish_time_);
        break;
      default:
        break;
    }
    std::memcpy(payload.get_data_ptr(), &value, length);
  } else {
    payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  payload.set_response_status(tlm::TLM_OK_RESPONSE);
}

void CoreController::run_program() {
  quantum_keeper_.reset();
  issue_time_ = max_time(issue_time_, sc_core::sc_time_stamp());
  try {
    install_arith_parameters();
    execute(program_.prologue, -1);
    // Inferences start every inference_interval (0: back to back); in between the core idles.
    const sc_time first_start = max_time(issue_time_, horizon_);
    for (int inference = 0; inference < inferences_; ++inference) {
      issue_time_ = max_time(
          issue_time_, first_start + params_.inference_interval * static_cast<double>(inference));
      execute(program_.body, inference);
    }
  } catch (const std::exception& failure) {
    error_ = "core " + std::to_string(core_id_) + ": " + failure.what();
  }
  finish_time_ = max_time(issue_time_, horizon_);
  busy_ns_ = kernel::to_ns(finish_time_);
  busy_trace_.flush();
  sync_to(finish_time_);
  finished_ = true;
}

void CoreController::sync_to(const sc_time& at) {
  const sc_time now = sc_core::sc_time_stamp();
  if (at > now) wait(at - now);
  quantum_keeper_.reset();
}

void CoreController::execute(const std::vector<Command>& commands, int inference) {
  for (const Command& command : commands) {
    execute(command, inference);
    ++commands_;
    // Keep the local timeline within one quantum of the kernel.
    const sc_time now = sc_core::sc_time_stamp();
    quantum_keeper_.set(issue_time_ > now ? issue_time_ - now : SC_ZERO_TIME);
    if (quantum_keeper_.need_sync()) sync_to(issue_time_);
  }
}

void CoreController::execute(const Command& command, int inference) {
  current_command_ = &command;
  issue_time_ += clock_.cycles(params_.command_cycles);
  command_begin_ = command_end_ = sc_core::SC_ZERO_TIME;
  services_.command_issued(core_id_, layer_of(command));
  std::visit(Overloaded{
                 [&](const LoadWeights& c) { load_weights(c); },
                 [&](const CimMatmul& c) { cim_matmul(c); },
                 [&](const Requantize& c) { requantize(c); },
                 [&](const Lookup& c) { lookup(c); },
                 [&](const Eltwise& c) { eltwise(c); },
                 [&](const Pool& c) { pool(c); },
                 [&](const Softmax& c) { softmax(c); },
                 [&](const Quantize& c) { quantize(c); },
                 [&](const Dequantize& c) { dequantize(c); },
                 [&](const Copy& c) { copy(c); },
                 [&](const Gather& c) { gather(c); },
                 [&](const KernelOp& c) { kernel_op(c); },
                 [&](const Send& c) { send(c); },
                 [&](const Receive& c) { receive(c); },
                 [&](const PowerGate& c) { power_gate(c); },
                 [&](const InferenceDone&) {
                   // An inference is done when everything it issued has completed.
                   issue_time_ = max_time(issue_time_, horizon_);
                   ++inferences_done_;
                   if (inference_signal_) {
                     inference_signal_->set(kernel::to_ps(issue_time_),
                                            static_cast<uint64_t>(inference + 1));
                   }
                   services_.inference_done(core_id_, inference, issue_time_);
                 },
             },
             command);
  services_.command_done(core_id_, layer_of(command), command_begin_, command_end_);
}

// ---------------------------------------------------------------------------------------------
// Timeline

sc_time& CoreController::unit_free(Unit unit, int macro) {
  switch (unit) {
    case Unit::Dma:
      return dma_read_free_;
    case Unit::Arith:
      return arith_free_;
    case Unit::Macro:
      return macro_free_.at(static_cast<size_t>(macro));
  }
  return arith_free_;
}

sc_time CoreController::ready_time(Addr begin, uint64_t bytes) const {
  return scoreboard_.ready_time(begin, bytes);
}

void CoreController::mark_written(Addr begin, uint64_t bytes, const sc_time& ready) {
  scoreboard_.mark_written(begin, bytes, ready, issue_time_);
}

sc_time CoreController::start_time(std::initializer_list<std::pair<Addr, uint64_t>> reads,
                                   Unit unit, int macro) const {
  sc_time start = issue_time_;
  for (const auto& read_range : reads)
    start = max_time(start, ready_time(read_range.first, read_range.second));
  if (!params_.double_buffering) return max_time(start, horizon_);
  // Two buffers per unit: the third command waits for the first to complete.
  const int key = unit == Unit::Macro ? 100 + macro : static_cast<int>(unit);
  auto flight = in_flight_.find(key);
  if (flight != in_flight_.end() && flight->second.size() >= 2) {
    start = max_time(start, flight->second.front());
  }
  return start;
}

void CoreController::retire(Unit unit, int macro, const sc_time& fetch_start,
                            const sc_time& compute_start, const sc_time& end) {
  unit_free(unit, macro) = max_time(unit_free(unit, macro), end);
  horizon_ = max_time(horizon_, end);
  if (command_end_ == sc_core::SC_ZERO_TIME || fetch_start < command_begin_) {
    command_begin_ = fetch_start;
  }
  command_end_ = max_time(command_end_, end);
  const int key = unit == Unit::Macro ? 100 + macro : static_cast<int>(unit);
  auto& flight = in_flight_[key];
  flight.push_back(end);
  while (flight.size() > 2) flight.pop_front();
  busy_trace_.busy(kernel::to_ps(fetch_start), kernel::to_ps(end));
  (void)compute_start;
  if (!params_.double_buffering) issue_time_ = max_time(issue_time_, end);
}

sc_time CoreController::cim_transport(int macro, tlm::tlm_command command, uint64_t address,
                                      uint8_t* data, uint64_t bytes,
                                      const cim::CimCommand* descriptor, const std::string& layer,
                                      const sc_time& at) {
  if (macro < 0 || macro >= params_.macros) {
    throw std::out_of_range("macro " + std::to_string(macro) + " does not exist (core has " +
                            std::to_string(params_.macros) + ")");
  }
  return transport_at<cim::CimCommandExtension>(
      *cim[static_cast<size_t>(macro)], payloads_, command, address, data, bytes, descriptor, at,
      [&](const tlm::tlm_generic_payload& payload, const cim::CimCommandExtension&) {
        throw std::runtime_error("CIM macro " + std::to_string(macro) +
                                 " rejected a job of layer '" + layer +
                                 "': " + payload.get_response_string());
      });
}

void CoreController::install_arith_parameters() {
  arith_parameters_.clear();
  const auto kernels = arith::kernel_table(program_);
  std::unordered_map<const ArithKernel*, uint32_t> slots;
  for (size_t slot = 0; slot < kernels.size(); ++slot) {
    slots.emplace(kernels[slot].get(), static_cast<uint32_t>(slot));
  }
  uint64_t offset = 0;
  for (const auto* commands : {&program_.prologue, &program_.body}) {
    for (const Command& command : *commands) {
      const bool on_unit =
          std::holds_alternative<Requantize>(command) || std::holds_alternative<Lookup>(command) ||
          std::holds_alternative<Eltwise>(command) || std::holds_alternative<Pool>(command) ||
          std::holds_alternative<Softmax>(command) || std::holds_alternative<Quantize>(command) ||
          std::holds_alternative<Dequantize>(command) || std::holds_alternative<Gather>(command) ||
          std::holds_alternative<KernelOp>(command);
      if (!on_unit) continue;
      uint32_t slot = 0;
      if (const auto* op = std::get_if<KernelOp>(&command); op && op->kernel) {
        slot = slots.at(op->kernel.get());
      }
      std::vector<uint8_t> encoded = encode_command(command, slot);
      kernel::PayloadPool::Payload pooled(payloads_);
      tlm::tlm_generic_payload& payload = *pooled;
      kernel::prepare(payload, tlm::TLM_WRITE_COMMAND, arith::map::kParameters + offset,
                      encoded.data(), encoded.size());
      if (arith->transport_dbg(payload) != encoded.size()) {
        throw std::runtime_error("the arithmetic unit refused the parameters of layer '" +
                                 layer_of(command) + "'");
      }
      arith_parameters_.emplace(&command, offset);
      offset += encoded.size();
    }
  }
}

sc_time CoreController::arith_transport(tlm::tlm_command command, uint64_t address, uint8_t* data,
                                        uint64_t bytes, const arith::ArithCommand* descriptor,
                                        const std::string& layer, const sc_time& at) {
  return transport_at<arith::ArithCommandExtension>(
      arith, payloads_, command, address, data, bytes, descriptor, at,
      [&](const tlm::tlm_generic_payload& payload, const arith::ArithCommandExtension& extension) {
        // The unit's reason when it gave one (the descriptor's message), else TLM's.
        const bool explained = descriptor && extension.command.message[0] != '\0';
        throw std::runtime_error("the arithmetic unit rejected a command of layer '" + layer +
                                 "': " +
                                 (explained ? std::string(extension.command.message.data())
                                            : payload.get_response_string()));
      });
}

sc_time CoreController::arith_run(const Command& command, const uint8_t* operands, uint64_t bytes,
                                  const std::string& layer, const sc_time& at) {
  const auto found = arith_parameters_.find(&command);
  if (found == arith_parameters_.end()) {
    throw std::logic_error("command of layer '" + layer + "' has no parameters in the unit");
  }
  arith::ArithCommand run;
  run.opcode = arith::map::kRun;
  run.parameters = found->second;
  // The payload's data pointer is non-const by TLM's design; a write target only reads it.
  return arith_transport(tlm::TLM_WRITE_COMMAND, arith::map::kOperands,
                         const_cast<uint8_t*>(operands), bytes, &run, layer, at);
}

void CoreController::arith_result(uint64_t bytes, const std::string& layer) {
  buffer_out_.resize(bytes);
  // The result register file answers at once: no time passes.
  const sc_time now = sc_core::sc_time_stamp();
  arith_transport(tlm::TLM_READ_COMMAND, arith::map::kResult, buffer_out_.data(), bytes, nullptr,
                  layer, now);
}

}  // namespace cimtlm::core
