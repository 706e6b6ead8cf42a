// A space-filling order of the cores of a mesh, so that cores consecutive in it are neighbours.
#pragma once

#include <vector>

namespace cimtlm::map {

// Core ids of a `rows` x `cols` mesh (core c at row c / cols, column c % cols) in the order of a
// generalized Hilbert curve (J. Červený's "gilbert" algorithm for any rectangle): every step
// moves to a mesh neighbour, except one diagonal step when the longer side is odd and the shorter
// one even and above 2, and any run of consecutive cores covers a compact region instead of a row
// segment. A 2^k square gives the Hilbert curve itself. Empty for rows or cols below 1.
std::vector<int> mesh_curve_order(int rows, int cols);

}  // namespace cimtlm::map
