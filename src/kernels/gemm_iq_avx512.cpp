// AVX-512 multi-token products of the grid i-quants from a 16-row decoded panel
// (iq_decoded.hpp): rows in the 16 lanes, 4 weights per lane per vpdpbusd against 4
// broadcast activation bytes. The weights are stored as w + 128 (unsigned), so each scale
// group's sum starts at -128 * (its Q8_K block sum) and is exact in int32; the group sums
// times their scales add up to the same integer per super-block as the dot product, whose
// float operations follow, fused multiply-add included (bit-identical outputs).
// This file carries its own target pragma (the build compiles it for baseline x86-64);
// callers check avx512_active(). No standard-library templates here: see quant_util.hpp.
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/blocks.hpp"
#include "kernels/iq_decoded.hpp"

namespace r1::kernels {

namespace {

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

template <int NT>
void panel_tile(const IqPanel& P, int64_t nb, float final, const BlockQ8_K* const* y, float* const* out,
                __mmask16 rows) {
  __m512 sumf[NT];
  for (int t = 0; t < NT; ++t) sumf[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m512i tot[NT];
    for (int t = 0; t < NT; ++t) tot[t] = _mm512_setzero_si512();
    const uint32_t* u = P.u + i * 64 * 16;
    const int32_t* ls = P.ls + i * 16 * 16;
    for (int g = 0; g < 16; ++g) {
      const __m512i w0 = _mm512_load_si512(u + (4 * g + 0) * 16);
      const __m512i w1 = _mm512_load_si512(u + (4 * g + 1) * 16);
      const __m512i w2 = _mm512_load_si512(u + (4 * g + 2) * 16);
      const __m512i w3 = _mm512_load_si512(u + (4 * g + 3) * 16);
      const __m512i scale = _mm512_load_si512(ls + g * 16);
      for (int t = 0; t < NT; ++t) {
        const int8_t* q = y[t][i].qs + 16 * g;
        __m512i s = _mm512_set1_epi32(-128 * static_cast<int32_t>(y[t][i].bsums[g]));
        s = _mm512_dpbusd_epi32(s, w0, _mm512_set1_epi32(load_i32(q + 0)));
        s = _mm512_dpbusd_epi32(s, w1, _mm512_set1_epi32(load_i32(q + 4)));
        s = _mm512_dpbusd_epi32(s, w2, _mm512_set1_epi32(load_i32(q + 8)));
        s = _mm512_dpbusd_epi32(s, w3, _mm512_set1_epi32(load_i32(q + 12)));
        tot[t] = _mm512_add_epi32(tot[t], _mm512_mullo_epi32(s, scale));
      }
    }
    const __m512 dw = _mm512_load_ps(P.d + i * 16);
    for (int t = 0; t < NT; ++t)
      sumf[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(y[t][i].d)), _mm512_cvtepi32_ps(tot[t]), sumf[t]);
  }
  for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(out[t], rows, _mm512_mul_ps(_mm512_set1_ps(final), sumf[t]));
}

}  // namespace

void iq_grid_panel_avx512(const IqPanel& panel, int n_rows, int64_t nb, float final, const uint8_t* act,
                          size_t act_stride, int64_t n_tokens, float* y, int64_t ldy, int64_t r) {
  const __mmask16 rows = static_cast<__mmask16>((1u << n_rows) - 1);
  for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
    const int NT = n_tokens - t0 < 4 ? static_cast<int>(n_tokens - t0) : 4;
    const BlockQ8_K* yt[4];
    float* out[4];
    for (int i = 0; i < NT; ++i) {
      yt[i] = reinterpret_cast<const BlockQ8_K*>(act + (t0 + i) * act_stride);
      out[i] = y + (t0 + i) * ldy + r;
    }
    switch (NT) {
      case 4: panel_tile<4>(panel, nb, final, yt, out, rows); break;
      case 3: panel_tile<3>(panel, nb, final, yt, out, rows); break;
      case 2: panel_tile<2>(panel, nb, final, yt, out, rows); break;
      default: panel_tile<1>(panel, nb, final, yt, out, rows); break;
    }
  }
}

}  // namespace r1::kernels
