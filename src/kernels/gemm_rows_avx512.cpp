// AVX-512 (F, BW, VL, VNNI) tiles of row-major Q8_0 and Q6_K weights times several
// tokens (gemm_rows.hpp). A 512-bit register holds two rows' 8-lane accumulators (row r
// in the low half, r + 1 in the high half) and the activation block is broadcast to both
// halves, so each output keeps exactly the 8 lane sums, the per-block FMA and the final
// hsum of vec_dot_*_avx2: results are bit-identical to it.
// This file carries its own target pragma; callers check avx512_active().
// No standard-library templates here: see quant_util.hpp.
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
// GCC 12 flags its own intrinsics headers (the undefined-vector idiom) here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/gemm_rows.hpp"

namespace r1::kernels {

namespace {

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// hsum_ps (simd_avx2.hpp) of each 256-bit half: (lo + hi), then movehl, then movehdup.
inline void hsum_halves(__m512 v, float* lo, float* hi) {
  for (int half = 0; half < 2; ++half) {
    const __m256 h = half == 0 ? _mm512_castps512_ps256(v) : _mm512_extractf32x8_ps(v, 1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    *(half == 0 ? lo : hi) = _mm_cvtss_f32(s);
  }
}

// Two 256-bit rows side by side.
inline __m512i two_rows(const void* a, const void* b) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(static_cast<const __m256i*>(a))),
                            _mm256_loadu_si256(static_cast<const __m256i*>(b)), 1);
}
inline __m512i bcast256(const void* p) { return _mm512_broadcast_i64x4(_mm256_loadu_si256(static_cast<const __m256i*>(p))); }
inline __m512 two_scalars(float a, float b) {
  return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
}

// ---------------------------------------------------------------- Q8_0 . Q8_0

// P row pairs (rows x[2i], x[2i + 1]) times T tokens. Signed x signed bytes as |x| (u8)
// times y with x's sign (s8): vpdpbusd yields the 4-byte lane sums of dot_i8_to_i32.
template <int P, int T>
void q8_0_tile(int64_t nb, const BlockQ8_0* const* x, const BlockQ8_0* const* y, float* const* out) {
  __m512 acc[P][T];
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) acc[p][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i ax[P];
    __mmask64 neg[P];
    __m512 dx[P];
    for (int p = 0; p < P; ++p) {
      const __m512i qx = two_rows(x[2 * p][b].qs, x[2 * p + 1][b].qs);
      ax[p] = _mm512_abs_epi8(qx);
      neg[p] = _mm512_movepi8_mask(qx);
      dx[p] = two_scalars(half_to_float(x[2 * p][b].d), half_to_float(x[2 * p + 1][b].d));
    }
    for (int t = 0; t < T; ++t) {
      const __m512i qy = bcast256(y[t][b].qs);
      const __m512 dy = _mm512_set1_ps(half_to_float(y[t][b].d));
      for (int p = 0; p < P; ++p) {
        const __m512i sy = _mm512_mask_sub_epi8(qy, neg[p], _mm512_setzero_si512(), qy);
        const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ax[p], sy);
        acc[p][t] = _mm512_fmadd_ps(_mm512_mul_ps(dx[p], dy), _mm512_cvtepi32_ps(dot), acc[p][t]);
      }
    }
  }
  for (int t = 0; t < T; ++t)
    for (int p = 0; p < P; ++p) hsum_halves(acc[p][t], out[t] + 2 * p, out[t] + 2 * p + 1);
}

// ---------------------------------------------------------------- Q6_K . Q8_K

// One row pair times T tokens, in the integer steps of vec_dot_q6_k_q8_k_avx2.
template <int T>
void q6_k_tile(int64_t nb, const BlockQ6_K* x0, const BlockQ6_K* x1, const BlockQ8_K* const* y, float* const* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0F), low2 = _mm512_set1_epi8(0x03);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    // Scales of both rows as int16: row 0 in the low half, row 1 in the high half.
    const __m512i sc16 = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x0[i].scales)))),
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x1[i].scales))), 1);
    __m512i sumi[T];
    for (int t = 0; t < T; ++t)
      sumi[t] = _mm512_mullo_epi32(_mm512_madd_epi16(sc16, bcast256(y[t][i].bsums)), _mm512_set1_epi32(-32));
    for (int h = 0; h < 2; ++h) {
      const __m512i ql0 = two_rows(x0[i].ql + 64 * h, x1[i].ql + 64 * h);
      const __m512i ql1 = two_rows(x0[i].ql + 64 * h + 32, x1[i].ql + 64 * h + 32);
      const __m512i qh = two_rows(x0[i].qh + 32 * h, x1[i].qh + 32 * h);
      const __m512i q[4] = {
          _mm512_or_si512(_mm512_and_si512(ql0, low4), _mm512_slli_epi16(_mm512_and_si512(qh, low2), 4)),
          _mm512_or_si512(_mm512_and_si512(ql1, low4),
                          _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 2), low2), 4)),
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql0, 4), low4),
                          _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 4), low2), 4)),
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql1, 4), low4),
                          _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 6), low2), 4)),
      };
      for (int s = 0; s < 4; ++s) {
        const int g = 8 * h + 2 * s;
        // 128-bit quarters: row 0 groups g, g + 1, then row 1 groups g, g + 1.
        const __m512i scale = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(x0[i].scales[g + 1]), _mm_set1_epi16(x0[i].scales[g]))),
            _mm256_set_m128i(_mm_set1_epi16(x1[i].scales[g + 1]), _mm_set1_epi16(x1[i].scales[g])), 1);
        for (int t = 0; t < T; ++t) {
          const __m512i yv = bcast256(y[t][i].qs + 128 * h + 32 * s);
          sumi[t] = _mm512_add_epi32(sumi[t], _mm512_madd_epi16(_mm512_maddubs_epi16(q[s], yv), scale));
        }
      }
    }
    const __m512 dx = two_scalars(half_to_float(x0[i].d), half_to_float(x1[i].d));
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(y[t][i].d), dx), _mm512_cvtepi32_ps(sumi[t]), acc[t]);
  }
  for (int t = 0; t < T; ++t) hsum_halves(acc[t], out[t], out[t] + 1);
}

template <class Act>
const Act* act_row(const void* act, size_t stride, int64_t t) {
  return reinterpret_cast<const Act*>(static_cast<const uint8_t*>(act) + t * stride);
}

}  // namespace

void gemm_q8_0_rows_avx512(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                           size_t act_stride, int64_t n_tokens, float* y, int64_t ldy) {
  // Decode: the AVX2 kernel reads each row as one stream (row pairs would be two).
  if (n_tokens < 4) return gemm_q8_0_rows_avx2(k, w, w_stride, r0, r1, act, act_stride, n_tokens, y, ldy);
  const int64_t nb = k / kQK;
  const auto* base = static_cast<const uint8_t*>(w);
  const int64_t r_even = r0 + (r1 - r0) / 2 * 2;
  for (int64_t r = r0; r < r_even; r += 4) {
    const int P = r_even - r >= 4 ? 2 : 1;
    const BlockQ8_0* xr[4];
    for (int i = 0; i < 2 * P; ++i) xr[i] = reinterpret_cast<const BlockQ8_0*>(base + (r + i) * w_stride);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
      const int T = n_tokens - t0 < 4 ? static_cast<int>(n_tokens - t0) : 4;
      const BlockQ8_0* yt[4];
      float* out[4];
      for (int i = 0; i < T; ++i) {
        yt[i] = act_row<BlockQ8_0>(act, act_stride, t0 + i);
        out[i] = y + (t0 + i) * ldy + r;
      }
#define R1_TILE(PP, TT) q8_0_tile<PP, TT>(nb, xr, yt, out)
      if (P == 2) {
        switch (T) {
          case 4: R1_TILE(2, 4); break;
          case 3: R1_TILE(2, 3); break;
          case 2: R1_TILE(2, 2); break;
          default: R1_TILE(2, 1); break;
        }
      } else {
        switch (T) {
          case 4: R1_TILE(1, 4); break;
          case 3: R1_TILE(1, 3); break;
          case 2: R1_TILE(1, 2); break;
          default: R1_TILE(1, 1); break;
        }
      }
#undef R1_TILE
    }
  }
  if (r_even < r1) gemm_q8_0_rows_avx2(k, w, w_stride, r_even, r1, act, act_stride, n_tokens, y, ldy);
}

void gemm_q6_k_rows_avx512(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                           size_t act_stride, int64_t n_tokens, float* y, int64_t ldy) {
  // Decode: the AVX2 kernel reads each row as one stream (row pairs would be two).
  if (n_tokens < 4) return gemm_q6_k_rows_avx2(k, w, w_stride, r0, r1, act, act_stride, n_tokens, y, ldy);
  const int64_t nb = k / kQK_K;
  const auto* base = static_cast<const uint8_t*>(w);
  const int64_t r_even = r0 + (r1 - r0) / 2 * 2;
  for (int64_t r = r0; r < r_even; r += 2) {
    const auto* x0 = reinterpret_cast<const BlockQ6_K*>(base + r * w_stride);
    const auto* x1 = reinterpret_cast<const BlockQ6_K*>(base + (r + 1) * w_stride);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
      const int T = n_tokens - t0 < 4 ? static_cast<int>(n_tokens - t0) : 4;
      const BlockQ8_K* yt[4];
      float* out[4];
      for (int i = 0; i < T; ++i) {
        yt[i] = act_row<BlockQ8_K>(act, act_stride, t0 + i);
        out[i] = y + (t0 + i) * ldy + r;
      }
      switch (T) {
        case 4: q6_k_tile<4>(nb, x0, x1, yt, out); break;
        case 3: q6_k_tile<3>(nb, x0, x1, yt, out); break;
        case 2: q6_k_tile<2>(nb, x0, x1, yt, out); break;
        default: q6_k_tile<1>(nb, x0, x1, yt, out); break;
      }
    }
  }
  if (r_even < r1) gemm_q6_k_rows_avx2(k, w, w_stride, r_even, r1, act, act_stride, n_tokens, y, ldy);
}

}  // namespace r1::kernels
