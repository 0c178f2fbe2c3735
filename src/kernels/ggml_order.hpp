// Float evaluation orders of llama.cpp's CPU backend (ggml-cpu), reproduced so that r1's
// F32/F16 forward pass rounds exactly like the reference oracle (node-llama-cpp).
//
// Why: with F16 weights every matmul input is rounded to F16, and K/V are rounded to F16
// in the cache. A 1-ulp float difference anywhere (summation order, an exp polynomial,
// an FMA contraction) flips an F16 rounding now and then, and those flips add up to
// ~5e-3 in log-probabilities on tiny random models, 5x the 1e-3 the tests allow. The
// orders below are not more or less accurate than others; they are llama.cpp's.
//
// ggml-cpu ships one build per x86 level and loads the best one for the CPU. All AVX-512
// builds (skylakex .. zen4, sapphirerapids) use 16-float vectors, the AVX2 builds
// (haswell, alderlake) 8-float vectors; the width changes the orders, so every function
// here takes `lanes` (8 or 16). ggml_lanes() picks the one llama.cpp would use here.
#pragma once
#include <cstdint>

namespace r1 {

// 16 on a CPU with AVX-512F, else 8. The environment variable R1_GGML_LANES=8|16 (read
// once) overrides it, to reproduce the other build.
int ggml_lanes();

// ggml_v_expf of the 8- or 16-lane build, one element (a polynomial, max error ~1.5 ulp;
// the two builds differ in the last rounding step).
float ggml_expf(float x, int lanes);
// ggml_v_silu: x / (1 + ggml_expf(-x)).
float ggml_silu(float x, int lanes);
// Horizontal sum of `lanes` floats in the order of tinyBLAS's hsum and of
// _mm512_reduce_add_ps as GCC expands it: halves folded (hi + lo) down to 4, then
// (v0 + v2) + (v1 + v3).
float ggml_hsum(const float* v, int lanes);

}  // namespace r1

namespace r1::kernels {

// Matrix products in llama.cpp's order, AVX2 + FMA + F16C code (ggml_gemm_avx2.cpp):
// call only when isa_available(Isa::kAvx2). For every row r in [r_begin, r_end) and token
// t < n_tokens:  Y[t * ldy + r] = W[r, :] . X[t, :]  over k elements, W and X both F16
// (F16 weights: X is the activation already rounded to F16) or both F32.
// tiled == true: llamafile tinyBLAS order (one `lanes`-wide FMA accumulator per output,
//   then ggml_hsum); llama.cpp uses it when n_tokens >= 2, rows % 4 == 0, k % lanes == 0.
// tiled == false: ggml_vec_dot_f16/_f32 order (4 accumulators over steps of 4 * lanes,
//   folded, reduced, the k % (4 * lanes) tail added separately).
void ggml_gemm_f16_avx2(int64_t k, const uint16_t* W, int64_t ldw, int64_t r_begin, int64_t r_end,
                        const uint16_t* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy, int lanes,
                        bool tiled);
void ggml_gemm_f32_avx2(int64_t k, const float* W, int64_t ldw, int64_t r_begin, int64_t r_end, const float* X,
                        int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy, int lanes, bool tiled);
// The tiled == true, lanes == 16 case of the two above with 512-bit register tiles
// (ggml_gemm_avx512.cpp; needs avx512_active()); bit-identical results, k % 16 == 0.
void ggml_gemm_f32_tiled_avx512(int64_t k, const float* W, int64_t ldw, int64_t r_begin, int64_t r_end,
                                const float* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy);
void ggml_gemm_f16_tiled_avx512(int64_t k, const uint16_t* W, int64_t ldw, int64_t r_begin, int64_t r_end,
                                const uint16_t* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy);

// Dot products in the order of ggml's repacked ("CPU_REPACK") x86 kernels, which llama.cpp
// uses on AVX2 CPUs for Q4_0 and Q4_K weights with rows % 8 == 0 (vec_dot_avx2.cpp,
// vec_dot_k_avx2.cpp). Exact integer block sums, then one scalar FMA chain per output.
// Q4_K: per_pair for the tokens the gemm kernel takes (the first n_tokens - n_tokens % 4),
// per block for the rest (gemv).
float vec_dot_q4_0_q8_0_repack_avx2(int64_t n, const void* x, const void* y);
float vec_dot_q4_k_q8_k_repack_avx2(int64_t n, const void* x, const void* y, bool per_pair);

}  // namespace r1::kernels
