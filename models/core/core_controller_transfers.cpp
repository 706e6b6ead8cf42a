// The core controller's data movement: memory transactions, the DMA engine's strided copies,
// NoC sends and receives (data into the network interface's socket, deliveries from it), and
// power gating of memory levels through the `power` socket. Program flow and the timeline are
// core_controller.cpp, the compute commands core_controller_commands.cpp.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "models/core/controller_internal.h"
#include "models/core/core_controller.h"
#include "models/kernel/hex.h"
#include "models/memory/power_control.h"
#include "models/noc/noc.h"

namespace cimtlm::core {

using kernel::hex;

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

using internal::max_time;

// Memory transactions through the `memory` socket, split at max_transfer_bytes; with DMI, a
// transfer wholly inside a granted region is a memcpy, each chunk timed by the grant's latency
// (what the target's b_transport would add for it, as the LT DMI examples of TLM-2.0 do).

sc_time CoreController::transact(tlm::tlm_command command, Addr addr, uint8_t* data, uint64_t bytes,
                                 const sc_time& at) {
  const bool is_read = command == tlm::TLM_READ_COMMAND;
  if (const tlm::tlm_dmi* region = params_.dmi ? dmi_region(command, addr, bytes) : nullptr) {
    uint8_t* memory_bytes = region->get_dmi_ptr() + (addr - region->get_start_address());
    if (is_read) {
      std::memcpy(data, memory_bytes, bytes);
    } else {
      std::memcpy(memory_bytes, data, bytes);
    }
    const uint64_t chunks = (bytes + params_.max_transfer_bytes - 1) / params_.max_transfer_bytes;
    (is_read ? dmi_reads_ : dmi_writes_) += chunks;
    (is_read ? bytes_read_ : bytes_written_) += bytes;
    return max_time(at, sc_core::sc_time_stamp()) +
           (is_read ? region->get_read_latency() : region->get_write_latency()) *
               static_cast<double>(chunks);
  }
  sc_time time = at;
  uint64_t done = 0;
  while (done < bytes) {
    const uint64_t chunk = std::min<uint64_t>(bytes - done, params_.max_transfer_bytes);
    // A payload per transaction from the pool: NoC deliveries write from another process while
    // this one may be suspended in a transaction.
    kernel::PayloadPool::Payload pooled(payloads_);
    tlm::tlm_generic_payload& payload = *pooled;
    kernel::prepare(payload, command, addr + done, data + done, chunk);
    const sc_time now = sc_core::sc_time_stamp();
    sc_time delay = time > now ? time - now : SC_ZERO_TIME;
    memory->b_transport(payload, delay);
    if (payload.is_response_error()) {
      throw std::runtime_error(std::string(is_read ? "read" : "write") + " of " +
                               std::to_string(chunk) + " bytes at 0x" + hex(addr + done) +
                               " failed: " + payload.get_response_string());
    }
    // The target hints that it would grant DMI here now (e.g. a level woken up again).
    if (params_.dmi && payload.is_dmi_allowed()) dmi_.hinted(addr + done);
    time = sc_core::sc_time_stamp() + delay;
    done += chunk;
  }
  (is_read ? bytes_read_ : bytes_written_) += bytes;
  return time;
}

const tlm::tlm_dmi* CoreController::dmi_region(tlm::tlm_command command, Addr addr,
                                               uint64_t bytes) {
  if (bytes == 0) return nullptr;
  const bool write = command == tlm::TLM_WRITE_COMMAND;
  const Addr last = addr + bytes - 1;
  if (const tlm::tlm_dmi* region = dmi_.find(write, addr, last)) return region;
  if (dmi_.denied(write, addr)) return nullptr;
  // Ask once for this region (the target answers for the whole range it can say something of).
  kernel::PayloadPool::Payload pooled(payloads_);
  tlm::tlm_generic_payload& payload = *pooled;
  kernel::prepare(payload, command, addr, nullptr, 0);
  tlm::tlm_dmi dmi;
  const bool granted = memory->get_direct_mem_ptr(payload, dmi);
  dmi_.record(write, addr, granted, dmi);
  return dmi_.find(write, addr, last);
}

void CoreController::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
  dmi_.invalidate(start, end);
}

sc_time CoreController::read(Addr addr, uint8_t* data, uint64_t bytes, const sc_time& at) {
  return transact(tlm::TLM_READ_COMMAND, addr, data, bytes, at);
}

sc_time CoreController::write(Addr addr, const uint8_t* data, uint64_t bytes, const sc_time& at) {
  // The payload's data pointer is non-const by TLM's design; a write target only reads it.
  return transact(tlm::TLM_WRITE_COMMAND, addr, const_cast<uint8_t*>(data), bytes, at);
}

sc_time CoreController::read_tensor(const TensorRef& tensor, std::vector<uint8_t>& data,
                                    const sc_time& at) {
  data.resize(tensor.bytes());
  return read(tensor.addr, data.data(), tensor.bytes(), at);
}

void CoreController::copy(const Copy& command) {
  // A strided copy by the DMA engine: innermost-dimension runs are read and written whole.
  const size_t esize = elem_size(command.type);
  const auto& extent = command.extent;
  const int64_t run = extent[3];
  const bool source_contiguous = command.source_stride[3] == 1;
  const bool destination_contiguous = command.destination_stride[3] == 1;
  sc_time fetch_start = max_time(issue_time_, dma_read_free_);
  if (!params_.double_buffering) fetch_start = max_time(fetch_start, horizon_);
  sc_time time = fetch_start;
  std::vector<uint8_t> element(esize);
  buffer_a_.resize(static_cast<size_t>(run) * esize);
  for (int64_t i0 = 0; i0 < extent[0]; ++i0) {
    for (int64_t i1 = 0; i1 < extent[1]; ++i1) {
      for (int64_t i2 = 0; i2 < extent[2]; ++i2) {
        const int64_t source_base = i0 * command.source_stride[0] + i1 * command.source_stride[1] +
                                    i2 * command.source_stride[2];
        const int64_t destination_base = i0 * command.destination_stride[0] +
                                         i1 * command.destination_stride[1] +
                                         i2 * command.destination_stride[2];
        // Gather the run (contiguous or element by element), then scatter it.
        if (source_contiguous) {
          const Addr from = command.source + static_cast<Addr>(source_base) * esize;
          time = max_time(time, ready_time(from, static_cast<uint64_t>(run) * esize));
          time = read(from, buffer_a_.data(), static_cast<uint64_t>(run) * esize, time);
        } else {
          for (int64_t i3 = 0; i3 < run; ++i3) {
            const Addr from =
                command.source +
                static_cast<Addr>(source_base + i3 * command.source_stride[3]) * esize;
            time = max_time(time, ready_time(from, esize));
            time = read(from, buffer_a_.data() + i3 * esize, esize, time);
          }
        }
        if (destination_contiguous) {
          const Addr to = command.destination + static_cast<Addr>(destination_base) * esize;
          time = write(to, buffer_a_.data(), static_cast<uint64_t>(run) * esize, time);
          mark_written(to, static_cast<uint64_t>(run) * esize, time);
        } else {
          for (int64_t i3 = 0; i3 < run; ++i3) {
            const Addr to =
                command.destination +
                static_cast<Addr>(destination_base + i3 * command.destination_stride[3]) * esize;
            time = write(to, buffer_a_.data() + i3 * esize, esize, time);
            mark_written(to, esize, time);
          }
        }
      }
    }
  }
  dma_read_free_ = time;
  dma_write_free_ = max_time(dma_write_free_, time);
  retire(Unit::Dma, 0, fetch_start, fetch_start, time);
}

void CoreController::send(const Send& command) {
  sc_time fetch_start =
      max_time(max_time(issue_time_, ready_time(command.source, command.bytes)), dma_read_free_);
  // A flow-control token says the consumers are done: it leaves when all issued work has.
  if (command.bytes == 0) fetch_start = max_time(fetch_start, horizon_);
  // One buffer for every send (no allocation and no zero fill per transfer): the network
  // interface copies the data before b_transport returns.
  std::vector<uint8_t>& data = send_buffer_;
  data.resize(command.bytes);
  const sc_time fetched = read(command.source, data.data(), command.bytes, fetch_start);
  dma_read_free_ = fetched;
  bytes_sent_ += command.bytes;
  // The network interface takes the transfer (a copy of the data) at this core's local time
  // (ahead of the kernel within the quantum); the destination's interface writes it into the
  // destination core's `network_in` target when its last flit has arrived.
  noc::NocTransferExtension transfer;
  transfer.destination_core = command.to_core;
  transfer.bytes = command.bytes;
  transfer.tag = command.tag;
  kernel::PayloadPool::Payload pooled(payloads_);
  tlm::tlm_generic_payload& payload = *pooled;
  kernel::prepare(payload, tlm::TLM_WRITE_COMMAND, command.destination, data.data(), data.size());
  payload.set_extension(&transfer);
  const sc_time now = sc_core::sc_time_stamp();
  sc_time delay = fetched > now ? fetched - now : SC_ZERO_TIME;
  network->b_transport(payload, delay);
  payload.clear_extension(&transfer);
  if (payload.is_response_error()) {
    throw std::runtime_error("the network interface refused a transfer to core " +
                             std::to_string(command.to_core) + " (layer '" + command.layer + "')");
  }
  retire(Unit::Dma, 0, fetch_start, fetch_start, fetched);
}

void CoreController::receive(const Receive& command) {
  const auto key = std::make_pair(command.from_core, command.tag);
  auto pending = [&] {
    auto found = arrivals_.find(key);
    return found != arrivals_.end() && !found->second.empty();
  };
  if (!pending()) {
    // Data not there yet in simulated time: synchronise and wait for the NoC.
    sync_to(issue_time_);
    const sc_time waiting_since = sc_core::sc_time_stamp();
    while (!pending()) wait(arrival_event_);
    receive_wait_ns_ += kernel::to_ns(sc_core::sc_time_stamp() - waiting_since);
  }
  auto& queue = arrivals_[key];
  const sc_time arrival = queue.front();
  queue.pop_front();
  // After waiting, the local timeline resumes no earlier than the kernel.
  issue_time_ = max_time(max_time(issue_time_, arrival), sc_core::sc_time_stamp());
}

void CoreController::network_in_transport(tlm::tlm_generic_payload& payload, sc_time& delay) {
  noc::NocTransferExtension* transfer = nullptr;
  payload.get_extension(transfer);
  if (transfer == nullptr || payload.get_command() != tlm::TLM_WRITE_COMMAND) {
    payload.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  try {
    deliver(transfer->source_core, static_cast<int>(transfer->tag), payload.get_address(),
            payload.get_data_ptr(), payload.get_data_length(), sc_core::sc_time_stamp() + delay);
  } catch (const std::exception& failure) {
    // The run fails with it; the receiver still gets the arrival, so it does not wait forever.
    if (error_.empty()) error_ = "core " + std::to_string(core_id_) + ": " + failure.what();
    arrivals_[{transfer->source_core, static_cast<int>(transfer->tag)}].push_back(
        sc_core::sc_time_stamp() + delay);
    arrival_event_.notify(SC_ZERO_TIME);
    payload.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  payload.set_response_status(tlm::TLM_OK_RESPONSE);
}

void CoreController::deliver(int from_core, int tag, Addr destination,
                             const std::vector<uint8_t>& data, const sc_time& arrival) {
  deliver(from_core, tag, destination, data.data(), data.size(), arrival);
}

void CoreController::deliver(int from_core, int tag, Addr destination, const uint8_t* data,
                             uint64_t bytes, const sc_time& arrival) {
  // The network interface writes the payload into local memory as it arrives (a token for
  // flow control carries no payload).
  sc_time written = arrival;
  if (bytes != 0) {
    written = write(destination, data, bytes, arrival);
    mark_written(destination, bytes, written);
  }
  arrivals_[{from_core, tag}].push_back(written);
  arrival_event_.notify(SC_ZERO_TIME);
}

void CoreController::power_gate(const PowerGate& command) {
  // After everything issued so far: a write of the level's power-control register at that
  // time (the register answers at once; the level's entry and wake-up take their own time).
  const sc_time at = max_time(issue_time_, horizon_);
  const std::string what = std::string(command.gate ? "gating" : "waking") + " memory level " +
                           std::to_string(command.level);
  if (power.size() == 0) throw std::runtime_error(what + ": the `power` socket is not bound");
  if (command.level < 0) throw std::runtime_error(what + ": no such level");
  uint64_t value = command.gate ? memory::power_regs::kGate : memory::power_regs::kWake;
  kernel::PayloadPool::Payload pooled(payloads_);
  tlm::tlm_generic_payload& payload = *pooled;
  kernel::prepare(payload, tlm::TLM_WRITE_COMMAND, memory::power_regs::offset(command.level),
                  reinterpret_cast<uint8_t*>(&value), sizeof value);
  const sc_time now = sc_core::sc_time_stamp();
  sc_time delay = at > now ? at - now : SC_ZERO_TIME;
  power->b_transport(payload, delay);
  if (payload.is_response_error()) {
    throw std::runtime_error(what + " failed: " + payload.get_response_string());
  }
  issue_time_ = at;
}

}  // namespace cimtlm::core
