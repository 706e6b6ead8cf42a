// Liveness-based activation buffer allocation (compiler/map/memory_plan.h).
#include <gtest/gtest.h>

#include <numeric>

#include "compiler/map/memory_plan.h"
#include "testbenches/unit/map/schedule_test_graphs.h"

namespace cimtlm::map {
namespace {

using testing::GraphBuilder;

// Steps at which a request is live (wrapping ranges expanded), for the checks.
std::vector<char> live_steps(const BufferRequest& request, int steps) {
  std::vector<char> live(static_cast<size_t>(steps), 0);
  if (request.first_step <= request.last_step) {
    for (int s = request.first_step; s <= request.last_step; ++s) live[static_cast<size_t>(s)] = 1;
  } else {
    for (int s = request.first_step; s < steps; ++s) live[static_cast<size_t>(s)] = 1;
    for (int s = 0; s <= request.last_step; ++s) live[static_cast<size_t>(s)] = 1;
  }
  return live;
}

uint64_t aligned(uint64_t bytes, uint64_t alignment) {
  return (bytes + alignment - 1) / alignment * alignment;
}

int root_of(const std::vector<BufferRequest>& requests, int i) {
  while (requests[static_cast<size_t>(i)].alias_of >= 0)
    i = requests[static_cast<size_t>(i)].alias_of;
  return i;
}

// No two buffers live at a common step overlap in bytes; aliases share their buffer's offset;
// every offset is aligned; the arena holds every buffer and at least the peak of live bytes.
void expect_valid(const std::vector<BufferRequest>& requests, const MemoryPlan& plan, int steps,
                  uint64_t alignment) {
  ASSERT_EQ(plan.offsets.size(), requests.size());
  const int count = static_cast<int>(requests.size());
  std::vector<std::vector<char>> live(static_cast<size_t>(count));
  std::vector<uint64_t> size(static_cast<size_t>(count), 0);
  // The union of a buffer's requests (aliases) and the hull of its plain ranges.
  for (int i = 0; i < count; ++i)
    live[static_cast<size_t>(i)].assign(static_cast<size_t>(steps), 0);
  std::vector<int> lo(static_cast<size_t>(count), steps), hi(static_cast<size_t>(count), -1);
  for (int i = 0; i < count; ++i) {
    const int root = root_of(requests, i);
    const auto& r = requests[static_cast<size_t>(i)];
    size[static_cast<size_t>(root)] =
        std::max(size[static_cast<size_t>(root)], aligned(r.bytes, alignment));
    EXPECT_EQ(plan.offsets[static_cast<size_t>(i)], plan.offsets[static_cast<size_t>(root)]);
    EXPECT_EQ(plan.offsets[static_cast<size_t>(i)] % alignment, 0u);
    if (r.first_step <= r.last_step) {
      lo[static_cast<size_t>(root)] = std::min(lo[static_cast<size_t>(root)], r.first_step);
      hi[static_cast<size_t>(root)] = std::max(hi[static_cast<size_t>(root)], r.last_step);
    } else {
      const auto steps_of = live_steps(r, steps);
      for (int s = 0; s < steps; ++s)
        live[static_cast<size_t>(root)][static_cast<size_t>(s)] |= steps_of[static_cast<size_t>(s)];
    }
  }
  std::vector<uint64_t> per_step(static_cast<size_t>(steps), 0);
  for (int i = 0; i < count; ++i) {
    for (int s = lo[static_cast<size_t>(i)]; s <= hi[static_cast<size_t>(i)]; ++s)
      live[static_cast<size_t>(i)][static_cast<size_t>(s)] = 1;
    if (root_of(requests, i) != i) continue;
    for (int s = 0; s < steps; ++s) {
      if (live[static_cast<size_t>(i)][static_cast<size_t>(s)])
        per_step[static_cast<size_t>(s)] += size[static_cast<size_t>(i)];
    }
    EXPECT_LE(plan.offsets[static_cast<size_t>(i)] + size[static_cast<size_t>(i)],
              plan.arena_bytes);
  }
  const uint64_t peak = *std::max_element(per_step.begin(), per_step.end());
  EXPECT_EQ(plan.peak_live_bytes, peak);
  EXPECT_GE(plan.arena_bytes, peak);
  for (int i = 0; i < count; ++i) {
    if (root_of(requests, i) != i || size[static_cast<size_t>(i)] == 0) continue;
    for (int j = i + 1; j < count; ++j) {
      if (root_of(requests, j) != j || size[static_cast<size_t>(j)] == 0) continue;
      bool together = false;
      for (int s = 0; s < steps; ++s) {
        together = together || (live[static_cast<size_t>(i)][static_cast<size_t>(s)] &&
                                live[static_cast<size_t>(j)][static_cast<size_t>(s)]);
      }
      if (!together) continue;
      const uint64_t a = plan.offsets[static_cast<size_t>(i)],
                     b = plan.offsets[static_cast<size_t>(j)];
      EXPECT_TRUE(a + size[static_cast<size_t>(i)] <= b || b + size[static_cast<size_t>(j)] <= a)
          << requests[static_cast<size_t>(i)].name << " and "
          << requests[static_cast<size_t>(j)].name << " overlap";
    }
  }
}

TEST(MemoryPlan, BuffersLiveAtDifferentStepsShareBytes) {
  const std::vector<BufferRequest> requests = {
      {"a", 1000, 0, 1, -1}, {"b", 1000, 1, 2, -1}, {"c", 1000, 2, 3, -1}};
  const MemoryPlan plan = plan_memory(requests);
  EXPECT_EQ(plan.offsets[0], plan.offsets[2]);  // a and c never live together
  EXPECT_NE(plan.offsets[0], plan.offsets[1]);
  EXPECT_EQ(plan.arena_bytes, 2048u);  // 1000 -> 1024 (64-byte lines), two at a time
  EXPECT_EQ(plan.peak_live_bytes, 2048u);
  expect_valid(requests, plan, 4, 64);
}

TEST(MemoryPlan, AliasesShareTheirBufferAndExtendItsRange) {
  // v is a view of a read at step 3: a must stay at its bytes until then, so b (steps 2..3)
  // cannot take them.
  const std::vector<BufferRequest> requests = {
      {"a", 128, 0, 0, -1}, {"v", 128, 1, 3, 0}, {"b", 128, 2, 3, -1}};
  const MemoryPlan plan = plan_memory(requests);
  EXPECT_EQ(plan.offsets[1], plan.offsets[0]);
  EXPECT_NE(plan.offsets[2], plan.offsets[0]);
  EXPECT_EQ(plan.arena_bytes, 256u);
  expect_valid(requests, plan, 4, 64);
}

TEST(MemoryPlan, WrappingRangesOccupyTheEndAndTheStart) {
  // r is written by another core from step 3 on and read at step 1 of the next inference.
  const std::vector<BufferRequest> requests = {
      {"r", 64, 3, 1, -1}, {"mid", 64, 2, 2, -1}, {"late", 64, 4, 4, -1}, {"early", 64, 0, 0, -1}};
  MemoryPlanOptions options;
  options.steps = 5;
  const MemoryPlan plan = plan_memory(requests, options);
  EXPECT_EQ(plan.offsets[1], plan.offsets[0]);  // mid fits while r is free
  EXPECT_NE(plan.offsets[2], plan.offsets[0]);
  EXPECT_NE(plan.offsets[3], plan.offsets[0]);
  expect_valid(requests, plan, 5, 64);
}

TEST(MemoryPlan, RejectsBadRequests) {
  EXPECT_THROW(plan_memory({{"a", 8, 0, 1, 3}}), std::invalid_argument);
  EXPECT_THROW(plan_memory({{"a", 8, 0, 1, 0}}), std::invalid_argument);
  EXPECT_THROW(plan_memory({{"a", 8, 0, 1, 1}, {"b", 8, 0, 1, 0}}), std::invalid_argument);
  MemoryPlanOptions options;
  options.steps = 2;
  EXPECT_THROW(plan_memory({{"a", 8, 0, 2, -1}}, options), std::invalid_argument);
}

TEST(MemoryPlanProperty, RandomRequestsNeverOverlapWhileLive) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    graph::SplitMix64 random(seed);
    const int steps = static_cast<int>(random.uniform_int(1, 30));
    const int count = static_cast<int>(random.uniform_int(1, 40));
    std::vector<BufferRequest> requests;
    for (int i = 0; i < count; ++i) {
      BufferRequest request;
      request.name = "t" + std::to_string(i);
      request.bytes = static_cast<uint64_t>(random.uniform_int(0, 2000));
      request.first_step = static_cast<int>(random.uniform_int(0, steps - 1));
      request.last_step = static_cast<int>(random.uniform_int(0, steps - 1));
      const double kind = random.uniform();
      if (kind < 0.6 && request.last_step < request.first_step)
        std::swap(request.first_step, request.last_step);
      if (kind > 0.85 && i > 0) request.alias_of = static_cast<int>(random.uniform_int(0, i - 1));
      requests.push_back(request);
    }
    MemoryPlanOptions options;
    options.steps = steps;
    options.alignment_bytes = seed % 2 ? 64 : 1;
    const MemoryPlan plan = plan_memory(requests, options);
    expect_valid(requests, plan, steps, options.alignment_bytes);
    if (HasFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
  }
}

// The requests of one side of a split (spilled or kept) with their offsets, as a plan of their
// own: aliases remapped to the subset.
std::pair<std::vector<BufferRequest>, MemoryPlan> side_of(
    const std::vector<BufferRequest>& requests, const SpillPlan& split, bool spilled,
    uint64_t arena, const MemoryPlanOptions& options) {
  std::vector<BufferRequest> subset;
  MemoryPlan plan;
  plan.arena_bytes = arena;
  std::vector<int> index(requests.size(), -1);
  for (size_t i = 0; i < requests.size(); ++i) {
    if ((split.spilled[i] != 0) != spilled) continue;
    index[i] = static_cast<int>(subset.size());
    subset.push_back(requests[i]);
    plan.offsets.push_back(split.offsets[i]);
  }
  for (auto& request : subset) {
    if (request.alias_of >= 0) request.alias_of = index[static_cast<size_t>(request.alias_of)];
  }
  plan.peak_live_bytes = plan_memory(subset, options).peak_live_bytes;  // independent of offsets
  return {subset, plan};
}

// A plan cut at a capacity: kept buffers keep their offsets and end under the capacity, a view
// spills with its buffer, and both sides are valid plans (no overlap while live) on their own.
TEST(MemoryPlanProperty, SplitAtCapacityKeepsBothSidesValid) {
  int spilled_cases = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    graph::SplitMix64 random(seed);
    const int steps = static_cast<int>(random.uniform_int(1, 20));
    const int count = static_cast<int>(random.uniform_int(1, 30));
    std::vector<BufferRequest> requests;
    for (int i = 0; i < count; ++i) {
      BufferRequest request;
      request.name = "t" + std::to_string(i);
      request.bytes = static_cast<uint64_t>(random.uniform_int(1, 2000));
      request.first_step = static_cast<int>(random.uniform_int(0, steps - 1));
      request.last_step = static_cast<int>(random.uniform_int(request.first_step, steps - 1));
      if (random.uniform() > 0.8 && i > 0)
        request.alias_of = static_cast<int>(random.uniform_int(0, i - 1));
      requests.push_back(request);
    }
    MemoryPlanOptions options;
    options.steps = steps;
    options.alignment_bytes = 64;
    const MemoryPlan plan = plan_memory(requests, options);
    const auto capacity =
        static_cast<uint64_t>(random.uniform_int(0, static_cast<int64_t>(plan.arena_bytes) + 64));
    const SpillPlan split = split_at_capacity(requests, plan, capacity, options);
    ASSERT_EQ(split.spilled.size(), requests.size());
    EXPECT_LE(split.on_chip_bytes, capacity);
    bool any = false;
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto root = static_cast<size_t>(root_of(requests, static_cast<int>(i)));
      EXPECT_EQ(split.spilled[i], split.spilled[root]) << "seed " << seed;
      if (!split.spilled[i]) {
        EXPECT_EQ(split.offsets[i], plan.offsets[i]);
        EXPECT_LE(split.offsets[i] + aligned(requests[i].bytes, 64), capacity);
      }
      any = any || split.spilled[i];
    }
    if (capacity >= plan.arena_bytes) EXPECT_FALSE(any) << "seed " << seed;
    if (!any) EXPECT_EQ(split.spill_bytes, 0u);
    spilled_cases += any;
    const auto kept = side_of(requests, split, false, split.on_chip_bytes, options);
    expect_valid(kept.first, kept.second, steps, 64);
    const auto spilled = side_of(requests, split, true, split.spill_bytes, options);
    expect_valid(spilled.first, spilled.second, steps, 64);
    if (HasFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
  }
  EXPECT_GT(spilled_cases, 100);
}

// The schedule's buffers on one core: the arena is close to the peak, far below the sum.
TEST(CoreActivations, OneCoreHoldsThePeakNotTheSum) {
  GraphBuilder b;
  const uint64_t plane = 64;
  b.input("x", 3 * plane);
  b.node("stem", {"x"}, {{"s", 16 * plane}});
  b.node("b1x1", {"s"}, {{"b1", 8 * plane}});
  b.node("b3x3_reduce", {"s"}, {{"b2r", 24 * plane}});
  b.node("b3x3", {"b2r"}, {{"b2", 8 * plane}});
  b.node("b5x5_reduce", {"s"}, {{"b3r", 16 * plane}});
  b.node("b5x5_a", {"b3r"}, {{"b3a", 32 * plane}});
  b.node("b5x5_b", {"b3a"}, {{"b3", 8 * plane}});
  b.node("pool", {"s"}, {{"b4p", 16 * plane}});
  b.node("pool_proj", {"b4p"}, {{"b4", 8 * plane}});
  b.node("concat", {"b1", "b2", "b3", "b4"}, {{"c", 32 * plane}});
  b.node("flat", {"c"}, {{"f", 32 * plane}}, "Flatten");
  b.node("fc", {"f"}, {{"y", 16}});
  b.output("y");
  const ScheduleResult schedule = plan_schedule(b.graph(), b.bytes());
  const std::vector<int> cores(b.graph().nodes.size(), 0);
  const auto plans = plan_core_activations(b.graph(), b.bytes(), schedule.node_order, cores, 1);
  ASSERT_EQ(plans.size(), 1u);
  const CoreActivationPlan& plan = plans[0];
  uint64_t sum = 0;
  for (const auto& request : plan.requests) {
    if (request.alias_of < 0) sum += aligned(request.bytes, 64);
  }
  EXPECT_EQ(sum, 3 * 64u + 168 * 64u + 64u);  // x + every activation + y
  // The host writes x once: it stays for the whole program, unlike the schedule's model.
  EXPECT_EQ(plan.plan.peak_live_bytes, 4096u + 192u);
  EXPECT_GE(plan.plan.arena_bytes, plan.plan.peak_live_bytes);
  EXPECT_LE(plan.plan.arena_bytes, plan.plan.peak_live_bytes + 1024u);
  EXPECT_LT(plan.plan.arena_bytes, sum / 2);
  EXPECT_EQ(plan.offset_of_value.at("f"), plan.offset_of_value.at("c"));  // the view
  expect_valid(plan.requests, plan.plan, static_cast<int>(plan.nodes.size()), 64);
}

TEST(CoreActivations, ReceivedBuffersFollowTheFlowControl) {
  GraphBuilder b;
  b.input("x", 64);
  b.node("a", {"x"}, {{"a", 256}});  // core 0
  b.node("b", {"a"}, {{"b", 256}});  // core 1: a is received
  b.node("c", {"b"}, {{"c", 256}});  // core 1
  b.node("d", {"c"}, {{"d", 256}});  // core 1
  b.output("d");
  const std::vector<int> cores = {0, 1, 1, 1};
  CoreActivationOptions options;
  auto plans = plan_core_activations(b.graph(), b.bytes(), {0, 1, 2, 3}, cores, 2, options);
  ASSERT_EQ(plans.size(), 2u);
  const auto find = [](const CoreActivationPlan& plan, const std::string& value) {
    for (const auto& request : plan.requests) {
      if (request.name == value) return request;
    }
    ADD_FAILURE() << value << " not planned on core " << plan.core;
    return BufferRequest{};
  };
  // Core 0: x pinned, a produced and sent at step 0.
  EXPECT_EQ(find(plans[0], "x").last_step, 0);
  EXPECT_EQ(find(plans[0], "a").first_step, 0);
  // Core 1: a received, whole program by default; d a graph output until the end.
  EXPECT_EQ(find(plans[1], "a").first_step, 0);
  EXPECT_EQ(find(plans[1], "a").last_step, 2);
  EXPECT_EQ(find(plans[1], "d").last_step, 2);
  EXPECT_EQ(plans[1].plan.peak_live_bytes, 3 * 256u);  // a, c, d at step 2
  options.received = ReceivedLifetime::FromProgramStart;
  plans = plan_core_activations(b.graph(), b.bytes(), {0, 1, 2, 3}, cores, 2, options);
  EXPECT_EQ(find(plans[1], "a").last_step, 0);
  EXPECT_EQ(plans[1].plan.peak_live_bytes, 2 * 256u);
  EXPECT_EQ(plans[1].plan.arena_bytes, 2 * 256u);  // c reuses a's bytes
  for (const auto& plan : plans)
    expect_valid(plan.requests, plan.plan, static_cast<int>(plan.nodes.size()), 64);
}

TEST(CoreActivations, PartitionedNodesAndScratchBuffers) {
  GraphBuilder b;
  b.input("x", 64);
  b.node("a", {"x"}, {{"a", 512}});        // core 0
  b.node("conv", {"a"}, {{"c", 1024}});    // home core 1, slices on core 0
  b.node("concat", {"c"}, {{"y", 1024}});  // core 1, needs a requantized copy of c
  b.output("y");
  const std::vector<std::vector<int>> cores = {{0}, {1, 0}, {1}};
  const std::vector<ScratchBuffer> scratch = {{2, 1, "c.requantized", 1024}};
  const auto plans = plan_core_activations(b.graph(), b.bytes(), {0, 1, 2}, cores, 2, {}, scratch);
  // Core 0: x, a, then its slice of c (a is read there by the slice, then dead).
  EXPECT_EQ(plans[0].nodes, (std::vector<int>{0, 1}));
  ASSERT_TRUE(plans[0].offset_of_value.count("c.slice"));
  EXPECT_EQ(plans[0].requests.back().first_step, 1);
  EXPECT_EQ(plans[0].requests.back().last_step, 1);
  // Core 1: a received, c written by core 0 (the whole program), the scratch at the concat.
  EXPECT_EQ(plans[1].nodes, (std::vector<int>{1, 2}));
  for (const auto& request : plans[1].requests) {
    if (request.name == "c") {
      EXPECT_EQ(std::make_pair(request.first_step, request.last_step), std::make_pair(0, 1));
    }
    if (request.name == "c.requantized") {
      EXPECT_EQ(request.first_step, 1);
    }
  }
  EXPECT_TRUE(plans[1].offset_of_value.count("c.requantized"));
  EXPECT_EQ(plans[1].plan.peak_live_bytes, 512u + 1024u * 3);  // a, c, c.requantized, y
  for (const auto& plan : plans)
    expect_valid(plan.requests, plan.plan, static_cast<int>(plan.nodes.size()), 64);
}

TEST(CoreActivations, RandomPlacementsAreValid) {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    const GraphBuilder b = testing::random_dag(seed, 12);
    const ScheduleResult schedule = plan_schedule(b.graph(), b.bytes());
    graph::SplitMix64 random(seed);
    std::vector<std::vector<int>> cores(b.graph().nodes.size());
    for (auto& node_cores : cores) {
      node_cores = {static_cast<int>(random.uniform_int(0, 2))};
      if (random.uniform() < 0.2) node_cores.push_back((node_cores[0] + 1) % 3);  // partitioned
    }
    for (auto lifetime : {ReceivedLifetime::WholeProgram, ReceivedLifetime::FromProgramStart}) {
      CoreActivationOptions options;
      options.received = lifetime;
      const auto plans =
          plan_core_activations(b.graph(), b.bytes(), schedule.node_order, cores, 3, options);
      for (const auto& plan : plans) {
        if (plan.nodes.empty()) continue;
        expect_valid(plan.requests, plan.plan, static_cast<int>(plan.nodes.size()), 64);
        for (const auto& request : plan.requests)
          EXPECT_TRUE(plan.offset_of_value.count(request.name));
      }
    }
  }
}

}  // namespace
}  // namespace cimtlm::map
