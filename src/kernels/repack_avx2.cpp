// AVX2 kernels of the packed layouts (repack.hpp). One SIMD lane per weight row: the 8
// rows of a group are computed together, up to 4 tokens share each unpacked weight
// register (prefill), and no horizontal sums are needed. Nibbles are used unsigned with
// maddubs; Q4_0's offset of 8 is taken out exactly with the activation block sums.
// The float operations per output are those of the scalar references, so results are
// bit-identical to them. No standard-library templates here: see quant_util.hpp.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/repack.hpp"

namespace r1::kernels {

namespace {

inline __m256i bcast32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}
inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// ---------------------------------------------------------------- Q4_0x8 . ActQ8_0

// Outputs of one group for T tokens: y[t][0..7].
template <int T>
void q4_0x8_tile(int64_t nb, const BlockQ4_0x8* w, const ActQ8_0* const* a, float* const* y) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ4_0x8& blk = w[b];
    // The block's 8 nibble registers (4 bytes of each row per lane), unpacked once.
    __m256i lo[4], hi[4];
    for (int k = 0; k < 4; ++k) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * k));
      lo[k] = _mm256_and_si256(q, m4);
      hi[k] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    }
    const __m256 d = load_f16x8(blk.d);
    for (int t = 0; t < T; ++t) {
      const int8_t* yq = a[t][b].qs;
      // |pair| <= 2 * 15 * 127, eight of them fit int16 exactly.
      __m256i s16 = _mm256_maddubs_epi16(lo[0], bcast32(yq));
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi[0], bcast32(yq + 16)));
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(lo[1], bcast32(yq + 4)));
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi[1], bcast32(yq + 20)));
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(lo[2], bcast32(yq + 8)));
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi[2], bcast32(yq + 24)));
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(lo[3], bcast32(yq + 12)));
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi[3], bcast32(yq + 28)));
      const __m256i dot = _mm256_sub_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(a[t][b].sum8));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(d, _mm256_set1_ps(a[t][b].d)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y[t], acc[t]);
}

// ---------------------------------------------------------------- Q4_Kx8 . Q8_K

// Byte j of each 32-bit lane into both 16-bit halves of that lane (scale multipliers).
inline __m256i spread_byte(__m256i v, int j) {
  const __m128i idx = _mm_setr_epi8(static_cast<char>(j), -1, static_cast<char>(j), -1, static_cast<char>(4 + j), -1,
                                    static_cast<char>(4 + j), -1, static_cast<char>(8 + j), -1,
                                    static_cast<char>(8 + j), -1, static_cast<char>(12 + j), -1,
                                    static_cast<char>(12 + j), -1);
  return _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(idx));
}
// Bytes j and j + 1 of each 32-bit lane as two 16-bit values (mins of a pair).
inline __m256i pair_bytes(__m256i v, int j) {
  const __m128i idx = _mm_setr_epi8(static_cast<char>(j), -1, static_cast<char>(j + 1), -1, static_cast<char>(4 + j),
                                    -1, static_cast<char>(5 + j), -1, static_cast<char>(8 + j), -1,
                                    static_cast<char>(9 + j), -1, static_cast<char>(12 + j), -1,
                                    static_cast<char>(13 + j), -1);
  return _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(idx));
}

// Outputs of one group for T tokens; kPerPair selects the gemm float order.
template <int T, bool kPerPair>
void q4_kx8_tile(int64_t nb, const BlockQ4_Kx8* w, const BlockQ8_K* const* a, float* const* y) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m6 = _mm256_set1_epi8(0x3F), m2 = _mm256_set1_epi8(0x03);
  __m256 acc[T], acc_m[T];
  for (int t = 0; t < T; ++t) acc[t] = acc_m[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ4_Kx8& blk = w[b];
    // 6-bit scales and mins of the 8 sub-blocks, one row per 32-bit lane (repack.hpp).
    const __m256i A = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.scales));
    const __m256i B = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.scales + 32));
    const __m256i C = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.scales + 64));
    const __m256i sc_lo = _mm256_and_si256(A, m6);  // scales 0..3
    const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(C, m4),
                                          _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(A, 6), m2), 4));
    const __m256i mn_lo = _mm256_and_si256(B, m6);  // mins 0..3
    const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(C, 4), m4),
                                          _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(B, 6), m2), 4));
    const __m256 d = load_f16x8(blk.d), dmin = load_f16x8(blk.dmin);
    __m256i blk_i[T], blk_m[T];
    for (int t = 0; t < T; ++t) blk_i[t] = blk_m[t] = _mm256_setzero_si256();
    for (int p = 0; p < 4; ++p) {
      const __m256i sw = p < 2 ? sc_lo : sc_hi, mw = p < 2 ? mn_lo : mn_hi;
      const int j0 = 2 * (p % 2);
      const __m256i scale0 = spread_byte(sw, j0), scale1 = spread_byte(sw, j0 + 1);
      const __m256i mins = pair_bytes(mw, j0);
      __m256i s0[T], s1[T];
      for (int t = 0; t < T; ++t) s0[t] = s1[t] = _mm256_setzero_si256();
      const uint8_t* qp = blk.qs + 256 * p;
      for (int k = 0; k < 8; ++k) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp + 32 * k));
        const __m256i lo = _mm256_and_si256(q, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        for (int t = 0; t < T; ++t) {
          const int8_t* yq = a[t][b].qs + 64 * p + 4 * k;
          s0[t] = _mm256_add_epi16(s0[t], _mm256_maddubs_epi16(lo, bcast32(yq)));
          s1[t] = _mm256_add_epi16(s1[t], _mm256_maddubs_epi16(hi, bcast32(yq + 32)));
        }
      }
      for (int t = 0; t < T; ++t) {
        const int16_t* bs = a[t][b].bsums + 4 * p;
        const int32_t bs0 = bs[0] + bs[1], bs1 = bs[2] + bs[3];
        const __m256i bpair = _mm256_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(bs0) & 0xFFFFu) |
                                                                     (static_cast<uint32_t>(bs1) << 16)));
        const __m256i pi = _mm256_add_epi32(_mm256_madd_epi16(s0[t], scale0), _mm256_madd_epi16(s1[t], scale1));
        const __m256i pm = _mm256_madd_epi16(mins, bpair);
        if (kPerPair) {
          const __m256 ya = _mm256_set1_ps(a[t][b].d);
          acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pi), _mm256_mul_ps(d, ya), acc[t]);
          acc_m[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pm), _mm256_mul_ps(dmin, ya), acc_m[t]);
        } else {
          blk_i[t] = _mm256_add_epi32(blk_i[t], pi);
          blk_m[t] = _mm256_add_epi32(blk_m[t], pm);
        }
      }
    }
    if (!kPerPair)
      for (int t = 0; t < T; ++t) {
        const __m256 ya = _mm256_set1_ps(a[t][b].d);
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(blk_i[t]), _mm256_mul_ps(d, ya), acc[t]);
        acc_m[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(blk_m[t]), _mm256_mul_ps(dmin, ya), acc_m[t]);
      }
  }
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y[t], _mm256_sub_ps(acc[t], acc_m[t]));
}

// Drives a tile kernel over groups and tokens: for each group, tokens in tiles of 4 (the
// group's weights stay in cache while the activations stream past them).
template <class Act, class Block, class Tile>
void run_tiles(int64_t nb, const Block* w, int64_t n_groups, const void* act, size_t act_stride, int64_t n_tokens,
               float* y, int64_t ldy, Tile tile) {
  for (int64_t g = 0; g < n_groups; ++g) {
    const Block* wg = w + g * nb;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
      const int T = n_tokens - t0 < 4 ? static_cast<int>(n_tokens - t0) : 4;
      const Act* rows[4];
      float* outs[4];
      for (int i = 0; i < T; ++i) {
        rows[i] = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(act) + (t0 + i) * act_stride);
        outs[i] = y + (t0 + i) * ldy + 8 * g;
      }
      tile(T, t0, wg, rows, outs);
    }
  }
}

}  // namespace

void gemm_q4_0x8_avx2(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t /*n_gemm*/, float* y, int64_t ldy) {
  const int64_t nb = k / 32;
  run_tiles<ActQ8_0>(nb, static_cast<const BlockQ4_0x8*>(w), n_groups, act, act_stride, n_tokens, y, ldy,
                     [nb](int T, int64_t, const BlockQ4_0x8* wg, const ActQ8_0* const* rows, float* const* outs) {
                       switch (T) {
                         case 4: q4_0x8_tile<4>(nb, wg, rows, outs); break;
                         case 3: q4_0x8_tile<3>(nb, wg, rows, outs); break;
                         case 2: q4_0x8_tile<2>(nb, wg, rows, outs); break;
                         default: q4_0x8_tile<1>(nb, wg, rows, outs); break;
                       }
                     });
}

void gemm_q4_kx8_avx2(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy) {
  const int64_t nb = k / 256;
  run_tiles<BlockQ8_K>(
      nb, static_cast<const BlockQ4_Kx8*>(w), n_groups, act, act_stride, n_tokens, y, ldy,
      [nb, n_gemm](int T, int64_t t0, const BlockQ4_Kx8* wg, const BlockQ8_K* const* rows, float* const* outs) {
        // Tiles never straddle n_gemm (a multiple of 4), except the last partial one.
        if (t0 < n_gemm) {
          switch (T) {
            case 4: q4_kx8_tile<4, true>(nb, wg, rows, outs); break;
            case 3: q4_kx8_tile<3, true>(nb, wg, rows, outs); break;
            case 2: q4_kx8_tile<2, true>(nb, wg, rows, outs); break;
            default: q4_kx8_tile<1, true>(nb, wg, rows, outs); break;
          }
        } else {
          switch (T) {
            case 4: q4_kx8_tile<4, false>(nb, wg, rows, outs); break;
            case 3: q4_kx8_tile<3, false>(nb, wg, rows, outs); break;
            case 2: q4_kx8_tile<2, false>(nb, wg, rows, outs); break;
            default: q4_kx8_tile<1, false>(nb, wg, rows, outs); break;
          }
        }
      });
}

}  // namespace r1::kernels
