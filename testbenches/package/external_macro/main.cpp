// An external initiator drives an installed cimtlm CIM macro through its register interface
// (models/cim/cim_job.h): weights and zero points into their windows, the job registers, a
// start command, the status register and the output buffer. Exits 0 when the partial sums equal
// the host's dot products and both jobs took simulated time.
#include <tlm_utils/simple_initiator_socket.h>

#include <iostream>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/cim/cim_job.h"
#include "models/cim/cim_macro.h"

namespace {

class Driver : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Driver> socket{"socket"};
  explicit Driver(const sc_core::sc_module_name& name) : sc_module(name) {
    sc_core::sc_spawn_options options;
    sc_core::sc_spawn([this] { run(); }, "run", &options);
  }
  int failures = 0;
  bool done = false;

 private:
  bool access(tlm::tlm_command command, uint64_t address, void* data, unsigned bytes) {
    tlm::tlm_generic_payload payload;
    payload.set_command(command);
    payload.set_address(address);
    payload.set_data_ptr(static_cast<unsigned char*>(data));
    payload.set_data_length(bytes);
    payload.set_streaming_width(bytes);
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(payload, delay);
    wait(delay);  // an untimed-ahead initiator: follow the annotated time at once
    if (!payload.is_response_ok()) ++failures;
    return payload.is_response_ok();
  }
  void set(cimtlm::cim::map::Register offset, uint32_t value) {
    access(tlm::TLM_WRITE_COMMAND, cimtlm::cim::map::kRegisters + offset, &value, 4);
  }
  uint32_t get(cimtlm::cim::map::Register offset) {
    uint32_t value = 0;
    access(tlm::TLM_READ_COMMAND, cimtlm::cim::map::kRegisters + offset, &value, 4);
    return value;
  }
  void run() {
    constexpr int kRows = 12, kCols = 5, kVectors = 2;
    std::vector<uint8_t> weights(kRows * kCols), inputs(kVectors * kRows);
    for (int i = 0; i < kRows * kCols; ++i) weights[i] = static_cast<uint8_t>((i * 29) % 256);
    for (int i = 0; i < kVectors * kRows; ++i) inputs[i] = static_cast<uint8_t>((i * 71) % 256);
    namespace map = cimtlm::cim::map;
    std::vector<int32_t> zero_points(kCols, 0);
    access(tlm::TLM_WRITE_COMMAND, map::kWeightWindow, weights.data(), kRows * kCols);
    access(tlm::TLM_WRITE_COMMAND, map::kZeroPoints, zero_points.data(), kCols * 4);
    set(map::kRows, kRows);
    set(map::kCols, kCols);
    set(map::kWeightBits, 8);
    set(map::kFlags, map::kWeightsSigned | map::kInputsSigned);
    sc_core::sc_time started = sc_core::sc_time_stamp();
    set(map::kCommand, map::kCommandLoadWeights);
    const sc_core::sc_time load_time = sc_core::sc_time_stamp() - started;
    if (get(map::kStatus) != map::kStatusDone) ++failures;
    access(tlm::TLM_WRITE_COMMAND, map::kInputBuffer, inputs.data(), kVectors * kRows);
    set(map::kVectors, kVectors);
    set(map::kInputZeroPoint, 0);
    set(map::kInputBits, 8);
    started = sc_core::sc_time_stamp();
    set(map::kCommand, map::kCommandCompute);
    const sc_core::sc_time compute_time = sc_core::sc_time_stamp() - started;
    if (get(map::kStatus) != map::kStatusDone) ++failures;
    std::vector<int32_t> outputs(kVectors * kCols, 0);
    access(tlm::TLM_READ_COMMAND, map::kOutputBuffer, outputs.data(), kVectors * kCols * 4);
    for (int v = 0; v < kVectors; ++v) {
      for (int c = 0; c < kCols; ++c) {
        int32_t expected = 0;
        for (int r = 0; r < kRows; ++r) {
          expected += static_cast<int8_t>(inputs[v * kRows + r]) *
                      static_cast<int8_t>(weights[r * kCols + c]);
        }
        if (outputs[v * kCols + c] != expected) ++failures;
      }
    }
    if (load_time == sc_core::SC_ZERO_TIME || compute_time == sc_core::SC_ZERO_TIME) ++failures;
    std::cout << "load " << load_time << ", compute " << compute_time << ", failures " << failures
              << '\n';
    done = true;
  }
};

}  // namespace

int sc_main(int, char**) {
  cimtlm::kernel::StatGroup stats("chip");
  cimtlm::cim::CimMacroParams params;
  params.rows = 64;
  params.cols = 64;
  cimtlm::cim::CimMacro macro(
      "macro", params, cimtlm::kernel::Clock(sc_core::sc_time(1, sc_core::SC_NS)), stats, nullptr);
  Driver driver("driver");
  driver.socket.bind(macro.target);
  sc_core::sc_start();
  return driver.done && driver.failures == 0 ? 0 : 1;
}
