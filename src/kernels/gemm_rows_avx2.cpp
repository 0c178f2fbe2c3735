// Row-major Q8_0 and Q6_K weights times several tokens at once (prefill), AVX2. Each
// output is computed with exactly the operations of vec_dot_q8_0_q8_0_avx2 /
// vec_dot_q6_k_q8_k_avx2 (8 lane accumulators, one FMA per block, then hsum_ps), so the
// results are bit-identical to a vec_dot per output; the tile only shares each loaded
// and decoded weight block among up to 4 tokens (and Q8_0 activations among 2 rows).
// No standard-library templates here: see quant_util.hpp.
#include "kernels/gemm_rows.hpp"

#include "kernels/blocks.hpp"
#include "kernels/simd_avx2.hpp"

namespace r1::kernels {

namespace {

// ---------------------------------------------------------------- Q8_0 . Q8_0

template <int R, int T>
void q8_0_tile(int64_t nb, const BlockQ8_0* const* x, const BlockQ8_0* const* y, float* const* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i qx[R], ax[R];
    float dx[R];
    for (int r = 0; r < R; ++r) {
      qx[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[r][b].qs));
      ax[r] = _mm256_sign_epi8(qx[r], qx[r]);
      dx[r] = half_to_float_f16c(x[r][b].d);
    }
    for (int t = 0; t < T; ++t) {
      const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[t][b].qs));
      const float dy = half_to_float_f16c(y[t][b].d);
      for (int r = 0; r < R; ++r) {
        const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(ax[r], _mm256_sign_epi8(qy, qx[r])), ones);
        acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dx[r] * dy), _mm256_cvtepi32_ps(dot), acc[r][t]);
      }
    }
  }
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) out[t][r] = hsum_ps(acc[r][t]);
}

// ---------------------------------------------------------------- Q6_K . Q8_K

inline __m256i pair_scale(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(hi)), _mm_set1_epi16(static_cast<int16_t>(lo)));
}

template <int T>
void q6_k_tile(int64_t nb, const BlockQ6_K* x, const BlockQ8_K* const* y, float* const* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), low2 = _mm256_set1_epi8(0x03);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const int8_t* sc = x[i].scales;
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    __m256i sumi[T];
    for (int t = 0; t < T; ++t) {
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[t][i].bsums));
      sumi[t] = _mm256_mullo_epi32(_mm256_madd_epi16(sc16, bsums), _mm256_set1_epi32(-32));
    }
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qh + 32 * h));
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), low2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), low2), 4)),
      };
      for (int s = 0; s < 4; ++s) {
        const int g = 8 * h + 2 * s;
        const __m256i scale = pair_scale(sc[g], sc[g + 1]);
        for (int t = 0; t < T; ++t) {
          const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[t][i].qs + 128 * h + 32 * s));
          sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[s], yv), scale));
        }
      }
    }
    const float dx = half_to_float_f16c(x[i].d);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y[t][i].d * dx), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
  }
  for (int t = 0; t < T; ++t) out[t][0] = hsum_ps(acc[t]);
}

template <class Act>
const Act* act_row(const void* act, size_t stride, int64_t t) {
  return reinterpret_cast<const Act*>(static_cast<const uint8_t*>(act) + t * stride);
}

}  // namespace

void gemm_q8_0_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                         size_t act_stride, int64_t n_tokens, float* y, int64_t ldy) {
  const int64_t nb = k / kQK;
  const auto* base = static_cast<const uint8_t*>(w);
  // Decode (few tokens) reads each row as one stream; prefill pairs rows to share loads.
  const int64_t pair = n_tokens >= 4 ? 2 : 1;
  for (int64_t r = r0; r < r1; r += pair) {
    const int R = r1 - r >= pair ? static_cast<int>(pair) : 1;
    const BlockQ8_0* xr[2] = {reinterpret_cast<const BlockQ8_0*>(base + r * w_stride),
                              reinterpret_cast<const BlockQ8_0*>(base + (r + R - 1) * w_stride)};
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
      const int T = n_tokens - t0 < 4 ? static_cast<int>(n_tokens - t0) : 4;
      const BlockQ8_0* yt[4];
      float* out[4];
      for (int i = 0; i < T; ++i) {
        yt[i] = act_row<BlockQ8_0>(act, act_stride, t0 + i);
        out[i] = y + (t0 + i) * ldy + r;
      }
#define R1_Q8_TILE(RR, TT) q8_0_tile<RR, TT>(nb, xr, yt, out)
      if (R == 2) {
        switch (T) {
          case 4: R1_Q8_TILE(2, 4); break;
          case 3: R1_Q8_TILE(2, 3); break;
          case 2: R1_Q8_TILE(2, 2); break;
          default: R1_Q8_TILE(2, 1); break;
        }
      } else {
        switch (T) {
          case 4: R1_Q8_TILE(1, 4); break;
          case 3: R1_Q8_TILE(1, 3); break;
          case 2: R1_Q8_TILE(1, 2); break;
          default: R1_Q8_TILE(1, 1); break;
        }
      }
#undef R1_Q8_TILE
    }
  }
}

void gemm_q6_k_rows_avx2(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                         size_t act_stride, int64_t n_tokens, float* y, int64_t ldy) {
  const int64_t nb = k / kQK_K;
  const auto* base = static_cast<const uint8_t*>(w);
  for (int64_t r = r0; r < r1; ++r) {
    const auto* xr = reinterpret_cast<const BlockQ6_K*>(base + r * w_stride);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
      const int T = n_tokens - t0 < 4 ? static_cast<int>(n_tokens - t0) : 4;
      const BlockQ8_K* yt[4];
      float* out[4];
      for (int i = 0; i < T; ++i) {
        yt[i] = act_row<BlockQ8_K>(act, act_stride, t0 + i);
        out[i] = y + (t0 + i) * ldy + r;
      }
      switch (T) {
        case 4: q6_k_tile<4>(nb, xr, yt, out); break;
        case 3: q6_k_tile<3>(nb, xr, yt, out); break;
        case 2: q6_k_tile<2>(nb, xr, yt, out); break;
        default: q6_k_tile<1>(nb, xr, yt, out); break;
      }
    }
  }
}

}  // namespace r1::kernels
