// AVX2 dot products of the i-quants with Q8_K (Q8_0 for IQ4_NL) activations. Same
// integer sums as the scalar references in quants_iq.cpp (exact); only the float
// combination of the per-block sums differs in order. Codebook entries are gathered
// from iq_tables() into 32-byte vectors; signs are applied to the activations with
// _mm256_sign_epi8, and the products summed with maddubs (unsigned grid bytes times
// signed activations, pairs stay below 2^15) and madd against the group scales.
// No standard-library templates here: see quant_util.hpp.
#include <immintrin.h>

#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/gemm_rows.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/iq_decoded.hpp"
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


// ---------------------------------------------------------------- the grid family
// IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S and IQ4_XS share one product: per 32 elements a
// decoder yields the weights' magnitudes and signs (|w| <= 127) and the int16 scale vector
// ls (one scale per 16 elements); the sub-block sum is madd(maddubs(|w|, sign(q8, w)), ls),
// exactly sum_j w_j q8_j ls_j, added up in int32 over the super-block. Two float orders
// follow llama.cpp's two paths: the dot product (batches < 8) converts the 8 int32 lanes;
// the multi-token kernels (rows decoded once; AVX2 tiles or the AVX-512 panel, bit-identical
// to each other) add the super-block's total: sumf = fma(d_w * d_y, (float) total, sumf), as
// llama.cpp's IQ panel and the scalar reference do.

// A decoded sub-block: magnitudes (unsigned bytes <= 127), signs (nonzero bytes whose sign
// is the weight's) and the scales; the weight values are sign(mag, sign).
struct Parts {
  __m256i mag, sign, ls;
};
struct Sub {
  __m256i w, ls;
};
inline Sub to_sub(const Parts& p) { return {_mm256_sign_epi8(p.mag, p.sign), p.ls}; }

inline __m256i parts_product(const Parts& p, __m256i q8) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(p.mag, _mm256_sign_epi8(q8, p.sign)), p.ls);
}

struct Iq2XxsDec {
  using Block = BlockIq2Xxs;
  static float scale(const Block& b) { return half_to_float_f16c(b.d); }
  static float dot(int64_t n, const void* x, const void* y);
  static constexpr float kFinal = 0.125f;
  static Parts parts(const Block& b, int ib, const IqTables& T) {
    const uint32_t idx = load_u32(b.qs + 4 * ib), sw = load_u32(b.qs + 4 * ib + 2);
    const __m256i grid = set_u64x4(T.grid2xxs[idx & 255], T.grid2xxs[(idx >> 8) & 255],
                                   T.grid2xxs[(idx >> 16) & 255], T.grid2xxs[idx >> 24]);
    const __m256i sign = set_u64x4(T.sign_bytes[sw & 127], T.sign_bytes[(sw >> 7) & 127],
                                   T.sign_bytes[(sw >> 14) & 127], T.sign_bytes[(sw >> 21) & 127]);
    return {grid, sign, _mm256_set1_epi16(static_cast<int16_t>(2 * (sw >> 28) + 1))};
  }
};

struct Iq2XsDec {
  using Block = BlockIq2Xs;
  static float scale(const Block& b) { return half_to_float_f16c(b.d); }
  static float dot(int64_t n, const void* x, const void* y);
  static constexpr float kFinal = 0.125f;
  static Parts parts(const Block& b, int ib, const IqTables& T) {
    const uint16_t* q = b.qs + 4 * ib;
    const __m256i grid =
        set_u64x4(T.grid2xs[q[0] & 511], T.grid2xs[q[1] & 511], T.grid2xs[q[2] & 511], T.grid2xs[q[3] & 511]);
    const __m256i sign =
        set_u64x4(T.sign_bytes[q[0] >> 9], T.sign_bytes[q[1] >> 9], T.sign_bytes[q[2] >> 9], T.sign_bytes[q[3] >> 9]);
    const uint8_t sc = b.scales[ib];
    return {grid, sign, scale_pair(2 * (sc & 0xF) + 1, 2 * (sc >> 4) + 1)};
  }
};

struct Iq2SDec {
  using Block = BlockIq2S;
  static float scale(const Block& b) { return half_to_float_f16c(b.d); }
  static float dot(int64_t n, const void* x, const void* y);
  static constexpr float kFinal = 0.125f;
  static Parts parts(const Block& b, int ib, const IqTables& T) {
    const uint8_t* qs = b.qs + 4 * ib;
    const int qh = b.qh[ib];
    const __m256i grid = set_u64x4(T.grid2s[qs[0] | ((qh << 8) & 0x300)], T.grid2s[qs[1] | ((qh << 6) & 0x300)],
                                   T.grid2s[qs[2] | ((qh << 4) & 0x300)], T.grid2s[qs[3] | ((qh << 2) & 0x300)]);
    const uint8_t* sg = b.qs + 32 + 4 * ib;
    const __m256i sign = set_u64x4(T.mask_bytes[sg[0]], T.mask_bytes[sg[1]], T.mask_bytes[sg[2]], T.mask_bytes[sg[3]]);
    const uint8_t sc = b.scales[ib];
    return {grid, sign, scale_pair(2 * (sc & 0xF) + 1, 2 * (sc >> 4) + 1)};
  }
};

struct Iq3XxsDec {
  using Block = BlockIq3Xxs;
  static float scale(const Block& b) { return half_to_float_f16c(b.d); }
  static float dot(int64_t n, const void* x, const void* y);
  static constexpr float kFinal = 0.25f;
  static Parts parts(const Block& b, int ib, const IqTables& T) {
    const uint8_t* q = b.qs + 8 * ib;
    const uint32_t sw = load_u32(b.qs + 64 + 4 * ib);
    const __m256i grid = _mm256_set_epi32(
        static_cast<int>(T.grid3xxs[q[7]]), static_cast<int>(T.grid3xxs[q[6]]), static_cast<int>(T.grid3xxs[q[5]]),
        static_cast<int>(T.grid3xxs[q[4]]), static_cast<int>(T.grid3xxs[q[3]]), static_cast<int>(T.grid3xxs[q[2]]),
        static_cast<int>(T.grid3xxs[q[1]]), static_cast<int>(T.grid3xxs[q[0]]));
    const __m256i sign = set_u64x4(T.sign_bytes[sw & 127], T.sign_bytes[(sw >> 7) & 127],
                                   T.sign_bytes[(sw >> 14) & 127], T.sign_bytes[(sw >> 21) & 127]);
    return {grid, sign, _mm256_set1_epi16(static_cast<int16_t>(2 * (sw >> 28) + 1))};
  }
};

struct Iq3SDec {
  using Block = BlockIq3S;
  static float scale(const Block& b) { return half_to_float_f16c(b.d); }
  static float dot(int64_t n, const void* x, const void* y);
  static constexpr float kFinal = 1.0f;
  static Parts parts(const Block& b, int ib, const IqTables& T) {
    const uint8_t* q = b.qs + 8 * ib;
    const int qh = b.qh[ib];
    int idx[8];
    for (int k = 0; k < 8; ++k) idx[k] = q[k] | (((qh >> k) & 1) << 8);
    const __m256i grid = _mm256_set_epi32(
        static_cast<int>(T.grid3s[idx[7]]), static_cast<int>(T.grid3s[idx[6]]), static_cast<int>(T.grid3s[idx[5]]),
        static_cast<int>(T.grid3s[idx[4]]), static_cast<int>(T.grid3s[idx[3]]), static_cast<int>(T.grid3s[idx[2]]),
        static_cast<int>(T.grid3s[idx[1]]), static_cast<int>(T.grid3s[idx[0]]));
    const uint8_t* sg = b.signs + 4 * ib;
    const __m256i sign = set_u64x4(T.mask_bytes[sg[0]], T.mask_bytes[sg[1]], T.mask_bytes[sg[2]], T.mask_bytes[sg[3]]);
    const int16_t ls = static_cast<int16_t>(2 * ((b.scales[ib / 2] >> (4 * (ib % 2))) & 0xF) + 1);
    return {grid, sign, _mm256_set1_epi16(ls)};
  }
};

struct Iq4XsDec {
  using Block = BlockIq4Xs;
  static float scale(const Block& b) { return half_to_float_f16c(b.d); }
  static float dot(int64_t n, const void* x, const void* y);
  static constexpr float kFinal = 1.0f;
  static Parts parts(const Block& b, int ib, const IqTables& T) {
    const __m128i t128 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(T.iq4nl));
    const int ls = ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b.scales_h >> (2 * ib)) & 3) << 4);
    const __m256i v = iq4_values(b.qs + 16 * ib, _mm256_set_m128i(t128, t128));  // no zero values
    return {_mm256_sign_epi8(v, v), v, _mm256_set1_epi16(static_cast<int16_t>(ls - 32))};
  }
};

// The dot product (one token), in llama.cpp's AVX2 vec_dot order: the super-blocks' int32
// lane sums are converted and accumulated per lane, summed across lanes at the end. This
// is what llama.cpp computes for batches below 8 tokens; on these random-codebook models a
// different float order moves log-probs by up to 0.1, so the order is followed, not
// merely bounded.
// IQ1_S / IQ1_M in the panel form of llama.cpp: w = 8 g +- 1 (g in {-1, 0, 1}, never 0),
// final factor 1/8; their dot products (vec_dot_iq1_*_avx2 below) keep their own form.
struct Iq1SDec {
  using Block = BlockIq1S;
  static constexpr float kFinal = 0.125f;
  static float scale(const Block& b) { return half_to_float_f16c(b.d); }
  static float dot(int64_t n, const void* x, const void* y);
  static Parts parts(const Block& b, int ib, const IqTables& T) {
    const uint8_t* q = b.qs + 4 * ib;
    const int qh = b.qh[ib];
    const __m256i g = set_u64x4(T.grid1s[q[0] | ((qh << 8) & 0x700)], T.grid1s[q[1] | ((qh << 5) & 0x700)],
                                T.grid1s[q[2] | ((qh << 2) & 0x700)], T.grid1s[q[3] | ((qh >> 1) & 0x700)]);
    const __m256i g8 = _mm256_add_epi8(_mm256_add_epi8(g, g), _mm256_add_epi8(g, g));
    const __m256i w = _mm256_add_epi8(_mm256_add_epi8(g8, g8), _mm256_set1_epi8(qh & 0x8000 ? -1 : 1));
    return {_mm256_sign_epi8(w, w), w, _mm256_set1_epi16(static_cast<int16_t>(2 * ((qh >> 12) & 7) + 1))};
  }
};

struct Iq1MDec {
  using Block = BlockIq1M;
  static constexpr float kFinal = 0.125f;
  static float scale(const Block& b) {
    uint16_t sc[4];
    __builtin_memcpy(sc, b.scales, 8);
    return half_to_float_f16c(
        static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) | (sc[3] & 0xF000)));
  }
  static float dot(int64_t n, const void* x, const void* y);
  static Parts parts(const Block& b, int ib, const IqTables& T) {
    uint16_t sc[4];
    __builtin_memcpy(sc, b.scales, 8);
    const uint8_t* q = b.qs + 4 * ib;
    const int h0 = b.qh[2 * ib], h1 = b.qh[2 * ib + 1];
    const __m256i g = set_u64x4(T.grid1s[q[0] | ((h0 << 8) & 0x700)], T.grid1s[q[1] | ((h0 << 4) & 0x700)],
                                T.grid1s[q[2] | ((h1 << 8) & 0x700)], T.grid1s[q[3] | ((h1 << 4) & 0x700)]);
    const __m256i delta = set_u64x4(T.mask_bytes[h0 & 8 ? 255 : 0], T.mask_bytes[h0 & 0x80 ? 255 : 0],
                                    T.mask_bytes[h1 & 8 ? 255 : 0], T.mask_bytes[h1 & 0x80 ? 255 : 0]);
    const __m256i g8 = _mm256_add_epi8(_mm256_add_epi8(g, g), _mm256_add_epi8(g, g));
    const __m256i w = _mm256_add_epi8(_mm256_add_epi8(g8, g8), delta);
    const int ls1 = 2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1;
    const int ls2 = 2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1;
    return {_mm256_sign_epi8(w, w), w, scale_pair(ls1, ls2)};
  }
};

template <typename Dec>
float grid_dot(int64_t n, const void* vx, const void* vy) {
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const typename Dec::Block*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib)
      sumi = _mm256_add_epi32(sumi, parts_product(Dec::parts(x[i], ib, T), load256(y[i].qs + 32 * ib)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float_f16c(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return Dec::kFinal * hsum_ps(acc);
}

// (AVX-512 CPUs: the same products in gemm_iq_avx512.cpp, bit-identical.)
// R decoded rows (subs[r]: 8 per super-block, dw[r]: d per super-block) times up to 4
// tokens. Per output the operations of grid_dot: |w| is hoisted, the sum per sub-block and
// its accumulation order are the same.
template <int R, int NT>
void grid_tile(int64_t nb, const IqPair* const* subs, const float* const* dw, float final, const BlockQ8_K* const* y,
               float* const* out) {
  float acc[R][NT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < NT; ++t) acc[r][t] = 0;
  for (int64_t i = 0; i < nb; ++i) {
    __m256i sumi[R][NT];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < NT; ++t) sumi[r][t] = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      __m256i w[R], aw[R], ls[R];
      for (int r = 0; r < R; ++r) {
        const IqPair& s = subs[r][4 * i + ib / 2];
        const int h = ib % 2;
        w[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(s.w + 32 * h));
        aw[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(s.aw + 32 * h));
        ls[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(s.ls + 16 * h));
      }
      for (int t = 0; t < NT; ++t) {
        const __m256i q8 = load256(y[t][i].qs + 32 * ib);
        for (int r = 0; r < R; ++r)
          sumi[r][t] = _mm256_add_epi32(
              sumi[r][t], _mm256_madd_epi16(_mm256_maddubs_epi16(aw[r], _mm256_sign_epi8(q8, w[r])), ls[r]));
      }
    }
    for (int t = 0; t < NT; ++t)
      for (int r = 0; r < R; ++r)
        acc[r][t] = __builtin_fmaf(dw[r][i] * y[t][i].d, static_cast<float>(hsum_epi32(sumi[r][t])), acc[r][t]);
  }
  for (int t = 0; t < NT; ++t)
    for (int r = 0; r < R; ++r) out[t][r] = final * acc[r][t];
}

template <int R>
void grid_tiles(int64_t nb, const IqPair* const* subs, const float* const* dw, float final, const uint8_t* a,
                size_t act_stride, int64_t n_tokens, float* y, int64_t ldy, int64_t r) {
  for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
    const int NT = n_tokens - t0 < 4 ? static_cast<int>(n_tokens - t0) : 4;
    const BlockQ8_K* yt[4];
    float* out[4];
    for (int i = 0; i < NT; ++i) {
      yt[i] = reinterpret_cast<const BlockQ8_K*>(a + (t0 + i) * act_stride);
      out[i] = y + (t0 + i) * ldy + r;
    }
    switch (NT) {
      case 4: grid_tile<R, 4>(nb, subs, dw, final, yt, out); break;
      case 3: grid_tile<R, 3>(nb, subs, dw, final, yt, out); break;
      case 2: grid_tile<R, 2>(nb, subs, dw, final, yt, out); break;
      default: grid_tile<R, 1>(nb, subs, dw, final, yt, out); break;
    }
  }
}

// AVX-512 CPUs: rows decoded 16 at a time into the panel layout of iq_decoded.hpp.
template <typename Dec>
void grid_gemm_panel(int64_t nb, const uint8_t* base, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* a,
                     size_t act_stride, int64_t n_tokens, float* y, int64_t ldy) {
  const IqTables& T = iq_tables();
  const size_t nbs = static_cast<size_t>(nb);
  // 5 KiB per super-block of 16 rows (bounded by k), 64-byte aligned
  auto* mem = static_cast<uint8_t*>(__builtin_alloca(nbs * (64 * 16 * 4 + 16 * 16 * 4 + 16 * 4) + 3 * 64));
  auto align = [](uint8_t* p) { return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63}); };
  IqPanel P;
  P.u = reinterpret_cast<uint32_t*>(align(mem));
  P.ls = reinterpret_cast<int32_t*>(align(reinterpret_cast<uint8_t*>(P.u + nbs * 64 * 16)));
  P.d = reinterpret_cast<float*>(align(reinterpret_cast<uint8_t*>(P.ls + nbs * 16 * 16)));
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t r = r0; r < r1; r += kIqPanelRows) {
    const int R = r1 - r >= kIqPanelRows ? kIqPanelRows : static_cast<int>(r1 - r);
    for (int q = 0; q < kIqPanelRows; ++q) {
      const auto* xr = reinterpret_cast<const typename Dec::Block*>(base + (r + (q < R ? q : 0)) * w_stride);
      for (int64_t i = 0; i < nb; ++i) {
        P.d[i * 16 + q] = q < R ? Dec::scale(xr[i]) : 0.0f;
        for (int ib = 0; ib < 8; ++ib) {
          alignas(32) uint32_t u[8];
          alignas(32) int16_t ls[16];
          if (q < R) {
            const Sub d = to_sub(Dec::parts(xr[i], ib, T));
            _mm256_store_si256(reinterpret_cast<__m256i*>(u), _mm256_xor_si256(d.w, flip));  // w + 128
            _mm256_store_si256(reinterpret_cast<__m256i*>(ls), d.ls);
          } else {
            _mm256_store_si256(reinterpret_cast<__m256i*>(u), flip);
            _mm256_store_si256(reinterpret_cast<__m256i*>(ls), _mm256_setzero_si256());
          }
          for (int c = 0; c < 8; ++c) P.u[(i * 64 + 8 * ib + c) * 16 + q] = u[c];
          P.ls[(i * 16 + 2 * ib) * 16 + q] = ls[0];
          P.ls[(i * 16 + 2 * ib + 1) * 16 + q] = ls[8];
        }
      }
    }
    iq_grid_panel_avx512(P, R, nb, Dec::kFinal, a, act_stride, n_tokens, y, ldy, r);
  }
}

template <typename Dec>
void grid_gemm_rows(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act,
                    size_t act_stride, int64_t n_tokens, float* y, int64_t ldy) {
  const IqTables& T = iq_tables();
  const int64_t nb = k / kQK_K;
  const auto* base = static_cast<const uint8_t*>(w);
  const auto* a = static_cast<const uint8_t*>(act);
  // Below 8 tokens: one dot product per output (llama.cpp's threshold for its IQ panel, whose
  // per-super-block float order the multi-token kernels below follow).
  if (n_tokens < 8) {
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t r = r0; r < r1; ++r) y[t * ldy + r] = Dec::dot(k, base + r * w_stride, a + t * act_stride);
    return;
  }
  if (avx512_active()) {
    grid_gemm_panel<Dec>(nb, base, w_stride, r0, r1, a, act_stride, n_tokens, y, ldy);
    return;
  }
  // Rows are decoded in pairs into IqPair entries (3 bytes per weight and row, bounded by
  // k), then multiplied with every token.
  const size_t n_pair = static_cast<size_t>(nb) * 4;
  auto* mem = static_cast<uint8_t*>(__builtin_alloca(2 * n_pair * sizeof(IqPair) + 64));
  IqPair* scratch = reinterpret_cast<IqPair*>((reinterpret_cast<uintptr_t>(mem) + 63) & ~uintptr_t{63});
  auto* dmem = static_cast<float*>(__builtin_alloca(2 * static_cast<size_t>(nb) * sizeof(float)));
  const IqPair* subs[2] = {scratch, scratch + n_pair};
  const float* dw[2] = {dmem, dmem + nb};
  for (int64_t r = r0; r < r1; r += 2) {
    const int R = r1 - r >= 2 ? 2 : 1;
    for (int q = 0; q < R; ++q) {
      const auto* xr = reinterpret_cast<const typename Dec::Block*>(base + (r + q) * w_stride);
      for (int64_t i = 0; i < nb; ++i) {
        dmem[q * nb + i] = Dec::scale(xr[i]);
        for (int ib = 0; ib < 8; ++ib) {
          IqPair& out = scratch[q * n_pair + 4 * i + ib / 2];
          const int h = ib % 2;
          const Sub d = to_sub(Dec::parts(xr[i], ib, T));
          _mm256_store_si256(reinterpret_cast<__m256i*>(out.w + 32 * h), d.w);
          _mm256_store_si256(reinterpret_cast<__m256i*>(out.aw + 32 * h), _mm256_sign_epi8(d.w, d.w));
          _mm256_store_si256(reinterpret_cast<__m256i*>(out.ls + 16 * h), d.ls);
        }
      }
    }
    if (R == 2) grid_tiles<2>(nb, subs, dw, Dec::kFinal, a, act_stride, n_tokens, y, ldy, r);
    else grid_tiles<1>(nb, subs, dw, Dec::kFinal, a, act_stride, n_tokens, y, ldy, r);
  }
}

}  // namespace

float vec_dot_iq2_xxs_q8_k_avx2(int64_t n, const void* x, const void* y) { return grid_dot<Iq2XxsDec>(n, x, y); }
float vec_dot_iq2_xs_q8_k_avx2(int64_t n, const void* x, const void* y) { return grid_dot<Iq2XsDec>(n, x, y); }
float vec_dot_iq2_s_q8_k_avx2(int64_t n, const void* x, const void* y) { return grid_dot<Iq2SDec>(n, x, y); }
float vec_dot_iq3_xxs_q8_k_avx2(int64_t n, const void* x, const void* y) { return grid_dot<Iq3XxsDec>(n, x, y); }
float vec_dot_iq3_s_q8_k_avx2(int64_t n, const void* x, const void* y) { return grid_dot<Iq3SDec>(n, x, y); }
float vec_dot_iq4_xs_q8_k_avx2(int64_t n, const void* x, const void* y) { return grid_dot<Iq4XsDec>(n, x, y); }

float Iq2XxsDec::dot(int64_t n, const void* x, const void* y) { return grid_dot<Iq2XxsDec>(n, x, y); }
float Iq2XsDec::dot(int64_t n, const void* x, const void* y) { return grid_dot<Iq2XsDec>(n, x, y); }
float Iq2SDec::dot(int64_t n, const void* x, const void* y) { return grid_dot<Iq2SDec>(n, x, y); }
float Iq3XxsDec::dot(int64_t n, const void* x, const void* y) { return grid_dot<Iq3XxsDec>(n, x, y); }
float Iq3SDec::dot(int64_t n, const void* x, const void* y) { return grid_dot<Iq3SDec>(n, x, y); }
float Iq4XsDec::dot(int64_t n, const void* x, const void* y) { return grid_dot<Iq4XsDec>(n, x, y); }
float Iq1SDec::dot(int64_t n, const void* x, const void* y) { return vec_dot_iq1_s_q8_k_avx2(n, x, y); }
float Iq1MDec::dot(int64_t n, const void* x, const void* y) { return vec_dot_iq1_m_q8_k_avx2(n, x, y); }

#define R1_GRID_GEMM(name, Dec)                                                                                    \
  void name(int64_t k, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* act, size_t act_stride, \
            int64_t n_tokens, float* y, int64_t ldy) {                                                           \
    grid_gemm_rows<Dec>(k, w, w_stride, r0, r1, act, act_stride, n_tokens, y, ldy);                              \
  }
R1_GRID_GEMM(gemm_iq2_xxs_rows_avx2, Iq2XxsDec)
R1_GRID_GEMM(gemm_iq2_xs_rows_avx2, Iq2XsDec)
R1_GRID_GEMM(gemm_iq2_s_rows_avx2, Iq2SDec)
R1_GRID_GEMM(gemm_iq3_xxs_rows_avx2, Iq3XxsDec)
R1_GRID_GEMM(gemm_iq3_s_rows_avx2, Iq3SDec)
R1_GRID_GEMM(gemm_iq4_xs_rows_avx2, Iq4XsDec)
R1_GRID_GEMM(gemm_iq1_s_rows_avx2, Iq1SDec)
R1_GRID_GEMM(gemm_iq1_m_rows_avx2, Iq1MDec)
#undef R1_GRID_GEMM

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
