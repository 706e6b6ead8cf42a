// models/link: arrival time = serialisation at the bandwidth (queued behind earlier payloads) +
// latency, bytes and energy with the header, and the provenance check (refuse under enforce,
// deliver and count under audit, no provenance = violation, released tensors pass).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "models/link/link.h"

namespace cimtlm::link::test {
namespace {

using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::sc_time;

constexpr TensorId kPrivate = 1, kReleased = 4, kOther = 7;

struct Send {
  sc_time at;
  unsigned bytes;
  TensorId tensor;
  std::vector<TensorId> sources;
  bool provenance = true;
};

class Source : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Source> out{"out"};
  std::vector<Send> sends;
  std::vector<bool> ok;
  explicit Source(const sc_core::sc_module_name& name) : sc_module(name) {
    sc_core::sc_spawn([this] { run(); }, "run");
  }

 private:
  void run() {
    for (const Send& send : sends) {
      if (send.at > sc_core::sc_time_stamp()) wait(send.at - sc_core::sc_time_stamp());
      std::vector<uint8_t> data(send.bytes, 0x5a);
      tlm::tlm_generic_payload payload;
      payload.set_command(tlm::TLM_WRITE_COMMAND);
      payload.set_data_ptr(data.data());
      payload.set_data_length(send.bytes);
      payload.set_streaming_width(send.bytes);
      payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      ProvenanceExtension provenance;
      provenance.tensor = send.tensor;
      for (TensorId source : send.sources) provenance.add_source(source);
      if (send.provenance) payload.set_extension(&provenance);
      sc_time delay = sc_core::SC_ZERO_TIME;
      out->b_transport(payload, delay);
      if (send.provenance) payload.clear_extension(&provenance);
      ok.push_back(payload.is_response_ok());
    }
  }
};

class Sink : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Sink> in{"in"};
  std::vector<sc_time> arrivals;
  std::vector<unsigned> lengths;
  explicit Sink(const sc_core::sc_module_name& name) : sc_module(name) {
    in.register_b_transport(this, &Sink::transport);
  }

 private:
  void transport(tlm::tlm_generic_payload& payload, sc_time& delay) {
    arrivals.push_back(sc_core::sc_time_stamp() + delay);
    lengths.push_back(payload.get_data_length());
    payload.set_response_status(tlm::TLM_OK_RESPONSE);
  }
};

struct Bench {
  kernel::StatGroup stats{"link"};
  std::unique_ptr<Source> source;
  std::unique_ptr<Link> link;
  std::unique_ptr<Sink> sink;
  Bench(const LinkParams& params, std::vector<Send> sends) {
    source = std::make_unique<Source>("source");
    source->sends = std::move(sends);
    link = std::make_unique<Link>("link", params, stats);
    sink = std::make_unique<Sink>("sink");
    source->out.bind(link->target);
    link->initiator.bind(sink->in);
  }
  uint64_t count(const char* name) const { return stats.find(name)->count; }
};

LinkParams lte_like() {
  LinkParams params;
  params.bandwidth_bps = 8e6;  // one byte per microsecond
  params.latency_s = 35e-3;
  params.energy_pj_per_byte = 3.5e6;
  params.header_bytes = 40;
  params.private_sources = {kPrivate};
  params.released = {kReleased};
  return params;
}

// 64 payload bytes + 40 header = 104 us at 1 byte/us, then 35 ms; a second payload sent while
// the first serialises waits for it (queue), a third after a gap does not.
TEST(Link, ArrivalIsSerialisationPlusLatencyAndPayloadsQueue) {
  Bench bench(lte_like(), {{sc_time(0, SC_NS), 64, kReleased, {kPrivate}},
                           {sc_time(10, sc_core::SC_US), 16, kOther, {}},
                           {sc_time(1, sc_core::SC_MS), 0, kOther, {}}});
  sc_core::sc_start();
  ASSERT_EQ(bench.sink->arrivals.size(), 3u);
  EXPECT_EQ(bench.sink->arrivals[0], sc_time(104, sc_core::SC_US) + sc_time(35, sc_core::SC_MS));
  // Waits until 104 us, then 56 us of its own.
  EXPECT_EQ(bench.sink->arrivals[1], sc_time(160, sc_core::SC_US) + sc_time(35, sc_core::SC_MS));
  EXPECT_EQ(bench.sink->arrivals[2], sc_time(1040, sc_core::SC_US) + sc_time(35, sc_core::SC_MS));
  EXPECT_EQ(bench.count("payloads"), 3u);
  EXPECT_EQ(bench.count("bytes"), 104u + 56u + 40u);
  EXPECT_DOUBLE_EQ(bench.stats.find("energy_pj")->value, 200.0 * 3.5e6);
  EXPECT_DOUBLE_EQ(bench.stats.find("queue_wait_ns")->value, 94e3);
  EXPECT_EQ(bench.count("private_payload_violations"), 0u);
}

// Enforce: a payload derived from a private tensor that is not released is refused with an
// error response and never reaches the other side; the released tensor passes.
TEST(Link, EnforceRefusesPayloadsDerivedFromPrivateTensors) {
  Bench bench(lte_like(), {{sc_time(0, SC_NS), 280, kOther, {kPrivate}},
                           {sc_time(1, SC_NS), 280, kPrivate, {}},
                           {sc_time(2, SC_NS), 64, kReleased, {kPrivate}}});
  sc_core::sc_start();
  EXPECT_EQ(bench.source->ok, (std::vector<bool>{false, false, true}));
  ASSERT_EQ(bench.sink->lengths.size(), 1u);
  EXPECT_EQ(bench.sink->lengths[0], 64u);
  EXPECT_EQ(bench.count("private_payload_violations"), 2u);
  EXPECT_EQ(bench.count("refused_payloads"), 2u);
  EXPECT_EQ(bench.count("bytes"), 104u);  // refused payloads take no link time or bytes
  ASSERT_EQ(bench.link->violations().size(), 2u);
  EXPECT_EQ(bench.link->violations()[0].private_source, kPrivate);
  EXPECT_TRUE(bench.link->violations()[0].refused);
}

// Audit: the same payloads are delivered and counted as leaked.
TEST(Link, AuditDeliversAndCountsLeakedBytes) {
  LinkParams params = lte_like();
  params.privacy = PrivacyPolicy::Audit;
  Bench bench(params, {{sc_time(0, SC_NS), 280, kOther, {kPrivate}},
                       {sc_time(1, SC_NS), 64, kReleased, {kPrivate}}});
  sc_core::sc_start();
  EXPECT_EQ(bench.source->ok, (std::vector<bool>{true, true}));
  EXPECT_EQ(bench.sink->lengths.size(), 2u);
  EXPECT_EQ(bench.count("private_payload_violations"), 1u);
  EXPECT_EQ(bench.count("leaked_bytes"), 320u);
  EXPECT_EQ(bench.count("refused_payloads"), 0u);
}

// A payload without provenance cannot be shown to be clean: a violation.
TEST(Link, PayloadWithoutProvenanceIsAViolation) {
  Send send{sc_time(0, SC_NS), 8, kOther, {}};
  send.provenance = false;
  Bench bench(lte_like(), {send});
  sc_core::sc_start();
  EXPECT_EQ(bench.source->ok, (std::vector<bool>{false}));
  EXPECT_EQ(bench.count("private_payload_violations"), 1u);
  ASSERT_EQ(bench.link->violations().size(), 1u);
  EXPECT_FALSE(bench.link->violations()[0].has_provenance);
}

TEST(LinkParams, ValidateNamesTheBadField) {
  LinkParams params;
  params.bandwidth_bps = 0;
  try {
    params.validate();
    FAIL() << "no error";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("bandwidth_bps"), std::string::npos);
  }
}

TEST(ProvenanceExtension, HoldsAtMostEightSourcesAndCopiesByValue) {
  ProvenanceExtension provenance;
  for (TensorId id = 1; id <= 8; ++id) EXPECT_TRUE(provenance.add_source(id));
  EXPECT_TRUE(provenance.add_source(3));  // already there
  EXPECT_FALSE(provenance.add_source(9));
  auto* cloned = static_cast<ProvenanceExtension*>(provenance.clone());
  EXPECT_EQ(cloned->source_count(), 8);
  EXPECT_TRUE(cloned->derived_from(8));
  EXPECT_FALSE(cloned->derived_from(9));
  cloned->free();
}

}  // namespace
}  // namespace cimtlm::link::test

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
