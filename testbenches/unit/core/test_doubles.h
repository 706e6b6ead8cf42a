// Test doubles for controller tests: a fixed-latency memory, an exact CIM macro and a NoC with a
// fixed delivery latency. They implement the same TLM contracts as the real models so that the
// controller, mapper and arithmetic unit can be tested without them.
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/arith/arith_device.h"
#include "models/cim/cim_job.h"
#include "models/core/core_controller.h"
#include "models/noc/noc.h"

namespace cimtlm::testing {

// Memory: one flat byte array from address 0, `latency_cycles` + bytes / bytes_per_cycle.
// With grant_dmi(), it grants DMI over the whole array (read-only for a read request, read-write
// for a write request, like cimtlm's memory levels) with the given latencies, until
// withdraw_dmi() invalidates the grants and denies from then on. Its b_transport responses carry
// the DMI hint while it grants.
class FixedLatencyMemory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<FixedLatencyMemory> target{"target"};

  FixedLatencyMemory(const sc_core::sc_module_name& name, uint64_t size, uint64_t latency_cycles,
                     uint64_t bytes_per_cycle, const sc_core::sc_time& period)
      : sc_module(name), storage(size, 0), latency_(latency_cycles), width_(bytes_per_cycle),
        period_(period) {
    target.register_b_transport(this, &FixedLatencyMemory::b_transport);
    target.register_get_direct_mem_ptr(this, &FixedLatencyMemory::get_direct_mem_ptr);
  }

  std::vector<uint8_t> storage;
  uint64_t reads = 0, writes = 0;
  uint64_t dmi_requests = 0, dmi_grants = 0;

  void grant_dmi(uint64_t read_cycles, uint64_t write_cycles) {
    dmi_ = true;
    dmi_read_ = period_ * static_cast<double>(read_cycles);
    dmi_write_ = period_ * static_cast<double>(write_cycles);
  }
  void withdraw_dmi() {
    dmi_ = false;
    target->invalidate_direct_mem_ptr(0, storage.size() - 1);
  }
  void deny_dmi() { dmi_ = false; }  // before any grant (nothing to invalidate)

 private:
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& payload, tlm::tlm_dmi& dmi) {
    ++dmi_requests;
    dmi.set_start_address(0);
    dmi.set_end_address(storage.size() - 1);
    if (!dmi_) {
      dmi.allow_none();
      return false;
    }
    ++dmi_grants;
    dmi.set_dmi_ptr(storage.data());
    if (payload.is_write()) {
      dmi.allow_read_write();
    } else {
      dmi.allow_read();
    }
    dmi.set_read_latency(dmi_read_);
    dmi.set_write_latency(dmi_write_);
    return true;
  }
  bool dmi_ = false;
  sc_core::sc_time dmi_read_, dmi_write_;

  void b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
    const uint64_t addr = payload.get_address();
    const uint64_t length = payload.get_data_length();
    if (addr + length > storage.size()) {
      payload.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    if (payload.is_read()) {
      std::memcpy(payload.get_data_ptr(), storage.data() + addr, length);
      ++reads;
    } else if (payload.is_write()) {
      std::memcpy(storage.data() + addr, payload.get_data_ptr(), length);
      ++writes;
    }
    delay += period_ * static_cast<double>(latency_ + (length + width_ - 1) / width_);
    payload.set_dmi_allowed(dmi_);
    payload.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  uint64_t latency_, width_;
  sc_core::sc_time period_;
};

// CIM macro: exact integer dot products, `cycles_per_vector` per input vector; the fast path of
// the macro's memory map (models/cim/cim_job.h): zero points, then a tile or an input batch
// written with a CimCommandExtension, partial sums read from the output buffer.
class ExactMacro : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<ExactMacro> target{"target"};

  ExactMacro(const sc_core::sc_module_name& name, uint64_t cycles_per_vector,
             const sc_core::sc_time& period)
      : sc_module(name), cycles_per_vector_(cycles_per_vector), period_(period) {
    target.register_b_transport(this, &ExactMacro::b_transport);
  }
  uint64_t loads = 0, vectors = 0;

 private:
  void b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
    const uint64_t address = payload.get_address();
    const uint8_t* data = payload.get_data_ptr();
    const auto* extension = payload.get_extension<cim::CimCommandExtension>();
    payload.set_response_status(tlm::TLM_OK_RESPONSE);
    if (address == cim::map::kZeroPoints) {
      zero_points_.resize(payload.get_data_length() / 4);
      std::memcpy(zero_points_.data(), data, payload.get_data_length());
    } else if (address == cim::map::kWeightWindow && extension) {
      const cim::CimCommand& load = extension->command;
      rows_ = load.rows;
      cols_ = load.cols;
      weights_.assign(static_cast<size_t>(rows_ * cols_), 0);
      const bool is_signed = (load.flags & cim::map::kWeightsSigned) != 0;
      for (int64_t r = 0; r < rows_; ++r) {
        for (int64_t c = 0; c < cols_; ++c) {
          const uint8_t code = data[r * cols_ + c];
          const int32_t value = is_signed ? static_cast<int8_t>(code) : code;
          weights_[static_cast<size_t>(r * cols_ + c)] = value - zero_points_.at(static_cast<size_t>(c));
        }
      }
      ++loads;
      delay += period_ * static_cast<double>(rows_);
    } else if (address == cim::map::kInputBuffer && extension) {
      const cim::CimCommand& compute = extension->command;
      const bool is_signed = (compute.flags & cim::map::kInputsSigned) != 0;
      outputs_.assign(static_cast<size_t>(compute.vectors * cols_), 0);
      for (int64_t v = 0; v < compute.vectors; ++v) {
        for (int64_t c = 0; c < cols_; ++c) {
          int32_t sum = 0;
          for (int64_t r = 0; r < rows_; ++r) {
            const uint8_t code = data[v * rows_ + r];
            const int32_t x = is_signed ? static_cast<int8_t>(code) : code;
            sum += (x - compute.input_zero_point) * weights_[static_cast<size_t>(r * cols_ + c)];
          }
          outputs_[static_cast<size_t>(v * cols_ + c)] = sum;
        }
      }
      vectors += static_cast<uint64_t>(compute.vectors);
      delay += period_ * static_cast<double>(cycles_per_vector_ * static_cast<uint64_t>(compute.vectors));
    } else if (address == cim::map::kOutputBuffer && payload.is_read() &&
               payload.get_data_length() <= outputs_.size() * 4) {
      std::memcpy(payload.get_data_ptr(), outputs_.data(), payload.get_data_length());
    } else {
      payload.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    }
  }
  uint64_t cycles_per_vector_;
  sc_core::sc_time period_;
  int64_t rows_ = 0, cols_ = 0;
  std::vector<int32_t> weights_, zero_points_, outputs_;
};

// NoC: every transfer arrives `latency` after it was sent. One TLM target per core takes
// transfers (write payloads with a noc::NocTransferExtension) and one initiator per core delivers
// them into the core's `network_in`, as the real network interfaces do.
class FixedLatencyServices : public core::CoreServices, public sc_core::sc_module {
 public:
  FixedLatencyServices(const sc_core::sc_module_name& name, int cores, const sc_core::sc_time& latency)
      : sc_module(name), latency_(latency) {
    for (int core = 0; core < cores; ++core) {
      interfaces_.push_back(std::make_unique<tlm_utils::simple_target_socket_tagged<FixedLatencyServices>>(
          ("ni" + std::to_string(core)).c_str()));
      interfaces_.back()->register_b_transport(this, &FixedLatencyServices::b_transport, core);
      deliveries_.push_back(std::make_unique<tlm_utils::simple_initiator_socket<FixedLatencyServices>>(
          ("delivery" + std::to_string(core)).c_str()));
    }
    sc_core::sc_spawn_options options;
    sc_core::sc_spawn([this] { deliver_loop(); }, "deliver", &options);
  }
  int inferences_done = 0;

  // The network interface of a core: where its sends go, and whence its arrivals come.
  tlm_utils::simple_target_socket_tagged<FixedLatencyServices>& interface(int core) {
    return *interfaces_.at(static_cast<size_t>(core));
  }
  tlm_utils::simple_initiator_socket<FixedLatencyServices>& delivery(int core) {
    return *deliveries_.at(static_cast<size_t>(core));
  }

  void inference_done(int, int, const sc_core::sc_time&) override { ++inferences_done; }

 private:
  struct Message {
    sc_core::sc_time arrival;
    noc::NocTransferExtension transfer;
    uint64_t address = 0;
    std::vector<uint8_t> data;
  };
  void b_transport(int core, tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
    noc::NocTransferExtension* transfer = nullptr;
    payload.get_extension(transfer);
    Message message{sc_core::sc_time_stamp() + delay + latency_, *transfer, payload.get_address(),
                    std::vector<uint8_t>(payload.get_data_ptr(),
                                         payload.get_data_ptr() + payload.get_data_length())};
    message.transfer.source_core = core;
    // Sends come from cores at their local times, not in time order: keep them sorted.
    auto position = std::upper_bound(pending_.begin(), pending_.end(), message.arrival,
                                     [](const sc_core::sc_time& t, const Message& m) { return t < m.arrival; });
    pending_.insert(position, std::move(message));
    wake_.notify(sc_core::SC_ZERO_TIME);
    payload.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  void deliver_loop() {
    while (true) {
      if (pending_.empty()) wait(wake_);
      while (!pending_.empty()) {
        const sc_core::sc_time due = pending_.front().arrival;
        if (due > sc_core::sc_time_stamp()) {
          // A send may arrive meanwhile with an earlier due time.
          wait(due - sc_core::sc_time_stamp(), wake_);
          continue;
        }
        Message message = std::move(pending_.front());
        pending_.erase(pending_.begin());
        tlm::tlm_generic_payload payload;
        payload.set_command(tlm::TLM_WRITE_COMMAND);
        payload.set_address(message.address);
        payload.set_data_ptr(message.data.data());
        payload.set_data_length(static_cast<unsigned int>(message.data.size()));
        payload.set_streaming_width(static_cast<unsigned int>(message.data.size()));
        payload.set_extension(&message.transfer);
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        delivery(message.transfer.destination_core)->b_transport(payload, delay);
        payload.clear_extension(&message.transfer);
      }
    }
  }
  sc_core::sc_time latency_;
  std::vector<Message> pending_;
  sc_core::sc_event wake_;
  std::vector<std::unique_ptr<tlm_utils::simple_target_socket_tagged<FixedLatencyServices>>> interfaces_;
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<FixedLatencyServices>>> deliveries_;
};

// A CPU stand-in on a core's control registers: at time 0 writes the program's address and
// length and the inference count, starts it, waits for the done interrupt, reads the status.
class RegisterCpu : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<RegisterCpu> bus{"bus"};
  sc_core::sc_in<bool> irq{"irq"};
  uint64_t status = 0, error = 0, inferences = 0, finish_cycle = 0;
  sc_core::sc_time interrupted_at;
  bool bus_error = false;

  RegisterCpu(const sc_core::sc_module_name& name, uint64_t base, uint64_t bytes,
              uint64_t inference_count)
      : sc_module(name) {
    sc_core::sc_spawn(
        [this, base, bytes, inference_count] {
          write(core::regs::kProgramBase, base);
          write(core::regs::kProgramBytes, bytes);
          write(core::regs::kInferences, inference_count);
          write(core::regs::kControl, 1);
          wait(irq.posedge_event());
          interrupted_at = sc_core::sc_time_stamp();
          status = read(core::regs::kStatus);
          error = read(core::regs::kError);
          inferences = read(core::regs::kInferencesDone);
          finish_cycle = read(core::regs::kFinishCycle);
        },
        "software");
  }
  void access(tlm::tlm_command command, uint64_t address, uint64_t& value, unsigned length = 8) {
    tlm::tlm_generic_payload payload;
    payload.set_command(command);
    payload.set_address(address);
    payload.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
    payload.set_data_length(length);
    payload.set_streaming_width(length);
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    bus->b_transport(payload, delay);
    last_response = payload.get_response_status();
    if (payload.is_response_error()) bus_error = true;
  }
  void write(uint64_t address, uint64_t value) { access(tlm::TLM_WRITE_COMMAND, address, value); }
  uint64_t read(uint64_t address) {
    uint64_t value = 0;
    access(tlm::TLM_READ_COMMAND, address, value);
    return value;
  }
  tlm::tlm_response_status last_response = tlm::TLM_INCOMPLETE_RESPONSE;
};

}  // namespace cimtlm::testing
