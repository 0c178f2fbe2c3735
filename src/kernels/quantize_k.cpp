// Scalar quantizers for the k-quants Q2_K..Q6_K. They follow the algorithms of
// llama.cpp's deterministic reference quantizers (quantize_row_q*_K_ref, which
// llama-quantize uses when no importance matrix is given): per sub-block scale (and
// min) search, then the sub-block scales are quantized against one super-block scale,
// and finally every value is re-quantized with the scale it will be decoded with.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/kernels_ref.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {

namespace {

constexpr float kGroupMaxEps = 1e-15f;

// Signed value of largest magnitude (first one on ties) and that magnitude.
void signed_abs_max(const float* x, int n, float* max, float* amax) {
  *max = 0.f;
  *amax = 0.f;
  for (int i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    if (a > *amax) {
      *amax = a;
      *max = x[i];
    }
  }
}

// Asymmetric fit x ~ scale * L + min with L in [0, nmax] and min <= 0, minimising the
// weighted error (|err| if use_mad, else err^2). Tries the plain range fit, then
// nstep+1 candidate inverse scales (nmax + rmin + rdelta * k) / (max - min), each
// followed by a weighted least-squares solve for (scale, min). Returns scale; *neg_min
// receives -min (>= 0). L gets the chosen levels.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min, float rmin,
                    float rdelta, int nstep, bool use_mad) {
  float mn = x[0], mx = x[0];
  float sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (mn > 0) mn = 0;
  if (mx == mn) {
    std::fill(L, L + n, uint8_t{0});
    *neg_min = -mn;
    return 0.f;
  }
  auto err = [use_mad](float diff) { return use_mad ? std::fabs(diff) : diff * diff; };
  float iscale = static_cast<float>(nmax) / (mx - mn);
  float scale = 1.f / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax));
    best_error += w[i] * err(scale * L[i] + mn - x[i]);
  }
  if (nstep < 1) {
    *neg_min = -mn;
    return scale;
  }
  uint8_t aux[32];
  assert(n <= 32);
  for (int k = 0; k <= nstep; ++k) {
    iscale = (rmin + rdelta * static_cast<float>(k) + static_cast<float>(nmax)) / (mx - mn);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax);
      aux[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * static_cast<float>(l);
      sum_l2 += w[i] * static_cast<float>(l * l);
      sum_xl += w[i] * static_cast<float>(l) * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float cur_error = 0;
    for (int i = 0; i < n; ++i) cur_error += w[i] * err(this_scale * aux[i] + this_min - x[i]);
    if (cur_error < best_error) {
      std::copy(aux, aux + n, L);
      best_error = cur_error;
      scale = this_scale;
      mn = this_min;
    }
  }
  *neg_min = -mn;
  return scale;
}

// Symmetric fit x ~ scale * (L - nmax), L - nmax in [-nmax, nmax - 1], weights x^2.
// Tries inverse scales -(nmax + 0.1 k)/max for k in -9..9 and keeps the least-squares
// optimum with the best weighted fit. L gets the offset levels (0 .. 2 nmax - 1).
float fit_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float max, amax;
  signed_abs_max(x, n, &max, &amax);
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.f;
  }
  auto level = [nmax](float v) { return std::clamp(nearest_int(v), -nmax, nmax - 1); };
  auto sums = [&](float iscale, float* sumlx, float* suml2) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale * x[i]);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * static_cast<float>(l);
      *suml2 += w * static_cast<float>(l * l);
    }
  };
  auto set_levels = [&](float iscale) {
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + level(iscale * x[i]));
  };
  float iscale = -static_cast<float>(nmax) / max;
  float sumlx, suml2;
  sums(iscale, &sumlx, &suml2);
  set_levels(iscale);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.f;
  float best = scale * sumlx;
  for (int k = -9; k <= 9; ++k) {
    if (k == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(k)) / max;
    sums(iscale, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      set_levels(iscale);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Symmetric 3-bit style fit (levels -nmax .. nmax-1, weights x^2) refined by up to 5
// passes of per-element coordinate descent. L gets levels offset by nmax.
float fit_symmetric_iterative(int n, int nmax, const float* x, int8_t* L) {
  float max, amax;
  signed_abs_max(x, n, &max, &amax);
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.f;
  }
  const float iscale = -static_cast<float>(nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l * l);
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * static_cast<float>(L[i]);
      if (slx <= 0) continue;
      float sl2 = suml2 - w * static_cast<float>(L[i] * L[i]);
      const int nl = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (nl == L[i]) continue;
      slx += w * x[i] * static_cast<float>(nl);
      sl2 += w * static_cast<float>(nl * nl);
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<int8_t>(nl);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0 ? sumlx / suml2 : 0.f;
}

// Packs 256 2-bit values (low bits of L) in the Q2_K / Q3_K order.
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* p = L + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>((p[0] & 3) | (p[32] & 3) << 2 | (p[64] & 3) << 4 | (p[96] & 3) << 6);
    }
}

// Writes 6-bit scale/min pairs for 8 sub-blocks in the Q4_K / Q5_K layout.
void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
  std::memset(s, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | (lm[j] & 0xF) << 4);
      s[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): fits 8 sub-blocks of 32, quantizes their
// scales and mins to 6 bits, writes d/dmin/scales and the final levels into L.
void quantize_k4_scales(const float* x, int nmax, float rmin, float rdelta, int nstep, uint16_t* d_out,
                        uint16_t* dmin_out, uint8_t* scales_out, uint8_t* L) {
  float scales[8], mins[8], w[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xs[l]);
    scales[j] = fit_scale_min(32, nmax, xs, w, L + 32 * j, &mins[j], rmin, rdelta, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<uint8_t>(std::clamp(nearest_int(inv_scale * scales[j]), 0, 63));
    lm[j] = static_cast<uint8_t>(std::clamp(nearest_int(inv_min * mins[j]), 0, 63));
  }
  pack_scale_min_k4(ls, lm, scales_out);
  *d_out = fp32_to_fp16(max_scale / 63.f);
  *dmin_out = fp32_to_fp16(max_min / 63.f);
  const float d = half_to_float(*d_out), dmin = half_to_float(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    const float ds = d * ls[j];
    if (ds == 0.f) continue;
    const float dm = dmin * lm[j];
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / ds), 0, nmax));
  }
}

}  // namespace

void from_float_q2_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    uint8_t L[kQK_K];
    float scales[16], mins[16], w[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) w[l] = std::fabs(src[16 * j + l]);
      scales[j] = fit_scale_min(16, 3, src + 16 * j, w, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    for (int j = 0; j < 16; ++j) {
      const int ls = max_scale > 0 ? std::clamp(nearest_int(15.f / max_scale * scales[j]), 0, 15) : 0;
      const int lm = max_min > 0 ? std::clamp(nearest_int(15.f / max_min * mins[j]), 0, 15) : 0;
      b[i].scales[j] = static_cast<uint8_t>(ls | lm << 4);
    }
    b[i].d = fp32_to_fp16(max_scale > 0 ? max_scale / 15.f : 0.f);
    b[i].dmin = fp32_to_fp16(max_min > 0 ? max_min / 15.f : 0.f);
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    for (int j = 0; j < 16; ++j) {
      const float ds = d * static_cast<float>(b[i].scales[j] & 0xF);
      if (ds == 0.f) continue;
      const float dm = dmin * static_cast<float>(b[i].scales[j] >> 4);
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((src[16 * j + l] + dm) / ds), 0, 3));
    }
    pack_2bit(L, b[i].qs);
  }
}

void from_float_q3_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = fit_symmetric_iterative(16, 4, src + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > amax) {
        amax = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    std::memset(b[i].scales, 0, 12);
    if (max_scale != 0.f) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        const int l = std::clamp(nearest_int(iscale * scales[j]), -32, 31) + 32;
        if (j < 8) b[i].scales[j] = static_cast<uint8_t>(l & 0xF);
        else b[i].scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        b[i].scales[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
      }
      b[i].d = fp32_to_fp16(1.f / iscale);
    } else {
      b[i].d = fp32_to_fp16(0.f);
    }
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < 16; ++j) {
      const float ds = d * static_cast<float>(q3k_scale(b[i].scales, j));
      if (ds == 0.f) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<int8_t>(std::clamp(nearest_int(src[16 * j + l] / ds), -4, 3) + 4);
    }
    // Levels 0..7: bit 2 goes to hmask (element e: byte e % 32, bit e / 32), bits 0..1 to qs.
    std::memset(b[i].hmask, 0, 32);
    uint8_t low[kQK_K];
    for (int e = 0; e < kQK_K; ++e) {
      if (L[e] > 3) b[i].hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
      low[e] = static_cast<uint8_t>(L[e] & 3);
    }
    pack_2bit(low, b[i].qs);
  }
}

void from_float_q4_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    uint8_t L[kQK_K];
    quantize_k4_scales(src, 15, -1.f, 0.1f, 20, &b[i].d, &b[i].dmin, b[i].scales, L);
    for (int p = 0; p < 4; ++p)
      for (int l = 0; l < 32; ++l)
        b[i].qs[32 * p + l] = static_cast<uint8_t>(L[64 * p + l] | L[64 * p + 32 + l] << 4);
  }
}

void from_float_q5_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    uint8_t L[kQK_K];
    quantize_k4_scales(src, 31, -0.5f, 0.1f, 15, &b[i].d, &b[i].dmin, b[i].scales, L);
    std::memset(b[i].qh, 0, 32);
    for (int p = 0; p < 4; ++p)
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * p + l], hi = L[64 * p + 32 + l];
        b[i].qs[32 * p + l] = static_cast<uint8_t>((lo & 0xF) | (hi & 0xF) << 4);
        b[i].qh[l] |= static_cast<uint8_t>((lo >> 4) << (2 * p) | (hi >> 4) << (2 * p + 1));
      }
  }
}

void from_float_q6_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, max_abs = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = fit_symmetric(16, 32, src + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > max_abs) {
        max_abs = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (max_abs < kGroupMaxEps) {
      std::memset(&b[i], 0, sizeof(BlockQ6_K));
      continue;
    }
    const float iscale = -128.f / max_scale;
    b[i].d = fp32_to_fp16(1.f / iscale);
    for (int j = 0; j < 16; ++j)
      b[i].scales[j] = static_cast<int8_t>(std::clamp(nearest_int(iscale * scales[j]), -128, 127));
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < 16; ++j) {
      const float ds = d * static_cast<float>(b[i].scales[j]);
      if (ds == 0.f) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<int8_t>(std::clamp(nearest_int(src[16 * j + l] / ds), -32, 31) + 32);
    }
    // Levels 0..63: low nibble into ql, top 2 bits into qh (layout in blocks.hpp).
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const int8_t* p = L + 128 * h + l;
        b[i].ql[64 * h + l] = static_cast<uint8_t>((p[0] & 0xF) | (p[64] & 0xF) << 4);
        b[i].ql[64 * h + 32 + l] = static_cast<uint8_t>((p[32] & 0xF) | (p[96] & 0xF) << 4);
        b[i].qh[32 * h + l] =
            static_cast<uint8_t>((p[0] >> 4) | (p[32] >> 4) << 2 | (p[64] >> 4) << 4 | (p[96] >> 4) << 6);
      }
  }
}

}  // namespace r1::kernels
