// A test bench for the memory hierarchy: one initiator thread running a test body against a
// MemoryHierarchy built from a few levels. One bench (one sc_start) per test process.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>

#include <functional>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/kernel/environment.h"
#include "models/kernel/stats.h"
#include "models/kernel/time.h"
#include "models/kernel/vcd.h"
#include "models/memory/memory_hierarchy.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::memory::test {

// 1 GHz: one cycle is 1000 ps.
constexpr uint64_t kCyclePs = 1000;

inline sc_core::sc_time ps(uint64_t value) {
  return sc_core::sc_time::from_value(value);
}
inline uint64_t to_ps(const sc_core::sc_time& time) {
  return time.value();
}

// A technology preset as platforms use it: every value from platforms/schema.yaml.
inline MemoryLevelParams preset(const std::string& technology) {
  return platforms::technology_preset(technology);
}

// A small dynamic level with round numbers, on the silicon base unless told otherwise. The
// mechanism tests use it with the plain laws: pure Arrhenius retention (no floor),
// temperature-independent leakage, free gating without residual leakage; the tests of those
// laws set them explicitly.
inline MemoryLevelParams small_level(const std::string& name, const std::string& technology) {
  MemoryLevelParams p = preset(technology);
  p.retention_floor_s_at_ref = 0;
  p.leakage_activation_energy_ev = 0;
  p.gate_entry_cycles = 0;
  p.gate_entry_energy_pj = 0;
  p.gated_leakage_pw_per_bit = 0;
  p.gated_retention_s_at_ref = 0;
  p.name = name;
  p.capacity_bytes = 4096;
  p.row_bytes = 256;  // 16 rows
  p.banks = 4;
  p.word_bytes = 8;
  p.read_cycles = 3;
  p.write_cycles = 4;
  p.bytes_per_cycle = 8;
  p.stack_layer = 0;
  p.vertical_hop_cycles = 0;
  p.wakeup_cycles = 20;
  p.refresh_cycles_per_row = 6;
  return p;
}

class Bench : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Bench> socket{"socket"};
  // To the hierarchy's power-control registers.
  tlm_utils::simple_initiator_socket<Bench> power_socket{"power_socket"};

  kernel::StatGroup stats{"memory", "memory"};
  kernel::FixedTemperature temperature;
  kernel::Clock clock{1e9};
  std::unique_ptr<MemoryHierarchy> memory;
  std::function<void(Bench&)> body;
  int invalidations = 0;
  uint64_t invalidated_start = 0, invalidated_end = 0;

  // The module name is a default argument so that it lives through construction.
  explicit Bench(const std::vector<MemoryLevelParams>& levels, double temperature_k = 358.15,
                 kernel::VcdTrace* vcd = nullptr, uint64_t seed = 1,
                 const sc_core::sc_module_name& name = "bench")
      : sc_core::sc_module(name), temperature(temperature_k) {
    memory =
        std::make_unique<MemoryHierarchy>("memory", levels, clock, stats, temperature, vcd, seed);
    socket.bind(memory->target);
    power_socket.bind(memory->power);
    socket.register_invalidate_direct_mem_ptr(this, &Bench::invalidate);
    sc_core::sc_spawn(
        [this] {
          if (body) body(*this);
        },
        "runner");
  }

  // One blocking transaction issued at local time now + `offset`; returns the annotated delay
  // added by the memory (total delay minus `offset`).
  sc_core::sc_time transact(tlm::tlm_command command, uint64_t address, uint8_t* data,
                            size_t length, tlm::tlm_response_status& status,
                            const sc_core::sc_time& offset = sc_core::SC_ZERO_TIME) {
    tlm::tlm_generic_payload trans;
    trans.set_command(command);
    trans.set_address(address);
    trans.set_data_ptr(data);
    trans.set_data_length(static_cast<unsigned int>(length));
    trans.set_streaming_width(static_cast<unsigned int>(length));
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = offset;
    socket->b_transport(trans, delay);
    status = trans.get_response_status();
    return delay - offset;
  }
  sc_core::sc_time read(uint64_t address, uint8_t* data, size_t length,
                        tlm::tlm_response_status& status,
                        const sc_core::sc_time& offset = sc_core::SC_ZERO_TIME) {
    return transact(tlm::TLM_READ_COMMAND, address, data, length, status, offset);
  }
  sc_core::sc_time write(uint64_t address, const uint8_t* data, size_t length,
                         tlm::tlm_response_status& status,
                         const sc_core::sc_time& offset = sc_core::SC_ZERO_TIME) {
    return transact(tlm::TLM_WRITE_COMMAND, address, const_cast<uint8_t*>(data), length, status,
                    offset);
  }

  // One access to the power-control registers at local time now + `offset`; returns the response
  // (and checks that the registers annotate no delay).
  tlm::tlm_response_status power(tlm::tlm_command command, uint64_t address, uint64_t& value,
                                 unsigned length = 8,
                                 const sc_core::sc_time& offset = sc_core::SC_ZERO_TIME,
                                 unsigned char* byte_enables = nullptr) {
    tlm::tlm_generic_payload trans;
    trans.set_command(command);
    trans.set_address(address);
    trans.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
    trans.set_data_length(length);
    trans.set_streaming_width(length);
    trans.set_byte_enable_ptr(byte_enables);
    trans.set_byte_enable_length(byte_enables ? length : 0);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = offset;
    power_socket->b_transport(trans, delay);
    power_delay_changed = power_delay_changed || delay != offset;
    return trans.get_response_status();
  }
  bool power_delay_changed = false;

  // Runs the body to completion.
  void run(std::function<void(Bench&)> test_body) {
    body = std::move(test_body);
    sc_core::sc_start();
  }

 private:
  void invalidate(sc_dt::uint64 start, sc_dt::uint64 end) {
    ++invalidations;
    invalidated_start = start;
    invalidated_end = end;
  }
};

}  // namespace cimtlm::memory::test
