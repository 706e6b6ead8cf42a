#include "models/core/core_controller.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "models/core/program_codec.h"
#include "models/core/vector_gather.h"
#include "models/kernel/hex.h"
#include "models/kernel/overloaded.h"
#include "models/noc/noc.h"

namespace cimtlm::core {

using kernel::hex;
using kernel::Overloaded;

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

namespace {

sc_time max_time(const sc_time& a, const sc_time& b) {
  return a > b ? a : b;
}

// The layer a command belongs to (commands without one: empty).
template <typename T, typename = void>
struct HasLayer : std::false_type {};
template <typename T>
struct HasLayer<T, std::void_t<decltype(std::declval<T>().layer)>> : std::true_type {};

const std::string& layer_of(const Command& command) {
  static const std::string none;
  return std::visit(
      [](const auto& c) -> const std::string& {
        if constexpr (HasLayer<std::decay_t<decltype(c)>>::value) {
          return c.layer;
        } else {
          return none;
        }
      },
      command);
}

// Largest program image a start fetches (a corrupt length must not exhaust host memory).
constexpr uint64_t kMaxProgramBytes = uint64_t{1} << 28;

// The scoreboard tracks accumulator memory in its own address range, above every memory level.
constexpr Addr kAccumulatorSpace = Addr{1} << 62;

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

// ---------------------------------------------------------------------------------------------
// Commands

void CoreController::load_weights(const LoadWeights& command) {
  const uint64_t bytes = static_cast<uint64_t>(command.rows * command.cols);
  const sc_time fetch_start = start_time({{command.source, bytes}}, Unit::Macro, command.macro);
  const sc_time begin = max_time(fetch_start, dma_read_free_);
  buffer_a_.resize(bytes);
  const sc_time fetched = read(command.source, buffer_a_.data(), bytes, begin);
  dma_read_free_ = fetched;
  if (static_cast<int64_t>(command.weight_zero_points.size()) != command.cols) {
    throw std::invalid_argument("LoadWeights of layer '" + command.layer + "' has " +
                                std::to_string(command.weight_zero_points.size()) +
                                " zero points for " + std::to_string(command.cols) + " columns");
  }
  // The zero points, then the tile with its descriptor (the write starts the load).
  const sc_time compute_start = max_time(fetched, macro_free_[static_cast<size_t>(command.macro)]);
  cim_transport(command.macro, tlm::TLM_WRITE_COMMAND, cim::map::kZeroPoints,
                reinterpret_cast<uint8_t*>(const_cast<int32_t*>(command.weight_zero_points.data())),
                command.weight_zero_points.size() * sizeof(int32_t), nullptr, command.layer,
                compute_start);
  cim::CimCommand load;
  load.command = cim::map::kCommandLoadWeights;
  load.flags = command.weights_signed ? uint32_t{cim::map::kWeightsSigned} : 0u;
  load.rows = command.rows;
  load.cols = command.cols;
  load.weight_bits = command.weight_bits;
  const sc_time end = cim_transport(command.macro, tlm::TLM_WRITE_COMMAND, cim::map::kWeightWindow,
                                    buffer_a_.data(), bytes, &load, command.layer, compute_start);
  retire(Unit::Macro, command.macro, begin, compute_start, end);
}

void CoreController::cim_matmul(const CimMatmul& command) {
  const VectorSource& source = command.source;
  const bool indexed = source.element_index != nullptr;
  const int64_t rows =
      indexed ? static_cast<int64_t>(source.element_index->size()) : source.element_count;
  auto element_of = [&](int64_t r) {
    return indexed ? (*source.element_index)[static_cast<size_t>(r)] : source.first_element + r;
  };
  const int64_t vectors = source.vector_count;
  const size_t esize = elem_size(source.input.type);
  if (source.input.type != ElemType::Int8 && source.input.type != ElemType::UInt8) {
    throw std::invalid_argument("CIM input of layer '" + command.layer + "' is not 8-bit");
  }
  if (rows <= 0 || vectors <= 0) {
    throw std::invalid_argument("CIM job of layer '" + command.layer + "' has no rows or vectors");
  }
  // 1. Which input bytes the tile needs: whole rows of the vectors, or the channel planes the
  //    tile's elements come from.
  Addr read_begin = source.input.addr;
  uint64_t read_bytes = 0;
  int64_t first_channel = 0;
  if (source.kind == VectorSource::Kind::Rows) {
    const int64_t width = source.input.shape.back();
    read_begin += static_cast<Addr>(source.first_vector * width) * esize;
    read_bytes = static_cast<uint64_t>(vectors * width) * esize;
  } else {
    const ConvGeometry& g = source.conv;
    const int64_t taps = g.kernel_h * g.kernel_w;
    int64_t lowest = element_of(0) / taps, highest = lowest;
    for (int64_t r = 1; r < rows; ++r) {
      lowest = std::min(lowest, element_of(r) / taps);
      highest = std::max(highest, element_of(r) / taps);
    }
    first_channel = lowest;
    const int64_t plane = g.in_height * g.in_width;
    read_begin += static_cast<Addr>((g.channel_offset + lowest) * plane) * esize;
    read_bytes = static_cast<uint64_t>((highest - lowest + 1) * plane) * esize;
  }
  const sc_time fetch_start =
      max_time(start_time({{read_begin, read_bytes}}, Unit::Macro, command.macro), dma_read_free_);
  buffer_a_.resize(read_bytes);
  const sc_time fetched = read(read_begin, buffer_a_.data(), read_bytes, fetch_start);
  dma_read_free_ = fetched;

  // 2. Build the input vectors (im2col on the fly; padding holds the input zero point).
  vectors_.resize(static_cast<size_t>(vectors * rows));
  const auto pad_code = static_cast<uint8_t>(command.input_zero_point);
  if (source.kind == VectorSource::Kind::Rows) {
    const int64_t width = source.input.shape.back();
    for (int64_t v = 0; v < vectors; ++v) {
      const uint8_t* row = buffer_a_.data() + v * width;
      uint8_t* vector = vectors_.data() + v * rows;
      if (indexed) {
        for (int64_t r = 0; r < rows; ++r) vector[r] = row[element_of(r)];
      } else {
        std::memcpy(vector, row + source.first_element, static_cast<size_t>(rows));
      }
    }
  } else {
    const ConvGeometry& g = source.conv;
    const int64_t taps = g.kernel_h * g.kernel_w;
    const int64_t plane = g.in_height * g.in_width;
    tap_offset_.resize(static_cast<size_t>(rows));
    tap_row_.resize(static_cast<size_t>(rows));
    tap_col_.resize(static_cast<size_t>(rows));
    int64_t top = 0, bottom = 0, left = 0, right = 0;  // extreme tap offsets
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t element = element_of(r);
      const int64_t channel = element / taps - first_channel;
      const int64_t kh = (element % taps) / g.kernel_w;
      const int64_t kw = element % g.kernel_w;
      const int64_t ih_offset = kh * g.dilation_h - g.pad_top;
      const int64_t iw_offset = kw * g.dilation_w - g.pad_left;
      tap_row_[static_cast<size_t>(r)] = ih_offset;
      tap_col_[static_cast<size_t>(r)] = iw_offset;
      tap_offset_[static_cast<size_t>(r)] = channel * plane + ih_offset * g.in_width + iw_offset;
      top = r == 0 ? ih_offset : std::min(top, ih_offset);
      bottom = r == 0 ? ih_offset : std::max(bottom, ih_offset);
      left = r == 0 ? iw_offset : std::min(left, iw_offset);
      right = r == 0 ? iw_offset : std::max(right, iw_offset);
    }
    // One vector: a vector whose taps all fall inside the input is a plain gather; one at the
    // border checks each.
    const uint8_t* input = buffer_a_.data();
    const int64_t* tap_offset = tap_offset_.data();
    auto one_vector = [&](int64_t v, int64_t oh, int64_t ow) {
      uint8_t* vector = vectors_.data() + v * rows;
      const int64_t ih0 = oh * g.stride_h, iw0 = ow * g.stride_w;
      if (ih0 + top >= 0 && ih0 + bottom < g.in_height && iw0 + left >= 0 &&
          iw0 + right < g.in_width) {
        const uint8_t* origin = input + ih0 * g.in_width + iw0;
        for (int64_t r = 0; r < rows; ++r) vector[r] = origin[tap_offset[r]];
      } else {
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t ih = ih0 + tap_row_[static_cast<size_t>(r)];
          const int64_t iw = iw0 + tap_col_[static_cast<size_t>(r)];
          const bool inside = ih >= 0 && ih < g.in_height && iw >= 0 && iw < g.in_width;
          vector[r] = inside ? input[ih0 * g.in_width + iw0 + tap_offset[r]] : pad_code;
        }
      }
    };
    // Output positions a row at a time: with stride 1 along the row, the vectors of the row's
    // interior positions read consecutive bytes of each tap, a byte transpose (vector_gather.h)
    // instead of a gather per byte.
    int64_t oh = source.first_vector / g.out_width, ow = source.first_vector % g.out_width;
    for (int64_t v = 0; v < vectors;) {
      const int64_t segment = std::min(g.out_width - ow, vectors - v);
      const int64_t end = ow + segment;
      const int64_t ih0 = oh * g.stride_h;
      int64_t lo = end, hi = end;  // positions [lo, hi) of the segment with every tap inside
      if (g.stride_w == 1 && ih0 + top >= 0 && ih0 + bottom < g.in_height) {
        lo = std::clamp(-left, ow, end);
        hi = std::clamp(g.in_width - right, lo, end);
      }
      for (int64_t x = ow; x < lo; ++x) one_vector(v + x - ow, oh, x);
      if (hi > lo) {
        gather_transposed(input + ih0 * g.in_width + lo, tap_offset, rows, hi - lo,
                          vectors_.data() + (v + lo - ow) * rows);
      }
      for (int64_t x = hi; x < end; ++x) one_vector(v + x - ow, oh, x);
      v += segment;
      ow = end;
      if (ow == g.out_width) {
        ow = 0;
        ++oh;
      }
    }
  }

  // 3. Run the tile; partial sums land in the accumulator memory, rescaled into a narrower
  //    accumulator when the schedule asks for it.
  // The inputs with their descriptor (the write runs the vectors), then the partial sums read
  // back from the macro's output buffer, [vectors][cols].
  cim::CimCommand compute;
  compute.command = cim::map::kCommandCompute;
  compute.flags = source.input.type == ElemType::Int8 ? uint32_t{cim::map::kInputsSigned} : 0u;
  compute.vectors = vectors;
  compute.input_zero_point = command.input_zero_point;
  compute.input_bits = command.input_bits;
  const sc_time compute_start = max_time(fetched, macro_free_[static_cast<size_t>(command.macro)]);
  const sc_time end =
      cim_transport(command.macro, tlm::TLM_WRITE_COMMAND, cim::map::kInputBuffer, vectors_.data(),
                    vectors_.size(), &compute, command.layer, compute_start);
  partials_.resize(static_cast<size_t>(vectors * command.cols));
  cim_transport(command.macro, tlm::TLM_READ_COMMAND, cim::map::kOutputBuffer,
                reinterpret_cast<uint8_t*>(partials_.data()), partials_.size() * sizeof(int32_t),
                nullptr, command.layer, end);
  retire(Unit::Macro, command.macro, fetch_start, compute_start, end);
  // Adding the partial sums into the accumulator memory (with rescaling when asked) is work of
  // the arithmetic unit: it starts when the macro's last partial sum is out and the unit is
  // free, and the accumulators are ready only when it is done. A plain store (the first pass,
  // full width) occupies no cycles of the unit and does not wait for it.
  const bool rescaled = command.rescale_shift > 0 || command.accumulator_bits < 32;
  arith::ArithCommand accumulation;
  accumulation.opcode = arith::map::kAccumulateSums;
  accumulation.flags = command.accumulate ? uint32_t{arith::map::kAdd} : 0u;
  accumulation.accumulator = command.accumulator;
  accumulation.vectors = vectors;
  accumulation.cols = command.cols;
  accumulation.stride = command.accumulator_stride;
  accumulation.column_offset = command.column_offset;
  accumulation.shift = command.rescale_shift;
  accumulation.bits = command.accumulator_bits;
  const bool occupies_unit = rescaled || command.accumulate;
  const sc_time accumulate_start = occupies_unit ? max_time(end, arith_free_) : end;
  const sc_time ready = arith_transport(
      tlm::TLM_WRITE_COMMAND, arith::map::kAccumulate, reinterpret_cast<uint8_t*>(partials_.data()),
      partials_.size() * sizeof(int32_t), &accumulation, command.layer, accumulate_start);
  if (ready > accumulate_start) retire(Unit::Arith, 0, accumulate_start, accumulate_start, ready);
  const int64_t stride = command.accumulator_stride;
  // Requantization waits for the accumulators via the scoreboard (accumulator addresses live in
  // their own space above the memory map).
  mark_written(kAccumulatorSpace + command.accumulator, static_cast<uint64_t>(vectors * stride) * 4,
               ready);
}

void CoreController::requantize(const Requantize& command) {
  const Addr acc_key = kAccumulatorSpace + command.accumulator;
  const uint64_t acc_bytes =
      static_cast<uint64_t>(command.vectors * command.accumulator_stride) * 4;
  const sc_time start = max_time(start_time({{acc_key, acc_bytes}}, Unit::Arith), arith_free_);
  // Results ordered so that runs are contiguous: along columns ([M, N] layouts) or along
  // vectors (NCHW layouts); each maximal run of consecutive addresses is one write.
  const bool column_major = arith::requantize_column_major(command);
  const size_t esize = elem_size(command.output.type);
  const sc_time computed = arith_run(*current_command_, nullptr, 0, command.layer, start);
  arith_result(static_cast<uint64_t>(command.vectors * command.cols) * esize, command.layer);
  auto column_of = [&](int64_t c) {
    return command.column_index ? (*command.column_index)[static_cast<size_t>(c)]
                                : c + command.out_column_offset;
  };
  const int64_t outer = column_major ? command.cols : command.vectors;
  const int64_t inner = column_major ? command.vectors : command.cols;
  sc_time written = max_time(computed, dma_write_free_);
  int64_t run_begin = -1, run_length = 0, run_source = 0;
  auto flush = [&] {
    if (run_length == 0) return;
    const Addr at = command.output.addr + static_cast<Addr>(run_begin) * esize;
    written = write(at, buffer_out_.data() + run_source * esize,
                    static_cast<uint64_t>(run_length) * esize, written);
    mark_written(at, static_cast<uint64_t>(run_length) * esize, written);
    run_length = 0;
  };
  // Where the inner loop's results are consecutive addresses (NCHW conv outputs along vectors,
  // [M, N] outputs without a column index along columns), a whole inner pass extends or starts
  // one run: the same runs as the element walk below, without a compare per element (that walk
  // was ~4 % of a MobileNetV2 inference).
  const bool inner_contiguous =
      column_major || (command.out_column_stride == 1 && !command.column_index);
  for (int64_t o = 0; inner_contiguous && o < outer; ++o) {
    const int64_t start = column_major ? column_of(o) * command.out_column_stride
                                       : o * command.out_vector_stride + column_of(0);
    if (run_length > 0 && start == run_begin + run_length) {
      run_length += inner;
      continue;
    }
    flush();
    run_begin = start;
    run_length = inner;
    run_source = o * inner;
  }
  for (int64_t o = 0; !inner_contiguous && o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t v = column_major ? i : o;
      const int64_t c = column_major ? o : i;
      const int64_t element =
          v * command.out_vector_stride + column_of(c) * command.out_column_stride;
      if (run_length > 0 && element == run_begin + run_length) {
        ++run_length;
        continue;
      }
      flush();
      run_begin = element;
      run_length = 1;
      run_source = o * inner + i;
    }
  }
  flush();
  dma_write_free_ = written;
  retire(Unit::Arith, 0, start, start, written);
}

void CoreController::arith_command(const Command& command, const TensorRef& first,
                                   const TensorRef* second, const TensorRef& output) {
  sc_time fetch_start =
      second
          ? start_time({{first.addr, first.bytes()}, {second->addr, second->bytes()}}, Unit::Arith)
          : start_time({{first.addr, first.bytes()}}, Unit::Arith);
  fetch_start = max_time(fetch_start, dma_read_free_);
  // The operands one after another, as the unit's operand window takes them.
  const uint64_t first_bytes = first.bytes(), second_bytes = second ? second->bytes() : 0;
  buffer_a_.resize(first_bytes + second_bytes);
  sc_time fetched = read(first.addr, buffer_a_.data(), first_bytes, fetch_start);
  if (second) fetched = read(second->addr, buffer_a_.data() + first_bytes, second_bytes, fetched);
  dma_read_free_ = fetched;
  const std::string& layer = layer_of(command);
  const sc_time start = max_time(fetched, arith_free_);
  const sc_time computed = arith_run(command, buffer_a_.data(), buffer_a_.size(), layer, start);
  arith_result(output.bytes(), layer);
  const sc_time written = write(output.addr, buffer_out_.data(), buffer_out_.size(),
                                max_time(computed, dma_write_free_));
  dma_write_free_ = written;
  mark_written(output.addr, buffer_out_.size(), written);
  retire(Unit::Arith, 0, fetch_start, start, written);
}

void CoreController::lookup(const Lookup& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::eltwise(const Eltwise& command) {
  arith_command(*current_command_, command.a, &command.b, command.output);
}

void CoreController::pool(const Pool& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::softmax(const Softmax& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::quantize(const Quantize& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::dequantize(const Dequantize& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::gather(const Gather& command) {
  arith_command(*current_command_, command.table, &command.indices, command.output);
}

// A kernel op reads any number of operands and writes any number of results; otherwise it is
// timed as arith_command times one.
void CoreController::kernel_op(const KernelOp& command) {
  sc_time fetch_start = start_time({}, Unit::Arith);
  uint64_t operand_bytes = 0;
  for (const auto& input : command.inputs) {
    fetch_start = max_time(fetch_start, ready_time(input.addr, input.bytes()));
    operand_bytes += input.bytes();
  }
  fetch_start = max_time(fetch_start, dma_read_free_);
  buffer_a_.resize(operand_bytes);
  sc_time fetched = fetch_start;
  uint64_t offset = 0;
  for (const auto& input : command.inputs) {
    fetched = read(input.addr, buffer_a_.data() + offset, input.bytes(), fetched);
    offset += input.bytes();
  }
  dma_read_free_ = fetched;
  const sc_time start = max_time(fetched, arith_free_);
  const sc_time computed =
      arith_run(*current_command_, buffer_a_.data(), buffer_a_.size(), command.layer, start);
  uint64_t result_bytes = 0;
  for (const auto& output : command.outputs) result_bytes += output.bytes();
  arith_result(result_bytes, command.layer);
  sc_time written = max_time(computed, dma_write_free_);
  offset = 0;
  for (const auto& output : command.outputs) {
    written = write(output.addr, buffer_out_.data() + offset, output.bytes(), written);
    mark_written(output.addr, output.bytes(), written);
    offset += output.bytes();
  }
  dma_write_free_ = written;
  retire(Unit::Arith, 0, fetch_start, start, written);
}

}  // namespace cimtlm::core
