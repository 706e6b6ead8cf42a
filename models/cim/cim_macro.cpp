#include "models/cim/cim_macro.h"

#include <cstring>
#include <vector>

#include <algorithm>
#include <sstream>

namespace cimtlm::cim {

namespace {

using kernel::EnergyCategory;

unsigned width_for(int64_t max_value) {
  unsigned width = 1;
  while (width < 64 && (uint64_t{1} << width) <= static_cast<uint64_t>(max_value)) ++width;
  return width;
}

}  // namespace

CimMacro::CimMacro(const sc_core::sc_module_name& name, const CimMacroParams& params,
                   const kernel::Clock& clock, kernel::StatGroup& stats, kernel::VcdTrace* trace)
    : sc_core::sc_module(name),
      model_(params),
      clock_(clock),
      macs_(stats.count("macs", "logical multiply-accumulates (vectors x tile rows x tile cols)")),
      vectors_(stats.count("vectors", "input vectors applied")),
      rows_applied_(stats.count("rows_applied", "input elements applied (vectors x tile rows)")),
      zero_inputs_(stats.count("zero_inputs", "input elements equal to the input zero point")),
      rows_disabled_(
          stats.count("rows_disabled", "rows disabled in sparse mode, summed over vectors")),
      sparse_vectors_(
          stats.count("sparse_vectors", "vectors whose sparsity exceeded the threshold")),
      row_blocks_(stats.count("row_blocks", "row blocks presented, summed over vectors")),
      row_blocks_skipped_(stats.count("row_blocks_skipped", "all-zero row blocks skipped")),
      activations_(stats.count("activations", "row activations (input and mask planes x steps)")),
      adc_conversions_(stats.count("adc_conversions", "ADC conversions")),
      compensation_conversions_(
          stats.count("compensation_conversions", "ADC conversions of compensation mask planes")),
      compensations_(stats.count("compensations", "outputs that received a sparsity compensation")),
      weight_writes_(stats.count("weight_writes", "weight tiles written")),
      weight_cells_written_(stats.count("weight_cells_written", "bit cells written")),
      jobs_(stats.count("jobs", "CIM jobs executed")),
      job_errors_(stats.count("job_errors", "CIM jobs rejected (error response)")),
      input_sparsity_(
          stats.value("input_sparsity", "mean over vectors of the zero-input fraction")),
      rows_disabled_fraction_(
          stats.value("rows_disabled_fraction", "rows_disabled / rows_applied")),
      busy_ns_(stats.time_ns("busy_ns", "time the macro was busy")),
      busy_cycles_(stats.value("busy_cycles", "cycles the macro was busy")),
      energy_array_pj_(stats.energy_pj("energy_array_pj", EnergyCategory::Cim,
                                       "word-line pulses and bit-line charge")),
      energy_adc_pj_(stats.energy_pj("energy_adc_pj", EnergyCategory::Cim, "ADC conversions")),
      energy_digital_pj_(stats.energy_pj("energy_digital_pj", EnergyCategory::Cim,
                                         "shift-add and zero-point correction")),
      energy_detection_pj_(
          stats.energy_pj("energy_detection_pj", EnergyCategory::Cim, "input sparsity detection")),
      energy_compensation_pj_(stats.energy_pj("energy_compensation_pj", EnergyCategory::Cim,
                                              "sparsity compensation multiply-adds")),
      energy_write_pj_(stats.energy_pj("energy_write_pj", EnergyCategory::Cim,
                                       "weight writes and compensation tables")),
      energy_leakage_pj_(stats.energy_pj("energy_leakage_pj", EnergyCategory::Leakage,
                                         "static power over the simulated time")) {
  target.register_b_transport(this, &CimMacro::b_transport);
  if (trace) {
    const auto scope = kernel::scope_of(this->name());
    busy_signal_ = trace->add_signal(scope, "busy", 1);
    active_rows_signal_ = trace->add_signal(scope, "active_rows", width_for(params.rows));
    adc_busy_signal_ = trace->add_signal(scope, "adc_busy", 1);
  }
}

namespace {

// The window an address falls in, and the offset inside it.
bool in_window(uint64_t address, uint64_t length, uint64_t window, uint64_t& offset) {
  if (address < window || address - window >= map::kWindowBytes) return false;
  offset = address - window;
  return length <= map::kWindowBytes - offset;
}

template <typename T>
void write_at(std::vector<T>& buffer, uint64_t offset_bytes, const uint8_t* data, uint64_t length) {
  const uint64_t end = offset_bytes + length;
  if (buffer.size() * sizeof(T) < end) buffer.resize((end + sizeof(T) - 1) / sizeof(T));
  std::memcpy(reinterpret_cast<uint8_t*>(buffer.data()) + offset_bytes, data, length);
}

}  // namespace

void CimMacro::b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
  const uint64_t address = payload.get_address();
  const uint64_t length = payload.get_data_length();
  uint8_t* data = payload.get_data_ptr();
  const auto* extension = payload.get_extension<CimCommandExtension>();
  payload.set_response_status(tlm::TLM_OK_RESPONSE);
  if (payload.get_byte_enable_ptr() || payload.get_streaming_width() < length || (length && !data)) {
    payload.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return;
  }
  uint64_t offset = 0;
  if (address < map::kRegisterBytes) {
    registers_access(payload, delay);
  } else if (in_window(address, length, map::kWeightWindow, offset) ||
             in_window(address, length, map::kInputBuffer, offset)) {
    if (!payload.is_write()) {
      payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
    }
    const bool weights = address < map::kInputBuffer;
    if (extension) {
      // The fast path: the descriptor sets the registers, the job runs on the payload's data.
      const CimCommand& command = extension->command;
      reg(map::kCommand) = command.command;
      reg(map::kFlags) = command.flags;
      if (weights) {
        reg(map::kRows) = static_cast<uint32_t>(command.rows);
        reg(map::kCols) = static_cast<uint32_t>(command.cols);
        reg(map::kWeightBits) = static_cast<uint32_t>(command.weight_bits);
      } else {
        reg(map::kVectors) = static_cast<uint32_t>(command.vectors);
        reg(map::kInputZeroPoint) = static_cast<uint32_t>(command.input_zero_point);
        reg(map::kInputBits) = static_cast<uint32_t>(command.input_bits);
      }
      const bool matches = command.command == (weights ? map::kCommandLoadWeights : map::kCommandCompute);
      const uint64_t expected = weights ? static_cast<uint64_t>(command.rows * command.cols)
                                        : static_cast<uint64_t>(command.vectors) *
                                              static_cast<uint64_t>(model_.tile_rows());
      if (!matches || offset != 0 || length != expected) {
        last_error_ = std::string(name()) + ": a command transaction must write the whole " +
                      (weights ? "weight tile" : "input batch") + " from the window's start";
        ++job_errors_;
        reg(map::kStatus) = map::kStatusError;
        payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
      }
      if (!run_job(data, delay)) payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      return;
    }
    write_at(weights ? weight_window_ : input_buffer_, offset, data, length);
  } else if (in_window(address, length, map::kZeroPoints, offset)) {
    if (!payload.is_write()) {
      payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
    }
    write_at(zero_points_, offset, data, length);
  } else if (in_window(address, length, map::kOutputBuffer, offset)) {
    if (!payload.is_read()) {
      payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
    }
    if (offset + length > output_buffer_.size() * sizeof(int32_t)) {
      payload.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    std::memcpy(data, reinterpret_cast<const uint8_t*>(output_buffer_.data()) + offset, length);
  } else {
    if (extension) {
      last_error_ = std::string(name()) + ": a CimCommandExtension outside the weight window "
                    "and the input buffer";
      ++job_errors_;
      payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
    }
    payload.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  }
}

void CimMacro::registers_access(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
  const uint64_t address = payload.get_address();
  const uint64_t length = payload.get_data_length();
  if (address % 4 != 0 || length != 4) {
    payload.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  const auto offset = static_cast<map::Register>(address);
  uint32_t value = 0;
  if (payload.is_read()) {
    value = reg(offset);
    std::memcpy(payload.get_data_ptr(), &value, 4);
    return;
  }
  if (!payload.is_write()) {
    payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  std::memcpy(&value, payload.get_data_ptr(), 4);
  if (offset == map::kStatus || offset == map::kCycles || offset == map::kCyclesHigh) {
    payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);  // read-only
    return;
  }
  reg(offset) = value;
  if (offset == map::kCommand) {
    if (value != map::kCommandLoadWeights && value != map::kCommandCompute) {
      last_error_ = std::string(name()) + ": unknown command " + std::to_string(value);
      ++job_errors_;
      reg(map::kStatus) = map::kStatusError;
      payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      return;
    }
    if (!run_job(nullptr, delay)) payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
  }
}

bool CimMacro::run_job(const uint8_t* data, sc_core::sc_time& delay) {
  const sc_core::sc_time local = sc_core::sc_time_stamp() + delay;
  const sc_core::sc_time start = std::max(local, busy_until_);
  const uint32_t flags = reg(map::kFlags);
  CimCounts counts;
  try {
    if (reg(map::kCommand) == map::kCommandLoadWeights) {
      const auto rows = static_cast<int64_t>(reg(map::kRows));
      const auto cols = static_cast<int64_t>(reg(map::kCols));
      if (zero_points_.size() < static_cast<size_t>(cols) * 4) {
        throw CimJobError("the zero points of " + std::to_string(cols) +
                          " columns were not written");
      }
      if (!data && weight_window_.size() < static_cast<size_t>(rows * cols)) {
        throw CimJobError("the weight window holds fewer than rows x cols codes");
      }
      std::vector<int32_t> zero_points(static_cast<size_t>(cols));
      std::memcpy(zero_points.data(), zero_points_.data(), zero_points.size() * 4);
      counts = model_.load_weights({data ? data : weight_window_.data(),
                                    (flags & map::kWeightsSigned) != 0, rows, cols,
                                    static_cast<int>(reg(map::kWeightBits)), zero_points.data()});
      output_cols_ = cols;
    } else {
      const auto vectors = static_cast<int64_t>(reg(map::kVectors));
      if (!model_.loaded()) throw CimJobError("no weights loaded");
      if (!data && input_buffer_.size() < static_cast<size_t>(vectors * model_.tile_rows())) {
        throw CimJobError("the input buffer holds fewer than vectors x rows codes");
      }
      const bool accumulate = (flags & map::kAccumulate) != 0;
      const auto outputs = static_cast<size_t>(vectors * output_cols_);
      if (accumulate) {
        output_buffer_.resize(outputs, 0);
      } else {
        output_buffer_.assign(outputs, 0);
      }
      counts = model_.compute({data ? data : input_buffer_.data(), (flags & map::kInputsSigned) != 0,
                               vectors, static_cast<int32_t>(reg(map::kInputZeroPoint)),
                               static_cast<int>(reg(map::kInputBits)), output_buffer_.data(),
                               output_cols_, accumulate});
    }
  } catch (const CimJobError& error) {
    last_error_ = std::string(name()) + ": " + error.what();
    ++job_errors_;
    reg(map::kStatus) = map::kStatusError;
    return false;
  }

  const sc_core::sc_time duration = clock_.cycles(static_cast<uint64_t>(counts.cycles));
  const sc_core::sc_time end = start + duration;
  busy_until_ = end;
  delay = end - sc_core::sc_time_stamp();
  record(counts, duration);
  reg(map::kStatus) = map::kStatusDone;
  reg(map::kCycles) = static_cast<uint32_t>(counts.cycles);
  reg(map::kCyclesHigh) = static_cast<uint32_t>(static_cast<uint64_t>(counts.cycles) >> 32);

  if (busy_signal_) {
    const uint64_t start_ps = kernel::to_ps(start);
    const uint64_t end_ps = kernel::to_ps(end);
    busy_signal_->set(start_ps, 1);
    busy_signal_->set(end_ps, 0);
    if (counts.vectors > 0) {
      // Mean rows conducting per vector (enabled rows) over the job.
      const int64_t enabled = (counts.rows_applied - counts.rows_disabled) / counts.vectors;
      active_rows_signal_->set(start_ps, static_cast<uint64_t>(enabled));
      active_rows_signal_->set(end_ps, 0);
      adc_busy_signal_->set(start_ps, counts.adc_conversions > 0 ? 1 : 0);
      adc_busy_signal_->set(end_ps, 0);
    }
  }
  return true;
}

void CimMacro::record(const CimCounts& counts, const sc_core::sc_time& duration) {
  ++jobs_;
  macs_ += static_cast<uint64_t>(counts.macs);
  vectors_ += static_cast<uint64_t>(counts.vectors);
  rows_applied_ += static_cast<uint64_t>(counts.rows_applied);
  zero_inputs_ += static_cast<uint64_t>(counts.zero_inputs);
  rows_disabled_ += static_cast<uint64_t>(counts.rows_disabled);
  sparse_vectors_ += static_cast<uint64_t>(counts.sparse_vectors);
  row_blocks_ += static_cast<uint64_t>(counts.row_blocks);
  row_blocks_skipped_ += static_cast<uint64_t>(counts.row_blocks_skipped);
  activations_ += static_cast<uint64_t>(counts.activations);
  adc_conversions_ += static_cast<uint64_t>(counts.adc_conversions);
  compensation_conversions_ += static_cast<uint64_t>(counts.compensation_conversions);
  compensations_ += static_cast<uint64_t>(counts.compensations);
  weight_writes_ += static_cast<uint64_t>(counts.weight_loads);
  weight_cells_written_ += static_cast<uint64_t>(counts.cells_written);
  sparsity_sum_ += counts.sparsity_sum;
  if (vectors_ > 0) input_sparsity_ = sparsity_sum_ / static_cast<double>(vectors_);
  if (rows_applied_ > 0) {
    rows_disabled_fraction_ =
        static_cast<double>(rows_disabled_) / static_cast<double>(rows_applied_);
  }
  busy_ns_ += kernel::to_ns(duration);
  busy_cycles_ += static_cast<double>(counts.cycles);
  energy_array_pj_ += counts.energy.array;
  energy_adc_pj_ += counts.energy.adc;
  energy_digital_pj_ += counts.energy.digital;
  energy_detection_pj_ += counts.energy.detection;
  energy_compensation_pj_ += counts.energy.compensation;
  energy_write_pj_ += counts.energy.write;
}

void CimMacro::finalize(const sc_core::sc_time& end) {
  finalized_ = true;
  // mW x ns = pJ.
  energy_leakage_pj_ = model_.params().leakage_mw * kernel::to_ns(end);
}

void CimMacro::end_of_simulation() {
  if (!finalized_) finalize(sc_core::sc_time_stamp());
}

}  // namespace cimtlm::cim
