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
#include "kernels/quant_fit.hpp"
#include "kernels/quant_pack.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {

namespace {

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
    scales[j] = fit::scale_min(32, nmax, xs, w, L + 32 * j, &mins[j], rmin, rdelta, nstep, false);
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
  requantize_k4(x, nmax, *d_out, *dmin_out, scales_out, L);
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
      scales[j] = fit::scale_min(16, 3, src + 16 * j, w, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
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
      scales[j] = fit::symmetric_refined(16, 4, src + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > amax) {
        amax = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    std::memset(b[i].scales, 0, 12);
    if (max_scale != 0.f) {
      const float iscale = -32.f / max_scale;
      int codes[16];
      for (int j = 0; j < 16; ++j) codes[j] = std::clamp(nearest_int(iscale * scales[j]), -32, 31) + 32;
      pack_q3_k_scales(codes, b[i].scales);
      b[i].d = fp32_to_fp16(1.f / iscale);
    } else {
      b[i].d = fp32_to_fp16(0.f);
    }
    finish_q3_k(src, L, &b[i]);
  }
}

void from_float_q4_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    uint8_t L[kQK_K];
    quantize_k4_scales(src, 15, -1.f, 0.1f, 20, &b[i].d, &b[i].dmin, b[i].scales, L);
    pack_q4_k_levels(L, &b[i]);
  }
}

void from_float_q5_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    uint8_t L[kQK_K];
    quantize_k4_scales(src, 31, -0.5f, 0.1f, 15, &b[i].d, &b[i].dmin, b[i].scales, L);
    pack_q5_k_levels(L, &b[i]);
  }
}

void from_float_q6_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    int8_t L[kQK_K];
    float scales[16];
    for (int j = 0; j < 16; ++j) scales[j] = fit::symmetric(16, 32, src + 16 * j, nullptr, L + 16 * j);
    q6_k_from_scales(src, scales, L, &b[i]);
  }
}

}  // namespace r1::kernels
