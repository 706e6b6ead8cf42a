// An external SystemC platform using the installed cimtlm package: its own memory model (a
// plain TLM target), a cimtlm core controller, arithmetic unit and CIM macro, and a program of
// one weight tile, four input vectors and a requantization. The program is encoded into the
// platform's memory; the platform's CPU stand-in starts it through the core's control registers
// and waits for the done interrupt. Exits 0 when the outputs equal the host's integer arithmetic,
// the registers report done without error and the counters match.
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/arith/arith_device.h"
#include "models/cim/cim_macro.h"
#include "models/core/core_controller.h"
#include "models/core/program_codec.h"

namespace {

// The platform's own memory: bytes from address 0, 3 ns per access.
class PlatformMemory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<PlatformMemory> target{"target"};
  std::vector<uint8_t> bytes = std::vector<uint8_t>(1 << 16, 0);
  explicit PlatformMemory(const sc_core::sc_module_name& name) : sc_module(name) {
    target.register_b_transport(this, &PlatformMemory::b_transport);
  }

 private:
  void b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
    const uint64_t addr = payload.get_address(), length = payload.get_data_length();
    if (addr + length > bytes.size()) {
      payload.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    if (payload.is_read()) std::memcpy(payload.get_data_ptr(), bytes.data() + addr, length);
    if (payload.is_write()) std::memcpy(bytes.data() + addr, payload.get_data_ptr(), length);
    delay += sc_core::sc_time(3, sc_core::SC_NS);
    payload.set_response_status(tlm::TLM_OK_RESPONSE);
  }
};

// The platform's CPU: programs the core's registers, waits for its interrupt, reads the status.
class Cpu : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Cpu> bus{"bus"};
  sc_core::sc_in<bool> irq{"irq"};
  uint64_t program_base = 0, program_bytes = 0;
  uint64_t status = 0, error = 0, commands = 0, inferences = 0, finish_cycle = 0;
  uint64_t status_after_clear = 0;
  sc_core::sc_time interrupted_at;
  bool bus_error = false;

  explicit Cpu(const sc_core::sc_module_name& name) : sc_module(name) {
    sc_core::sc_spawn([this] { run(); }, "software");
  }

 private:
  void access(tlm::tlm_command command, uint64_t address, uint64_t& value) {
    tlm::tlm_generic_payload payload;
    payload.set_command(command);
    payload.set_address(address);
    payload.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
    payload.set_data_length(8);
    payload.set_streaming_width(8);
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    bus->b_transport(payload, delay);
    if (payload.is_response_error()) bus_error = true;
  }
  void write(uint64_t address, uint64_t value) { access(tlm::TLM_WRITE_COMMAND, address, value); }
  uint64_t read(uint64_t address) {
    uint64_t value = 0;
    access(tlm::TLM_READ_COMMAND, address, value);
    return value;
  }
  void run() {
    namespace regs = cimtlm::core::regs;
    wait(sc_core::sc_time(100, sc_core::SC_NS));  // boot
    write(regs::kProgramBase, program_base);
    write(regs::kProgramBytes, program_bytes);
    write(regs::kInferences, 1);
    write(regs::kControl, 1);
    wait(irq.posedge_event());
    interrupted_at = sc_core::sc_time_stamp();
    status = read(regs::kStatus);
    error = read(regs::kError);
    commands = read(regs::kCommands);
    inferences = read(regs::kInferencesDone);
    finish_cycle = read(regs::kFinishCycle);
    write(regs::kStatus, regs::kStatusDone | regs::kStatusError);  // acknowledge
    status_after_clear = read(regs::kStatus);
  }
};

}  // namespace

int sc_main(int, char**) {
  using namespace cimtlm;
  constexpr int kRows = 16, kCols = 8, kVectors = 4;
  constexpr core::Addr kWeights = 0, kInput = 0x1000, kOutput = 0x2000;
  const kernel::Clock clock(sc_core::sc_time(1, sc_core::SC_NS));
  kernel::StatGroup stats("chip");
  PlatformMemory memory("memory");
  arith::ArithDevice arith("arith", arith::ArithParams{}, clock, stats.child("arith"), nullptr);
  cim::CimMacroParams macro_params;
  macro_params.rows = 64;
  macro_params.cols = 64;
  cim::CimMacro macro("macro", macro_params, clock, stats.child("cim0"), nullptr);
  core::CoreParams params;
  params.macros = 1;
  // Sockets only: nothing of the platform observes the controller (no CoreServices).
  core::CoreController controller("controller", 0, params, clock, stats.child("controller"),
                                  nullptr);
  controller.memory.bind(memory.target);
  controller.arith.bind(arith.target);
  controller.cim[0]->bind(macro.target);
  // The network socket must be bound; this platform has no network: a target that refuses.
  PlatformMemory no_network("no_network");
  controller.network.bind(no_network.target);

  // Data: int8 weights and inputs with a known pattern.
  std::vector<int8_t> weights(kRows * kCols), inputs(kVectors * kRows);
  for (int i = 0; i < kRows * kCols; ++i) weights[i] = static_cast<int8_t>((i * 37) % 255 - 127);
  for (int i = 0; i < kVectors * kRows; ++i) inputs[i] = static_cast<int8_t>((i * 53) % 200 - 100);
  std::memcpy(memory.bytes.data() + kWeights, weights.data(), weights.size());
  std::memcpy(memory.bytes.data() + kInput, inputs.data(), inputs.size());

  core::LoadWeights load;
  load.rows = kRows;
  load.cols = kCols;
  load.weight_zero_points.assign(kCols, 0);
  load.layer = "dense";
  core::CimMatmul matmul;
  matmul.source.input = {kInput, core::ElemType::Int8, {kVectors, kRows}};
  matmul.source.element_count = kRows;
  matmul.source.vector_count = kVectors;
  matmul.cols = kCols;
  matmul.accumulator_stride = kCols;
  matmul.layer = "dense";
  core::Requantize requantize;
  requantize.vectors = kVectors;
  requantize.cols = kCols;
  requantize.accumulator_stride = kCols;
  const float multiplier = 1.0f / 256.0f;
  requantize.multipliers = std::make_shared<const std::vector<float>>(1, multiplier);
  requantize.output = {kOutput, core::ElemType::Int8, {kVectors, kCols}};
  requantize.out_vector_stride = kCols;
  requantize.layer = "dense";
  core::Program program;
  program.prologue = {load};
  program.body = {matmul, requantize, core::InferenceDone{}};
  // The program in the platform's memory, started through the registers.
  constexpr core::Addr kProgram = 0x8000;
  const std::vector<uint8_t> image = core::encode_program(program);
  std::memcpy(memory.bytes.data() + kProgram, image.data(), image.size());
  Cpu cpu("cpu");
  cpu.program_base = kProgram;
  cpu.program_bytes = image.size();
  cpu.bus.bind(controller.control);
  cpu.irq.bind(controller.done_irq);

  sc_core::sc_start();

  int mismatches = 0;
  for (int v = 0; v < kVectors; ++v) {
    for (int c = 0; c < kCols; ++c) {
      int32_t acc = 0;
      for (int r = 0; r < kRows; ++r) acc += inputs[v * kRows + r] * weights[r * kCols + c];
      const float scaled = static_cast<float>(acc) * multiplier;
      const long rounded = std::lrint(scaled);  // round half to even (default rounding mode)
      const int expected = static_cast<int>(std::max(-128L, std::min(127L, rounded)));
      const int simulated = static_cast<int8_t>(memory.bytes[kOutput + v * kCols + c]);
      if (simulated != expected) ++mismatches;
    }
  }
  namespace regs = core::regs;
  std::cout << "finished " << controller.finished() << " at " << controller.finish_time()
            << ", interrupt at " << cpu.interrupted_at << ", status " << cpu.status << " error "
            << cpu.error << " commands " << cpu.commands << " inferences " << cpu.inferences
            << " finish cycle " << cpu.finish_cycle << ", error '" << controller.error()
            << "', mismatches " << mismatches << '\n';
  const bool ok = controller.finished() && controller.error().empty() && mismatches == 0 &&
                  !cpu.bus_error && cpu.status == regs::kStatusDone && cpu.error == 0 &&
                  cpu.commands == 4 && cpu.inferences == 1 && cpu.status_after_clear == 0 &&
                  cpu.interrupted_at == controller.finish_time() &&
                  cpu.finish_cycle == clock.to_cycles(controller.finish_time()) &&
                  controller.finish_time() > sc_core::sc_time(100, sc_core::SC_NS);
  return ok ? 0 : 1;
}
