// The SystemC NoC: transfers through the per-core network interfaces arrive at exactly the cycle
// the engine computes (zero-load formula when alone, the engine's answer under contention, also
// for sends that interrupt a look-ahead), TLM error responses, statistics and VCD tracing.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/kernel/stats.h"
#include "models/kernel/vcd.h"
#include "models/noc/noc.h"

namespace cimtlm::noc {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

// A process running `body` (a core stand-in) with an initiator socket.
class Driver : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket_optional<Driver> socket{"socket"};

  Driver(const sc_core::sc_module_name& name, std::function<void(Driver&)> body)
      : sc_core::sc_module(name), body_(std::move(body)) {
    sc_core::sc_spawn([this] { body_(*this); }, "body");
  }

 private:
  std::function<void(Driver&)> body_;
};

// A core stand-in's target for NoC deliveries: records what arrives and when.
class Receiver : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Receiver> socket{"socket"};
  explicit Receiver(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
    socket.register_b_transport(this, &Receiver::b_transport);
  }
  sc_time arrival = sc_core::SC_ZERO_TIME;
  tlm::tlm_command command = tlm::TLM_IGNORE_COMMAND;
  uint64_t address = 0;
  std::vector<uint8_t> data;
  NocTransferExtension transfer;
  int deliveries = 0;

 private:
  void b_transport(tlm::tlm_generic_payload& payload, sc_time& delay) {
    arrival = sc_core::sc_time_stamp() + delay;
    command = payload.get_command();
    address = payload.get_address();
    data.assign(payload.get_data_ptr(), payload.get_data_ptr() + payload.get_data_length());
    NocTransferExtension* extension = nullptr;
    payload.get_extension(extension);
    if (extension != nullptr) transfer = *extension;
    ++deliveries;
    payload.set_response_status(tlm::TLM_OK_RESPONSE);
  }
};

// Delivery targets on every interface of `noc`: `on_arrival(tag, arrival)` runs for each transfer
// delivered (at SystemC time >= its arrival), as a core's network_in would see it.
class Sinks {
 public:
  using OnArrival = std::function<void(int64_t tag, const sc_time& arrival)>;
  Sinks(Noc& noc, OnArrival on_arrival) : on_arrival_(std::move(on_arrival)) {
    for (int core = 0; core < noc.cores(); ++core) {
      receivers_.push_back(std::make_unique<Sink>(("sink" + std::to_string(core)).c_str(), *this));
      noc.interface(core).delivery.bind(receivers_.back()->socket);
    }
  }
  sc_time last_call_time = sc_core::SC_ZERO_TIME;  // SystemC time of the last delivery

 private:
  struct Sink : sc_core::sc_module {
    tlm_utils::simple_target_socket<Sink> socket{"socket"};
    Sink(const sc_core::sc_module_name& name, Sinks& owner) : sc_module(name), owner_(owner) {
      socket.register_b_transport(this, &Sink::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload& payload, sc_time& delay) {
      NocTransferExtension* transfer = nullptr;
      payload.get_extension(transfer);
      owner_.last_call_time = sc_core::sc_time_stamp();
      owner_.on_arrival_(transfer ? transfer->tag : -1, sc_core::sc_time_stamp() + delay);
      payload.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    Sinks& owner_;
  };
  OnArrival on_arrival_;
  std::vector<std::unique_ptr<Sink>> receivers_;
};

// A timing-only transfer (no data) tagged `tag`.
bool send(Noc& noc, int source, int destination, uint64_t bytes, int64_t tag,
          const sc_time& local_time) {
  return noc.send(source, destination, tag, 0, {}, bytes, local_time);
}

// Arrival cycle of the last packet of each transfer when the same packets run on a bare engine.
struct TransferSpec {
  int source;
  int destination;
  uint64_t bytes;
  uint64_t create_cycle;
};
std::vector<uint64_t> engine_arrivals(const NocParams& params,
                                      const std::vector<TransferSpec>& specs) {
  Network network(params);
  uint64_t id = 0;
  for (size_t t = 0; t < specs.size(); ++t) {
    const uint64_t payload = static_cast<uint64_t>(params.max_packet_payload_bytes);
    const uint64_t packets = specs[t].bytes == 0 ? 1 : (specs[t].bytes + payload - 1) / payload;
    for (uint64_t i = 0; i < packets; ++i) {
      const uint64_t chunk =
          std::min(payload, specs[t].bytes - std::min(specs[t].bytes, i * payload));
      network.inject({id++, specs[t].source, specs[t].destination,
                      params.flits_for_payload(static_cast<long long>(chunk)),
                      specs[t].create_cycle, t});
    }
  }
  std::vector<uint64_t> arrival(specs.size(), 0);
  std::vector<Delivery> batch;
  while (!network.idle()) {
    network.run_until(network.now() + 1);
    network.take_deliveries(batch);
    for (const Delivery& d : batch) arrival[d.tag] = std::max(arrival[d.tag], d.arrival_cycle);
  }
  return arrival;
}

const kernel::Clock kClock(1.0e9);  // 1 GHz: one cycle per ns

TEST(NocSystemC, LoneTransferArrivesAtZeroLoadLatency) {
  NocParams params;
  kernel::StatGroup stats("noc", "noc");
  Noc noc("noc", params, kClock, stats);
  sc_time arrival = sc_core::SC_ZERO_TIME;
  sc_time called_at = sc_core::SC_ZERO_TIME;
  sc_time offset_arrival = sc_core::SC_ZERO_TIME;
  Sinks sinks(noc, [&](int64_t tag, const sc_time& at) {
    if (tag == 1) {
      arrival = at;
      called_at = sc_core::sc_time_stamp();
    } else {
      offset_arrival = at;
    }
  });
  Driver driver("driver", [&](Driver&) {
    sc_core::wait(10, SC_NS);
    ASSERT_TRUE(send(noc, 0, 15, 64, 1, sc_core::sc_time_stamp()));
    sc_core::wait(200, SC_NS);
    // A temporally decoupled core: local time 5 ns ahead of the kernel.
    ASSERT_TRUE(send(noc, 0, 0, 16, 2, sc_core::sc_time_stamp() + sc_time(5, SC_NS)));
  });
  sc_core::sc_start();
  // 64 B = 4 flits of 128 bits over 6 hops: 3 + 7*4 + 6 + 3 = 40 cycles.
  EXPECT_EQ(arrival, sc_time(10 + 40, SC_NS));
  EXPECT_EQ(called_at, arrival);
  EXPECT_EQ(offset_arrival, sc_time(210 + 5 + 7, SC_NS));  // to itself: 7 cycles
  EXPECT_EQ(noc.transfers_in_flight(), 0u);
}

TEST(NocSystemC, TlmInterfaceTakesTransfersAndRejectsBadOnes) {
  NocParams params;
  kernel::StatGroup stats("noc", "noc");
  Noc noc("noc", params, kClock, stats);
  tlm::tlm_response_status missing_extension = tlm::TLM_INCOMPLETE_RESPONSE;
  tlm::tlm_response_status bad_destination = tlm::TLM_INCOMPLETE_RESPONSE;
  tlm::tlm_response_status good = tlm::TLM_INCOMPLETE_RESPONSE;
  tlm::tlm_response_status wrong_length = tlm::TLM_INCOMPLETE_RESPONSE;
  std::vector<uint8_t> sent;
  sc_time delay_after = sc_core::SC_ZERO_TIME;
  Driver driver("core3", [&](Driver& self) {
    tlm::tlm_generic_payload payload;
    payload.set_command(tlm::TLM_IGNORE_COMMAND);
    sc_time delay(3, SC_NS);
    self.socket->b_transport(payload, delay);
    missing_extension = payload.get_response_status();

    NocTransferExtension transfer;
    transfer.destination_core = 99;
    payload.set_extension(&transfer);
    self.socket->b_transport(payload, delay);
    bad_destination = payload.get_response_status();

    transfer.destination_core = 12;
    transfer.bytes = 200;  // 64 + 64 + 64 + 8 bytes: packets of 4, 4, 4 and 1 flits
    transfer.tag = 77;
    std::vector<uint8_t> data(200);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
    payload.set_command(tlm::TLM_WRITE_COMMAND);
    payload.set_address(0x4000);
    payload.set_data_ptr(data.data());
    payload.set_data_length(100);  // neither 0 nor the extension's bytes
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    self.socket->b_transport(payload, delay);
    wrong_length = payload.get_response_status();
    payload.set_data_length(200);
    payload.set_streaming_width(200);
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    self.socket->b_transport(payload, delay);
    good = payload.get_response_status();
    delay_after = delay;
    payload.clear_extension(&transfer);
    sent = data;
    data.assign(data.size(), 0);  // the NI took a copy: the sender's buffer is free at once
  });
  Receiver receiver("core12");
  noc.interface(12).delivery.bind(receiver.socket);
  driver.socket.bind(noc.interface(3).target);
  sc_core::sc_start();
  EXPECT_EQ(missing_extension, tlm::TLM_GENERIC_ERROR_RESPONSE);
  EXPECT_EQ(bad_destination, tlm::TLM_GENERIC_ERROR_RESPONSE);
  EXPECT_EQ(wrong_length, tlm::TLM_GENERIC_ERROR_RESPONSE);
  EXPECT_EQ(good, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(delay_after, sc_time(3, SC_NS));  // the NI takes the transfer without blocking
  const std::vector<uint64_t> expected = engine_arrivals(params, {{3, 12, 200, 3}});
  // Delivered once, as a write payload with the data, into the destination core's target.
  EXPECT_EQ(receiver.deliveries, 1);
  EXPECT_EQ(receiver.arrival, kClock.cycles(expected[0]));
  EXPECT_EQ(receiver.command, tlm::TLM_WRITE_COMMAND);
  EXPECT_EQ(receiver.address, 0x4000u);
  EXPECT_EQ(receiver.data, sent);
  EXPECT_EQ(receiver.transfer.source_core, 3);
  EXPECT_EQ(receiver.transfer.destination_core, 12);
  EXPECT_EQ(receiver.transfer.bytes, 200u);
  EXPECT_EQ(receiver.transfer.tag, 77);
}

// Transfers from several processes at several (local) times: the later ones land while the NoC
// is already busy with the earlier ones.
const std::vector<TransferSpec> kContendingTransfers = {
    {0, 5, 1024, 0}, {3, 5, 512, 20}, {10, 5, 256, 40}, {5, 0, 64, 33}, {15, 5, 4096, 90}};

// A Driver body: waits until `kernel_time`, then sends transfers `which` (tagged with their index)
// at their creation cycles.
std::function<void(Driver&)> send_at(Noc& noc, std::vector<size_t> which, sc_time kernel_time) {
  return [&noc, which, kernel_time](Driver&) {
    sc_core::wait(kernel_time);
    for (size_t t : which) {
      const TransferSpec& spec = kContendingTransfers[t];
      ASSERT_TRUE(send(noc, spec.source, spec.destination, spec.bytes, static_cast<int64_t>(t),
                       kClock.cycles(spec.create_cycle)));
    }
  };
}

TEST(NocSystemC, ContendingTransfersArriveWhenTheEngineSays) {
  NocParams params;
  kernel::StatGroup stats("noc", "noc");
  Noc noc("noc", params, kClock, stats);
  const std::vector<TransferSpec>& specs = kContendingTransfers;
  std::map<size_t, sc_time> arrivals;
  Sinks sinks(noc,
              [&](int64_t tag, const sc_time& at) { arrivals[static_cast<size_t>(tag)] = at; });
  Driver a("a", send_at(noc, {0}, sc_time(0, SC_NS)));
  Driver b("b", send_at(noc, {1, 2}, sc_time(20, SC_NS)));  // transfer 2: local time 20 ns ahead
  Driver c("c", send_at(noc, {3}, sc_time(33, SC_NS)));
  Driver d("d", send_at(noc, {4}, sc_time(60, SC_NS)));  // local time 30 ns ahead
  sc_core::sc_start();
  const std::vector<uint64_t> expected = engine_arrivals(params, specs);
  ASSERT_EQ(arrivals.size(), specs.size());
  for (size_t t = 0; t < specs.size(); ++t) {
    EXPECT_EQ(arrivals[t], kClock.cycles(expected[t])) << "transfer " << t;
  }
  // Statistics come from the committed engine.
  EXPECT_EQ(stats.find("packets")->count, 16u + 8u + 4u + 1u + 64u);
  EXPECT_EQ(stats.find("flits")->count, 4u * (16 + 8 + 4 + 1 + 64));
  EXPECT_GT(stats.find("avg_latency_cycles")->value, 20.0);
  EXPECT_GT(stats.energy_pj(kernel::EnergyCategory::Noc), 0.0);
  EXPECT_GT(stats.energy_pj(kernel::EnergyCategory::Leakage), 0.0);
  const kernel::StatGroup* links = stats.find_child("links");
  ASSERT_NE(links, nullptr);
  EXPECT_GT(links->find("r1_to_r5_flits")->count, 0u);  // 0 -> 5: east to r1, then +y to r5
  EXPECT_GT(links->find("r1_to_r5_utilization")->value, 0.0);
}

TEST(NocSystemC, CoreReactingToADeliverySendsOneCycleLater) {
  NocParams params;
  kernel::StatGroup stats("noc", "noc");
  Noc noc("noc", params, kClock, stats);
  sc_time first = sc_core::SC_ZERO_TIME;
  sc_time reply = sc_core::SC_ZERO_TIME;
  // Core 9 answers the first transfer (tag 1) at its arrival with a transfer back (tag 2).
  Sinks sinks(noc, [&](int64_t tag, const sc_time& at) {
    if (tag == 1) {
      first = at;
      send(noc, 9, 2, 32, 2, at);
    } else {
      reply = at;
    }
  });
  Driver driver("driver", [&](Driver&) { send(noc, 2, 9, 32, 1, sc_core::sc_time_stamp()); });
  sc_core::sc_start();
  const int hops = Topology(params).hops(2, 9);
  EXPECT_EQ(first, kClock.cycles(Network::zero_load_latency(params, hops, 2)));
  EXPECT_EQ(reply, first + kClock.cycles(1 + Network::zero_load_latency(params, hops, 2)));
}

TEST(NocSystemC, VcdTracingRecordsActivityWithoutChangingTiming) {
  NocParams params;
  kernel::StatGroup stats("noc", "noc");
  kernel::VcdTrace trace;
  Noc noc("noc", params, kClock, stats, &trace);
  sc_time arrival = sc_core::SC_ZERO_TIME;
  Sinks sinks(noc, [&](int64_t, const sc_time& at) { arrival = at; });
  Driver driver("driver", [&](Driver&) { send(noc, 0, 15, 64, 1, sc_time(10, SC_NS)); });
  sc_core::sc_start();
  EXPECT_EQ(arrival, sc_time(50, SC_NS));
  const Topology topology(params);
  EXPECT_EQ(trace.signal_count(), static_cast<size_t>(topology.link_count() + topology.routers()));
  // 6 links x (set + reset) plus occupancy changes at 7 routers.
  EXPECT_GE(trace.change_count(), 12u + 7u);
}

// The VCD a plain forward simulation of the engine writes: what the NoC's tracer must produce from
// its speculative look-ahead (same signals, same events, each committed cycle once).
class ForwardTracer : public NetworkObserver {
 public:
  ForwardTracer(kernel::VcdTrace& trace, const Topology& topology, uint64_t period_ps)
      : period_ps_(period_ps), links_(topology.link_slots(), nullptr) {
    for (int r = 0; r < topology.routers(); ++r) {
      for (int d = 0; d < kNetworkPorts; ++d) {
        if (topology.neighbor(r, d) < 0) continue;
        links_[r * kNetworkPorts + d] = trace.add_signal(
            {"noc", "links"},
            "r" + std::to_string(r) + "_to_r" + std::to_string(topology.neighbor(r, d)), 1, 0,
            "noc.links");
      }
    }
    for (int r = 0; r < topology.routers(); ++r) {
      routers_.push_back(trace.add_signal({"noc", "router" + std::to_string(r)}, "buffered_flits",
                                          16, 0, "noc.buffers"));
    }
  }
  void link_flit(int slot, uint64_t cycle) override {
    links_[slot]->set(cycle * period_ps_, 1);
    links_[slot]->set((cycle + 1) * period_ps_, 0);
  }
  void router_occupancy(int router, int flits, uint64_t cycle) override {
    routers_[router]->set(cycle * period_ps_, static_cast<uint64_t>(flits));
  }

 private:
  uint64_t period_ps_;
  std::vector<kernel::VcdSignal*> links_;
  std::vector<kernel::VcdSignal*> routers_;
};

std::string written_vcd(const kernel::VcdTrace& trace, const std::string& name) {
  const std::string path = ::testing::TempDir() + name;
  EXPECT_TRUE(trace.write_vcd(path));
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(NocSystemC, VcdOfTheLookAheadWithRollbacksEqualsAForwardSimulation) {
  NocParams params;
  params.rows = 8;  // 64 routers: the checkpoint lags commits, so rollbacks repeat cycles
  params.cols = 8;
  kernel::StatGroup stats("noc", "noc");
  kernel::VcdTrace trace;
  Noc noc("noc", params, kClock, stats, &trace);
  // Sends that land while the NoC simulates ahead (rollbacks) and after it drained.
  const std::vector<TransferSpec> specs = {
      {0, 63, 4096, 0},    {7, 56, 4096, 5},  {63, 0, 2048, 20},  {27, 36, 512, 40},
      {36, 27, 512, 45},   {56, 7, 1024, 60}, {9, 54, 4096, 150}, {54, 9, 300, 170},
      {12, 50, 2048, 320}, {1, 62, 128, 3000}};
  Sinks sinks(noc, [](int64_t, const sc_time&) {});
  auto sender = [&](std::vector<size_t> which, sc_time kernel_time) {
    return [&, which, kernel_time](Driver&) {
      sc_core::wait(kernel_time);
      for (size_t t : which) {
        ASSERT_TRUE(send(noc, specs[t].source, specs[t].destination, specs[t].bytes,
                         static_cast<int64_t>(t), kClock.cycles(specs[t].create_cycle)));
      }
    };
  };
  Driver a("a", sender({0, 1}, sc_time(0, SC_NS)));
  Driver b("b", sender({2, 3}, sc_time(20, SC_NS)));
  Driver c("c", sender({4, 5}, sc_time(45, SC_NS)));
  Driver d("d", sender({6, 7}, sc_time(140, SC_NS)));
  Driver e("e", sender({8}, sc_time(300, SC_NS)));
  Driver f("f", sender({9}, sc_time(2500, SC_NS)));
  sc_core::sc_start();

  // The same packets (same ids, in send order) on a bare engine simulated forward once.
  Network network(params);
  kernel::VcdTrace expected;
  ForwardTracer forward(expected, network.topology(), kernel::to_ps(kClock.period()));
  network.set_observer(&forward);
  uint64_t id = 0;
  const auto payload = static_cast<uint64_t>(params.max_packet_payload_bytes);
  for (size_t t = 0; t < specs.size(); ++t) {
    const uint64_t packets = (specs[t].bytes + payload - 1) / payload;
    for (uint64_t i = 0; i < packets; ++i) {
      const uint64_t chunk = std::min(payload, specs[t].bytes - i * payload);
      network.inject({id++, specs[t].source, specs[t].destination,
                      params.flits_for_payload(static_cast<long long>(chunk)),
                      specs[t].create_cycle, t});
    }
  }
  std::vector<Delivery> batch;
  while (!network.idle()) {
    network.run_until(network.now() + 1);
    network.take_deliveries(batch);
  }
  ASSERT_GT(expected.change_count(), 1000u);
  // No event lost, none repeated (a repeat would not show in the file), none from a look-ahead
  // that a rollback replaced.
  EXPECT_EQ(trace.change_count(), expected.change_count());
  EXPECT_EQ(written_vcd(trace, "noc_lookahead.vcd"), written_vcd(expected, "noc_forward.vcd"));
}

// --- noc.model: reservation (reservation_network.h) through the same SystemC module ---

TEST(NocSystemCReservation, LoneTransferAndReplyArriveAtZeroLoadAndLinksAreTraced) {
  NocParams params;
  params.model = "reservation";
  kernel::StatGroup stats("noc", "noc");
  kernel::VcdTrace trace;
  Noc noc("noc", params, kClock, stats, &trace);
  sc_time first = sc_core::SC_ZERO_TIME;
  sc_time reply = sc_core::SC_ZERO_TIME;
  sc_time called_at = sc_core::SC_ZERO_TIME;
  // Core 15 answers the first transfer (tag 1) at its arrival with a transfer back (tag 2).
  Sinks sinks(noc, [&](int64_t tag, const sc_time& at) {
    if (tag == 1) {
      first = at;
      called_at = sc_core::sc_time_stamp();
      send(noc, 15, 0, 64, 2, at);
    } else {
      reply = at;
    }
  });
  Driver driver("driver", [&](Driver&) { send(noc, 0, 15, 64, 1, sc_time(10, SC_NS)); });
  sc_core::sc_start();
  // 64 B = 4 flits over 6 hops: 40 cycles; the reply is taken one cycle after the delivery.
  EXPECT_EQ(first, sc_time(50, SC_NS));
  EXPECT_EQ(called_at, first);
  EXPECT_EQ(reply, first + kClock.cycles(1 + 40));
  EXPECT_EQ(noc.transfers_in_flight(), 0u);
  EXPECT_EQ(stats.find("packets")->count, 2u);
  EXPECT_EQ(stats.find("flits")->count, 8u);
  EXPECT_DOUBLE_EQ(stats.find("max_latency_cycles")->value, 40.0);
  // Links: 2 transfers x 6 links x 4 flits, each flit a set and a reset; routers not traced.
  EXPECT_EQ(trace.change_count(), 2u * 6u * 4u * 2u);
  const std::string vcd = written_vcd(trace, "noc_reservation.vcd");
  // Time-ordered: the timestamps in the file only grow.
  uint64_t last = 0;
  size_t stamps = 0;
  for (size_t at = vcd.find("\n#"); at != std::string::npos; at = vcd.find("\n#", at + 1)) {
    const uint64_t stamp = std::stoull(vcd.substr(at + 2));
    EXPECT_GE(stamp, last);
    last = stamp;
    ++stamps;
  }
  EXPECT_GT(stamps, 10u);
}

TEST(NocSystemCReservation, ContendingTransfersArriveWhenTheModelSaysWithTheCycleEnginesCounts) {
  NocParams params;
  params.model = "reservation";
  kernel::StatGroup stats("noc", "noc");
  Noc noc("noc", params, kClock, stats);
  const std::vector<TransferSpec>& specs = kContendingTransfers;
  std::map<size_t, sc_time> arrivals;
  Sinks sinks(noc,
              [&](int64_t tag, const sc_time& at) { arrivals[static_cast<size_t>(tag)] = at; });
  // Sent in this order of SystemC time; b's two sends in reverse order of their sources.
  const std::vector<std::vector<size_t>> batches = {{0}, {2, 1}, {3}, {4}};
  Driver a("a", send_at(noc, batches[0], sc_time(0, SC_NS)));
  Driver b("b", send_at(noc, batches[1], sc_time(20, SC_NS)));
  Driver c("c", send_at(noc, batches[2], sc_time(33, SC_NS)));
  Driver d("d", send_at(noc, batches[3], sc_time(60, SC_NS)));
  sc_core::sc_start();

  // The bare reservation model, fed the same batches.
  ReservationNetwork model(params);
  std::vector<uint64_t> expected(specs.size(), 0);
  const auto payload = static_cast<uint64_t>(params.max_packet_payload_bytes);
  uint64_t id = 0;
  for (const auto& batch : batches) {
    for (size_t t : batch) {
      const uint64_t packets = (specs[t].bytes + payload - 1) / payload;
      const uint64_t last = specs[t].bytes - (packets - 1) * payload;
      model.submit_train(
          {id, specs[t].source, specs[t].destination,
           params.flits_for_payload(static_cast<long long>(payload)), specs[t].create_cycle, t},
          packets, params.flits_for_payload(static_cast<long long>(last)));
      id += packets;
    }
    std::vector<Delivery> out;
    model.resolve(out);
    for (const Delivery& d : out) expected[d.tag] = std::max(expected[d.tag], d.arrival_cycle);
  }
  ASSERT_EQ(arrivals.size(), specs.size());
  int late = 0;
  const Topology topology(params);
  for (size_t t = 0; t < specs.size(); ++t) {
    EXPECT_EQ(arrivals[t], kClock.cycles(expected[t])) << "transfer " << t;
    const uint64_t packets = (specs[t].bytes + payload - 1) / payload;
    const uint64_t alone =
        specs[t].create_cycle + packets * 4 - 4 +
        Network::zero_load_latency(params, topology.hops(specs[t].source, specs[t].destination), 4);
    if (arrivals[t] > kClock.cycles(alone)) ++late;
  }
  EXPECT_GE(late, 1);  // contention delayed some
  // Counts and energy: the cycle engine's for the same packets (they depend on the route only).
  NocParams cycle_params = params;
  cycle_params.model = "cycle";
  Network engine(cycle_params);
  id = 0;
  for (size_t t = 0; t < specs.size(); ++t) {
    const uint64_t packets = (specs[t].bytes + payload - 1) / payload;
    engine.inject_train({id, specs[t].source, specs[t].destination, 4, specs[t].create_cycle, t},
                        packets, 4);
    id += packets;
  }
  engine.run_until(100000);
  ASSERT_TRUE(engine.idle());
  const NetworkCounters& counts = engine.counters();
  EXPECT_EQ(stats.find("packets")->count, counts.packets_delivered);
  EXPECT_EQ(stats.find("flits")->count, counts.flits_delivered);
  EXPECT_DOUBLE_EQ(stats.find("buffer_energy_pj")->value,
                   static_cast<double>(counts.buffer_writes) * params.buffer_energy_pj_per_flit);
  EXPECT_DOUBLE_EQ(
      stats.find("crossbar_energy_pj")->value,
      static_cast<double>(counts.crossbar_traversals) * params.crossbar_energy_pj_per_flit);
  EXPECT_DOUBLE_EQ(stats.find("link_energy_pj")->value,
                   static_cast<double>(counts.link_traversals) * params.link_energy_pj_per_flit);
  const kernel::StatGroup* links = stats.find_child("links");
  ASSERT_NE(links, nullptr);
  EXPECT_EQ(links->find("r1_to_r5_flits")->count, counts.link_flits[1 * kNetworkPorts + kPlusY]);
  EXPECT_GT(links->find("r1_to_r5_flits")->count, 0u);
}

}  // namespace
}  // namespace cimtlm::noc

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
