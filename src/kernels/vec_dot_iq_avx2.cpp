// AVX2 dot products of the i-quants with Q8_K (Q8_0 for IQ4_NL) activations. Same
// integer sums as the scalar references in quants_iq.cpp (exact); only the float
// combination of the per-block sums differs in order. Codebook entries are gathered
// from iq_tables() into 32-byte vectors; signs are applied to the activations with
// _mm256_sign_epi8, and the products summed with maddubs (unsigned grid bytes times
// signed activations, pairs stay below 2^15) and madd against the group scales.
// No standard-library templates here: see quant_util.hpp.
#include <immintrin.h>

#include "kernels/blocks.hpp"
#include "kernels/iq_grids.hpp"
#include "kernels/kernels_avx2.hpp"
#include "kernels/simd_avx2.hpp"

namespace r1::kernels {

namespace {

inline uint32_t load_u32(const void* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m256i set_u64x4(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  return _mm256_set_epi64x(static_cast<long long>(d), static_cast<long long>(c), static_cast<long long>(b),
                           static_cast<long long>(a));
}
// Scale vector for the madd of 16 int16 pair sums: first 8 lanes (elements 0..15 of the
// group of 32) times lo, last 8 times hi.
inline __m256i scale_pair(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(hi)), _mm_set1_epi16(static_cast<int16_t>(lo)));
}
// sum over 32 elements of grid (unsigned bytes) * q8 (signed, signs already applied),
// as 16 int16 pair sums.
inline __m256i mul_u8_i8(__m256i grid, __m256i q8s) { return _mm256_maddubs_epi16(grid, q8s); }

// The 32 int8 values of 16 packed IQ4 bytes: low nibbles (elements 0..15), then high.
inline __m256i iq4_values(const uint8_t* qs, __m256i table) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i nib = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F)),
                                       _mm_and_si128(raw, _mm_set1_epi8(0x0F)));
  return _mm256_shuffle_epi8(table, nib);
}
// Signed int8 x signed int8 over 32 elements -> 16 int16 pair sums (|a| <= 127).
inline __m256i mul_i8_i8(__m256i a, __m256i b) {
  return _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

}  // namespace

float vec_dot_iq4_xs_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockIq4Xs*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m128i t128 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(iq_tables().iq4nl));
  const __m256i table = _mm256_set_m128i(t128, t128);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi = _mm256_setzero_si256();
    const uint16_t h = x[i].scales_h;
    for (int ib = 0; ib < 8; ib += 2) {
      const int ls1 = ((x[i].scales_l[ib / 2] & 0xF) | ((h >> (2 * ib)) & 3) << 4) - 32;
      const int ls2 = ((x[i].scales_l[ib / 2] >> 4) | ((h >> (2 * ib + 2)) & 3) << 4) - 32;
      const __m256i p1 = mul_i8_i8(iq4_values(x[i].qs + 16 * ib, table), load256(y[i].qs + 32 * ib));
      const __m256i p2 = mul_i8_i8(iq4_values(x[i].qs + 16 * ib + 16, table), load256(y[i].qs + 32 * ib + 32));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p1, _mm256_set1_epi16(static_cast<int16_t>(ls1))));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p2, _mm256_set1_epi16(static_cast<int16_t>(ls2))));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float_f16c(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc);
}

float vec_dot_iq4_nl_q8_0_avx2(int64_t n, const void* vx, const void* vy) {
  const auto* x = static_cast<const BlockIq4Nl*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  const __m128i t128 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(iq_tables().iq4nl));
  const __m256i table = _mm256_set_m128i(t128, t128);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i p = _mm256_madd_epi16(mul_i8_i8(iq4_values(x[i].qs, table), load256(y[i].qs)), ones);
    const float d = half_to_float_f16c(y[i].d) * half_to_float_f16c(x[i].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p), acc);
  }
  return hsum_ps(acc);
}

float vec_dot_iq2_xxs_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq2Xxs*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t idx = load_u32(x[i].qs + 4 * ib), sw = load_u32(x[i].qs + 4 * ib + 2);
      const __m256i grid = set_u64x4(T.grid2xxs[idx & 255], T.grid2xxs[(idx >> 8) & 255],
                                     T.grid2xxs[(idx >> 16) & 255], T.grid2xxs[idx >> 24]);
      const __m256i sign = set_u64x4(T.sign_bytes[sw & 127], T.sign_bytes[(sw >> 7) & 127],
                                     T.sign_bytes[(sw >> 14) & 127], T.sign_bytes[(sw >> 21) & 127]);
      const __m256i q8 = _mm256_sign_epi8(load256(y[i].qs + 32 * ib), sign);
      const int16_t ls = static_cast<int16_t>(2 * (sw >> 28) + 1);
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(mul_u8_i8(grid, q8), _mm256_set1_epi16(ls)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float_f16c(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return 0.125f * hsum_ps(acc);
}

float vec_dot_iq2_xs_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq2Xs*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const uint16_t* q = x[i].qs + 4 * ib;
      const __m256i grid =
          set_u64x4(T.grid2xs[q[0] & 511], T.grid2xs[q[1] & 511], T.grid2xs[q[2] & 511], T.grid2xs[q[3] & 511]);
      const __m256i sign =
          set_u64x4(T.sign_bytes[q[0] >> 9], T.sign_bytes[q[1] >> 9], T.sign_bytes[q[2] >> 9], T.sign_bytes[q[3] >> 9]);
      const __m256i q8 = _mm256_sign_epi8(load256(y[i].qs + 32 * ib), sign);
      const uint8_t sc = x[i].scales[ib];
      const __m256i ls = scale_pair(2 * (sc & 0xF) + 1, 2 * (sc >> 4) + 1);
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(mul_u8_i8(grid, q8), ls));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float_f16c(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return 0.125f * hsum_ps(acc);
}

float vec_dot_iq2_s_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq2S*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi = _mm256_setzero_si256();
    const uint8_t* signs = x[i].qs + 32;
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* qs = x[i].qs + 4 * ib;
      const int qh = x[i].qh[ib];
      const __m256i grid = set_u64x4(T.grid2s[qs[0] | ((qh << 8) & 0x300)], T.grid2s[qs[1] | ((qh << 6) & 0x300)],
                                     T.grid2s[qs[2] | ((qh << 4) & 0x300)], T.grid2s[qs[3] | ((qh << 2) & 0x300)]);
      const uint8_t* sg = signs + 4 * ib;
      const __m256i sign = set_u64x4(T.mask_bytes[sg[0]], T.mask_bytes[sg[1]], T.mask_bytes[sg[2]], T.mask_bytes[sg[3]]);
      const __m256i q8 = _mm256_sign_epi8(load256(y[i].qs + 32 * ib), sign);
      const uint8_t sc = x[i].scales[ib];
      const __m256i ls = scale_pair(2 * (sc & 0xF) + 1, 2 * (sc >> 4) + 1);
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(mul_u8_i8(grid, q8), ls));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float_f16c(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return 0.125f * hsum_ps(acc);
}

float vec_dot_iq3_xxs_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq3Xxs*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* q = x[i].qs + 8 * ib;
      const uint32_t sw = load_u32(x[i].qs + 64 + 4 * ib);
      const __m256i grid = _mm256_set_epi32(
          static_cast<int>(T.grid3xxs[q[7]]), static_cast<int>(T.grid3xxs[q[6]]), static_cast<int>(T.grid3xxs[q[5]]),
          static_cast<int>(T.grid3xxs[q[4]]), static_cast<int>(T.grid3xxs[q[3]]), static_cast<int>(T.grid3xxs[q[2]]),
          static_cast<int>(T.grid3xxs[q[1]]), static_cast<int>(T.grid3xxs[q[0]]));
      const __m256i sign = set_u64x4(T.sign_bytes[sw & 127], T.sign_bytes[(sw >> 7) & 127],
                                     T.sign_bytes[(sw >> 14) & 127], T.sign_bytes[(sw >> 21) & 127]);
      const __m256i q8 = _mm256_sign_epi8(load256(y[i].qs + 32 * ib), sign);
      const int16_t ls = static_cast<int16_t>(2 * (sw >> 28) + 1);
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(mul_u8_i8(grid, q8), _mm256_set1_epi16(ls)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float_f16c(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return 0.25f * hsum_ps(acc);
}

float vec_dot_iq3_s_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq3S*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* q = x[i].qs + 8 * ib;
      const int qh = x[i].qh[ib];
      int idx[8];
      for (int k = 0; k < 8; ++k) idx[k] = q[k] | (((qh >> k) & 1) << 8);
      const __m256i grid = _mm256_set_epi32(
          static_cast<int>(T.grid3s[idx[7]]), static_cast<int>(T.grid3s[idx[6]]), static_cast<int>(T.grid3s[idx[5]]),
          static_cast<int>(T.grid3s[idx[4]]), static_cast<int>(T.grid3s[idx[3]]), static_cast<int>(T.grid3s[idx[2]]),
          static_cast<int>(T.grid3s[idx[1]]), static_cast<int>(T.grid3s[idx[0]]));
      const uint8_t* sg = x[i].signs + 4 * ib;
      const __m256i sign = set_u64x4(T.mask_bytes[sg[0]], T.mask_bytes[sg[1]], T.mask_bytes[sg[2]], T.mask_bytes[sg[3]]);
      const __m256i q8 = _mm256_sign_epi8(load256(y[i].qs + 32 * ib), sign);
      const int16_t ls = static_cast<int16_t>(2 * ((x[i].scales[ib / 2] >> (4 * (ib % 2))) & 0xF) + 1);
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(mul_u8_i8(grid, q8), _mm256_set1_epi16(ls)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float_f16c(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_ps(acc);
}

float vec_dot_iq1_s_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq1S*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m256i ones8 = _mm256_set1_epi8(1);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi = _mm256_setzero_si256();
    int sumi_delta = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* q = x[i].qs + 4 * ib;
      const int qh = x[i].qh[ib];
      const __m256i grid = set_u64x4(T.grid1s[q[0] | ((qh << 8) & 0x700)], T.grid1s[q[1] | ((qh << 5) & 0x700)],
                                     T.grid1s[q[2] | ((qh << 2) & 0x700)], T.grid1s[q[3] | ((qh >> 1) & 0x700)]);
      // grid entries are -1 / 0 / +1: sign() applies them to the activations directly.
      const __m256i prod = _mm256_sign_epi8(load256(y[i].qs + 32 * ib), grid);
      const int ls = 2 * ((qh >> 12) & 7) + 1;
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, prod),
                                                      _mm256_set1_epi16(static_cast<int16_t>(ls))));
      sumi_delta += ls * (qh & 0x8000 ? -1 : 1) * (y[i].bsums[2 * ib] + y[i].bsums[2 * ib + 1]);
    }
    const float d = half_to_float_f16c(x[i].d) * y[i].d;
    sumf += d * (static_cast<float>(hsum_epi32(sumi)) + 0.125f * static_cast<float>(sumi_delta));
  }
  return sumf;
}

float vec_dot_iq1_m_q8_k_avx2(int64_t n, const void* vx, const void* vy) {
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq1M*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  const __m256i ones8 = _mm256_set1_epi8(1);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint16_t sc[4];
    __builtin_memcpy(sc, x[i].scales, 8);
    const uint16_t dbits = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) |
                                                 (sc[3] & 0xF000));
    __m256i sumi = _mm256_setzero_si256(), sumd = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* q = x[i].qs + 4 * ib;
      const int h0 = x[i].qh[2 * ib], h1 = x[i].qh[2 * ib + 1];
      const __m256i grid = set_u64x4(T.grid1s[q[0] | ((h0 << 8) & 0x700)], T.grid1s[q[1] | ((h0 << 4) & 0x700)],
                                     T.grid1s[q[2] | ((h1 << 8) & 0x700)], T.grid1s[q[3] | ((h1 << 4) & 0x700)]);
      // delta signs per group of 8: bit 3 of each nibble; mask_bytes gives +1 / -1 bytes.
      const __m256i delta = set_u64x4(T.mask_bytes[h0 & 8 ? 255 : 0], T.mask_bytes[h0 & 0x80 ? 255 : 0],
                                      T.mask_bytes[h1 & 8 ? 255 : 0], T.mask_bytes[h1 & 0x80 ? 255 : 0]);
      const __m256i q8 = load256(y[i].qs + 32 * ib);
      const int ls1 = 2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1;
      const int ls2 = 2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1;
      const __m256i ls = scale_pair(ls1, ls2);
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_sign_epi8(q8, grid)), ls));
      sumd = _mm256_add_epi32(sumd, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_sign_epi8(q8, delta)), ls));
    }
    const float d = half_to_float_f16c(dbits) * y[i].d;
    sumf += d * (static_cast<float>(hsum_epi32(sumi)) + 0.125f * static_cast<float>(hsum_epi32(sumd)));
  }
  return sumf;
}

}  // namespace r1::kernels
