// Interleaved ("repacked") weight layouts: G = 8 (AVX2) or 16 (AVX-512) consecutive rows
// stored block by block, so that one 256- / 512-bit register holds 4 bytes of each of
// the G rows and every SIMD lane computes a different output row. Decode then streams the weights once, in one
// contiguous run per thread, and needs no horizontal sums.
//
// Float order: each output is computed exactly as llama.cpp's repacked x86 kernels do
// (ggml_order.hpp): per 32-block (Q4_0) the exact integer dot, then
// acc = fma(float(I), d_w * d_a, acc); per Q4_K super-block (gemv) or per 64-element pair
// of sub-blocks (gemm, the first n_tokens - n_tokens % 4 tokens) the exact integer sums
// I and M, then acc = fma(float(I), d_w * d_a, acc), acc_m = fma(float(M), dmin_w * d_a,
// acc_m), result acc - acc_m. So the packed kernels equal vec_dot_*_repack_avx2 bit for bit.
//
// A packed tensor has exactly the size of the row-major one (G * row bytes per group of
// G rows), so it is repacked in place inside the model's private memory map: no second
// copy of the weights is ever resident.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/types.hpp"

namespace r1 {

enum class WeightLayout : uint8_t {
  kRows = 0,  // plain GGML row-major blocks
  kQ4_0x8,    // BlockQ4_0x8 groups (Q4_0 weights, rows % 8 == 0)
  kQ4_Kx8,    // BlockQ4_Kx8 groups (Q4_K weights, rows % 8 == 0)
  kQ4_0x16,   // BlockQ4_0x16 groups (AVX-512 kernels, rows % 16 == 0)
  kQ4_Kx16,   // BlockQ4_Kx16 groups (AVX-512 kernels, rows % 16 == 0)
  kQ8_0x16,   // BlockQ8_0x16 groups (AVX-512 kernels, rows % 16 == 0)
  kQ6_Kx16,   // BlockQ6_Kx16 groups (AVX-512 kernels, rows % 16 == 0)
};

}  // namespace r1

namespace r1::kernels {

// Rows per group of a packed layout (1 for kRows).
int layout_rows(WeightLayout layout);

// G rows (8 or 16) x one 32-column block of Q4_0.
template <int G>
struct BlockQ4_0xG {
  uint16_t d[G];      // (G) scale of row r (fp16)
  uint8_t qs[16 * G]; // (4 k, G rows, 4 bytes): row r's qs[4k + j] at 4Gk + 4r + j
};
// G rows x one 256-column super-block of Q4_K.
template <int G>
struct BlockQ4_KxG {
  uint16_t d[G];          // (G) super-block scale of row r (fp16)
  uint16_t dmin[G];       // (G) super-block min scale of row r (fp16)
  uint8_t scales[12 * G]; // (3 words, G rows, 4 bytes): bytes 4w..4w+3 of row r's 12 packed scales at 4Gw + 4r
  uint8_t qs[128 * G];    // (4 pairs, 8 k, G rows, 4 bytes): row r's qs[32p + 4k + j] at 32Gp + 4Gk + 4r + j
};
// 16 rows x one 32-column block of Q8_0 (same run order as BlockQ4_0xG).
struct BlockQ8_0x16 {
  uint16_t d[16];      // (16) scale of row r (fp16)
  int8_t qs[32 * 16];  // (8 k, 16 rows, 4 bytes): row r's qs[4k + j] at 64k + 4r + j
};
// 16 rows x one 256-column super-block of Q6_K.
struct BlockQ6_Kx16 {
  uint16_t d[16];           // (16) super-block scale of row r (fp16)
  int8_t scales[16 * 16];   // (16 sub-blocks, 16 rows): row r's scales[s] at 16s + r
  uint8_t ql[128 * 16];     // (32 runs, 16 rows, 4 bytes): row r's ql[4m + j] at 64m + 4r + j
  uint8_t qh[64 * 16];      // (16 runs, 16 rows, 4 bytes): row r's qh[4m + j] at 64m + 4r + j
};
using BlockQ4_0x8 = BlockQ4_0xG<8>;
using BlockQ4_Kx8 = BlockQ4_KxG<8>;
using BlockQ4_0x16 = BlockQ4_0xG<16>;
using BlockQ4_Kx16 = BlockQ4_KxG<16>;
static_assert(sizeof(BlockQ4_0x8) == 8 * sizeof(BlockQ4_0) && sizeof(BlockQ4_0x16) == 16 * sizeof(BlockQ4_0));
static_assert(sizeof(BlockQ4_Kx8) == 8 * sizeof(BlockQ4_K) && sizeof(BlockQ4_Kx16) == 16 * sizeof(BlockQ4_K));
static_assert(sizeof(BlockQ8_0x16) == 16 * sizeof(BlockQ8_0) && sizeof(BlockQ6_Kx16) == 16 * sizeof(BlockQ6_K));

// One activation block for the Q4_0x8 kernels: a Q8_0 block with its scale as float and
// 8 * (sum of its quants), so that sum((q - 8) y) = sum(q y) - sum8 stays one subtraction.
struct ActQ8_0 {
  float d;         // fp16 scale of the Q8_0 block, converted
  int32_t sum8;    // 8 * sum(qs)
  int8_t qs[32];
};

// The packed layout the active kernels use for a (rows x cols) matrix of `type`, or
// kRows: Q4_0 / Q4_K (the types llama.cpp repacks on x86), 16-row groups for the AVX-512
// kernels, 8-row groups for the AVX2 ones; Q8_0 and Q6_K in 16-row groups for the AVX-512
// kernels only; none for the scalar kernels.
WeightLayout packed_layout_for(DType type, int64_t rows, int64_t cols);

// True for the layouts whose kernels take ActQ8_0 activation rows (Q4_0 and Q8_0 groups);
// the Q4_K and Q6_K layouts take BlockQ8_K rows.
bool layout_takes_act_q8_0(WeightLayout layout);

// Rewrites `n_groups` groups of layout_rows() row-major rows in place into `layout`,
// and back. Both are exact permutations of bytes.
void pack_rows(WeightLayout layout, void* data, int64_t n_groups, int64_t cols);
void unpack_rows(WeightLayout layout, void* data, int64_t n_groups, int64_t cols);
// Row `row` of a packed matrix as row-major blocks (row_bytes(type, cols) bytes).
void packed_row(WeightLayout layout, const void* data, int64_t cols, int64_t row, void* dst);

// Converts n_tokens activation rows (k floats each, ldx apart) to ActQ8_0 blocks with
// the Q8_0 quantizer `from_float` (k / 32 blocks per row, rows packed back to back).
void quantize_act_q8_0(FromFloatFn from_float, const float* x, int64_t ldx, int64_t k, int64_t n_tokens,
                       ActQ8_0* out);

// Packed matrix products: for groups [0, n_groups) of the packed matrix `w` (k columns,
// G rows per group) and tokens t < n_tokens (activation rows `act_stride` bytes apart),
//   y[t * ldy + G g + r] = row (G g + r) . activation t.
// Q4_0 and Q8_0 layouts take ActQ8_0 rows, Q4_K layouts BlockQ8_K rows; n_gemm (a
// multiple of 4): the tokens t < n_gemm use the gemm float order (per pair for Q4_K; Q4_0
// and Q8_0 have one order). Q8_0 and Q6_K (no llama.cpp counterpart on x86) use Q4_0's
// order: per 32-block (Q8_0) or 256-super-block (Q6_K) the exact integer dot I (for Q6_K
// I = sum over the 16-element sub-blocks of scale * sum((q - 32) * a)), then
// acc = fma(float(I), d_w * d_a, acc).
using PackedGemmFn = void (*)(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                              int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q4_0x8_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                     int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q4_kx8_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                     int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q4_0x8_avx2(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q4_kx8_avx2(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q4_0x16_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q4_kx16_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q8_0x16_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q6_kx16_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
// AVX-512 F/BW/VL/VNNI (call only when avx512_active()).
void gemm_q4_0x16_avx512(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                         int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q4_kx16_avx512(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                         int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q8_0x16_avx512(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                         int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);
void gemm_q6_kx16_avx512(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                         int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy);

// The kernel for `layout` on the active ISA (the scalar reference when there is none).
PackedGemmFn packed_gemm(WeightLayout layout);
PackedGemmFn packed_gemm_reference(WeightLayout layout);

}  // namespace r1::kernels
