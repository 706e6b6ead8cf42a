// The cimtlm instruction set: what the compiler (compiler/map) emits and a core executes.
//
// This header is the only part of models/ that the compiler may include (ARCHITECTURE.md).
// It is plain C++: no SystemC, no YAML, no ONNX.
//
// A core runs a Program: a prologue (executed once: stationary weight loads) and a body
// (executed once per inference). Commands are coarse-grained (a whole weight tile over all
// input vectors, a whole requantization of a layer slice) so that simulating them costs host
// time proportional to the arithmetic they stand for and nothing per cycle.
//
// Numeric contract (shared by the reference executor in compiler/graph and the hardware models):
//   * CIM partial sums are exact int32 dot products  sum_k (x_k - x_zp) * (w_k - w_zp[col]).
//   * Requantize:  y = saturate(round_half_even(float32(acc + bias) * multiplier) + y_zp),
//     clamped to [clamp_min, clamp_max], with multiplier = float32(x_scale * w_scale) / y_scale
//     computed in float32 by the compiler (ONNX QLinearConv / onnxruntime MLAS semantics).
//   * Lookup: y = table[x - lowest(x type)] for any unary element-wise float island
//     (DequantizeLinear -> f -> QuantizeLinear is a function of the 8-bit input alone).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace cimtlm::core {

using Addr = uint64_t;

enum class ElemType : uint8_t { Int8, UInt8, Int32, Float32, Int64 };

constexpr size_t elem_size(ElemType type) {
  switch (type) {
    case ElemType::Int8:
    case ElemType::UInt8: return 1;
    case ElemType::Int32:
    case ElemType::Float32: return 4;
    case ElemType::Int64: return 8;
  }
  return 1;
}
constexpr const char* to_string(ElemType type) {
  switch (type) {
    case ElemType::Int8: return "int8";
    case ElemType::UInt8: return "uint8";
    case ElemType::Int32: return "int32";
    case ElemType::Float32: return "float32";
    case ElemType::Int64: return "int64";
  }
  return "?";
}

// A dense row-major tensor in a core's local address space. Activations are NCHW.
struct TensorRef {
  Addr addr = 0;
  ElemType type = ElemType::Int8;
  std::vector<int64_t> shape;

  int64_t elements() const {
    int64_t count = 1;
    for (int64_t extent : shape) count *= extent;
    return count;
  }
  uint64_t bytes() const { return static_cast<uint64_t>(elements()) * elem_size(type); }
};

// Load a weight tile from memory into a CIM macro (array write). The tile is stored in memory
// as `rows x cols` signed or unsigned 8-bit values, row-major (row = input element, col = output).
struct LoadWeights {
  int macro = 0;
  Addr source = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int weight_bits = 8;        // bits actually used by the values (1..8); decides the bit slices
  bool weights_signed = true;  // int8 (true) or uint8 (false) storage
  std::vector<int32_t> weight_zero_points;  // one per column (per output channel)
  std::string layer;          // for reports and traces
};

// Geometry of a 2-D convolution, for building input vectors (im2col) on the fly.
struct ConvGeometry {
  int64_t in_channels = 0, in_height = 0, in_width = 0;  // of the whole input tensor
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t out_height = 1, out_width = 1;
  int64_t channel_offset = 0;  // first input channel of the group this tile belongs to
  int64_t group_channels = 0;  // input channels per group
};

// Where the input vectors of a CIM operation come from.
//   Rows:        input is [M, K]; vector m is row m, elements [first_element, +count).
//   ConvPatches: input is [C, H, W]; vector p is the receptive field of output position p,
//                flattened as (channel, kh, kw) within the group; elements [first, +count).
// With `element_index`, element r of a vector is element element_index[r] instead (rows of a
// pruned layer whose weights are all zero take no array rows: the tile holds only the others).
// Padding positions hold the input zero point (they contribute nothing).
struct VectorSource {
  enum class Kind : uint8_t { Rows, ConvPatches };
  Kind kind = Kind::Rows;
  TensorRef input;
  int64_t first_element = 0;
  int64_t element_count = 0;
  std::shared_ptr<const std::vector<int64_t>> element_index;
  int64_t first_vector = 0;
  int64_t vector_count = 0;
  ConvGeometry conv;  // ConvPatches only
};

// Run input vectors through the weight tile loaded in `macro`. Writes partial sums
// [vector_count, cols] from entry `accumulator` of the arithmetic unit's accumulator memory (an
// entry is accumulator_bits wide), adding to what is there when `accumulate` is set.
struct CimMatmul {
  int macro = 0;
  VectorSource source;
  int64_t cols = 0;  // logical columns of the loaded tile (outputs per vector)
  int32_t input_zero_point = 0;
  int input_bits = 8;  // bits of (x) applied bit-serially
  Addr accumulator = 0;
  int64_t accumulator_stride = 0;  // int32 elements between consecutive vectors (>= cols)
  int64_t column_offset = 0;       // first accumulator column written by this tile
  bool accumulate = false;
  // Batched accumulation with rescaling (the memory-saving schedule of the seed "OPTIMIZATION OF
  // MEMORY USE"): the tile's partial sums are divided by 2^rescale_shift (round half to even)
  // and accumulated saturating at accumulator_bits, so a narrower accumulator holds them.
  int rescale_shift = 0;
  int accumulator_bits = 32;
  std::string layer;
};

// int32 accumulator -> 8-bit (or int32) output, per the numeric contract above.
// acc is [vectors, accumulator_stride]; columns [0, cols) are requantized.
// Output element (v, c) goes to `output` at  v * out_vector_stride + (c + out_column_offset) *
// out_column_stride  (in elements): NCHW conv outputs use out_vector_stride 1 and
// out_column_stride H*W; [M, N] outputs use N and 1.
struct Requantize {
  Addr accumulator = 0;
  int64_t vectors = 0;
  int64_t cols = 0;
  int64_t accumulator_stride = 0;
  std::shared_ptr<const std::vector<int32_t>> bias;         // per column (may be null)
  std::shared_ptr<const std::vector<float>> multipliers;   // per column, or one for all
  int32_t output_zero_point = 0;
  int32_t clamp_min = -128, clamp_max = 127;  // fused ReLU/Clip and the output type's range
  TensorRef output;
  int64_t out_vector_stride = 1;
  int64_t out_column_stride = 1;
  int64_t out_column_offset = 0;
  // Batched accumulation with rescaling: the accumulators hold partial sums divided by
  // 2^rescale_shift in entries of accumulator_bits (see CimMatmul); they are scaled back before
  // the bias is added. 0 and 32 = exact.
  int rescale_shift = 0;
  int accumulator_bits = 32;
  // With `column_index`, accumulator column c is output column column_index[c] (pruned layers
  // keep only the output channels that have weights in the array).
  std::shared_ptr<const std::vector<int64_t>> column_index;
  // No tile contributed (every weight tile of these columns is zero and was compacted away):
  // the accumulator is taken as zero, the outputs are bias only.
  bool zero_accumulator = false;
  std::string layer;
};

// y = table[x - lowest] for an 8-bit input tensor; the table holds 256 output values.
struct Lookup {
  TensorRef input;
  TensorRef output;
  std::shared_ptr<const std::array<int32_t, 256>> table;
  std::string layer;
};

// Quantized element-wise binary op, as onnxruntime computes the fused QLinearAdd / QLinearMul
// (compiler/graph/kernels_quantized.cpp states the arithmetic). `b` broadcasts when its element
// count divides a's (per-channel or scalar) along the trailing `b_inner` elements.
struct Eltwise {
  enum class Op : uint8_t { Add, Mul };
  Op op = Op::Add;
  // Mul only: exact integer product scaled once (fused QLinearMul), or the float island.
  bool integer_product = true;
  TensorRef a, b, output;
  float a_scale = 1, b_scale = 1, y_scale = 1;
  int32_t a_zero_point = 0, b_zero_point = 0, y_zero_point = 0;
  int64_t b_inner = 1;  // elements of `a` that share one element of `b` (1: same shape)
  int32_t clamp_min = -128, clamp_max = 127;
  std::string layer;
};

struct Pool {
  enum class Kind : uint8_t { Max, Average, GlobalAverage };
  Kind kind = Kind::Max;
  TensorRef input;   // [C, H, W]
  TensorRef output;  // [C, OH, OW]
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  bool count_include_pad = false;  // divide by kernel_h * kernel_w (else by the clipped window)
  // Average pools: the float mean of the window's sa * (x - za), y = sat(cvt(mean / sy + zy));
  // global average pools: an integer sum requantized by sa / (sy * N) (onnxruntime's fused
  // QLinearAveragePool / QLinearGlobalAveragePool).
  float input_scale = 1, output_scale = 1;
  int32_t input_zero_point = 0, output_zero_point = 0;
  std::string layer;
};

// Softmax along an axis (the input seen as [outer, extent, inner]), as onnxruntime's QLinearSoftmax: exponentials from
// a 256-entry table indexed by the distance to the row's maximum code, then
// q = nearbyint(e * output_reciprocal / sum) + zy. A float output dequantizes and computes
// exp(x - max) * (1 / sum) in float32 instead.
struct Softmax {
  TensorRef input, output;
  int64_t extent = 1;  // elements along the softmax axis
  int64_t inner = 1;   // elements between two consecutive entries of the axis (1: last axis)
  float input_scale = 1, output_scale = 1;
  int32_t input_zero_point = 0, output_zero_point = 0;
  std::shared_ptr<const std::vector<float>> exp_table;  // 8-bit outputs
  float output_reciprocal = 1;  // floor(1 / output_scale)
  std::string layer;
};

// An op the arithmetic unit computes with arithmetic the compiler supplies: the ops of a float
// island that no fused command covers (LayerNormalization, Softmax, GELU, reductions, shape ops:
// DequantizeLinear -> float ops -> QuantizeLinear) and integer matrix products of two
// activations (attention's Q.K^T and softmax.V). `kernel` is the reference executor's kernel of
// the op (onnxruntime's arithmetic), so the platform stays bit-exact; the unit's time and energy
// come from the counts below and its parameters.
struct ArithKernel {
  virtual ~ArithKernel() = default;
  // `inputs` holds the bytes of each input tensor in order; fills one byte vector per output.
  virtual void compute(const std::vector<const uint8_t*>& inputs,
                       std::vector<std::vector<uint8_t>>& outputs) const = 0;
};
struct KernelOp {
  std::vector<TensorRef> inputs;   // read from memory in order (constants included)
  std::vector<TensorRef> outputs;  // written in order
  std::shared_ptr<const ArithKernel> kernel;
  uint64_t float_ops = 0;   // float32 operations (element-wise, reductions, float MACs)
  uint64_t int8_macs = 0;   // 8-bit multiply-accumulates into int32 (activation x activation)
  uint64_t requantized = 0; // int32 results requantized to 8 bits
  std::string layer;
};

// float32 <-> 8-bit at the network boundary (ONNX QuantizeLinear / DequantizeLinear).
struct Quantize {
  TensorRef input, output;
  float scale = 1;
  int32_t zero_point = 0;
  std::string layer;
};
struct Dequantize {
  TensorRef input, output;
  float scale = 1;
  int32_t zero_point = 0;
  std::string layer;
};

// Strided copy of up to 4 dimensions (Concat, Transpose, Slice, layout changes), in elements.
struct Copy {
  Addr source = 0, destination = 0;
  ElemType type = ElemType::Int8;
  std::array<int64_t, 4> extent{1, 1, 1, 1};
  std::array<int64_t, 4> source_stride{0, 0, 0, 1};
  std::array<int64_t, 4> destination_stride{0, 0, 0, 1};
  std::string layer;
};

// Embedding lookup: output[i, :] = table[indices[i], :].
struct Gather {
  TensorRef table;    // [rows, width]
  TensorRef indices;  // int32 or int64
  TensorRef output;   // [count, width]
  std::string layer;
};

// Send `bytes` from local `source` to `destination` in core `to_core`'s address space over
// the NoC; the receiver's Receive with the same tag waits for it.
struct Send {
  int to_core = 0;
  Addr source = 0;
  Addr destination = 0;
  uint64_t bytes = 0;
  int tag = 0;
  std::string layer;
};
struct Receive {
  int from_core = 0;
  int tag = 0;
  std::string layer;
};

// Power-gate (keep data, no leakage, no refresh) or wake a memory level of this core.
struct PowerGate {
  int level = 0;
  bool gate = true;
};

// Marks the end of an inference in the body (for progress and per-inference statistics).
struct InferenceDone {};

using Command = std::variant<LoadWeights, CimMatmul, Requantize, Lookup, Eltwise, Pool, Softmax,
                             Quantize, Dequantize, Copy, Gather, Send, Receive, PowerGate,
                             InferenceDone, KernelOp>;

// Bytes placed in a core's memory before the simulation starts (weights, constants, inputs).
struct MemoryImage {
  Addr addr = 0;
  std::vector<uint8_t> bytes;
  std::string what;
};

struct Program {
  std::vector<Command> prologue;  // once (stationary weight loads)
  std::vector<Command> body;      // once per inference
  std::vector<MemoryImage> images;
};

// A tensor the host writes before (inputs) or reads after (outputs) the simulation.
struct IoBinding {
  std::string name;
  int core = 0;
  TensorRef tensor;
};

// Everything the platform needs to run one or more networks: a program per core.
struct ChipProgram {
  std::vector<Program> cores;
  std::vector<IoBinding> inputs;
  std::vector<IoBinding> outputs;
};

}  // namespace cimtlm::core
