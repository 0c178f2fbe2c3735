// IQ4_NL and IQ4_XS quantizers (ggml-quants.c quantize_row_iq4_nl_impl with ntry = 7, as
// ggml_quantize_chunk calls it, with or without importance weights).
//
// Each block of 32 gets the best of 16 trial scales: the range scale, then inverse scales
// (k + values[0]) / max for k in -7..7, each scored by its weighted least-squares scale
// sum(w q x) / sum(w q^2) over the nearest non-linear levels q. IQ4_XS then quantizes the
// 8 block scales of a super-block to 6 bits against d = -max_scale / 32 and re-picks every
// level for the stored scale; IQ4_NL stores the block scale as fp16 and re-picks levels.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/iq_grids.hpp"
#include "kernels/quant_fit.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/quantize_weighted.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {

namespace {

constexpr int kTrials = 7;

// Index of the level of `values` (16 ascending int8) nearest to x; ties go up.
int nearest_level(const int8_t* values, float x) {
  if (x <= values[0]) return 0;
  if (x >= values[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < values[mid]) hi = mid;
    else lo = mid;
  }
  return x - values[hi - 1] < values[hi] - x ? hi - 1 : hi;
}

// Weighted sums of the levels chosen for inverse scale id over block xb.
void level_sums(const int8_t* values, const float* xb, const float* weight, float id, uint8_t* L, float* sumqx,
                float* sumq2) {
  *sumqx = *sumq2 = 0;
  for (int j = 0; j < kQK; ++j) {
    const int l = nearest_level(values, id * xb[j]);
    if (L) L[j] = static_cast<uint8_t>(l);
    const float q = values[l];
    const float w = weight[j];
    *sumqx += w * q * xb[j];
    *sumq2 += w * q * q;
  }
}

// One super-block of `super` elements (32: IQ4_NL, 256: IQ4_XS). Writes *dh, the packed
// levels q4 (super / 2 bytes) and, for IQ4_XS, the 6-bit block scales.
void quantize_super_block(int super, const float* x, const float* qw, uint16_t* dh, uint8_t* q4, uint16_t* scales_h,
                          uint8_t* scales_l) {
  const int8_t* values = iq_data::kIq4nlValues;
  float sigma2 = 0;
  for (int j = 0; j < super; ++j) sigma2 += x[j] * x[j];
  sigma2 *= 2.f / static_cast<float>(super);

  std::memset(q4, 0, static_cast<size_t>(super / 2));
  *dh = fp32_to_fp16(0.f);
  uint8_t L[kQK_K];
  float scales[kQK_K / kQK], weight[kQK];
  float max_scale = 0, amax_scale = 0;
  const int nblocks = super / kQK;
  for (int ib = 0; ib < nblocks; ++ib) {
    const float* xb = x + ib * kQK;
    for (int j = 0; j < kQK; ++j) weight[j] = qw ? qw[ib * kQK + j] * std::sqrt(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
    float amax = 0, max = 0;
    for (int j = 0; j < kQK; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax < fit::kGroupMaxEps) {
      scales[ib] = 0;
      continue;
    }
    float d = -max / values[0];
    float sumqx, sumq2;
    level_sums(values, xb, weight, 1 / d, L + ib * kQK, &sumqx, &sumq2);
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int k = -kTrials; k <= kTrials; ++k) {
      level_sums(values, xb, weight, static_cast<float>(k + values[0]) / max, nullptr, &sumqx, &sumq2);
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    if (std::fabs(d) > amax_scale) {
      amax_scale = std::fabs(d);
      max_scale = d;
    }
  }

  if (nblocks > 1) {
    *scales_h = 0;
    const float d = -max_scale / 32;
    *dh = fp32_to_fp16(d);
    const float id = d != 0 ? 1 / d : 0.f;
    for (int ib = 0; ib < nblocks; ++ib) {
      int l = std::clamp(nearest_int(id * scales[ib]), -32, 31);
      const float dl = d * static_cast<float>(l);
      const float idl = dl != 0 ? 1 / dl : 0.f;
      for (int j = 0; j < kQK; ++j) L[ib * kQK + j] = static_cast<uint8_t>(nearest_level(values, idl * x[ib * kQK + j]));
      l += 32;
      if (ib % 2 == 0) scales_l[ib / 2] = static_cast<uint8_t>(l & 0xF);
      else scales_l[ib / 2] |= static_cast<uint8_t>((l & 0xF) << 4);
      *scales_h |= static_cast<uint16_t>((l >> 4) << (2 * (ib % 8)));
    }
  } else {
    *dh = fp32_to_fp16(scales[0]);
    const float id = scales[0] != 0 ? 1 / scales[0] : 0;
    for (int j = 0; j < super; ++j) L[j] = static_cast<uint8_t>(nearest_level(values, id * x[j]));
  }
  for (int i = 0; i < super / 32; ++i)
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | L[32 * i + 16 + j] << 4);
}

}  // namespace

void quantize_row_iq4_nl(const float* x, void* dst, int64_t n, const float* qw) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockIq4Nl*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i)
    quantize_super_block(kQK, x + kQK * i, qw ? qw + kQK * i : nullptr, &b[i].d, b[i].qs, nullptr, nullptr);
}

void quantize_row_iq4_xs(const float* x, void* dst, int64_t n, const float* qw) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockIq4Xs*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i)
    quantize_super_block(kQK_K, x + kQK_K * i, qw ? qw + kQK_K * i : nullptr, &b[i].d, b[i].qs, &b[i].scales_h,
                         b[i].scales_l);
}

}  // namespace r1::kernels
