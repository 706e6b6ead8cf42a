// The space-filling order of a mesh's cores that shared placement deals layers along.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "compiler/map/mesh_curve.h"

using cimtlm::map::mesh_curve_order;

namespace {

int hops(int a, int b, int cols) {
  return std::abs(a % cols - b % cols) + std::abs(a / cols - b / cols);
}

}  // namespace

TEST(MeshCurve, EveryCoreOnceAndEveryStepToANeighbour) {
  for (int rows = 1; rows <= 17; ++rows) {
    for (int cols = 1; cols <= 17; ++cols) {
      std::vector<int> order = mesh_curve_order(rows, cols);
      ASSERT_EQ(order.size(), static_cast<size_t>(rows * cols)) << rows << "x" << cols;
      EXPECT_EQ(order.front(), 0) << rows << "x" << cols;
      int diagonal = 0;
      for (size_t i = 1; i < order.size(); ++i) {
        const int step = hops(order[i - 1], order[i], cols);
        EXPECT_LE(step, 2) << rows << "x" << cols << " step " << i;
        diagonal += step == 2;
      }
      // The generalized curve takes one diagonal step only when the longer side is odd and the
      // shorter one even (a 4x5 mesh); never on the meshes `noc.rows/cols` usually give.
      const int longer = std::max(rows, cols), shorter = std::min(rows, cols);
      EXPECT_EQ(diagonal, longer % 2 == 1 && shorter % 2 == 0 && shorter > 2 ? 1 : 0)
          << rows << "x" << cols;
      std::sort(order.begin(), order.end());
      std::vector<int> all(order.size());
      std::iota(all.begin(), all.end(), 0);
      EXPECT_EQ(order, all) << rows << "x" << cols;
    }
  }
  EXPECT_TRUE(mesh_curve_order(0, 4).empty());
}

TEST(MeshCurve, SmallMeshesAndHilbertBlocks) {
  EXPECT_EQ(mesh_curve_order(2, 2), (std::vector<int>{0, 2, 3, 1}));
  EXPECT_EQ(mesh_curve_order(1, 4), (std::vector<int>{0, 1, 2, 3}));
  // On a 16x16 mesh (the Hilbert curve) every 16 consecutive cores from a multiple of 16 fill a
  // 4x4 square, and every 4 a 2x2 square: a layer's cores stay within a few hops.
  const std::vector<int> order = mesh_curve_order(16, 16);
  for (int size : {4, 16, 64}) {
    const int side = size == 4 ? 2 : size == 16 ? 4 : 8;
    for (size_t first = 0; first < order.size(); first += static_cast<size_t>(size)) {
      int min_x = 16, max_x = -1, min_y = 16, max_y = -1;
      for (size_t i = first; i < first + static_cast<size_t>(size); ++i) {
        min_x = std::min(min_x, order[i] % 16), max_x = std::max(max_x, order[i] % 16);
        min_y = std::min(min_y, order[i] / 16), max_y = std::max(max_y, order[i] / 16);
      }
      EXPECT_EQ(max_x - min_x + 1, side) << size << " from " << first;
      EXPECT_EQ(max_y - min_y + 1, side) << size << " from " << first;
    }
  }
}
