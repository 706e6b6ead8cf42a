// An external initiator drives an installed cimtlm CIM macro through its TLM target socket: a
// weight load, then two input vectors. Exits 0 when the partial sums equal the host's dot
// products and the macro annotated time for both transactions.
// (Through today's CimJobExtension; a register/memory-mapped interface is issue 14's next step.)
#include <iostream>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

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
  sc_core::sc_time send(cimtlm::cim::CimJob& job) {
    cimtlm::cim::CimJobExtension extension;
    extension.job = &job;
    tlm::tlm_generic_payload payload;
    payload.set_command(tlm::TLM_IGNORE_COMMAND);
    payload.set_extension(&extension);
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(payload, delay);
    payload.clear_extension(&extension);
    if (!payload.is_response_ok()) ++failures;
    return delay;
  }
  void run() {
    constexpr int kRows = 12, kCols = 5, kVectors = 2;
    std::vector<uint8_t> weights(kRows * kCols), inputs(kVectors * kRows);
    for (int i = 0; i < kRows * kCols; ++i) weights[i] = static_cast<uint8_t>((i * 29) % 256);
    for (int i = 0; i < kVectors * kRows; ++i) inputs[i] = static_cast<uint8_t>((i * 71) % 256);
    const std::vector<int32_t> zero_points(kCols, 0);
    cimtlm::cim::CimJob load;
    load.kind = cimtlm::cim::CimJob::Kind::LoadWeights;
    load.load = {weights.data(), true, kRows, kCols, 8, zero_points.data()};
    load.layer = "external";
    const sc_core::sc_time load_time = send(load);
    std::vector<int32_t> outputs(kVectors * kCols, 0);
    cimtlm::cim::CimJob compute;
    compute.kind = cimtlm::cim::CimJob::Kind::Compute;
    compute.compute.inputs = inputs.data();
    compute.compute.inputs_signed = true;
    compute.compute.vectors = kVectors;
    compute.compute.outputs = outputs.data();
    compute.compute.output_stride = kCols;
    compute.layer = "external";
    const sc_core::sc_time compute_time = send(compute);
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
  cimtlm::cim::CimMacro macro("macro", params,
                              cimtlm::kernel::Clock(sc_core::sc_time(1, sc_core::SC_NS)), stats,
                              nullptr);
  Driver driver("driver");
  driver.socket.bind(macro.target);
  sc_core::sc_start();
  return driver.done && driver.failures == 0 ? 0 : 1;
}
