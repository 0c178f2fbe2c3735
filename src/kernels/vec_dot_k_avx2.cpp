// AVX2 dot products of the k-quants with Q8_K activations. Same contracts as
// vec_dot_ref.cpp: exact integer parts, float scaling; only summation order differs.
// No standard-library templates here: see quant_util.hpp on why.
#include <cassert>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/kernels_avx2.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/simd_avx2.hpp"

namespace r1::kernels {

namespace {

// The 6-bit scales and mins of the 8 sub-blocks of a Q4_K / Q5_K block (layout:
// unpack_scale_min_k4) as bytes: words[0..1] = scales 0..7, words[2..3] = mins 0..7.
// Works four at a time on 32-bit words: a = bytes 0..3, b = 4..7, c = 8..11.
inline void unpack_k4_words(const uint8_t* s, uint32_t words[4]) {
  uint32_t a, b, c;
  std::memcpy(&a, s, 4);
  std::memcpy(&b, s + 4, 4);
  std::memcpy(&c, s + 8, 4);
  words[0] = a & 0x3F3F3F3Fu;
  words[1] = (c & 0x0F0F0F0Fu) | ((a >> 6) & 0x03030303u) << 4;
  words[2] = b & 0x3F3F3F3Fu;
  words[3] = ((c >> 4) & 0x0F0F0F0Fu) | ((b >> 6) & 0x03030303u) << 4;
}

// sum_j m_j * (bsums[2j] + bsums[2j+1]) in 8 int32 lanes, mins as 8 bytes.
inline __m256i k4_min_sums(const uint32_t* mins, const int16_t* bsums) {
  const __m128i mins8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(mins));
  const __m128i dup = _mm_shuffle_epi8(mins8, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
  return _mm256_madd_epi16(_mm256_cvtepu8_epi16(dup), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums)));
}

// Scales of groups g (low 128-bit lane) and g + 1 (high lane) as int16 lanes.
inline __m256i pair_scale(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(hi)), _mm_set1_epi16(static_cast<int16_t>(lo)));
}

}  // namespace

// ---------------------------------------------------------------- k-quants . Q8_K

float vec_dot_q4_k_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ4_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  __m256 acc_min = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint32_t words[4];
    unpack_k4_words(x[i].scales, words);
    uint8_t sc[8];
    std::memcpy(sc, words, 8);
    const __m256i msum = k4_min_sums(words + 2, y[i].bsums);
    acc_min = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * half_to_float_f16c(x[i].dmin)), _mm256_cvtepi32_ps(msum),
                              acc_min);

    __m256i sumi = _mm256_setzero_si256();
    for (int p = 0; p < 4; ++p) {
      const __m256i q4 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * p));
      const __m256i lo = _mm256_and_si256(q4, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low4);
      const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * p));
      const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * p + 32));
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * p]));
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * p + 1]));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * half_to_float_f16c(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc) - hsum_ps(acc_min);
}

// ggml's repacked q4_K_8x8 kernels (AVX2 CPUs, weights with rows % 8 == 0). Per 64-element
// pair p of sub-blocks the exact integers I_p = sum sc * (q . y) and M_p = sum m * bsum,
// then scalar-order FMAs: gemm (per_pair, tokens in groups of 4) does
//   acc = fma(float(I_p), d_x d_y, acc), acc_m = fma(float(M_p), dmin_x d_y, acc_m) per pair,
// gemv (the n % 4 last tokens) the same once per block with the block's sums. acc - acc_m.
float vec_dot_q4_k_q8_k_repack_avx2(int64_t n, const void* vx, const void* vy, bool per_pair) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ4_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m128 acc = _mm_setzero_ps(), acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint32_t words[4];
    unpack_k4_words(x[i].scales, words);
    uint8_t sc[8];
    std::memcpy(sc, words, 8);
    const __m128 dd = _mm_set_ss(half_to_float_f16c(x[i].d) * y[i].d);
    const __m128 dm = _mm_set_ss(half_to_float_f16c(x[i].dmin) * y[i].d);
    __m256i pair[4];
    for (int p = 0; p < 4; ++p) {
      const __m256i q4 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * p));
      const __m256i lo = _mm256_and_si256(q4, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low4);
      const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * p));
      const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * p + 32));
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * p]));
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * p + 1]));
      pair[p] = _mm256_add_epi32(p0, p1);
    }
    // Exact totals: ip = (I_0, I_1, I_2, I_3); the 8 lanes of k4_min_sums are the
    // per-sub-block min products, pairwise added to (M_0, .., M_3).
    const __m256i h01 = _mm256_hadd_epi32(pair[0], pair[1]), h23 = _mm256_hadd_epi32(pair[2], pair[3]);
    const __m256i h = _mm256_hadd_epi32(h01, h23);  // per 128-bit half: I0 I1 I2 I3 partials
    const __m128i ip = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    const __m256i msub = k4_min_sums(words + 2, y[i].bsums);
    const __m128i mp = _mm_hadd_epi32(_mm256_castsi256_si128(msub), _mm256_extracti128_si256(msub, 1));
    if (per_pair) {
      const __m128 fi = _mm_cvtepi32_ps(ip), fm = _mm_cvtepi32_ps(mp);
      acc = _mm_fmadd_ss(fi, dd, acc);
      acc_m = _mm_fmadd_ss(fm, dm, acc_m);
      acc = _mm_fmadd_ss(_mm_shuffle_ps(fi, fi, 1), dd, acc);
      acc_m = _mm_fmadd_ss(_mm_shuffle_ps(fm, fm, 1), dm, acc_m);
      acc = _mm_fmadd_ss(_mm_shuffle_ps(fi, fi, 2), dd, acc);
      acc_m = _mm_fmadd_ss(_mm_shuffle_ps(fm, fm, 2), dm, acc_m);
      acc = _mm_fmadd_ss(_mm_shuffle_ps(fi, fi, 3), dd, acc);
      acc_m = _mm_fmadd_ss(_mm_shuffle_ps(fm, fm, 3), dm, acc_m);
    } else {
      const __m128i i2 = _mm_hadd_epi32(ip, mp);    // I0+I1 I2+I3 M0+M1 M2+M3
      const __m128i t = _mm_hadd_epi32(i2, i2);     // I M I M
      acc = _mm_fmadd_ss(_mm_cvtsi32_ss(_mm_setzero_ps(), _mm_cvtsi128_si32(t)), dd, acc);
      acc_m = _mm_fmadd_ss(_mm_cvtsi32_ss(_mm_setzero_ps(), _mm_extract_epi32(t, 1)), dm, acc_m);
    }
  }
  return _mm_cvtss_f32(_mm_sub_ss(acc, acc_m));
}

float vec_dot_q6_k_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ6_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i low2 = _mm256_set1_epi8(0x03);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* sc = x[i].scales;
    // Levels are stored as q + 32 (0..63): dot = sum_g sc_g (sum q'p - 32 bsum_g).
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].bsums));
    __m256i sumi = _mm256_mullo_epi32(_mm256_madd_epi16(sc16, bsums), _mm256_set1_epi32(-32));
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
        const int g = 8 * h + 2 * s;  // groups g (elements 0..15) and g + 1 (16..31)
        const __m256i scale = pair_scale(sc[g], sc[g + 1]);
        const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 128 * h + 32 * s));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[s], yv), scale));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * half_to_float_f16c(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc);
}

float vec_dot_q5_k_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ5_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  __m256 acc_min = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint32_t words[4];
    unpack_k4_words(x[i].scales, words);
    uint8_t sc[8];
    std::memcpy(sc, words, 8);
    acc_min = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * half_to_float_f16c(x[i].dmin)),
                              _mm256_cvtepi32_ps(k4_min_sums(words + 2, y[i].bsums)), acc_min);
    // Fifth bits: bit 2p (sub-block 2p) and 2p + 1 (sub-block 2p + 1) of qh[l]; h is
    // shifted right by 2 per pair so they are always bits 0 and 1.
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qh));
    __m256i sumi = _mm256_setzero_si256();
    for (int p = 0; p < 4; ++p) {
      const __m256i q4 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * p));
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q4, low4), _mm256_slli_epi16(_mm256_and_si256(h, one), 4));
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4, 4), low4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4));
      h = _mm256_srli_epi16(h, 2);
      const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * p));
      const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 64 * p + 32));
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * p]));
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * p + 1]));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * half_to_float_f16c(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc) - hsum_ps(acc_min);
}

float vec_dot_q2_k_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ2_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m256i three = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  __m256 acc_min = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    // Low nibble of scales[g]: scale of group g; high nibble: its min.
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), _mm_set1_epi8(0x0F)));
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].bsums));
    acc_min = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * half_to_float_f16c(x[i].dmin)),
                              _mm256_cvtepi32_ps(_mm256_madd_epi16(mins16, bsums)), acc_min);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      __m256i q2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * h));
      for (int s = 0; s < 4; ++s) {
        const int g = 8 * h + 2 * s;  // groups g (elements 0..15) and g + 1 (16..31)
        const __m256i q = _mm256_and_si256(q2, three);
        q2 = _mm256_srli_epi16(q2, 2);
        const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 128 * h + 32 * s));
        const __m256i scale = pair_scale(x[i].scales[g] & 0xF, x[i].scales[g + 1] & 0xF);
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q, yv), scale));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * half_to_float_f16c(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc) - hsum_ps(acc_min);
}

float vec_dot_q3_k_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ3_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    alignas(16) int8_t sc[16];
    for (int g = 0; g < 16; ++g) sc[g] = static_cast<int8_t>(q3k_scale(x[i].scales, g));
    // Levels are stored as q + 4 (0..7): dot = sum_g sc_g (sum q'p - 4 bsum_g).
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(sc)));
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].bsums));
    __m256i sumi = _mm256_mullo_epi32(_mm256_madd_epi16(sc16, bsums), _mm256_set1_epi32(-4));
    // Third bit of element 128h + 32s + l: bit 4h + s of hmask[l]; hb is shifted right
    // by one per step so it is always bit 0.
    __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].hmask));
    for (int h = 0; h < 2; ++h) {
      __m256i q2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * h));
      for (int s = 0; s < 4; ++s) {
        const int g = 8 * h + 2 * s;
        const __m256i q = _mm256_or_si256(_mm256_and_si256(q2, three), _mm256_slli_epi16(_mm256_and_si256(hb, one), 2));
        q2 = _mm256_srli_epi16(q2, 2);
        hb = _mm256_srli_epi16(hb, 1);
        const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 128 * h + 32 * s));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q, yv), pair_scale(sc[g], sc[g + 1])));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * half_to_float_f16c(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc);
}

}  // namespace r1::kernels
