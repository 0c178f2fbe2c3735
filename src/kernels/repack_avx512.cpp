// AVX-512 (F, BW, VL, VNNI) kernels of the 16-row packed layouts (repack.hpp): one
// 512-bit lane group per row, 4-byte groups of unsigned nibbles times the broadcast
// activation bytes with vpdpbusd (exact int32 sums, no int16 stage). The float
// operations per output are those of the scalar references (bit-identical results).
// This file carries its own target pragma (the build compiles it for baseline x86-64);
// callers check avx512_active(). No standard-library templates here: see quant_util.hpp.
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
// GCC 12 flags its own intrinsics headers (the undefined-vector idiom) here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/repack.hpp"

namespace r1::kernels {

namespace {

inline __m512i bcast32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
inline __m512 load_f16x16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
// Asks for the cache lines kPrefetchBytes past a block of `bytes` bytes. The tiles call it
// on the first token tile of a group only (`first`), the pass that streams the weights
// from DRAM: the kernels compute long enough per block that the hardware prefetcher
// alone leaves that stream waiting (Q4_K decode from DRAM: 0.51 -> 0.29 ms for a
// 8960 x 1536 matrix, one thread); later tiles find the group in cache. Prefetches past
// the end of the matrix are harmless (they never fault).
constexpr int kPrefetchBytes = 2048;
inline void prefetch_ahead(const void* block, int bytes) {
  const char* p = static_cast<const char*>(block) + kPrefetchBytes;
  for (int off = 0; off < bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// ---------------------------------------------------------------- Q4_0x16 . ActQ8_0

// T tokens (T <= 8) against one group: the group's nibbles are unpacked once per block
// and stay in registers for all T tokens. Each token's sum starts at -sum8 (exact int32
// arithmetic: the same integer as dot - sum8) and runs in two independent chains (low
// and high nibbles) that meet before the one float step of the block.
template <int T>
void q4_0x16_tile(int64_t nb, const BlockQ4_0x16* w, const ActQ8_0* const* a, float* const* y, bool first) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ4_0x16& blk = w[b];
    if (first) prefetch_ahead(&blk, sizeof(blk));
    __m512i lo[4], hi[4];
    for (int k = 0; k < 4; ++k) {
      const __m512i q = load512(blk.qs + 64 * k);
      lo[k] = _mm512_and_si512(q, m4);
      hi[k] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
    }
    const __m512 d = load_f16x16(blk.d);
    for (int t = 0; t < T; ++t) {
      const int8_t* yq = a[t][b].qs;
      __m512i s = _mm512_dpbusd_epi32(_mm512_set1_epi32(-a[t][b].sum8), lo[0], bcast32(yq));
      __m512i u = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[0], bcast32(yq + 16));
      s = _mm512_dpbusd_epi32(s, lo[1], bcast32(yq + 4));
      u = _mm512_dpbusd_epi32(u, hi[1], bcast32(yq + 20));
      s = _mm512_dpbusd_epi32(s, lo[2], bcast32(yq + 8));
      u = _mm512_dpbusd_epi32(u, hi[2], bcast32(yq + 24));
      s = _mm512_dpbusd_epi32(s, lo[3], bcast32(yq + 12));
      u = _mm512_dpbusd_epi32(u, hi[3], bcast32(yq + 28));
      const __m512i dot = _mm512_add_epi32(s, u);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(d, _mm512_set1_ps(a[t][b].d)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y[t], acc[t]);
}

// ---------------------------------------------------------------- Q8_0x16 . ActQ8_0

// T tokens (T <= 8) against one group. vpdpbusd multiplies unsigned by signed bytes: the
// signed weights w are flipped to w + 128 (xor 0x80) and the sum corrected by
// -128 * sum(a) = -16 * sum8, the chain's start value (exact int32 arithmetic).
template <int T>
void q8_0x16_tile(int64_t nb, const BlockQ8_0x16* w, const ActQ8_0* const* a, float* const* y, bool first) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ8_0x16& blk = w[b];
    if (first) prefetch_ahead(&blk, sizeof(blk));
    __m512i u[8];
    for (int k = 0; k < 8; ++k)
      u[k] = _mm512_xor_si512(_mm512_loadu_si512(blk.qs + 64 * k), flip);
    const __m512 d = load_f16x16(blk.d);
    for (int t = 0; t < T; ++t) {
      const int8_t* yq = a[t][b].qs;
      __m512i s = _mm512_dpbusd_epi32(_mm512_set1_epi32(-16 * a[t][b].sum8), u[0], bcast32(yq));
      __m512i v = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[1], bcast32(yq + 4));
      for (int k = 2; k < 8; k += 2) {
        s = _mm512_dpbusd_epi32(s, u[k], bcast32(yq + 4 * k));
        v = _mm512_dpbusd_epi32(v, u[k + 1], bcast32(yq + 4 * k + 4));
      }
      const __m512i dot = _mm512_add_epi32(s, v);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(d, _mm512_set1_ps(a[t][b].d)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y[t], acc[t]);
}

// ---------------------------------------------------------------- Q6_Kx16 . Q8_K

// T tokens (T <= 8) against one group. Per 16-element sub-block: a chain of 4 vpdpbusd on
// the unsigned 6-bit values q (0..63) that starts at -32 * bsum (so it ends at
// sum((q - 32) * a), exactly), times the row's signed scale, summed over the super-block
// in int32; then one float step per super-block.
template <int T>
void q6_kx16_tile(int64_t nb, const BlockQ6_Kx16* w, const BlockQ8_K* const* a, float* const* y, bool first) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ6_Kx16& blk = w[b];
    if (first) prefetch_ahead(&blk, sizeof(blk));
    __m512i sumi[T];
    for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
    for (int n = 0; n < 2; ++n)
      for (int j = 0; j < 4; ++j)      // quarter of the half: ql low (j < 2) or high nibbles, qh bits 2j..2j+1
        for (int is = 0; is < 2; ++is) {  // sub-block sb = 8n + 2j + is: elements 128n + 32j + 16is + 0..15
          const int sb = 8 * n + 2 * j + is;
          __m512i s[T];
          for (int t = 0; t < T; ++t) s[t] = _mm512_set1_epi32(-32 * a[t][b].bsums[sb]);
          for (int i = 4 * is; i < 4 * is + 4; ++i) {  // elements l = 4i .. 4i + 3 of the quarter
            const __m512i x = load512(blk.ql + 64 * (16 * n + 8 * (j % 2) + i));
            const __m512i h = load512(blk.qh + 64 * (8 * n + i));
            const __m512i lo = j < 2 ? _mm512_and_si512(x, m4) : _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
            const __m512i hb = j == 0   ? _mm512_and_si512(_mm512_slli_epi16(h, 4), m30)
                               : j == 1 ? _mm512_and_si512(_mm512_slli_epi16(h, 2), m30)
                               : j == 2 ? _mm512_and_si512(h, m30)
                                        : _mm512_and_si512(_mm512_srli_epi16(h, 2), m30);
            const __m512i q = _mm512_or_si512(lo, hb);
            for (int t = 0; t < T; ++t) s[t] = _mm512_dpbusd_epi32(s[t], q, bcast32(a[t][b].qs + 128 * n + 32 * j + 4 * i));
          }
          const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales + 16 * sb)));
          for (int t = 0; t < T; ++t) sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(s[t], sc));
        }
    const __m512 d = load_f16x16(blk.d);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_mul_ps(d, _mm512_set1_ps(a[t][b].d)), acc[t]);
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y[t], acc[t]);
}

// ---------------------------------------------------------------- Q4_Kx16 . Q8_K

// Byte j of each 32-bit lane, zero-extended to 32 bits (scales).
inline __m512i byte_of_lanes(__m512i v, int j) {
  const char c = static_cast<char>(j);
  const __m128i idx = _mm_setr_epi8(c, -1, -1, -1, static_cast<char>(4 + j), -1, -1, -1, static_cast<char>(8 + j), -1,
                                    -1, -1, static_cast<char>(12 + j), -1, -1, -1);
  return _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(idx));
}
// Bytes j and j + 1 of each 32-bit lane as two 16-bit values (mins of a pair).
inline __m512i pair_bytes(__m512i v, int j) {
  const __m128i idx = _mm_setr_epi8(static_cast<char>(j), -1, static_cast<char>(j + 1), -1, static_cast<char>(4 + j),
                                    -1, static_cast<char>(5 + j), -1, static_cast<char>(8 + j), -1,
                                    static_cast<char>(9 + j), -1, static_cast<char>(12 + j), -1,
                                    static_cast<char>(13 + j), -1);
  return _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(idx));
}

template <int T, bool kPerPair>
void q4_kx16_tile(int64_t nb, const BlockQ4_Kx16* w, const BlockQ8_K* const* a, float* const* y, bool first) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m6 = _mm512_set1_epi8(0x3F), m2 = _mm512_set1_epi8(0x03);
  __m512 acc[T], acc_m[T];
  for (int t = 0; t < T; ++t) acc[t] = acc_m[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ4_Kx16& blk = w[b];
    if (first) prefetch_ahead(&blk, sizeof(blk));
    const __m512i A = load512(blk.scales), B = load512(blk.scales + 64), C = load512(blk.scales + 128);
    const __m512i sc_lo = _mm512_and_si512(A, m6);
    const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(C, m4),
                                          _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(A, 6), m2), 4));
    const __m512i mn_lo = _mm512_and_si512(B, m6);
    const __m512i mn_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(C, 4), m4),
                                          _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(B, 6), m2), 4));
    const __m512 d = load_f16x16(blk.d), dmin = load_f16x16(blk.dmin);
    __m512i blk_i[T], blk_m[T];
    for (int t = 0; t < T; ++t) blk_i[t] = blk_m[t] = _mm512_setzero_si512();
    for (int p = 0; p < 4; ++p) {
      const __m512i sw = p < 2 ? sc_lo : sc_hi, mw = p < 2 ? mn_lo : mn_hi;
      const int j0 = 2 * (p % 2);
      __m512i s0[T], s1[T];
      for (int t = 0; t < T; ++t) s0[t] = s1[t] = _mm512_setzero_si512();
      const uint8_t* qp = blk.qs + 512 * p;
      for (int k = 0; k < 8; ++k) {
        const __m512i q = load512(qp + 64 * k);
        const __m512i lo = _mm512_and_si512(q, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
        for (int t = 0; t < T; ++t) {
          const int8_t* yq = a[t][b].qs + 64 * p + 4 * k;
          s0[t] = _mm512_dpbusd_epi32(s0[t], lo, bcast32(yq));
          s1[t] = _mm512_dpbusd_epi32(s1[t], hi, bcast32(yq + 32));
        }
      }
      const __m512i scale0 = byte_of_lanes(sw, j0), scale1 = byte_of_lanes(sw, j0 + 1);
      const __m512i mins = pair_bytes(mw, j0);
      for (int t = 0; t < T; ++t) {
        const int16_t* bs = a[t][b].bsums + 4 * p;
        const int32_t bs0 = bs[0] + bs[1], bs1 = bs[2] + bs[3];
        const __m512i bpair = _mm512_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(bs0) & 0xFFFFu) |
                                                                     (static_cast<uint32_t>(bs1) << 16)));
        const __m512i pi = _mm512_add_epi32(_mm512_mullo_epi32(s0[t], scale0), _mm512_mullo_epi32(s1[t], scale1));
        const __m512i pm = _mm512_madd_epi16(mins, bpair);
        if (kPerPair) {
          const __m512 ya = _mm512_set1_ps(a[t][b].d);
          acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pi), _mm512_mul_ps(d, ya), acc[t]);
          acc_m[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pm), _mm512_mul_ps(dmin, ya), acc_m[t]);
        } else {
          blk_i[t] = _mm512_add_epi32(blk_i[t], pi);
          blk_m[t] = _mm512_add_epi32(blk_m[t], pm);
        }
      }
    }
    if (!kPerPair)
      for (int t = 0; t < T; ++t) {
        const __m512 ya = _mm512_set1_ps(a[t][b].d);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(blk_i[t]), _mm512_mul_ps(d, ya), acc[t]);
        acc_m[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(blk_m[t]), _mm512_mul_ps(dmin, ya), acc_m[t]);
      }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y[t], _mm512_sub_ps(acc[t], acc_m[t]));
}

// Calls f.template operator()<T>() for the runtime tile width 1 <= T <= N (the tile
// kernels are instantiated for every width, so each one keeps its accumulators in registers).
template <int N, class F>
void with_width(int T, F&& f) {
  if constexpr (N > 1) {
    if (T == N) {
      f.template operator()<N>();
      return;
    }
    with_width<N - 1>(T, f);
  } else {
    f.template operator()<1>();
  }
}

// For each group, tokens in tiles of kTile (the group's weights stay in cache between tiles).
template <int kTile, class Act, class Block, class Tile>
void run_tiles(int64_t nb, const Block* w, int64_t n_groups, const void* act, size_t act_stride, int64_t n_tokens,
               float* y, int64_t ldy, Tile tile) {
  for (int64_t g = 0; g < n_groups; ++g) {
    const Block* wg = w + g * nb;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTile) {
      const int T = n_tokens - t0 < kTile ? static_cast<int>(n_tokens - t0) : kTile;
      const Act* rows[kTile];
      float* outs[kTile];
      for (int i = 0; i < T; ++i) {
        rows[i] = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(act) + (t0 + i) * act_stride);
        outs[i] = y + (t0 + i) * ldy + 16 * g;
      }
      tile(T, t0, wg, rows, outs);
    }
  }
}

}  // namespace

void gemm_q4_0x16_avx512(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                         int64_t n_tokens, int64_t /*n_gemm*/, float* y, int64_t ldy) {
  const int64_t nb = k / 32;
  run_tiles<8, ActQ8_0>(nb, static_cast<const BlockQ4_0x16*>(w), n_groups, act, act_stride, n_tokens, y, ldy,
                        [nb](int T, int64_t t0, const BlockQ4_0x16* wg, const ActQ8_0* const* rows, float* const* outs) {
                          with_width<8>(T, [&]<int W>() { q4_0x16_tile<W>(nb, wg, rows, outs, t0 == 0); });
                        });
}

void gemm_q8_0x16_avx512(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                         int64_t n_tokens, int64_t /*n_gemm*/, float* y, int64_t ldy) {
  const int64_t nb = k / 32;
  run_tiles<8, ActQ8_0>(nb, static_cast<const BlockQ8_0x16*>(w), n_groups, act, act_stride, n_tokens, y, ldy,
                        [nb](int T, int64_t t0, const BlockQ8_0x16* wg, const ActQ8_0* const* rows, float* const* outs) {
                          with_width<8>(T, [&]<int W>() { q8_0x16_tile<W>(nb, wg, rows, outs, t0 == 0); });
                        });
}

void gemm_q6_kx16_avx512(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                         int64_t n_tokens, int64_t /*n_gemm*/, float* y, int64_t ldy) {
  const int64_t nb = k / 256;
  run_tiles<8, BlockQ8_K>(nb, static_cast<const BlockQ6_Kx16*>(w), n_groups, act, act_stride, n_tokens, y, ldy,
                          [nb](int T, int64_t t0, const BlockQ6_Kx16* wg, const BlockQ8_K* const* rows,
                               float* const* outs) {
                            with_width<8>(T, [&]<int W>() { q6_kx16_tile<W>(nb, wg, rows, outs, t0 == 0); });
                          });
}

void gemm_q4_kx16_avx512(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                         int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy) {
  const int64_t nb = k / 256;
  run_tiles<4, BlockQ8_K>(
      nb, static_cast<const BlockQ4_Kx16*>(w), n_groups, act, act_stride, n_tokens, y, ldy,
      [nb, n_gemm](int T, int64_t t0, const BlockQ4_Kx16* wg, const BlockQ8_K* const* rows, float* const* outs) {
        if (t0 < n_gemm)
          with_width<4>(T, [&]<int W>() { q4_kx16_tile<W, true>(nb, wg, rows, outs, t0 == 0); });
        else
          with_width<4>(T, [&]<int W>() { q4_kx16_tile<W, false>(nb, wg, rows, outs, t0 == 0); });
      });
}

}  // namespace r1::kernels
