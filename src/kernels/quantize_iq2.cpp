// IQ2_XXS and IQ2_XS quantizers (ggml-quants.c quantize_row_iq2_xxs_impl /
// quantize_row_iq2_xs_impl; importance weights required, as ggml_quantize_chunk demands).
//
// A super-block of 256 is split into blocks of 32 (XXS) or 16 (XS), each into groups of
// 8. A group stores 8 magnitudes as one entry of the grid and 7 sign bits (the 8th sign
// makes the count of negatives even: when it is odd, the element with the smallest
// weighted square is flipped). Each block tries 13 (XXS) or 19 (XS) inverse scales, maps
// every group to its levels (off-grid keys to the best of their nearest grid entries,
// iq_grid_search.hpp), keeps the candidate with the best weighted least-squares fit, and
// re-fits; block scales are then stored as 4-bit multiples of max_scale / 31.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/iq_grid_fit.hpp"
#include "kernels/iq_grid_search.hpp"
#include "kernels/quantize_iq_common.hpp"
#include "kernels/quant_fit.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/quantize_weighted.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {

using namespace iq;

namespace {

constexpr int kMaxQ = 3;  // levels 0..2 (values 1, 3, 5)

constexpr GridFit kFitXxs{32, 8, 2, kMaxQ, 6, 0.1f, true, true, true};
constexpr GridFit kFit16{16, 8, 2, kMaxQ, 9, 0.1f, true, false, false};  // IQ2_XS, IQ2_S

uint16_t key_of(const int8_t* L) { return grid_key(L, 8, 2); }

}  // namespace

void quantize_row_iq2_xxs(const float* x, void* dst, int64_t n, const float* qw) {
  const IqGridSearch& g = IqGridSearch::for_type(DType::IQ2_XXS);
  auto* y = static_cast<BlockIq2Xxs*>(dst);
  float scales[8], weight[32], xval[32], waux[32];
  int8_t L[32];
  uint8_t signs[4];
  uint32_t q2[16];
  for (int64_t ibl = 0; ibl < n / 256; ++ibl) {
    y[ibl].d = fp32_to_fp16(0.f);
    std::memset(q2, 0, sizeof(q2));
    float max_scale = 0;
    const float* xbl = x + 256 * ibl;
    const float sigma2 = mean_square(xbl, 256);
    for (int ib = 0; ib < 8; ++ib) {
      const float* xb = xbl + 32 * ib;
      block_weights(xb, qw + 256 * ibl + 32 * ib, 32, sigma2, weight, waux);
      magnitudes_and_signs(xb, weight, 32, xval, signs);
      if (largest(xval, 32) < fit::kGroupMaxEps) {
        scales[ib] = 0;
        std::memset(L, 0, 32);
        continue;
      }
      float scale = fit::positive(32, kMaxQ + 1, xval, reinterpret_cast<uint8_t*>(L), weight);
      const float eff_max = scale * kMaxQ;
      if (eff_max <= 0) {
        scales[ib] = 0;
        std::memset(L, 0, 32);
        continue;
      }
      scale = fit_grid_block(g, kFitXxs, xval, weight, waux, eff_max, scale, L);
      make_positive(&scale, signs, 4);
      for (int k = 0; k < 4; ++k) {
        const int e = g.index(key_of(L + 8 * k));
        q2[2 * ib] |= static_cast<uint32_t>(e) << (8 * k);
        q2[2 * ib + 1] |= static_cast<uint32_t>(signs[k]) << (7 * k);
      }
      scales[ib] = scale;
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) {
      std::memset(y[ibl].qs, 0, sizeof(y[ibl].qs));
      continue;
    }
    int codes[8];
    block_scale_codes(scales, 8, max_scale, &y[ibl].d, codes);
    for (int ib = 0; ib < 8; ++ib) q2[2 * ib + 1] |= static_cast<uint32_t>(codes[ib]) << 28;
    std::memcpy(y[ibl].qs, q2, sizeof(q2));
  }
}

void quantize_row_iq2_xs(const float* x, void* dst, int64_t n, const float* qw) {
  const IqGridSearch& g = IqGridSearch::for_type(DType::IQ2_XS);
  auto* y = static_cast<BlockIq2Xs*>(dst);
  float scales[16], weight[16], xval[16], waux[16];
  int8_t L[16];
  uint8_t signs[2];
  uint16_t q2[32];
  for (int64_t ibl = 0; ibl < n / 256; ++ibl) {
    y[ibl].d = fp32_to_fp16(0.f);
    std::memset(q2, 0, sizeof(q2));
    std::memset(y[ibl].scales, 0, sizeof(y[ibl].scales));
    float max_scale = 0;
    const float* xbl = x + 256 * ibl;
    const float sigma2 = mean_square(xbl, 256);
    for (int ib = 0; ib < 16; ++ib) {
      const float* xb = xbl + 16 * ib;
      block_weights(xb, qw + 256 * ibl + 16 * ib, 16, sigma2, weight, waux);
      magnitudes_and_signs(xb, weight, 16, xval, signs);
      const float mx = largest(xval, 16);
      std::memset(L, 0, 16);
      if (mx < fit::kGroupMaxEps) {
        scales[ib] = 0;
        continue;
      }
      float scale = fit_grid_block(g, kFit16, xval, weight, waux, mx, mx / (2 * kMaxQ - 1), L);
      make_positive(&scale, signs, 2);
      for (int k = 0; k < 2; ++k)
        q2[2 * ib + k] = static_cast<uint16_t>(g.index(key_of(L + 8 * k)) | (signs[k] << 9));
      scales[ib] = scale;
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) {
      std::memset(y[ibl].qs, 0, sizeof(y[ibl].qs));
      continue;
    }
    int codes[16];
    block_scale_codes(scales, 16, max_scale, &y[ibl].d, codes);
    for (int ib = 0; ib < 16; ib += 2) y[ibl].scales[ib / 2] = static_cast<uint8_t>(codes[ib] | (codes[ib + 1] << 4));
    std::memcpy(y[ibl].qs, q2, sizeof(q2));
  }
}

// IQ2_S (quantize_row_iq2_s_impl): the IQ2_XS fit on the 1024-entry grid with all 8 signs
// stored (no parity trick), weights optional (0.25 sigma2 + x^2 without), sigma2 twice the
// mean square, and d stored as 0.9875 max_scale / 31.
void quantize_row_iq2_s(const float* x, void* dst, int64_t n, const float* qw) {
  constexpr float kEps = 1e-8f;  // ggml's GROUP_MAX_EPS_IQ2_S
  const IqGridSearch& g = IqGridSearch::for_type(DType::IQ2_S);
  auto* y = static_cast<BlockIq2S*>(dst);
  float scales[16], weight[16], xval[16], waux[16];
  int8_t L[16];
  uint8_t signs[2];
  for (int64_t ibl = 0; ibl < n / 256; ++ibl) {
    std::memset(&y[ibl], 0, sizeof(BlockIq2S));
    y[ibl].d = fp32_to_fp16(0.f);
    float max_scale = 0;
    const float* xbl = x + 256 * ibl;
    const float sigma2 = 2 * sum_squares(xbl, 256) / 256;
    for (int ib = 0; ib < 16; ++ib) {
      const float* xb = xbl + 16 * ib;
      if (qw) {
        block_weights(xb, qw + 256 * ibl + 16 * ib, 16, sigma2, weight, waux);
      } else {
        for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
        for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
      }
      magnitudes_all_signs(xb, 16, xval, signs);
      const float mx = largest(xval, 16);
      std::memset(L, 0, 16);
      if (mx < kEps) {
        scales[ib] = 0;
        continue;
      }
      float scale = fit_grid_block(g, kFit16, xval, weight, waux, mx, mx / (2 * kMaxQ - 1), L);
      if (scale < 0) {
        scale = -scale;
        signs[0] = static_cast<uint8_t>(~signs[0]);
        signs[1] = static_cast<uint8_t>(~signs[1]);
      }
      for (int k = 0; k < 2; ++k) {
        const int e = g.index(key_of(L + 8 * k));
        const int i8 = 2 * ib + k;
        y[ibl].qs[i8] = static_cast<uint8_t>(e & 255);
        y[ibl].qh[i8 / 4] |= static_cast<uint8_t>((e >> 8) << (2 * (i8 % 4)));
        y[ibl].qs[32 + i8] = signs[k];
      }
      scales[ib] = scale;
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) continue;
    int codes[16];
    block_scale_codes(scales, 16, max_scale, &y[ibl].d, codes);
    y[ibl].d = fp32_to_fp16(max_scale / 31 * 0.9875f);
    for (int ib = 0; ib < 16; ib += 2) y[ibl].scales[ib / 2] = static_cast<uint8_t>(codes[ib] | (codes[ib + 1] << 4));
  }
}

}  // namespace r1::kernels
