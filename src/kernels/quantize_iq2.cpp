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
#include "kernels/iq_grid_search.hpp"
#include "kernels/quant_fit.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/quantize_weighted.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {

namespace {

constexpr int kMaxQ = 3;  // levels 0..2 (values 1, 3, 5)

// Magnitudes of n (16 or 32) elements and their 7-bit sign indices, one per group of 8.
void magnitudes_and_signs(const float* xb, const float* weight, int n, float* xval, uint8_t* signs) {
  for (int k = 0; k < n / 8; ++k) {
    int nflip = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
      if (xb[8 * k + i] >= 0) {
        xval[8 * k + i] = xb[8 * k + i];
      } else {
        xval[8 * k + i] = -xb[8 * k + i];
        ++nflip;
        s |= static_cast<uint8_t>(1 << i);
      }
    }
    if (nflip % 2) {
      int imin = 0;
      float mn = weight[8 * k] * xb[8 * k] * xb[8 * k];
      for (int i = 1; i < 8; ++i) {
        const float ax = weight[8 * k + i] * xb[8 * k + i] * xb[8 * k + i];
        if (ax < mn) {
          mn = ax;
          imin = i;
        }
      }
      xval[8 * k + imin] = -xval[8 * k + imin];
      s ^= static_cast<uint8_t>(1 << imin);
    }
    signs[k] = s & 127;
  }
}

// Levels of one group of 8 at inverse scale id, clamped to 0..2; returns the key.
uint16_t group_levels(const float* xval, float id, int8_t* L) {
  uint16_t u = 0;
  for (int i = 0; i < 8; ++i) {
    const int l = std::max(0, std::min(kMaxQ - 1, nearest_int(0.5f * (id * xval[i] - 1))));
    L[i] = static_cast<int8_t>(l);
    u |= static_cast<uint16_t>(l << (2 * i));
  }
  return u;
}

uint16_t key_of(const int8_t* L) {
  uint16_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<uint16_t>(L[i] << (2 * i));
  return u;
}

// sum w x q and sum w q^2 over n elements of values 2 L + 1.
void fit_sums(const float* weight, const float* xval, const int8_t* L, int n, float* sumqx, float* sumq2) {
  float a = 0, b = 0;
  for (int i = 0; i < n; ++i) {
    const float w = weight[i];
    const float q = static_cast<float>(2 * L[i] + 1);
    a += w * xval[i] * q;
    b += w * q * q;
  }
  *sumqx = a;
  *sumq2 = b;
}

// Weights of a block: qw * sqrt(sigma2 + x^2), and their square roots for the neighbour search.
void block_weights(const float* xb, const float* qw, int n, float sigma2, float* weight, float* waux) {
  for (int i = 0; i < n; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
  for (int i = 0; i < n; ++i) waux[i] = std::sqrt(weight[i]);
}

float largest(const float* v, int n) {
  float m = v[0];
  for (int i = 1; i < n; ++i) m = std::max(m, v[i]);
  return m;
}

// A negative fit (never expected) is stored as its magnitude with every sign flipped.
void make_positive(float* scale, uint8_t* signs, int n_groups) {
  if (*scale >= 0) return;
  *scale = -*scale;
  for (int k = 0; k < n_groups; ++k) signs[k] = static_cast<uint8_t>(~signs[k]) & 127;
}

// 4-bit codes of the block scales against d = max_scale / 31 (stored as fp16 in *d16).
void block_scale_codes(const float* scales, int n, float max_scale, uint16_t* d16, int* codes) {
  const float d = max_scale / 31;
  *d16 = fp32_to_fp16(d);
  const float id = 1 / d;
  for (int ib = 0; ib < n; ++ib) codes[ib] = std::max(0, std::min(15, nearest_int(0.5f * (id * scales[ib] - 1))));
}

float mean_square(const float* x, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return s / static_cast<float>(n);
}

}  // namespace

void quantize_row_iq2_xxs(const float* x, void* dst, int64_t n, const float* qw) {
  const IqGridSearch& g = IqGridSearch::for_type(DType::IQ2_XXS);
  auto* y = static_cast<BlockIq2Xxs*>(dst);
  float scales[8], weight[32], xval[32], waux[32];
  int8_t L[32], Laux[32];
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
      float best = 0;
      for (int is = -6; is <= 6; ++is) {
        const float id = (2 * kMaxQ - 1 + static_cast<float>(is) * 0.1f) / eff_max;
        const float this_scale = 1 / id;
        for (int k = 0; k < 4; ++k) {
          const uint16_t u = group_levels(xval + 8 * k, id, Laux + 8 * k);
          if (g.index(u) < 0) g.best_neighbour(u, xval + 8 * k, waux + 8 * k, this_scale, Laux + 8 * k);
        }
        float sumqx, sumq2;
        fit_sums(weight, xval, Laux, 32, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
          scale = sumqx / sumq2;
          best = scale * sumqx;
          std::memcpy(L, Laux, 32);
        }
      }
      if (scale > 0) {
        const float id = 1 / scale;
        for (int k = 0; k < 4; ++k) {
          const uint16_t u = group_levels(xval + 8 * k, id, L + 8 * k);
          int e = g.index(u);
          if (e < 0) e = g.best_neighbour(u, xval + 8 * k, waux + 8 * k, scale, L + 8 * k);
          for (int i = 0; i < 8; ++i) L[8 * k + i] = static_cast<int8_t>((g.value(e, i) - 1) / 2);
        }
        float sumqx, sumq2;
        fit_sums(weight, xval, L, 32, &sumqx, &sumq2);
        if (sumq2 > 0) scale = sumqx / sumq2;
      }
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
  int8_t L[16], Laux[16];
  bool on_grid[2], on_grid_aux[2];
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
      float best = 0;
      float scale = mx / (2 * kMaxQ - 1);
      on_grid[0] = on_grid[1] = true;
      for (int is = -9; is <= 9; ++is) {
        const float id = (2 * kMaxQ - 1 + static_cast<float>(is) * 0.1f) / mx;
        const float this_scale = 1 / id;
        for (int k = 0; k < 2; ++k) {
          const uint16_t u = group_levels(xval + 8 * k, id, Laux + 8 * k);
          on_grid_aux[k] = g.index(u) >= 0;
          if (!on_grid_aux[k]) g.best_neighbour(u, xval + 8 * k, waux + 8 * k, this_scale, Laux + 8 * k);
        }
        float sumqx, sumq2;
        fit_sums(weight, xval, Laux, 16, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
          scale = sumqx / sumq2;
          best = scale * sumqx;
          std::memcpy(L, Laux, 16);
          on_grid[0] = on_grid_aux[0];
          on_grid[1] = on_grid_aux[1];
        }
      }
      if ((!on_grid[0] || !on_grid[1]) && scale > 0) {
        const float id = 1 / scale;
        for (int k = 0; k < 2; ++k) {
          if (on_grid[k]) continue;
          const uint16_t u = group_levels(xval + 8 * k, id, L + 8 * k);
          if (g.index(u) < 0) g.best_neighbour(u, xval + 8 * k, waux + 8 * k, scale, L + 8 * k);
        }
        float sumqx, sumq2;
        fit_sums(weight, xval, L, 16, &sumqx, &sumq2);
        if (sumq2 > 0) scale = sumqx / sumq2;
      }
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

}  // namespace r1::kernels
