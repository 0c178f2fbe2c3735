// IQ3_XXS and IQ3_S quantizers (ggml-quants.c quantize_row_iq3_xxs_impl(256) and
// quantize_row_iq3_s_impl(32); importance weights optional: x^2 without).
//
// Blocks of 32 in groups of 4: each group stores 4 magnitudes as one entry of the 3-bit
// grid (256 entries for XXS, 512 for S); signs per 8 elements (XXS: 7 bits with the parity
// trick of IQ2_XXS; S: all 8). Trial inverse scales (15 + 0.2 k) / max, k in -15..15 (XXS)
// or -9..9 (S), the best weighted least-squares candidate, a re-fit of the off-grid groups
// (XXS) or of every group (S), then 4-bit block scales against max_scale / 31, stored with
// ggml's fudge factors (1.0125 XXS, 1.033 S).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/iq_grid_fit.hpp"
#include "kernels/iq_grid_search.hpp"
#include "kernels/quant_fit.hpp"
#include "kernels/quantize_iq_common.hpp"
#include "kernels/quantize_weighted.hpp"

namespace r1::kernels {

using namespace iq;

namespace {

constexpr int kMaxQ = 8;  // levels 0..7 (values 1, 3, ..., 15)

constexpr GridFit kFitXxs{32, 4, 3, kMaxQ, 15, 0.2f, true, false, false};
constexpr GridFit kFitS{32, 4, 3, kMaxQ, 9, 0.2f, false, false, true};

uint16_t key4_of(const int8_t* L) { return grid_key(L, 4, 3); }

void iq3_weights(const float* xb, const float* qw, float sigma2, float* weight, float* waux) {
  if (qw) {
    block_weights(xb, qw, 32, sigma2, weight, waux);
    return;
  }
  for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
  for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
}

}  // namespace

void quantize_row_iq3_xxs(const float* x, void* dst, int64_t n, const float* qw) {
  constexpr float kEps = 1e-8f;  // ggml's GROUP_MAX_EPS_IQ3_XXS
  const IqGridSearch& g = IqGridSearch::for_type(DType::IQ3_XXS);
  auto* y = static_cast<BlockIq3Xxs*>(dst);
  float scales[8], weight[32], xval[32], waux[32];
  int8_t L[32];
  uint8_t signs[4];
  uint8_t q3[96];
  for (int64_t ibl = 0; ibl < n / 256; ++ibl) {
    y[ibl].d = fp32_to_fp16(0.f);
    std::memset(q3, 0, sizeof(q3));
    uint8_t* grid_bytes = q3;
    uint8_t* words = q3 + 64;  // 8 little-endian u32: signs and scale per block
    float max_scale = 0;
    const float* xbl = x + 256 * ibl;
    const float sigma2 = 2 * sum_squares(xbl, 256) / 256;
    uint32_t sas[8] = {};
    for (int ib = 0; ib < 8; ++ib) {
      const float* xb = xbl + 32 * ib;
      iq3_weights(xb, qw ? qw + 256 * ibl + 32 * ib : nullptr, sigma2, weight, waux);
      magnitudes_and_signs(xb, weight, 32, xval, signs);
      const float mx = largest(xval, 32);
      std::memset(L, 0, 32);
      if (mx < kEps) {
        scales[ib] = 0;
        continue;
      }
      float scale = fit_grid_block(g, kFitXxs, xval, weight, waux, mx, mx / (2 * kMaxQ - 1), L);
      make_positive(&scale, signs, 4);
      for (int k = 0; k < 8; ++k) grid_bytes[8 * ib + k] = static_cast<uint8_t>(g.index(key4_of(L + 4 * k)));
      sas[ib] = signs[0] | (signs[1] << 7) | (signs[2] << 14) | (static_cast<uint32_t>(signs[3]) << 21);
      scales[ib] = scale;
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) {
      std::memset(y[ibl].qs, 0, sizeof(y[ibl].qs));
      continue;
    }
    int codes[8];
    block_scale_codes(scales, 8, max_scale, &y[ibl].d, codes);
    y[ibl].d = fp32_to_fp16(max_scale / 31 * 1.0125f);
    for (int ib = 0; ib < 8; ++ib) sas[ib] |= static_cast<uint32_t>(codes[ib]) << 28;
    std::memcpy(words, sas, sizeof(sas));
    std::memcpy(y[ibl].qs, q3, sizeof(q3));
  }
}

void quantize_row_iq3_s(const float* x, void* dst, int64_t n, const float* qw) {
  const IqGridSearch& g = IqGridSearch::for_type(DType::IQ3_S);
  auto* y = static_cast<BlockIq3S*>(dst);
  float scales[8], weight[32], xval[32], waux[32];
  int8_t L[32];
  uint8_t signs[4];
  for (int64_t ibl = 0; ibl < n / 256; ++ibl) {
    std::memset(&y[ibl], 0, sizeof(BlockIq3S));
    y[ibl].d = fp32_to_fp16(0.f);
    float max_scale = 0;
    const float* xbl = x + 256 * ibl;
    const float sigma2 = 2 * sum_squares(xbl, 256) / 256;
    // ggml advances its qs / signs write positions only after a non-zero block, so the
    // blocks after an all-zero one are stored one slot early (the high index bits are not
    // shifted). Reproduced as is: files must be the same bytes.
    int slot = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const float* xb = xbl + 32 * ib;
      iq3_weights(xb, qw ? qw + 256 * ibl + 32 * ib : nullptr, sigma2, weight, waux);
      magnitudes_all_signs(xb, 32, xval, signs);
      const float mx = largest(xval, 32);
      std::memset(L, 0, 32);
      if (!mx) {
        scales[ib] = 0;
        continue;
      }
      float scale = fit_grid_block(g, kFitS, xval, weight, waux, mx, mx / (2 * kMaxQ - 1), L);
      if (scale < 0) {
        scale = -scale;
        for (int k = 0; k < 4; ++k) signs[k] = static_cast<uint8_t>(~signs[k]);
      }
      for (int k = 0; k < 8; ++k) {
        const int e = g.index(key4_of(L + 4 * k));
        y[ibl].qs[8 * slot + k] = static_cast<uint8_t>(e & 255);
        y[ibl].qh[(8 * ib + k) / 8] |= static_cast<uint8_t>((e >> 8) << ((8 * ib + k) % 8));
      }
      std::memcpy(y[ibl].signs + 4 * slot, signs, 4);
      ++slot;
      scales[ib] = scale;
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) continue;
    int codes[8];
    block_scale_codes(scales, 8, max_scale, &y[ibl].d, codes);
    y[ibl].d = fp32_to_fp16(max_scale / 31 * 1.033f);
    for (int ib = 0; ib < 8; ib += 2) y[ibl].scales[ib / 2] = static_cast<uint8_t>(codes[ib] | (codes[ib + 1] << 4));
  }
}

}  // namespace r1::kernels
