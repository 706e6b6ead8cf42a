// The contract between a core's controller and a CIM macro.
//
// A job travels in a TLM-2.0 generic payload (command TLM_IGNORE_COMMAND, no data pointer) with a
// CimJobExtension. The macro executes the whole job in b_transport, starting at the initiator's
// local time (sc_time_stamp() + delay), and adds the job's duration to `delay`.
#pragma once

#include <cstdint>
#include <string>

#include <tlm>

namespace cimtlm::cim {

// Write a weight tile into the array (rows x cols logical weights; each weight occupies
// ceil(weight_bits / cell_bits) physical columns).
struct WeightLoadJob {
  const uint8_t* values = nullptr;  // rows x cols raw 8-bit codes, row-major
  bool values_signed = true;        // codes are int8 (true) or uint8 (false)
  int64_t rows = 0;
  int64_t cols = 0;
  int weight_bits = 8;
  const int32_t* zero_points = nullptr;  // one per column
};

// Apply `vectors` input vectors of `rows` elements (the loaded tile's rows) and produce exact
// int32 dot products  sum_r (x[v][r] - input_zero_point) * (w[r][c] - w_zp[c])  (or what a lossy
// ADC makes of them) at outputs[v * output_stride + c], added to what is there when `accumulate`.
struct ComputeJob {
  const uint8_t* inputs = nullptr;  // vectors x rows raw 8-bit codes, row-major
  bool inputs_signed = false;       // codes are int8 (true) or uint8 (false)
  int64_t vectors = 0;
  int32_t input_zero_point = 0;
  int input_bits = 8;
  int32_t* outputs = nullptr;
  int64_t output_stride = 0;
  bool accumulate = false;
};

struct CimJob {
  enum class Kind { LoadWeights, Compute };
  Kind kind = Kind::Compute;
  WeightLoadJob load;
  ComputeJob compute;
  std::string layer;  // for traces and error messages
};

class CimJobExtension : public tlm::tlm_extension<CimJobExtension> {
 public:
  CimJob* job = nullptr;

  tlm::tlm_extension_base* clone() const override {
    auto* copy = new CimJobExtension;
    copy->job = job;
    return copy;
  }
  void copy_from(const tlm::tlm_extension_base& other) override {
    job = static_cast<const CimJobExtension&>(other).job;
  }
};

}  // namespace cimtlm::cim
