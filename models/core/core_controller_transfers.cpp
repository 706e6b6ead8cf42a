// The core controller's data movement: memory transactions, the DMA engine's strided copies,
// NoC sends and receives (data into the network interface's socket, deliveries from it), and
// power gating of memory levels. The rest of the controller (program flow, scoreboard, compute)
// is core_controller.cpp.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "models/core/core_controller.h"
#include "models/noc/noc.h"

namespace cimtlm::core {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

namespace {

sc_time max_time(const sc_time& a, const sc_time& b) {
  return a > b ? a : b;
}

}  // namespace

// Memory transactions through the `memory` socket, split at max_transfer_bytes.

sc_time CoreController::transact(tlm::tlm_command command, Addr addr, uint8_t* data, uint64_t bytes,
                                 const sc_time& at) {
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
      throw std::runtime_error(std::string(command == tlm::TLM_READ_COMMAND ? "read" : "write") +
                               " of " + std::to_string(chunk) + " bytes at 0x" +
                               [&] {
                                 char text[32];
                                 std::snprintf(text, sizeof text, "%llx",
                                               static_cast<unsigned long long>(addr + done));
                                 return std::string(text);
                               }() +
                               " failed: " + payload.get_response_string());
    }
    time = sc_core::sc_time_stamp() + delay;
    done += chunk;
  }
  if (command == tlm::TLM_READ_COMMAND) {
    bytes_read_ += bytes;
  } else {
    bytes_written_ += bytes;
  }
  return time;
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
  std::vector<uint8_t> data(command.bytes);
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
  const sc_time at = max_time(issue_time_, horizon_);
  services_.power_gate(core_id_, command.level, command.gate, at);
  issue_time_ = at;
}

}  // namespace cimtlm::core
