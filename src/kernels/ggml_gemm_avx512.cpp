// The tinyBLAS-order (tiled) F32 and F16 products of ggml_gemm_avx2.cpp at 16 lanes, with
// 512-bit registers: a 4-row x 4-token tile of 16 accumulators. Lane i of one 512-bit FMA
// is the same operation as lane i of the AVX2 file's low/high 8-lane pair, and the
// reduction is the same (high half + low half, then hsum8), so every output is
// bit-identical to ggml_gemm_*_avx2 with lanes = 16; only the loads are shared (a weight
// vector serves 4 tokens, an activation vector 4 rows).
// This file carries its own target pragma; callers check avx512_active().
// No standard-library templates here: see quant_util.hpp.
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstdint>

#include "kernels/ggml_order.hpp"

namespace r1::kernels {

namespace {

struct HalfLoad16 {
  using T = uint16_t;
  static __m512 load(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
};
struct FloatLoad16 {
  using T = float;
  static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
};

// hsum8 of ggml_gemm_avx2.cpp applied to (high 8 lanes + low 8 lanes).
inline float reduce16(__m512 v) {
  const __m256 s = _mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v));
  __m128 q = _mm_add_ps(_mm256_extractf128_ps(s, 1), _mm256_castps256_ps128(s));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

template <class L, int RT, int TT>
inline void tile(int64_t k, const typename L::T* w, int64_t ldw, const typename L::T* x, int64_t ldx, float* y,
                 int64_t ldy) {
  __m512 acc[RT][TT];
  for (int i = 0; i < RT; ++i)
    for (int j = 0; j < TT; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t l = 0; l < k; l += 16) {
    __m512 xv[TT];
    for (int j = 0; j < TT; ++j) xv[j] = L::load(x + j * ldx + l);
    for (int i = 0; i < RT; ++i) {
      const __m512 wv = L::load(w + i * ldw + l);
      for (int j = 0; j < TT; ++j) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < RT; ++i)
    for (int j = 0; j < TT; ++j) y[j * ldy + i] = reduce16(acc[i][j]);
}

// Rows [r_begin, r_end) x every token, tiles of 4 x 4, then 1-row and 1-token edges.
template <class L>
void gemm_tiled(int64_t k, const typename L::T* W, int64_t ldw, int64_t r_begin, int64_t r_end,
                const typename L::T* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy) {
  constexpr int64_t kRowTile = 16;  // rows kept in cache while every token passes
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowTile) {
    const int64_t r1 = r0 + kRowTile < r_end ? r0 + kRowTile : r_end;
    const int64_t r4 = r0 + (r1 - r0) / 4 * 4;
    int64_t t = 0;
    for (; t + 4 <= n_tokens; t += 4) {
      for (int64_t r = r0; r < r4; r += 4) tile<L, 4, 4>(k, W + r * ldw, ldw, X + t * ldx, ldx, Y + t * ldy + r, ldy);
      for (int64_t r = r4; r < r1; ++r) tile<L, 1, 4>(k, W + r * ldw, ldw, X + t * ldx, ldx, Y + t * ldy + r, ldy);
    }
    for (; t < n_tokens; ++t) {
      for (int64_t r = r0; r < r4; r += 4) tile<L, 4, 1>(k, W + r * ldw, ldw, X + t * ldx, ldx, Y + t * ldy + r, ldy);
      for (int64_t r = r4; r < r1; ++r) tile<L, 1, 1>(k, W + r * ldw, ldw, X + t * ldx, ldx, Y + t * ldy + r, ldy);
    }
  }
}

}  // namespace

void ggml_gemm_f32_tiled_avx512(int64_t k, const float* W, int64_t ldw, int64_t r_begin, int64_t r_end,
                                const float* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy) {
  gemm_tiled<FloatLoad16>(k, W, ldw, r_begin, r_end, X, ldx, n_tokens, Y, ldy);
}

void ggml_gemm_f16_tiled_avx512(int64_t k, const uint16_t* W, int64_t ldw, int64_t r_begin, int64_t r_end,
                                const uint16_t* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy) {
  gemm_tiled<HalfLoad16>(k, W, ldw, r_begin, r_end, X, ldx, n_tokens, Y, ldy);
}

}  // namespace r1::kernels
