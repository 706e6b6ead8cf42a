#include "models/cim/cim_macro.h"

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

void CimMacro::b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
  auto* extension = payload.get_extension<CimJobExtension>();
  if (!extension || !extension->job) {
    last_error_ = "payload without a CimJobExtension";
    ++job_errors_;
    payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  const CimJob& job = *extension->job;
  const sc_core::sc_time local = sc_core::sc_time_stamp() + delay;
  const sc_core::sc_time start = std::max(local, busy_until_);

  CimCounts counts;
  try {
    if (job.kind == CimJob::Kind::LoadWeights) {
      const WeightLoadJob& load = job.load;
      counts = model_.load_weights({load.values, load.values_signed, load.rows, load.cols,
                                    load.weight_bits, load.zero_points});
    } else {
      const ComputeJob& compute = job.compute;
      counts = model_.compute({compute.inputs, compute.inputs_signed, compute.vectors,
                               compute.input_zero_point, compute.input_bits, compute.outputs,
                               compute.output_stride, compute.accumulate});
    }
  } catch (const CimJobError& error) {
    last_error_ = std::string(name()) + ": layer '" + job.layer + "': " + error.what();
    ++job_errors_;
    payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }

  const sc_core::sc_time duration = clock_.cycles(static_cast<uint64_t>(counts.cycles));
  const sc_core::sc_time end = start + duration;
  busy_until_ = end;
  delay = end - sc_core::sc_time_stamp();
  record(counts, duration);

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
  payload.set_response_status(tlm::TLM_OK_RESPONSE);
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
