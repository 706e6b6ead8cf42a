// The generalized Hilbert curve over a rectangle (J. Červený, "gilbert", 2019): split the longer
// side in two halves (the first one even where possible so the halves join at neighbours), or
// for a squarish rectangle cut it into three parts walked as a U, recursively.
#include "compiler/map/mesh_curve.h"

#include <cstdlib>

namespace cimtlm::map {
namespace {

int sign(int v) {
  return (v > 0) - (v < 0);
}
int floor_half(int v) {
  return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

struct Walker {
  int cols;
  std::vector<int>& order;

  void visit(int x, int y) { order.push_back(y * cols + x); }

  // Fills the rectangle from (x, y) with major axis (ax, ay) and minor axis (bx, by).
  void walk(int x, int y, int ax, int ay, int bx, int by) {
    const int w = std::abs(ax + ay), h = std::abs(bx + by);
    const int dax = sign(ax), day = sign(ay), dbx = sign(bx), dby = sign(by);
    if (h == 1) {
      for (int i = 0; i < w; ++i, x += dax, y += day) visit(x, y);
      return;
    }
    if (w == 1) {
      for (int i = 0; i < h; ++i, x += dbx, y += dby) visit(x, y);
      return;
    }
    int ax2 = floor_half(ax), ay2 = floor_half(ay), bx2 = floor_half(bx), by2 = floor_half(by);
    const int w2 = std::abs(ax2 + ay2), h2 = std::abs(bx2 + by2);
    if (2 * w > 3 * h) {
      // Long: two halves along the major axis.
      if (w2 % 2 != 0 && w > 2) ax2 += dax, ay2 += day;
      walk(x, y, ax2, ay2, bx, by);
      walk(x + ax2, y + ay2, ax - ax2, ay - ay2, bx, by);
      return;
    }
    // Squarish: up the first half of the minor axis, across, and back down.
    if (h2 % 2 != 0 && h > 2) bx2 += dbx, by2 += dby;
    walk(x, y, bx2, by2, ax2, ay2);
    walk(x + bx2, y + by2, ax, ay, bx - bx2, by - by2);
    walk(x + (ax - dax) + (bx2 - dbx), y + (ay - day) + (by2 - dby), -bx2, -by2, -(ax - ax2),
         -(ay - ay2));
  }
};

}  // namespace

std::vector<int> mesh_curve_order(int rows, int cols) {
  std::vector<int> order;
  if (rows < 1 || cols < 1) return order;
  order.reserve(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  Walker walker{cols, order};
  if (cols >= rows) {
    walker.walk(0, 0, cols, 0, 0, rows);
  } else {
    walker.walk(0, 0, 0, rows, cols, 0);
  }
  return order;
}

}  // namespace cimtlm::map
