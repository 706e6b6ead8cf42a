// The core controller's compute commands: weights into the CIM macros, matrix products on them
// (im2col, accumulation, the scoreboard's hazards), requantization and the arithmetic unit's
// operations. Program flow and the timeline are core_controller.cpp, data movement
// core_controller_transfers.cpp.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "models/core/controller_internal.h"
#include "models/core/core_controller.h"
#include "models/core/vector_gather.h"

namespace cimtlm::core {

using internal::kAccumulatorSpace;
using internal::layer_of;
using internal::max_time;

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

void CoreController::load_weights(const LoadWeights& command) {
  const uint64_t bytes = static_cast<uint64_t>(command.rows * command.cols);
  const sc_time fetch_start = start_time({{command.source, bytes}}, Unit::Macro, command.macro);
  const sc_time begin = max_time(fetch_start, dma_read_free_);
  buffer_a_.resize(bytes);
  const sc_time fetched = read(command.source, buffer_a_.data(), bytes, begin);
  dma_read_free_ = fetched;
  if (static_cast<int64_t>(command.weight_zero_points.size()) != command.cols) {
    throw std::invalid_argument("LoadWeights of layer '" + command.layer + "' has " +
                                std::to_string(command.weight_zero_points.size()) +
                                " zero points for " + std::to_string(command.cols) + " columns");
  }
  // The zero points, then the tile with its descriptor (the write starts the load).
  const sc_time compute_start = max_time(fetched, macro_free_[static_cast<size_t>(command.macro)]);
  cim_transport(command.macro, tlm::TLM_WRITE_COMMAND, cim::map::kZeroPoints,
                reinterpret_cast<uint8_t*>(const_cast<int32_t*>(command.weight_zero_points.data())),
                command.weight_zero_points.size() * sizeof(int32_t), nullptr, command.layer,
                compute_start);
  cim::CimCommand load;
  load.command = cim::map::kCommandLoadWeights;
  load.flags = command.weights_signed ? uint32_t{cim::map::kWeightsSigned} : 0u;
  load.rows = command.rows;
  load.cols = command.cols;
  load.weight_bits = command.weight_bits;
  const sc_time end = cim_transport(command.macro, tlm::TLM_WRITE_COMMAND, cim::map::kWeightWindow,
                                    buffer_a_.data(), bytes, &load, command.layer, compute_start);
  retire(Unit::Macro, command.macro, begin, compute_start, end);
}

void CoreController::cim_matmul(const CimMatmul& command) {
  const VectorSource& source = command.source;
  const bool indexed = source.element_index != nullptr;
  const int64_t rows =
      indexed ? static_cast<int64_t>(source.element_index->size()) : source.element_count;
  auto element_of = [&](int64_t r) {
    return indexed ? (*source.element_index)[static_cast<size_t>(r)] : source.first_element + r;
  };
  const int64_t vectors = source.vector_count;
  const size_t esize = elem_size(source.input.type);
  if (source.input.type != ElemType::Int8 && source.input.type != ElemType::UInt8) {
    throw std::invalid_argument("CIM input of layer '" + command.layer + "' is not 8-bit");
  }
  if (rows <= 0 || vectors <= 0) {
    throw std::invalid_argument("CIM job of layer '" + command.layer + "' has no rows or vectors");
  }
  // 1. Which input bytes the tile needs: whole rows of the vectors, or the channel planes the
  //    tile's elements come from.
  Addr read_begin = source.input.addr;
  uint64_t read_bytes = 0;
  int64_t first_channel = 0;
  if (source.kind == VectorSource::Kind::Rows) {
    const int64_t width = source.input.shape.back();
    read_begin += static_cast<Addr>(source.first_vector * width) * esize;
    read_bytes = static_cast<uint64_t>(vectors * width) * esize;
  } else {
    const ConvGeometry& g = source.conv;
    const int64_t taps = g.kernel_h * g.kernel_w;
    int64_t lowest = element_of(0) / taps, highest = lowest;
    for (int64_t r = 1; r < rows; ++r) {
      lowest = std::min(lowest, element_of(r) / taps);
      highest = std::max(highest, element_of(r) / taps);
    }
    first_channel = lowest;
    const int64_t plane = g.in_height * g.in_width;
    read_begin += static_cast<Addr>((g.channel_offset + lowest) * plane) * esize;
    read_bytes = static_cast<uint64_t>((highest - lowest + 1) * plane) * esize;
  }
  const sc_time fetch_start =
      max_time(start_time({{read_begin, read_bytes}}, Unit::Macro, command.macro), dma_read_free_);
  buffer_a_.resize(read_bytes);
  const sc_time fetched = read(read_begin, buffer_a_.data(), read_bytes, fetch_start);
  dma_read_free_ = fetched;

  // 2. Build the input vectors (im2col on the fly; padding holds the input zero point).
  vectors_.resize(static_cast<size_t>(vectors * rows));
  const auto pad_code = static_cast<uint8_t>(command.input_zero_point);
  if (source.kind == VectorSource::Kind::Rows) {
    const int64_t width = source.input.shape.back();
    for (int64_t v = 0; v < vectors; ++v) {
      const uint8_t* row = buffer_a_.data() + v * width;
      uint8_t* vector = vectors_.data() + v * rows;
      if (indexed) {
        for (int64_t r = 0; r < rows; ++r) vector[r] = row[element_of(r)];
      } else {
        std::memcpy(vector, row + source.first_element, static_cast<size_t>(rows));
      }
    }
  } else {
    const ConvGeometry& g = source.conv;
    const int64_t taps = g.kernel_h * g.kernel_w;
    const int64_t plane = g.in_height * g.in_width;
    tap_offset_.resize(static_cast<size_t>(rows));
    tap_row_.resize(static_cast<size_t>(rows));
    tap_col_.resize(static_cast<size_t>(rows));
    int64_t top = 0, bottom = 0, left = 0, right = 0;  // extreme tap offsets
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t element = element_of(r);
      const int64_t channel = element / taps - first_channel;
      const int64_t kh = (element % taps) / g.kernel_w;
      const int64_t kw = element % g.kernel_w;
      const int64_t ih_offset = kh * g.dilation_h - g.pad_top;
      const int64_t iw_offset = kw * g.dilation_w - g.pad_left;
      tap_row_[static_cast<size_t>(r)] = ih_offset;
      tap_col_[static_cast<size_t>(r)] = iw_offset;
      tap_offset_[static_cast<size_t>(r)] = channel * plane + ih_offset * g.in_width + iw_offset;
      top = r == 0 ? ih_offset : std::min(top, ih_offset);
      bottom = r == 0 ? ih_offset : std::max(bottom, ih_offset);
      left = r == 0 ? iw_offset : std::min(left, iw_offset);
      right = r == 0 ? iw_offset : std::max(right, iw_offset);
    }
    // The input rows and columns the command's vectors read (taps outside the input included):
    // whole output rows, or part of one.
    const int64_t last_vector = source.first_vector + vectors - 1;
    const int64_t oh_first = source.first_vector / g.out_width;
    const int64_t oh_last = last_vector / g.out_width;
    const bool one_row = oh_first == oh_last;
    const int64_t row_lo = oh_first * g.stride_h + top;
    const int64_t row_hi = oh_last * g.stride_h + bottom;
    const int64_t col_lo = (one_row ? source.first_vector % g.out_width : 0) * g.stride_w + left;
    const int64_t col_hi =
        (one_row ? last_vector % g.out_width : g.out_width - 1) * g.stride_w + right;
    const uint8_t* input = buffer_a_.data();
    int64_t width = g.in_width;  // of the rows `input` holds
    int64_t origin = 0;          // input index of input row 0, column 0 (tap offsets from there)
    if (row_lo < 0 || row_hi >= g.in_height || col_lo < 0 || col_hi >= g.in_width) {
      // Some taps fall outside the input: copy the window the vectors read, padding around it
      // holding the input zero point, so that every vector is a plain gather (and, along
      // stride-1 rows, a transpose) instead of a bounds check per byte.
      const int64_t window_h = row_hi - row_lo + 1, window_w = col_hi - col_lo + 1;
      const int64_t planes = static_cast<int64_t>(read_bytes) / plane;
      padded_.resize(static_cast<size_t>(planes * window_h * window_w));
      const int64_t copy_lo = std::max<int64_t>(col_lo, 0);
      const int64_t copy_hi = std::min<int64_t>(col_hi, g.in_width - 1);
      // One fill for the padding (a fill per row's border was a call per byte or two), then
      // the rows inside the input.
      std::memset(padded_.data(), pad_code, padded_.size());
      const int64_t first_y = std::max<int64_t>(0, -row_lo);
      const int64_t last_y = std::min<int64_t>(window_h - 1, g.in_height - 1 - row_lo);
      for (int64_t channel = 0; copy_hi >= copy_lo && channel < planes; ++channel) {
        for (int64_t y = first_y; y <= last_y; ++y) {
          std::memcpy(padded_.data() + (channel * window_h + y) * window_w + (copy_lo - col_lo),
                      input + channel * plane + (row_lo + y) * g.in_width + copy_lo,
                      static_cast<size_t>(copy_hi - copy_lo + 1));
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t channel = element_of(r) / taps - first_channel;
        tap_offset_[static_cast<size_t>(r)] = channel * window_h * window_w +
                                              tap_row_[static_cast<size_t>(r)] * window_w +
                                              tap_col_[static_cast<size_t>(r)];
      }
      input = padded_.data();
      width = window_w;
      origin = -row_lo * window_w - col_lo;
    }
    // Every tap of every vector is inside `input` now. Output positions a row at a time: with
    // stride 1 along the row, the vectors of consecutive positions read consecutive bytes of
    // each tap, a byte transpose (vector_gather.h) instead of a gather per byte.
    const int64_t* tap_offset = tap_offset_.data();
    int64_t oh = oh_first, ow = source.first_vector % g.out_width;
    for (int64_t v = 0; v < vectors;) {
      const int64_t segment = std::min(g.out_width - ow, vectors - v);
      const uint8_t* row_origin = input + origin + oh * g.stride_h * width + ow * g.stride_w;
      uint8_t* first = vectors_.data() + v * rows;
      if (g.stride_w == 1) {
        gather_transposed(row_origin, tap_offset, rows, segment, first);
      } else {
        for (int64_t x = 0; x < segment; ++x) {
          const uint8_t* at = row_origin + x * g.stride_w;
          uint8_t* vector = first + x * rows;
          for (int64_t r = 0; r < rows; ++r) vector[r] = at[tap_offset[r]];
        }
      }
      v += segment;
      ow += segment;
      if (ow == g.out_width) {
        ow = 0;
        ++oh;
      }
    }
  }

  // 3. Run the tile; partial sums land in the accumulator memory, rescaled into a narrower
  //    accumulator when the schedule asks for it.
  // The inputs with their descriptor (the write runs the vectors), then the partial sums read
  // back from the macro's output buffer, [vectors][cols].
  cim::CimCommand compute;
  compute.command = cim::map::kCommandCompute;
  compute.flags = source.input.type == ElemType::Int8 ? uint32_t{cim::map::kInputsSigned} : 0u;
  compute.vectors = vectors;
  compute.input_zero_point = command.input_zero_point;
  compute.input_bits = command.input_bits;
  const sc_time compute_start = max_time(fetched, macro_free_[static_cast<size_t>(command.macro)]);
  const sc_time end =
      cim_transport(command.macro, tlm::TLM_WRITE_COMMAND, cim::map::kInputBuffer, vectors_.data(),
                    vectors_.size(), &compute, command.layer, compute_start);
  partials_.resize(static_cast<size_t>(vectors * command.cols));
  cim_transport(command.macro, tlm::TLM_READ_COMMAND, cim::map::kOutputBuffer,
                reinterpret_cast<uint8_t*>(partials_.data()), partials_.size() * sizeof(int32_t),
                nullptr, command.layer, end);
  retire(Unit::Macro, command.macro, fetch_start, compute_start, end);
  // Adding the partial sums into the accumulator memory (with rescaling when asked) is work of
  // the arithmetic unit: it starts when the macro's last partial sum is out and the unit is
  // free, and the accumulators are ready only when it is done. A plain store (the first pass,
  // full width) occupies no cycles of the unit and does not wait for it.
  const bool rescaled = command.rescale_shift > 0 || command.accumulator_bits < 32;
  arith::ArithCommand accumulation;
  accumulation.opcode = arith::map::kAccumulateSums;
  accumulation.flags = command.accumulate ? uint32_t{arith::map::kAdd} : 0u;
  accumulation.accumulator = command.accumulator;
  accumulation.vectors = vectors;
  accumulation.cols = command.cols;
  accumulation.stride = command.accumulator_stride;
  accumulation.column_offset = command.column_offset;
  accumulation.shift = command.rescale_shift;
  accumulation.bits = command.accumulator_bits;
  const bool occupies_unit = rescaled || command.accumulate;
  const sc_time accumulate_start = occupies_unit ? max_time(end, arith_free_) : end;
  const sc_time ready = arith_transport(
      tlm::TLM_WRITE_COMMAND, arith::map::kAccumulate, reinterpret_cast<uint8_t*>(partials_.data()),
      partials_.size() * sizeof(int32_t), &accumulation, command.layer, accumulate_start);
  if (ready > accumulate_start) retire(Unit::Arith, 0, accumulate_start, accumulate_start, ready);
  const int64_t stride = command.accumulator_stride;
  // Requantization waits for the accumulators via the scoreboard (accumulator addresses live in
  // their own space above the memory map).
  mark_written(kAccumulatorSpace + command.accumulator, static_cast<uint64_t>(vectors * stride) * 4,
               ready);
}

void CoreController::requantize(const Requantize& command) {
  const Addr acc_key = kAccumulatorSpace + command.accumulator;
  const uint64_t acc_bytes =
      static_cast<uint64_t>(command.vectors * command.accumulator_stride) * 4;
  const sc_time start = max_time(start_time({{acc_key, acc_bytes}}, Unit::Arith), arith_free_);
  // Results ordered so that runs are contiguous: along columns ([M, N] layouts) or along
  // vectors (NCHW layouts); each maximal run of consecutive addresses is one write.
  const bool column_major = arith::requantize_column_major(command);
  const size_t esize = elem_size(command.output.type);
  const sc_time computed = arith_run(*current_command_, nullptr, 0, command.layer, start);
  arith_result(static_cast<uint64_t>(command.vectors * command.cols) * esize, command.layer);
  auto column_of = [&](int64_t c) {
    return command.column_index ? (*command.column_index)[static_cast<size_t>(c)]
                                : c + command.out_column_offset;
  };
  const int64_t outer = column_major ? command.cols : command.vectors;
  const int64_t inner = column_major ? command.vectors : command.cols;
  sc_time written = max_time(computed, dma_write_free_);
  int64_t run_begin = -1, run_length = 0, run_source = 0;
  auto flush = [&] {
    if (run_length == 0) return;
    const Addr at = command.output.addr + static_cast<Addr>(run_begin) * esize;
    written = write(at, buffer_out_.data() + run_source * esize,
                    static_cast<uint64_t>(run_length) * esize, written);
    mark_written(at, static_cast<uint64_t>(run_length) * esize, written);
    run_length = 0;
  };
  // Where the inner loop's results are consecutive addresses (NCHW conv outputs along vectors,
  // [M, N] outputs without a column index along columns), a whole inner pass extends or starts
  // one run: the same runs as the element walk below, without a compare per element (that walk
  // was ~4 % of a MobileNetV2 inference).
  const bool inner_contiguous =
      column_major || (command.out_column_stride == 1 && !command.column_index);
  for (int64_t o = 0; inner_contiguous && o < outer; ++o) {
    const int64_t start = column_major ? column_of(o) * command.out_column_stride
                                       : o * command.out_vector_stride + column_of(0);
    if (run_length > 0 && start == run_begin + run_length) {
      run_length += inner;
      continue;
    }
    flush();
    run_begin = start;
    run_length = inner;
    run_source = o * inner;
  }
  for (int64_t o = 0; !inner_contiguous && o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t v = column_major ? i : o;
      const int64_t c = column_major ? o : i;
      const int64_t element =
          v * command.out_vector_stride + column_of(c) * command.out_column_stride;
      if (run_length > 0 && element == run_begin + run_length) {
        ++run_length;
        continue;
      }
      flush();
      run_begin = element;
      run_length = 1;
      run_source = o * inner + i;
    }
  }
  flush();
  dma_write_free_ = written;
  retire(Unit::Arith, 0, start, start, written);
}

void CoreController::arith_command(const Command& command, const TensorRef& first,
                                   const TensorRef* second, const TensorRef& output) {
  sc_time fetch_start =
      second
          ? start_time({{first.addr, first.bytes()}, {second->addr, second->bytes()}}, Unit::Arith)
          : start_time({{first.addr, first.bytes()}}, Unit::Arith);
  fetch_start = max_time(fetch_start, dma_read_free_);
  // The operands one after another, as the unit's operand window takes them.
  const uint64_t first_bytes = first.bytes(), second_bytes = second ? second->bytes() : 0;
  buffer_a_.resize(first_bytes + second_bytes);
  sc_time fetched = read(first.addr, buffer_a_.data(), first_bytes, fetch_start);
  if (second) fetched = read(second->addr, buffer_a_.data() + first_bytes, second_bytes, fetched);
  dma_read_free_ = fetched;
  const std::string& layer = layer_of(command);
  const sc_time start = max_time(fetched, arith_free_);
  const sc_time computed = arith_run(command, buffer_a_.data(), buffer_a_.size(), layer, start);
  arith_result(output.bytes(), layer);
  const sc_time written = write(output.addr, buffer_out_.data(), buffer_out_.size(),
                                max_time(computed, dma_write_free_));
  dma_write_free_ = written;
  mark_written(output.addr, buffer_out_.size(), written);
  retire(Unit::Arith, 0, fetch_start, start, written);
}

void CoreController::lookup(const Lookup& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::eltwise(const Eltwise& command) {
  arith_command(*current_command_, command.a, &command.b, command.output);
}

void CoreController::pool(const Pool& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::softmax(const Softmax& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::quantize(const Quantize& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::dequantize(const Dequantize& command) {
  arith_command(*current_command_, command.input, nullptr, command.output);
}

void CoreController::gather(const Gather& command) {
  arith_command(*current_command_, command.table, &command.indices, command.output);
}

// A kernel op reads any number of operands and writes any number of results; otherwise it is
// timed as arith_command times one.
void CoreController::kernel_op(const KernelOp& command) {
  sc_time fetch_start = start_time({}, Unit::Arith);
  uint64_t operand_bytes = 0;
  for (const auto& input : command.inputs) {
    fetch_start = max_time(fetch_start, ready_time(input.addr, input.bytes()));
    operand_bytes += input.bytes();
  }
  fetch_start = max_time(fetch_start, dma_read_free_);
  buffer_a_.resize(operand_bytes);
  sc_time fetched = fetch_start;
  uint64_t offset = 0;
  for (const auto& input : command.inputs) {
    fetched = read(input.addr, buffer_a_.data() + offset, input.bytes(), fetched);
    offset += input.bytes();
  }
  dma_read_free_ = fetched;
  const sc_time start = max_time(fetched, arith_free_);
  const sc_time computed =
      arith_run(*current_command_, buffer_a_.data(), buffer_a_.size(), command.layer, start);
  uint64_t result_bytes = 0;
  for (const auto& output : command.outputs) result_bytes += output.bytes();
  arith_result(result_bytes, command.layer);
  sc_time written = max_time(computed, dma_write_free_);
  offset = 0;
  for (const auto& output : command.outputs) {
    written = write(output.addr, buffer_out_.data() + offset, output.bytes(), written);
    mark_written(output.addr, output.bytes(), written);
    offset += output.bytes();
  }
  dma_write_free_ = written;
  retire(Unit::Arith, 0, fetch_start, start, written);
}

}  // namespace cimtlm::core
