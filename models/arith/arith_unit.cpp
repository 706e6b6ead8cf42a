#include "models/arith/arith_unit.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "models/arith/arith_rows.h"

namespace cimtlm::arith {

namespace {

using core::ElemType;

int32_t type_lowest(ElemType type) {
  switch (type) {
    case ElemType::Int8:
      return -128;
    case ElemType::UInt8:
      return 0;
    default:
      return std::numeric_limits<int32_t>::min();
  }
}
int32_t type_highest(ElemType type) {
  switch (type) {
    case ElemType::Int8:
      return 127;
    case ElemType::UInt8:
      return 255;
    default:
      return std::numeric_limits<int32_t>::max();
  }
}

int32_t load_code(const uint8_t* data, ElemType type, int64_t index) {
  switch (type) {
    case ElemType::Int8:
      return static_cast<int8_t>(data[index]);
    case ElemType::UInt8:
      return data[index];
    case ElemType::Int32: {
      int32_t value;
      std::memcpy(&value, data + 4 * index, 4);
      return value;
    }
    default:
      throw std::logic_error("arith: not an integer element type");
  }
}

void store_code(std::vector<uint8_t>& out, ElemType type, int64_t index, int32_t value) {
  switch (type) {
    case ElemType::Int8:
    case ElemType::UInt8:
      out[static_cast<size_t>(index)] = static_cast<uint8_t>(value);
      break;
    case ElemType::Int32:
      std::memcpy(out.data() + 4 * index, &value, 4);
      break;
    default:
      throw std::logic_error("arith: not an integer element type");
  }
}

// The rounding and saturation stage of the unit: round half to even (IEEE nearest), clamp in
// float first so that out-of-range values cannot overflow the conversion.
int32_t round_clamp(float scaled, int32_t zero_point, int32_t lo, int32_t hi) {
  const float lo_f = static_cast<float>(lo - zero_point);
  const float hi_f = static_cast<float>(hi - zero_point);
  if (std::isnan(scaled)) return std::clamp(zero_point, lo, hi);
  const float clamped = std::min(std::max(scaled, lo_f), hi_f);
  const auto rounded = static_cast<int64_t>(std::nearbyint(clamped)) + zero_point;
  return static_cast<int32_t>(std::clamp<int64_t>(rounded, lo, hi));
}

// The float-to-int conversion of x86 (CVTPS2DQ), which onnxruntime's quantized kernels use:
// round half to even, anything out of the int32 range (and NaN) becomes INT32_MIN.
int64_t convert_x86(float value) {
  if (!(value >= -2147483648.0f && value < 2147483648.0f))
    return std::numeric_limits<int32_t>::min();
  return static_cast<int64_t>(std::nearbyint(value));
}

int32_t requantize_value(int32_t acc, float multiplier, int32_t zero_point, int32_t lo,
                         int32_t hi) {
  return round_clamp(static_cast<float>(acc) * multiplier, zero_point, lo, hi);
}

float to_real(int32_t code, float scale, int32_t zero_point) {
  return static_cast<float>(code - zero_point) * scale;
}

}  // namespace

std::string ArithParams::validate() const {
  if (simd_lanes < 1) return "simd_lanes must be at least 1";
  if (accumulator_bytes < 4) return "accumulator_bytes must hold at least one int32";
  return "";
}

ArithUnit::ArithUnit(const ArithParams& params, kernel::StatGroup& stats, kernel::VcdTrace* trace,
                     const std::vector<std::string>& vcd_scope)
    : params_(params),
      accumulators_(params.accumulator_bytes),  // enough entries for 8-bit accumulators
      operations_(stats.count("operations", "commands executed by the arithmetic unit")),
      elements_(stats.count("elements", "elements produced")),
      saturations_(stats.count("accumulator_saturations",
                               "partial sums clamped to the accumulator width (never wrapped)")),
      busy_cycles_(stats.value("busy_cycles", "cycles the unit was busy")),
      energy_accumulate_(stats.energy_pj("energy_accumulate_pj", kernel::EnergyCategory::Arith,
                                         "int32 partial-sum accumulation")),
      energy_requantize_(
          stats.energy_pj("energy_requantize_pj", kernel::EnergyCategory::Arith, "requantization")),
      energy_lookup_(stats.energy_pj("energy_lookup_pj", kernel::EnergyCategory::Arith,
                                     "activation table lookups")),
      energy_eltwise_(stats.energy_pj("energy_eltwise_pj", kernel::EnergyCategory::Arith,
                                      "element-wise add/mul")),
      energy_pool_(stats.energy_pj("energy_pool_pj", kernel::EnergyCategory::Arith, "pooling")),
      energy_softmax_(stats.energy_pj("energy_softmax_pj", kernel::EnergyCategory::Arith,
                                      "softmax, quantize, dequantize")),
      energy_kernel_ops_(stats.energy_pj("energy_kernel_ops_pj", kernel::EnergyCategory::Arith,
                                         "float-island ops and activation x activation products")),
      energy_leakage_(stats.energy_pj("energy_leakage_pj", kernel::EnergyCategory::Leakage,
                                      "static power over the simulated time")) {
  if (trace) busy_trace_ = kernel::BusyTracer(trace->add_signal(vcd_scope, "busy", 1));
}

int32_t* ArithUnit::accumulators(uint64_t first, uint64_t count, int bits) {
  const uint64_t end_bits = (first + count) * static_cast<uint64_t>(bits);
  if (end_bits > params_.accumulator_bytes * 8 || first + count > accumulators_.size()) {
    throw std::out_of_range("accumulator entries [" + std::to_string(first) + ", " +
                            std::to_string(first + count) + ") of " + std::to_string(bits) +
                            " bits exceed the " + std::to_string(params_.accumulator_bytes) +
                            "-byte accumulator memory");
  }
  return accumulators_.data() + first;
}

uint64_t ArithUnit::simd_cycles(uint64_t elements, int bits, uint64_t cycles_per_element) const {
  const auto lanes = std::max<uint64_t>(
      1, static_cast<uint64_t>(params_.simd_lanes) * 8 / static_cast<uint64_t>(std::max(bits, 8)));
  return params_.pipeline_cycles + (elements * cycles_per_element + lanes - 1) / lanes;
}

uint64_t ArithUnit::accumulate_cycles(uint64_t count, int bits) {
  // Adder energy grows about linearly with width (Horowitz 2014: 8-bit 0.03 pJ, 32-bit 0.1 pJ).
  energy_accumulate_ += params_.accumulate_energy_pj * static_cast<double>(count) * bits / 32.0;
  const uint64_t cycles = simd_cycles(count, bits);
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::accumulate(const int32_t* partials, int64_t vectors, int64_t cols,
                               int32_t* accumulators, int64_t stride, bool accumulate) {
  int32_t* row = accumulators;
  const int32_t* partial = partials;
  for (int64_t v = 0; v < vectors; ++v, row += stride, partial += cols) {
    if (accumulate) {
      for (int64_t c = 0; c < cols; ++c) {
        row[c] =
            static_cast<int32_t>(static_cast<uint32_t>(row[c]) + static_cast<uint32_t>(partial[c]));
      }
    } else {
      std::memcpy(row, partial, static_cast<size_t>(cols) * sizeof(int32_t));
    }
  }
  return accumulate ? accumulate_cycles(static_cast<uint64_t>(vectors * cols)) : 0;
}

uint64_t ArithUnit::accumulate_rescaled(const int32_t* partials, int64_t vectors, int64_t cols,
                                        int32_t* accumulators, int64_t stride, int shift, int bits,
                                        bool accumulate) {
  const int64_t highest = (int64_t{1} << (bits - 1)) - 1;
  const int64_t lowest = -highest - 1;
  for (int64_t v = 0; v < vectors; ++v) {
    for (int64_t c = 0; c < cols; ++c) {
      int64_t value = partials[v * cols + c];
      if (shift > 0) {
        // Division by 2^shift rounding half to even (an arithmetic shift floors).
        const int64_t floor = value >> shift;
        const int64_t remainder = value - floor * (int64_t{1} << shift);  // no shift of a negative
        const int64_t half = int64_t{1} << (shift - 1);
        value = floor + ((remainder > half || (remainder == half && (floor & 1))) ? 1 : 0);
      }
      int32_t& acc = accumulators[v * stride + c];
      const int64_t sum = (accumulate ? static_cast<int64_t>(acc) : 0) + value;
      // Saturated, never wrapped, and counted: a saturation is an accuracy loss the user sees.
      if (sum < lowest || sum > highest) ++saturations_;
      acc = static_cast<int32_t>(std::clamp(sum, lowest, highest));
    }
  }
  return accumulate_cycles(static_cast<uint64_t>(vectors * cols), bits);
}

uint64_t ArithUnit::requantize(const core::Requantize& command, bool column_major,
                               std::vector<uint8_t>& out) {
  const int64_t vectors = command.vectors, cols = command.cols;
  const ElemType type = command.output.type;
  const size_t out_bytes = static_cast<size_t>(vectors * cols) * core::elem_size(type);
  const int32_t* acc =
      command.zero_accumulator
          ? nullptr
          : accumulators(command.accumulator,
                         static_cast<uint64_t>((vectors - 1) * command.accumulator_stride + cols),
                         command.accumulator_bits);
  const auto& multipliers = command.multipliers;
  const int32_t lo = std::max(command.clamp_min, type_lowest(type));
  const int32_t hi = std::min(command.clamp_max, type_highest(type));
  if ((type == ElemType::Int8 || type == ElemType::UInt8) && command.rescale_shift == 0 &&
      acc != nullptr) {
    // The common case (exact accumulators, 8-bit output) without the per-element type switches
    // and multiplier look-ups: the same arithmetic as the general loop below, a vectorised row
    // kernel per vector (arith_rows.h). Blocks of 64 vectors, so that an NCHW output (written
    // along vectors, from the block's tile) stays in the cache. Every byte is written: no fill.
    out.resize(out_bytes);
    constexpr int64_t kBlockVectors = 64;
    const bool one_multiplier = multipliers->size() == 1;
    const int32_t* bias = command.bias ? command.bias->data() : nullptr;
    const int64_t stride = command.accumulator_stride;
    for (int64_t v0 = 0; v0 < vectors; v0 += kBlockVectors) {
      const int64_t v1 = std::min(vectors, v0 + kBlockVectors);
      if (!column_major) {
        for (int64_t v = v0; v < v1; ++v) {
          requantize_row_8bit(acc + v * stride, bias, multipliers->data(), !one_multiplier, cols,
                              command.output_zero_point, lo, hi, out.data() + v * cols);
        }
        continue;
      }
      // Rows of the block into a tile (contiguous accumulators, vectorised), then the tile
      // transposed into the [c][v] output.
      tile_.resize(static_cast<size_t>((v1 - v0) * cols));
      for (int64_t v = v0; v < v1; ++v) {
        requantize_row_8bit(acc + v * stride, bias, multipliers->data(), !one_multiplier, cols,
                            command.output_zero_point, lo, hi, tile_.data() + (v - v0) * cols);
      }
      for (int64_t c = 0; c < cols; ++c) {
        uint8_t* target = out.data() + c * vectors;
        for (int64_t v = v0; v < v1; ++v)
          target[v] = tile_[static_cast<size_t>((v - v0) * cols + c)];
      }
    }
    return account_requantize(static_cast<uint64_t>(vectors * cols));
  }
  out.assign(out_bytes, 0);
  for (int64_t v = 0; v < vectors; ++v) {
    for (int64_t c = 0; c < cols; ++c) {
      int64_t value = acc ? acc[v * command.accumulator_stride + c] : 0;
      value *= int64_t{1} << command.rescale_shift;  // undo the rescaling of partial sums
      if (command.bias) value += (*command.bias)[static_cast<size_t>(c)];
      int32_t result;
      if (type == ElemType::Int32) {
        result = static_cast<int32_t>(value);
      } else {
        const float multiplier =
            multipliers->size() == 1 ? (*multipliers)[0] : (*multipliers)[static_cast<size_t>(c)];
        // Exact partial sums fit int32 (the reference's accumulator); rescaled ones are
        // approximations of it and are converted whole.
        const float real = command.rescale_shift == 0
                               ? static_cast<float>(static_cast<int32_t>(value))
                               : static_cast<float>(value);
        result = round_clamp(real * multiplier, command.output_zero_point, lo, hi);
      }
      store_code(out, type, column_major ? c * vectors + v : v * cols + c, result);
    }
  }
  return account_requantize(static_cast<uint64_t>(vectors * cols));
}

// One requantization of `count` elements: counters, energy and its SIMD cycles.
uint64_t ArithUnit::account_requantize(uint64_t count) {
  ++operations_;
  elements_ += count;
  energy_requantize_ += params_.requantize_energy_pj * static_cast<double>(count);
  const uint64_t cycles = simd_cycles(count, 32);  // float32 multiply
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::lookup(const core::Lookup& command, const uint8_t* in,
                           std::vector<uint8_t>& out) {
  const int64_t count = command.input.elements();
  const ElemType out_type = command.output.type;
  out.assign(static_cast<size_t>(count) * core::elem_size(out_type), 0);
  const int32_t offset = -type_lowest(command.input.type);
  const auto& table = *command.table;
  for (int64_t i = 0; i < count; ++i) {
    store_code(out, out_type, i,
               table[static_cast<size_t>(load_code(in, command.input.type, i) + offset)]);
  }
  ++operations_;
  elements_ += static_cast<uint64_t>(count);
  energy_lookup_ += params_.lookup_energy_pj * static_cast<double>(count);
  const uint64_t cycles = simd_cycles(static_cast<uint64_t>(count), 8);
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::eltwise(const core::Eltwise& command, const uint8_t* a, const uint8_t* b,
                            std::vector<uint8_t>& out) {
  const int64_t count = command.a.elements();
  const int64_t b_count = command.b.elements();
  const ElemType out_type = command.output.type;
  out.assign(static_cast<size_t>(count) * core::elem_size(out_type), 0);
  const int32_t lo = std::max(command.clamp_min, type_lowest(out_type));
  const int32_t hi = std::min(command.clamp_max, type_highest(out_type));
  const bool multiply = command.op == core::Eltwise::Op::Mul;
  const float multiplier = (command.a_scale * command.b_scale) / command.y_scale;
  const int32_t type_lo = type_lowest(out_type) - command.y_zero_point;
  const int32_t type_hi = type_highest(out_type) - command.y_zero_point;
  auto is_8bit = [](ElemType type) { return type == ElemType::Int8 || type == ElemType::UInt8; };
  const bool fused_add_8bit = !multiply && command.integer_product && is_8bit(command.a.type) &&
                              is_8bit(command.b.type) && is_8bit(out_type) &&
                              (b_count == count || (b_count > 0 && command.b_inner >= 1));
  if (fused_add_8bit) {
    // The common residual add, a row kernel over runs that share b's layout (arith_rows.h):
    // the same arithmetic as the QLinearAdd branch below.
    QuantizedAdd add;
    add.a_ratio = command.a_scale / command.y_scale;
    add.b_ratio = command.b_scale / command.y_scale;
    add.constant = static_cast<float>(command.y_zero_point) -
                   (add.a_ratio * static_cast<float>(command.a_zero_point) +
                    add.b_ratio * static_cast<float>(command.b_zero_point));
    add.lo = lo;
    add.hi = hi;
    add.a_signed = command.a.type == ElemType::Int8;
    add.b_signed = command.b.type == ElemType::Int8;
    if (b_count == count) {
      quantized_add_row(add, a, b, false, count, out.data());
    } else if (command.b_inner == 1) {
      for (int64_t i = 0; i < count;) {  // b repeats along a: runs of b's elements
        const int64_t j = i % b_count;
        const int64_t run = std::min(b_count - j, count - i);
        quantized_add_row(add, a + i, b + j, false, run, out.data() + i);
        i += run;
      }
    } else {
      for (int64_t i = 0; i < count;) {  // one element of b per b_inner elements of a
        const int64_t j = (i / command.b_inner) % b_count;
        const int64_t run = std::min(command.b_inner - i % command.b_inner, count - i);
        quantized_add_row(add, a + i, b + j, true, run, out.data() + i);
        i += run;
      }
    }
  }
  for (int64_t i = 0; !fused_add_8bit && i < count; ++i) {
    const int64_t j = b_count == count ? i : (i / command.b_inner) % b_count;
    const int32_t av = load_code(a, command.a.type, i) - command.a_zero_point;
    const int32_t bv = load_code(b, command.b.type, j) - command.b_zero_point;
    int64_t y;
    if (!multiply && command.integer_product) {
      // onnxruntime's fused QLinearAdd: ratios to the output scale, zero points folded into one
      // constant, two FMAs on the codes (compiler/graph/kernels_quantized.cpp).
      const float a_ratio = command.a_scale / command.y_scale;
      const float b_ratio = command.b_scale / command.y_scale;
      const float constant = static_cast<float>(command.y_zero_point) -
                             (a_ratio * static_cast<float>(command.a_zero_point) +
                              b_ratio * static_cast<float>(command.b_zero_point));
      y = convert_x86(
          std::fma(static_cast<float>(bv + command.b_zero_point), b_ratio,
                   std::fma(static_cast<float>(av + command.a_zero_point), a_ratio, constant)));
    } else if (!multiply) {
      // Dequantized sum, one division, x86 conversion, saturation to the type, then the clamp.
      const float sum =
          static_cast<float>(av) * command.a_scale + static_cast<float>(bv) * command.b_scale;
      y = std::clamp<int64_t>(convert_x86(sum / command.y_scale), type_lo, type_hi) +
          command.y_zero_point;
    } else if (command.integer_product) {
      // Exact product scaled once; the zero point joins before rounding.
      y = convert_x86(static_cast<float>(av * bv) * multiplier +
                      static_cast<float>(command.y_zero_point));
    } else {
      const float product =
          (static_cast<float>(av) * command.a_scale) * (static_cast<float>(bv) * command.b_scale);
      y = round_clamp(product / command.y_scale, command.y_zero_point, lo, hi);
    }
    store_code(out, out_type, i, static_cast<int32_t>(std::clamp<int64_t>(y, lo, hi)));
  }
  ++operations_;
  elements_ += static_cast<uint64_t>(count);
  energy_eltwise_ += params_.eltwise_energy_pj * static_cast<double>(count);
  const uint64_t cycles = simd_cycles(static_cast<uint64_t>(count), 32);  // float32 arithmetic
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::pool(const core::Pool& command, const uint8_t* in, std::vector<uint8_t>& out) {
  const auto& shape = command.input.shape;
  if (shape.size() < 3) throw std::invalid_argument("pool input must be [.., C, H, W]");
  const int64_t height = shape[shape.size() - 2], width = shape[shape.size() - 1];
  const int64_t planes = command.input.elements() / (height * width);
  const auto& out_shape = command.output.shape;
  const int64_t out_h = out_shape[out_shape.size() - 2], out_w = out_shape[out_shape.size() - 1];
  const ElemType type = command.input.type;
  out.assign(static_cast<size_t>(planes * out_h * out_w) * core::elem_size(command.output.type), 0);
  const bool global = command.kind == core::Pool::Kind::GlobalAverage;
  const int64_t kh_count = global ? height : command.kernel_h;
  const int64_t kw_count = global ? width : command.kernel_w;
  const int64_t stride_h = global ? 1 : command.stride_h, stride_w = global ? 1 : command.stride_w;
  const int64_t pad_top = global ? 0 : command.pad_top, pad_left = global ? 0 : command.pad_left;
  const int64_t dil_h = global ? 1 : command.dilation_h, dil_w = global ? 1 : command.dilation_w;
  const int32_t lo = type_lowest(command.output.type), hi = type_highest(command.output.type);
  // Global average: an integer sum requantized once by sa / (sy * N).
  const float global_multiplier =
      command.input_scale / (command.output_scale * static_cast<float>(height * width));
  uint64_t window_reads = 0;
  int64_t index = 0;
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t base = plane * height * width;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      for (int64_t ow = 0; ow < out_w; ++ow, ++index) {
        int32_t best = std::numeric_limits<int32_t>::min();
        float sum = 0.0f;
        int64_t integer_sum = 0;
        int64_t count = 0;
        for (int64_t kh = 0; kh < kh_count; ++kh) {
          const int64_t ih = oh * stride_h - pad_top + kh * dil_h;
          if (ih < 0 || ih >= height) continue;
          for (int64_t kw = 0; kw < kw_count; ++kw) {
            const int64_t iw = ow * stride_w - pad_left + kw * dil_w;
            if (iw < 0 || iw >= width) continue;
            const int32_t code = load_code(in, type, base + ih * width + iw);
            ++count;
            if (command.kind == core::Pool::Kind::Max) {
              best = std::max(best, code);
            } else if (global) {
              integer_sum += code - command.input_zero_point;
            } else {
              sum += command.input_scale * static_cast<float>(code - command.input_zero_point);
            }
          }
        }
        window_reads += static_cast<uint64_t>(count);
        if (command.kind == core::Pool::Kind::Max) {
          store_code(out, command.output.type, index, best);
        } else if (global) {
          store_code(out, command.output.type, index,
                     requantize_value(static_cast<int32_t>(integer_sum), global_multiplier,
                                      command.output_zero_point, lo, hi));
        } else {
          const int64_t divisor = command.count_include_pad ? kh_count * kw_count : count;
          const float mean = divisor > 0 ? sum / static_cast<float>(divisor) : 0.0f;
          const int64_t q = convert_x86(mean / command.output_scale +
                                        static_cast<float>(command.output_zero_point));
          store_code(out, command.output.type, index,
                     static_cast<int32_t>(std::clamp<int64_t>(q, lo, hi)));
        }
      }
    }
  }
  ++operations_;
  elements_ += static_cast<uint64_t>(index);
  energy_pool_ += params_.pool_energy_pj * static_cast<double>(window_reads);
  // Max pooling compares 8-bit codes; averages add 32-bit values.
  const uint64_t cycles = simd_cycles(window_reads, command.kind == core::Pool::Kind::Max ? 8 : 32);
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::softmax(const core::Softmax& command, const uint8_t* in,
                            std::vector<uint8_t>& out) {
  const int64_t cols = std::max<int64_t>(command.extent, 1);
  const int64_t inner = std::max<int64_t>(command.inner, 1);
  const int64_t rows = command.input.elements() / cols;  // outer x inner rows of `cols` entries
  const ElemType out_type = command.output.type;
  out.assign(static_cast<size_t>(rows * cols) * core::elem_size(out_type), 0);
  // Element c of row r (r = outer * inner + i) sits at (outer * cols + c) * inner + i.
  auto at = [&](int64_t r, int64_t c) { return ((r / inner) * cols + c) * inner + r % inner; };
  std::vector<float> row(static_cast<size_t>(cols));
  const bool float_output = out_type == ElemType::Float32;
  if (!float_output && (!command.exp_table || command.exp_table->size() != 256)) {
    throw std::invalid_argument("softmax of layer '" + command.layer +
                                "' has no exponential table");
  }
  const bool is_signed = command.input.type == ElemType::Int8;
  for (int64_t r = 0; r < rows; ++r) {
    if (float_output) {
      // Dequantize, exp(x - max), multiply by the reciprocal of the sum (MLAS's order).
      float max_value = -std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < cols; ++c) {
        const float value = to_real(load_code(in, command.input.type, at(r, c)),
                                    command.input_scale, command.input_zero_point);
        row[static_cast<size_t>(c)] = value;
        max_value = std::max(max_value, value);
      }
      float sum = 0.0f;
      for (auto& value : row) {
        value = std::exp(value - max_value);
        sum += value;
      }
      const float reciprocal = 1.0f / sum;
      for (int64_t c = 0; c < cols; ++c) {
        const float probability = row[static_cast<size_t>(c)] * reciprocal;
        std::memcpy(out.data() + 4 * at(r, c), &probability, 4);
      }
      continue;
    }
    int32_t maximum = std::numeric_limits<int32_t>::min();
    for (int64_t c = 0; c < cols; ++c)
      maximum = std::max(maximum, load_code(in, command.input.type, at(r, c)));
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
      const int32_t code = load_code(in, command.input.type, at(r, c));
      const auto index =
          static_cast<uint8_t>(is_signed ? code + 127 - maximum : code + 255 - maximum);
      row[static_cast<size_t>(c)] = (*command.exp_table)[index];
      sum += row[static_cast<size_t>(c)];
    }
    for (int64_t c = 0; c < cols; ++c) {
      const float scaled =
          std::nearbyint((row[static_cast<size_t>(c)] * command.output_reciprocal) / sum);
      const int64_t i = at(r, c);
      if (is_signed) {
        // onnxruntime's int8 path: a value above 255 becomes int8(255) = -1, others wrap as int8.
        const int32_t q = static_cast<int32_t>(scaled) + command.output_zero_point;
        out[static_cast<size_t>(i)] = static_cast<uint8_t>(q > 255 ? 255 : q);
      } else {
        const uint32_t q =
            static_cast<uint32_t>(scaled) + static_cast<uint32_t>(command.output_zero_point);
        out[static_cast<size_t>(i)] = static_cast<uint8_t>(std::min<uint32_t>(q, 255));
      }
    }
  }
  const auto count = static_cast<uint64_t>(rows * cols);
  ++operations_;
  elements_ += count;
  energy_softmax_ += params_.softmax_energy_pj * static_cast<double>(count);
  const uint64_t cycles = simd_cycles(count, 32, 3);  // max, exp-sum and normalise passes
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::quantize(const core::Quantize& command, const uint8_t* in,
                             std::vector<uint8_t>& out) {
  const int64_t count = command.input.elements();
  const ElemType out_type = command.output.type;
  out.assign(static_cast<size_t>(count) * core::elem_size(out_type), 0);
  for (int64_t i = 0; i < count; ++i) {
    float value;
    std::memcpy(&value, in + 4 * i, 4);
    store_code(out, out_type, i,
               round_clamp(value / command.scale, command.zero_point, type_lowest(out_type),
                           type_highest(out_type)));
  }
  ++operations_;
  elements_ += static_cast<uint64_t>(count);
  energy_softmax_ += params_.requantize_energy_pj * static_cast<double>(count);
  const uint64_t cycles = simd_cycles(static_cast<uint64_t>(count), 32);
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::dequantize(const core::Dequantize& command, const uint8_t* in,
                               std::vector<uint8_t>& out) {
  const int64_t count = command.input.elements();
  out.assign(static_cast<size_t>(count) * 4, 0);
  for (int64_t i = 0; i < count; ++i) {
    const float value =
        to_real(load_code(in, command.input.type, i), command.scale, command.zero_point);
    std::memcpy(out.data() + 4 * i, &value, 4);
  }
  ++operations_;
  elements_ += static_cast<uint64_t>(count);
  energy_softmax_ += params_.requantize_energy_pj * static_cast<double>(count);
  const uint64_t cycles = simd_cycles(static_cast<uint64_t>(count), 32);
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::kernel_op(const core::KernelOp& command,
                              const std::vector<const uint8_t*>& inputs,
                              std::vector<std::vector<uint8_t>>& outputs) {
  if (!command.kernel) {
    throw std::invalid_argument("kernel op of layer '" + command.layer + "' has no kernel");
  }
  outputs.assign(command.outputs.size(), {});
  command.kernel->compute(inputs, outputs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].size() != command.outputs[i].bytes()) {
      throw std::invalid_argument("kernel op of layer '" + command.layer + "' produced " +
                                  std::to_string(outputs[i].size()) + " bytes for output " +
                                  std::to_string(i) + ", expected " +
                                  std::to_string(command.outputs[i].bytes()));
    }
    elements_ += static_cast<uint64_t>(command.outputs[i].elements());
  }
  ++operations_;
  // A float32 operation costs what a float element-wise op does (eltwise_energy_pj). An 8-bit
  // multiply-accumulate is a multiply (about twice a 32-bit add: 0.2 vs 0.1 pJ, Horowitz, ISSCC
  // 2014) and an int32 add, i.e. 3 x accumulate_energy_pj (an assumption tied to that parameter).
  const double macs = static_cast<double>(command.int8_macs);
  energy_kernel_ops_ += params_.eltwise_energy_pj * static_cast<double>(command.float_ops) +
                        3.0 * params_.accumulate_energy_pj * macs +
                        params_.requantize_energy_pj * static_cast<double>(command.requantized);
  uint64_t cycles = simd_cycles(command.float_ops, 32);
  if (command.int8_macs > 0) cycles += simd_cycles(command.int8_macs, 8);
  if (command.requantized > 0) cycles += simd_cycles(command.requantized, 32);
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

uint64_t ArithUnit::gather(const core::Gather& command, const uint8_t* table,
                           const uint8_t* indices, std::vector<uint8_t>& out) {
  const int64_t rows = command.table.shape.at(0);
  const int64_t row_bytes =
      static_cast<int64_t>(command.table.bytes()) / std::max<int64_t>(rows, 1);
  const int64_t count = command.indices.elements();
  out.assign(static_cast<size_t>(count * row_bytes), 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t index;
    if (command.indices.type == ElemType::Int64) {
      std::memcpy(&index, indices + 8 * i, 8);
    } else {
      int32_t narrow;
      std::memcpy(&narrow, indices + 4 * i, 4);
      index = narrow;
    }
    if (index < 0) index += rows;
    if (index < 0 || index >= rows) {
      throw std::out_of_range("gather index " + std::to_string(index) + " outside table of " +
                              std::to_string(rows) + " rows (layer " + command.layer + ")");
    }
    std::memcpy(out.data() + i * row_bytes, table + index * row_bytes,
                static_cast<size_t>(row_bytes));
  }
  ++operations_;
  elements_ += static_cast<uint64_t>(count);
  const uint64_t cycles = simd_cycles(static_cast<uint64_t>(count * row_bytes), 8);
  busy_cycles_ += static_cast<double>(cycles);
  return cycles;
}

void ArithUnit::finalize(double simulated_ns) {
  // mW * ns = pJ
  energy_leakage_ = params_.leakage_mw * simulated_ns;
  busy_trace_.flush();
}

}  // namespace cimtlm::arith
