// Parameters of the network-on-chip (platform YAML keys `noc.<field>` map onto these fields).
//
// The router is BookSim2's input-queued virtual-channel router (booksim/booksim2, iq_router):
// wormhole switching, credit-based flow control, separable input-first VC and switch allocators
// with round-robin arbiters, one VC allocation per packet, no speculation. Every pipeline stage
// takes a configurable whole number of cycles; the defaults give BookSim's classic 5-cycle hop
// (routing, VC allocation, switch allocation, switch traversal, link traversal).
#pragma once

#include <string>

namespace cimtlm::noc {

struct NocParams {
  // --- Topology ---
  std::string topology = "mesh";  // "mesh" | "torus"
  int rows = 4;                   // routers along y
  int cols = 4;                   // routers along x
  int concentration = 1;          // cores (network nodes) per router; core = router * c + local

  // --- Timing model ---
  // "cycle": the cycle-level, BookSim2-faithful router engine (network.h), exact.
  // "reservation": the approximate, fast flit-slot reservation model (reservation_network.h):
  // exact at zero load, same counts and energy, no back-pressure or VC/buffer limits.
  std::string model = "cycle";

  // --- Routing ---
  // "xy": dimension order, x first (mesh and torus; the torus uses dateline VC classes).
  // "west_first": west-first turn model (Glass & Ni, ISCA 1992), minimal adaptive, mesh only.
  // "odd_even": odd-even turn model (Chiu, IEEE TPDS 2000), minimal adaptive, mesh only.
  std::string routing = "xy";

  // --- Router micro-architecture ---
  int vcs = 2;              // virtual channels per port
  int vc_buffer_flits = 4;  // flit slots per VC input buffer
  int flit_bits = 128;      // link (phit = flit) width in bits
  int routing_cycles = 1;            // route computation; 0 = lookahead routing
  int vc_allocation_cycles = 1;      // >= 1
  int switch_allocation_cycles = 1;  // >= 1
  int switch_traversal_cycles = 1;   // crossbar, >= 1
  int link_cycles = 1;               // router-to-router link (flits and credits), >= 1
  int credit_delay_cycles = 1;       // credit processing at the upstream router, >= 0

  // --- Network interface ---
  // Largest payload of one packet when a tensor transfer is split into packets. 64 B = 4 flits
  // of 128 bits: a cache-line-sized packet, the usual choice for NoC data packets.
  int max_packet_payload_bytes = 64;

  // --- Energy (defaults: a 45 nm, 5-port, 2-VC router with 128-bit flits at ~1 V) ---
  // Buffer write + read of one 128-bit flit in a flip-flop/register-file VC buffer: ~1.5 pJ,
  // the order of magnitude ORION 2.0 (Kahng et al., DATE 2009) and DSENT (Sun et al.,
  // NOCS 2012) give for 45 nm routers (~10 fJ/bit).
  double buffer_energy_pj_per_flit = 1.5;
  // 5x5 matrix crossbar traversal of one 128-bit flit: ~1.0 pJ (same sources, ~8 fJ/bit).
  double crossbar_energy_pj_per_flit = 1.0;
  // One 1 mm inter-router link (tile pitch) at 40.4 fJ/bit/mm, measured on a 45 nm SOI mesh
  // NoC datapath (Park et al., DATE 2013): 128 x 40.4 fJ = 5.2 pJ per flit per hop.
  double link_energy_pj_per_flit = 5.2;
  // Leakage per router. The 45 nm SOI 4x4 mesh prototype of Park et al. (DAC 2012) dissipates
  // 531 mW for 16 routers at 1 GHz and full load (~33 mW/router); leakage is ~10 % of that.
  double router_leakage_mw = 3.0;

  int routers() const { return rows * cols; }
  int nodes() const { return rows * cols * concentration; }
  // Flits of a packet carrying `payload_bytes` (at least one: the head carries the header).
  int flits_for_payload(long long payload_bytes) const;

  // Empty when valid; otherwise a message naming the offending field (`noc.<field>`).
  std::string validate() const;
};

}  // namespace cimtlm::noc
