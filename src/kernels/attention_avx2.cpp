// AVX2 + FMA + F16C decode attention partials (kernels/attention.hpp). Keys go in blocks
// of 8: the block's K and V rows of one K/V head are converted to float once into a
// small buffer, then every query head of the group takes its 8 scores (8 dot products
// reduced together by a hadd tree), an online-softmax update, and its V accumulation.
// No standard-library templates here: see quant_util.hpp.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/attention.hpp"

namespace r1::kernels {

namespace {

constexpr int64_t kMaxHeadDim = 256;

// exp(x) for x <= 0 (softmax arguments), about 1 ulp: x = n ln2 + r, |r| <= ln2 / 2,
// degree-6 polynomial for exp(r), 2^n from the exponent bits. x < -87 gives ~0.
inline __m256 exp_neg_ps(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline float hmax_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
inline float hsum_ps8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Full sums of 8 vectors, as one vector (lane i = sum of a[i]).
inline __m256 reduce8(const __m256* a) {
  const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
  const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

}  // namespace

void attn_partial_f16_avx2(const AttnRowShape& s, const float* q, const uint16_t* k, const uint16_t* v, int64_t j0,
                           int64_t j1, float* m, float* l, float* acc) {
  const int64_t HD = s.head_dim, group = s.n_head / s.n_head_kv, nd = HD / 8;
  if (HD > kMaxHeadDim || HD % 8 != 0) {
    attn_partial_f16_ref(s, q, k, v, j0, j1, m, l, acc);
    return;
  }
  alignas(32) float kf[8 * kMaxHeadDim], vf[8 * kMaxHeadDim], pj[8];
  for (int64_t h = 0; h < s.n_head; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
    for (int64_t d = 0; d < HD; ++d) acc[h * HD + d] = 0.0f;
  }
  const __m256 scale = _mm256_set1_ps(s.scale);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t g = 0; g < s.n_head_kv; ++g) {
    const int64_t off = g * HD;
    for (int64_t jb = j0; jb < j1; jb += 8) {
      const int64_t nb = j1 - jb < 8 ? j1 - jb : 8;
      for (int64_t jj = 0; jj < 8; ++jj) {
        float* kr = kf + jj * HD;
        float* vr = vf + jj * HD;
        if (jj >= nb) {
          for (int64_t c = 0; c < nd; ++c) _mm256_store_ps(kr + 8 * c, _mm256_setzero_ps());
          continue;
        }
        const uint16_t* ks = k + (jb + jj) * s.kv_stride + off;
        const uint16_t* vs = v + (jb + jj) * s.kv_stride + off;
        for (int64_t c = 0; c < nd; ++c) {
          _mm256_store_ps(kr + 8 * c, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ks + 8 * c))));
          _mm256_store_ps(vr + 8 * c, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(vs + 8 * c))));
        }
      }
      const __m256 valid = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(nb)), lane));
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const float* qh = q + h * HD;
        __m256 a[8];
        for (int jj = 0; jj < 8; ++jj) a[jj] = _mm256_setzero_ps();
        for (int64_t c = 0; c < nd; ++c) {
          const __m256 qv = _mm256_loadu_ps(qh + 8 * c);
          for (int jj = 0; jj < 8; ++jj) a[jj] = _mm256_fmadd_ps(qv, _mm256_load_ps(kf + jj * HD + 8 * c), a[jj]);
        }
        __m256 sc = _mm256_mul_ps(reduce8(a), scale);
        sc = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), sc, valid);
        const float m_new = std::fmax(m[h], hmax_ps(sc));
        float* acc_h = acc + h * HD;
        if (m_new > m[h] && l[h] > 0.0f) {
          const float corr = std::exp(m[h] - m_new);
          l[h] *= corr;
          const __m256 cv = _mm256_set1_ps(corr);
          for (int64_t c = 0; c < nd; ++c) _mm256_storeu_ps(acc_h + 8 * c, _mm256_mul_ps(_mm256_loadu_ps(acc_h + 8 * c), cv));
        }
        m[h] = m_new;
        const __m256 p = _mm256_and_ps(exp_neg_ps(_mm256_sub_ps(sc, _mm256_set1_ps(m_new))), valid);
        l[h] += hsum_ps8(p);
        _mm256_store_ps(pj, p);
        for (int64_t c = 0; c < nd; ++c) {
          __m256 o = _mm256_loadu_ps(acc_h + 8 * c);
          for (int64_t jj = 0; jj < nb; ++jj)
            o = _mm256_fmadd_ps(_mm256_broadcast_ss(pj + jj), _mm256_load_ps(vf + jj * HD + 8 * c), o);
          _mm256_storeu_ps(acc_h + 8 * c, o);
        }
      }
    }
  }
}

}  // namespace r1::kernels
