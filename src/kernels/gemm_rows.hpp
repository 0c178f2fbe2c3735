// Multi-token products of row-major weights whose per-output float order is the
// vec_dot's (llama.cpp does not repack them on x86): the tiles share each loaded weight
// block among several tokens, and every output equals the traits' vec_dot bit for bit.
//
// Contract: for rows r in [r0, r1) of the weight matrix at `w` (row r at w + r * w_stride,
// k columns) and tokens t < n_tokens (activation rows in the weight's vec_dot_type,
// act_stride bytes apart): y[t * ldy + r] = vec_dot(k, row r, activation t).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/types.hpp"

namespace r1::kernels {

using RowsGemmFn = void (*)(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                            size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);

// AVX2 (call only when isa_available(Isa::kAvx2)): the order of vec_dot_*_avx2.
void gemm_q8_0_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                         size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_q6_k_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                         size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);

// The grid i-quants (vec_dot_iq_avx2.cpp): below 8 tokens one vec_dot per output; from 8 on
// each row is decoded once, then multiplied with every token, with a float sum per
// super-block (llama.cpp's IQ panel order; the exception to the bit-for-bit contract above).
void gemm_iq2_xxs_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                            size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_iq2_xs_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                           size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_iq2_s_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                          size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_iq3_xxs_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                            size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_iq3_s_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                          size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_iq4_xs_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                           size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_iq1_s_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                          size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_iq1_m_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                          size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);

// AVX-512 F/BW/VL/VNNI (call only when avx512_active()); fewer than 4 tokens go to the
// AVX2 kernels. Same results as those.
void gemm_q8_0_rows_avx512(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                           size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);
void gemm_q6_k_rows_avx512(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                           size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);

// The tiled kernel for `type` on the active ISA, or nullptr (then: one vec_dot per output).
RowsGemmFn rows_gemm_for(DType type);

}  // namespace r1::kernels
