// CimMacro as a TLM target: annotated delay equals the job's cycles, results equal the reference
// executor, the macro is reserved while busy, errors are responses, statistics and VCD changes
// are recorded, leakage covers the simulated time. One simulation per test process.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <systemc>
#include <tlm>

#include "models/cim/cim_macro.h"
#include "testbenches/unit/cim/cim_test_support.h"

namespace cimtlm::cim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

struct Initiator : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Initiator> socket{"socket"};
  explicit Initiator(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {}
};

// A job as the tests describe it; send() turns it into transactions on the macro's memory map
// (models/cim/cim_job.h), the fast path a core controller uses.
struct CimJob {
  enum class Kind { LoadWeights, Compute };
  Kind kind = Kind::Compute;
  struct {
    const uint8_t* values = nullptr;
    bool values_signed = true;
    int64_t rows = 0, cols = 0;
    int weight_bits = 8;
    const int32_t* zero_points = nullptr;
  } load;
  struct {
    const uint8_t* inputs = nullptr;
    bool inputs_signed = false;
    int64_t vectors = 0;
    int32_t input_zero_point = 0;
    int input_bits = 8;
    int32_t* outputs = nullptr;
    int64_t output_stride = 0;
    bool accumulate = false;
  } compute;
  std::string layer;
};

tlm::tlm_response_status transact(tlm_utils::simple_initiator_socket<Initiator>& socket,
                                  tlm::tlm_command command, uint64_t address, void* data,
                                  uint64_t bytes, sc_time& delay,
                                  const CimCommand* descriptor = nullptr) {
  tlm::tlm_generic_payload payload;
  payload.set_command(command);
  payload.set_address(address);
  payload.set_data_ptr(static_cast<uint8_t*>(data));
  payload.set_data_length(static_cast<unsigned int>(bytes));
  payload.set_streaming_width(static_cast<unsigned int>(bytes));
  payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  CimCommandExtension extension;
  if (descriptor) {
    extension.command = *descriptor;
    payload.set_extension(&extension);
  }
  socket->b_transport(payload, delay);
  if (descriptor) payload.clear_extension(&extension);
  return payload.get_response_status();
}

// Sends one job; returns the response status of the transaction that ran it.
tlm::tlm_response_status send(tlm_utils::simple_initiator_socket<Initiator>& socket, CimJob& job,
                              sc_time& delay) {
  CimCommand command;
  if (job.kind == CimJob::Kind::LoadWeights) {
    const auto& load = job.load;
    std::vector<int32_t> zero_points(load.zero_points, load.zero_points + load.cols);
    transact(socket, tlm::TLM_WRITE_COMMAND, map::kZeroPoints, zero_points.data(),
             zero_points.size() * 4, delay);
    command.command = map::kCommandLoadWeights;
    command.flags = load.values_signed ? uint32_t{map::kWeightsSigned} : 0u;
    command.rows = load.rows;
    command.cols = load.cols;
    command.weight_bits = load.weight_bits;
    return transact(socket, tlm::TLM_WRITE_COMMAND, map::kWeightWindow,
                    const_cast<uint8_t*>(load.values), static_cast<uint64_t>(load.rows * load.cols),
                    delay, &command);
  }
  const auto& compute = job.compute;
  command.command = map::kCommandCompute;
  command.flags = compute.inputs_signed ? uint32_t{map::kInputsSigned} : 0u;
  command.vectors = compute.vectors;
  command.input_zero_point = compute.input_zero_point;
  command.input_bits = compute.input_bits;
  const auto status = transact(socket, tlm::TLM_WRITE_COMMAND, map::kInputBuffer,
                               const_cast<uint8_t*>(compute.inputs),
                               static_cast<uint64_t>(compute.vectors) * 256, delay, &command);
  if (status != tlm::TLM_OK_RESPONSE) return status;
  std::vector<int32_t> partials(static_cast<size_t>(compute.vectors * 32));
  sc_time no_time = sc_core::SC_ZERO_TIME;
  transact(socket, tlm::TLM_READ_COMMAND, map::kOutputBuffer, partials.data(),
           partials.size() * 4, no_time);
  for (int64_t v = 0; v < compute.vectors; ++v) {
    for (int64_t c = 0; c < 32; ++c) {
      int32_t& out = compute.outputs[v * compute.output_stride + c];
      out = compute.accumulate ? out + partials[static_cast<size_t>(v * 32 + c)]
                               : partials[static_cast<size_t>(v * 32 + c)];
    }
  }
  return status;
}

// Elaborates an initiator bound to `macro`, runs `body` in a thread, simulates to the end.
void simulate(CimMacro& macro,
              const std::function<void(tlm_utils::simple_initiator_socket<Initiator>&)>& body) {
  Initiator initiator("initiator");
  initiator.socket.bind(macro.target);
  sc_core::sc_spawn([&] { body(initiator.socket); });
  sc_core::sc_start();
}

struct Fixture {
  std::mt19937_64 rng{42};
  test::Tile tile = test::random_tile(rng, 256, 32, 8, true, false);
  CimJob load;
  Fixture() {
    load.kind = CimJob::Kind::LoadWeights;
    load.layer = "fc1";
    load.load = {tile.values.data(), true, 256, 32, 8, tile.zero_points.data()};
  }
  CimJob compute(const std::vector<uint8_t>& x, int64_t vectors, int32_t zero_point,
                 std::vector<int32_t>& out) {
    CimJob job;
    job.kind = CimJob::Kind::Compute;
    job.layer = "fc1";
    out.assign(static_cast<size_t>(vectors * 32), 0);
    job.compute = {x.data(), false, vectors, zero_point, 8, out.data(), 32, false};
    return job;
  }
};

// Default macro, 1 GHz: an activation step is 2 + ceil(256 / 32) x 8 = 66 cycles; a dense 8-bit
// vector over 256 rows is 2 (detection) + 8 x 4 x 66 + 1 (shift-add drain) = 2115 cycles.
TEST(CimMacro, AnnotatesExactLatencyAndComputesReferenceResults) {
  kernel::StatGroup root("top");
  kernel::StatGroup& stats = root.child("cim0", "cim");
  CimMacro macro("cim0", CimMacroParams{}, kernel::Clock(1.0e9), stats, nullptr);
  Fixture f;
  const auto x = test::random_inputs(f.rng, 2, 256, 8, false, 0, {0.1, 0.3}, 16, false);
  std::vector<int32_t> out;
  CimJob compute = f.compute(x, 2, 0, out);
  sc_time after_load, after_compute;
  tlm::tlm_response_status load_status{}, compute_status{};
  simulate(macro, [&](auto& socket) {
    sc_time delay(10, SC_NS);
    load_status = send(socket, f.load, delay);
    after_load = delay;
    compute_status = send(socket, compute, delay);
    after_compute = delay;
  });
  EXPECT_EQ(load_status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(compute_status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(after_load, sc_time(10 + 256, SC_NS));
  EXPECT_EQ(after_compute, sc_time(10 + 256 + 2 * 2115, SC_NS));
  EXPECT_EQ(macro.busy_until(), after_compute);
  EXPECT_EQ(out, test::reference_matmul(x, false, 2, 256, 0, f.tile.values, true, 32,
                                        f.tile.zero_points));

  EXPECT_EQ(stats.find("macs")->count, 2u * 256 * 32);
  EXPECT_EQ(stats.find("adc_conversions")->count, 2u * 8 * 4 * 256);
  EXPECT_EQ(stats.find("weight_writes")->count, 1u);
  EXPECT_EQ(stats.find("weight_cells_written")->count, 256u * 256);
  EXPECT_EQ(stats.find("rows_disabled")->count, 0u);
  EXPECT_DOUBLE_EQ(stats.find("busy_ns")->value, 256 + 2 * 2115);
  EXPECT_NEAR(stats.find("input_sparsity")->value, 0.2, 1.0 / 256);
  EXPECT_GT(stats.find("energy_adc_pj")->value, stats.find("energy_array_pj")->value);
  EXPECT_GT(stats.find("energy_write_pj")->value, 0.0);
  EXPECT_GT(root.energy_pj(kernel::EnergyCategory::Cim), 0.0);
  EXPECT_DOUBLE_EQ(root.sum("macs", "cim"), 2.0 * 256 * 32);
}

TEST(CimMacro, SparseVectorsReportSparsityDisabledRowsAndCompensations) {
  kernel::StatGroup stats("cim0", "cim");
  CimMacro macro("cim0", CimMacroParams{}, kernel::Clock(1.0e9), stats, nullptr);
  Fixture f;
  const auto x = test::random_inputs(f.rng, 4, 256, 8, false, 77, {0.75}, 16, true);
  std::vector<int32_t> out;
  CimJob compute = f.compute(x, 4, 77, out);
  simulate(macro, [&](auto& socket) {
    sc_time delay = sc_core::SC_ZERO_TIME;
    send(socket, f.load, delay);
    send(socket, compute, delay);
  });
  EXPECT_EQ(out, test::reference_matmul(x, false, 4, 256, 77, f.tile.values, true, 32,
                                        f.tile.zero_points));
  EXPECT_DOUBLE_EQ(stats.find("input_sparsity")->value, 0.75);
  EXPECT_DOUBLE_EQ(stats.find("rows_disabled_fraction")->value, 0.75);
  EXPECT_EQ(stats.find("sparse_vectors")->count, 4u);
  EXPECT_EQ(stats.find("compensations")->count, 4u * 32);
  EXPECT_GT(stats.find("row_blocks_skipped")->count, 0u);
  EXPECT_GT(stats.find("energy_compensation_pj")->value, 0.0);
  EXPECT_GT(stats.find("energy_detection_pj")->value, 0.0);
}

// A job issued while the macro is busy starts when the previous one ends.
TEST(CimMacro, ReservesTheMacroWhileBusy) {
  kernel::StatGroup stats("cim0", "cim");
  CimMacro macro("cim0", CimMacroParams{}, kernel::Clock(1.0e9), stats, nullptr);
  Fixture f;
  const std::vector<uint8_t> x(256, 9);
  std::vector<int32_t> out_a, out_b;
  CimJob a = f.compute(x, 1, 0, out_a);
  CimJob b = f.compute(x, 1, 0, out_b);
  sc_time first, second;
  simulate(macro, [&](auto& socket) {
    sc_time delay = sc_core::SC_ZERO_TIME;
    send(socket, f.load, delay);  // busy until 256 ns
    sc_time delay_a = sc_core::SC_ZERO_TIME, delay_b = sc_core::SC_ZERO_TIME;
    send(socket, a, delay_a);
    send(socket, b, delay_b);
    first = delay_a;
    second = delay_b;
  });
  EXPECT_EQ(first, sc_time(256 + 2115, SC_NS));
  EXPECT_EQ(second, sc_time(256 + 2 * 2115, SC_NS));
}

TEST(CimMacro, RejectsBadJobsWithErrorResponses) {
  kernel::StatGroup stats("cim0", "cim");
  CimMacro macro("cim0", CimMacroParams{}, kernel::Clock(1.0e9), stats, nullptr);
  Fixture f;
  const std::vector<uint8_t> x(256, 9);
  std::vector<int32_t> out;
  CimJob compute = f.compute(x, 1, 0, out);
  tlm::tlm_response_status before_load{}, bad_command{}, outside{}, read_only{};
  sc_time delay_after_error;
  simulate(macro, [&](auto& socket) {
    sc_time delay = sc_core::SC_ZERO_TIME;
    before_load = send(socket, compute, delay);
    delay_after_error = delay;
    uint32_t command = 7;
    bad_command = transact(socket, tlm::TLM_WRITE_COMMAND, map::kRegisters + map::kCommand,
                           &command, 4, delay);
    outside = transact(socket, tlm::TLM_READ_COMMAND, 0x4000'0000, &command, 4, delay);
    read_only = transact(socket, tlm::TLM_WRITE_COMMAND, map::kRegisters + map::kStatus,
                         &command, 4, delay);
  });
  EXPECT_EQ(before_load, tlm::TLM_GENERIC_ERROR_RESPONSE);
  EXPECT_EQ(bad_command, tlm::TLM_GENERIC_ERROR_RESPONSE);
  EXPECT_EQ(outside, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(read_only, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(delay_after_error, sc_core::SC_ZERO_TIME);
  EXPECT_NE(macro.last_error().find("unknown command 7"), std::string::npos);
  EXPECT_EQ(stats.find("job_errors")->count, 2u);
  EXPECT_EQ(stats.find("macs")->count, 0u);
}

// A CPU or DMA drives the macro through its registers and buffers alone: the same results and
// cycles as the controller's fast path.
TEST(CimMacro, RegisterInterfaceRunsLoadAndCompute) {
  kernel::StatGroup stats("cim0", "cim");
  CimMacro macro("cim0", CimMacroParams{}, kernel::Clock(1.0e9), stats, nullptr);
  Fixture f;
  const auto x = test::random_inputs(f.rng, 2, 256, 8, false, 0, {0.1, 0.3}, 16, false);
  std::vector<int32_t> out(2 * 32, -1);
  uint32_t status_after_load = 0, status_after_compute = 0, cycles = 0;
  sc_time after_load, after_compute;
  simulate(macro, [&](auto& socket) {
    sc_time delay = sc_core::SC_ZERO_TIME;
    auto set = [&](map::Register offset, uint32_t value) {
      EXPECT_EQ(transact(socket, tlm::TLM_WRITE_COMMAND, map::kRegisters + offset, &value, 4, delay),
                tlm::TLM_OK_RESPONSE);
    };
    auto get = [&](map::Register offset) {
      uint32_t value = 0;
      transact(socket, tlm::TLM_READ_COMMAND, map::kRegisters + offset, &value, 4, delay);
      return value;
    };
    // The weights in two halves (any split works), the zero points, the registers, start.
    transact(socket, tlm::TLM_WRITE_COMMAND, map::kWeightWindow, f.tile.values.data(), 128 * 32, delay);
    transact(socket, tlm::TLM_WRITE_COMMAND, map::kWeightWindow + 128 * 32,
             f.tile.values.data() + 128 * 32, 128 * 32, delay);
    transact(socket, tlm::TLM_WRITE_COMMAND, map::kZeroPoints, f.tile.zero_points.data(), 32 * 4, delay);
    set(map::kRows, 256);
    set(map::kCols, 32);
    set(map::kWeightBits, 8);
    set(map::kFlags, map::kWeightsSigned);
    set(map::kCommand, map::kCommandLoadWeights);
    after_load = delay;
    status_after_load = get(map::kStatus);
    transact(socket, tlm::TLM_WRITE_COMMAND, map::kInputBuffer, const_cast<uint8_t*>(x.data()),
             x.size(), delay);
    set(map::kVectors, 2);
    set(map::kInputZeroPoint, 0);
    set(map::kInputBits, 8);
    set(map::kFlags, 0);
    set(map::kCommand, map::kCommandCompute);
    after_compute = delay;
    status_after_compute = get(map::kStatus);
    cycles = get(map::kCycles);
    transact(socket, tlm::TLM_READ_COMMAND, map::kOutputBuffer, out.data(), out.size() * 4, delay);
  });
  EXPECT_EQ(status_after_load, map::kStatusDone);
  EXPECT_EQ(status_after_compute, map::kStatusDone);
  EXPECT_EQ(after_load, sc_time(256, SC_NS));
  EXPECT_EQ(after_compute, sc_time(256 + 2 * 2115, SC_NS));
  EXPECT_EQ(cycles, 2u * 2115);
  EXPECT_EQ(out, test::reference_matmul(x, false, 2, 256, 0, f.tile.values, true, 32,
                                        f.tile.zero_points));
}

TEST(CimMacro, TracesBusyActiveRowsAndAdcAtJobGranularity) {
  kernel::StatGroup stats("cim0", "cim");
  kernel::VcdTrace trace;
  CimMacro macro("cim0", CimMacroParams{}, kernel::Clock(1.0e9), stats, &trace);
  EXPECT_EQ(trace.signal_count(), 3u);
  Fixture f;
  std::vector<uint8_t> x(256, 9);
  std::fill(x.begin(), x.begin() + 192, 0);  // 75% sparse: 64 active rows
  std::vector<int32_t> out;
  CimJob compute = f.compute(x, 1, 0, out);
  simulate(macro, [&](auto& socket) {
    sc_time delay(1, SC_NS);
    send(socket, f.load, delay);  // 1 .. 257 ns
    send(socket, compute, delay);
  });
  EXPECT_EQ(trace.change_count(), 2u + 6u);
  const std::string path = testing::TempDir() + "cim_macro_trace.vcd";
  ASSERT_TRUE(trace.write_vcd(path));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string vcd = text.str();
  EXPECT_NE(vcd.find("$var wire 1 ! busy $end"), std::string::npos);
  EXPECT_NE(vcd.find("active_rows [8:0]"), std::string::npos);
  EXPECT_NE(vcd.find("#1000\n1!"), std::string::npos);    // write starts at 1 ns
  EXPECT_NE(vcd.find("b1000000 \""), std::string::npos);  // 64 active rows during the compute
  // The compute ends at 257 + 2 + 8 x 1 x 66 + 1 = 788 ns.
  EXPECT_NE(vcd.find("#788000\n0!"), std::string::npos);
}

TEST(CimMacro, LeakageCoversTheSimulatedTime) {
  kernel::StatGroup stats("cim0", "cim");
  CimMacroParams params;
  params.leakage_mw = 0.25;
  CimMacro macro("cim0", params, kernel::Clock(1.0e9), stats, nullptr);
  simulate(macro, [&](auto&) {
    sc_core::wait(sc_time(2, sc_core::SC_US));
    sc_core::sc_stop();
  });
  // 0.25 mW x 2000 ns = 500 pJ, accounted at end_of_simulation.
  EXPECT_DOUBLE_EQ(stats.find("energy_leakage_pj")->value, 500.0);
  EXPECT_EQ(stats.find("energy_leakage_pj")->category, kernel::EnergyCategory::Leakage);
  macro.finalize(sc_time(4, sc_core::SC_US));
  EXPECT_DOUBLE_EQ(stats.energy_pj(kernel::EnergyCategory::Leakage), 1000.0);
}

TEST(CimMacro, RejectsBadParametersAtConstruction) {
  kernel::StatGroup stats("cim0", "cim");
  CimMacroParams params;
  params.adc_bits = 0;
  EXPECT_THROW(CimMacro("cim0", params, kernel::Clock(1.0e9), stats, nullptr),
               std::invalid_argument);
}

}  // namespace
}  // namespace cimtlm::cim

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
