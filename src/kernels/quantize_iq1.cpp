// IQ1_S and IQ1_M quantizers (ggml-quants.c quantize_row_iq1_s_impl, importance weights
// required; quantize_row_iq1_m_impl, weights optional: x^2 without).
//
// Blocks of 32 take the values scale * (q + delta) with q in {-1, 0, 1} and delta = +-1/8 per
// block. The best split of the block into the three levels is found exactly: the elements
// sorted by value (a stable sort, as glibc's qsort sorts these small arrays), prefix sums of
// w x and w, and every pair of split points scored for both deltas. Groups of 8 whose level
// pattern is not on the 2048-entry grid take the best of their nearest grid entries, after
// which the scale is re-fitted; block scales are 3-bit multiples of max_scale / 15 (stored with
// ggml's 1.125 factor) with the delta sign beside them. IQ1_M does the same on blocks of 16
// with a delta sign per group of 8 (four sign combinations scored per split), 3-bit block
// scales, and a super-block scale re-fitted over the stored values (ggml's 1.1125 factor)
// whose fp16 bits are spread over the top nibbles of the four scale words.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/blocks.hpp"
#include "kernels/iq_grid_search.hpp"
#include "kernels/quantize_iq_common.hpp"
#include "kernels/quantize_weighted.hpp"

namespace r1::kernels {

namespace {

constexpr float kDelta = 0.125f;  // IQ1S_DELTA
constexpr float kEps = 1e-12f;    // GROUP_MAX_EPS_IQ1_S

// iq1_find_best_neighbour2: the neighbour minimising sum w (scale xg[l] - x)^2.
int best_neighbour_iq1(const IqGridSearch& g, uint16_t key, const float* x, const float* w, float scale,
                       const float* xg, int8_t* L) {
  const uint16_t* nb = g.neighbours(key);
  float best = FLT_MAX;
  int entry = nb[1];  // ggml's fallback (a scan that only non-finite scores reach) is not reproduced
  for (int j = 1; j <= nb[0]; ++j) {
    float d2 = 0;
    for (int i = 0; i < 8; ++i) {
      const float q = xg[(g.value(nb[j], i) - 1) / 2];
      const float wi = w[i];
      const float diff = scale * q - x[i];
      d2 += wi * diff * diff;
    }
    if (d2 < best) {
      best = d2;
      entry = nb[j];
    }
  }
  for (int i = 0; i < 8; ++i) L[i] = static_cast<int8_t>((g.value(entry, i) - 1) / 2);
  return entry;
}

}  // namespace

void quantize_row_iq1_s(const float* x, void* dst, int64_t n, const float* qw) {
  const IqGridSearch& g = IqGridSearch::for_type(DType::IQ1_S);
  auto* y = static_cast<BlockIq1S*>(dst);
  const float x_p[3] = {-1 + kDelta, kDelta, 1 + kDelta};
  const float x_m[3] = {-1 - kDelta, -kDelta, 1 - kDelta};
  float scales[8], weight[32], sumx[33], sumw[33];
  int8_t L[32], shifts[8];
  int order[32];
  uint16_t index[4];
  for (int64_t ibl = 0; ibl < n / 256; ++ibl) {
    y[ibl].d = fp32_to_fp16(0.f);
    std::memset(y[ibl].qs, 0, sizeof(y[ibl].qs));
    std::memset(y[ibl].qh, 0, sizeof(y[ibl].qh));
    float max_scale = 0;
    const float* xbl = x + 256 * ibl;
    const float sigma2 = 2 * iq::sum_squares(xbl, 256) / 256;
    for (int ib = 0; ib < 8; ++ib) {
      const float* xb = xbl + 32 * ib;
      const float* w = qw + 256 * ibl + 32 * ib;
      for (int i = 0; i < 32; ++i) weight[i] = w[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
      float mx = std::fabs(xb[0]);
      for (int i = 1; i < 32; ++i) mx = std::max(mx, std::fabs(xb[i]));
      if (mx < kEps) {
        scales[ib] = 0;
        shifts[ib] = 1;
        continue;
      }
      std::iota(order, order + 32, 0);
      std::stable_sort(order, order + 32, [&](int a, int b) { return xb[a] < xb[b]; });
      sumx[0] = sumw[0] = 0;
      for (int j = 0; j < 32; ++j) {
        const int i = order[j];
        sumx[j + 1] = sumx[j] + weight[i] * xb[i];
        sumw[j + 1] = sumw[j] + weight[i];
      }
      float best_score = -FLT_MAX, scale = mx;
      int besti1 = -1, besti2 = -1, best_shift = 0;
      for (int i1 = 0; i1 <= 32; ++i1) {
        for (int i2 = i1; i2 <= 32; ++i2) {
          for (const float* xs : {x_p, x_m}) {
            const float sumqx = (sumx[i1] - sumx[0]) * xs[0] + (sumx[i2] - sumx[i1]) * xs[1] + (sumx[32] - sumx[i2]) * xs[2];
            const float sumq2 = (sumw[i1] - sumw[0]) * xs[0] * xs[0] + (sumw[i2] - sumw[i1]) * xs[1] * xs[1] +
                                (sumw[32] - sumw[i2]) * xs[2] * xs[2];
            if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
              scale = sumqx / sumq2;
              best_score = scale * sumqx;
              besti1 = i1;
              besti2 = i2;
              best_shift = xs == x_p ? 1 : -1;
            }
          }
        }
      }
      if (besti1 < 0 || besti2 < 0 || best_shift == 0) {
        scales[ib] = 0;
        shifts[ib] = 1;
        continue;
      }
      for (int j = 0; j < 32; ++j) L[order[j]] = static_cast<int8_t>(j < besti1 ? 0 : j < besti2 ? 1 : 2);
      if (scale < 0) {
        for (int j = 0; j < 32; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
        scale = -scale;
        best_shift = -best_shift;
      }
      bool all_on_grid = true;
      const float* xx = best_shift == 1 ? x_p : x_m;
      for (int k = 0; k < 4; ++k) {
        uint16_t u = 0;
        for (int j = 0; j < 8; ++j) u |= static_cast<uint16_t>(L[8 * k + j] << (2 * j));
        int e = g.index(u);
        if (e < 0) {
          all_on_grid = false;
          e = best_neighbour_iq1(g, u, xb + 8 * k, weight + 8 * k, scale, xx, L + 8 * k);
        }
        index[k] = static_cast<uint16_t>(e);
      }
      if (!all_on_grid) {
        float sumqx = 0, sumq2 = 0;
        for (int k = 0; k < 4; ++k)
          for (int j = 0; j < 8; ++j) {
            const float wj = weight[8 * k + j];
            const float q = xx[(g.value(index[k], j) - 1) / 2];
            sumqx += wj * q * xb[8 * k + j];
            sumq2 += wj * q * q;
          }
        if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
      }
      uint16_t h = 0;
      for (int k = 0; k < 4; ++k) {
        y[ibl].qs[4 * ib + k] = static_cast<uint8_t>(index[k] & 255);
        h |= static_cast<uint16_t>((index[k] >> 8) << (3 * k));
      }
      y[ibl].qh[ib] = h;
      scales[ib] = scale;
      shifts[ib] = static_cast<int8_t>(best_shift);
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) continue;
    const float d = max_scale / 15;
    y[ibl].d = fp32_to_fp16(d * 1.125f);
    const float id = 1 / d;
    for (int ib = 0; ib < 8; ++ib) {
      int l = std::max(0, std::min(7, nearest_int(0.5f * (id * scales[ib] - 1))));
      if (shifts[ib] == -1) l |= 8;
      y[ibl].qh[ib] = static_cast<uint16_t>(y[ibl].qh[ib] | (l << 12));
    }
  }
}

void quantize_row_iq1_m(const float* x, void* dst, int64_t n, const float* qw) {
  constexpr float kEpsM = 1e-7f;  // GROUP_MAX_EPS_IQ1_M
  const IqGridSearch& g = IqGridSearch::for_type(DType::IQ1_M);
  auto* y = static_cast<BlockIq1M*>(dst);
  const float x_p[3] = {-1 + kDelta, kDelta, 1 + kDelta};
  const float x_m[3] = {-1 - kDelta, -kDelta, 1 - kDelta};
  const uint8_t masks[4] = {0x00, 0x80, 0x08, 0x88};
  // The delta of group k (0, 1) under sign combination c: 0 (+,+), 1 (+,-), 2 (-,+), 3 (-,-).
  auto deltas = [&](int c, int k) { return (k == 0 ? c < 2 : c % 2 == 0) ? x_p : x_m; };
  float scales[16], weight[16];
  int8_t L[16], shifts[16];
  int order[16];
  uint16_t index[2];
  auto block_weights_m = [&](const float* xb, const float* w, float sigma2) {
    if (w) {
      for (int i = 0; i < 16; ++i) weight[i] = w[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
    } else {
      for (int i = 0; i < 16; ++i) weight[i] = xb[i] * xb[i];
    }
  };
  for (int64_t ibl = 0; ibl < n / 256; ++ibl) {
    std::memset(&y[ibl], 0, sizeof(BlockIq1M));
    float max_scale = 0;
    const float* xbl = x + 256 * ibl;
    const float sigma2 = 2 * iq::sum_squares(xbl, 256) / 256;
    for (int ib = 0; ib < 16; ++ib) {
      const float* xb = xbl + 16 * ib;
      block_weights_m(xb, qw ? qw + 256 * ibl + 16 * ib : nullptr, sigma2);
      float mx = std::fabs(xb[0]);
      for (int i = 1; i < 16; ++i) mx = std::max(mx, std::fabs(xb[i]));
      if (mx < kEpsM) {
        scales[ib] = 0;
        shifts[ib] = 0;
        continue;
      }
      std::iota(order, order + 16, 0);
      std::stable_sort(order, order + 16, [&](int a, int b) { return xb[a] < xb[b]; });
      float best_score = -FLT_MAX, scale = mx;
      int besti1 = -1, besti2 = -1, best_k = -1;
      for (int i1 = 0; i1 <= 16; ++i1) {
        for (int i2 = i1; i2 <= 16; ++i2) {
          float sumqx[4] = {0, 0, 0, 0}, sumq2[4] = {0, 0, 0, 0};
          for (int j = 0; j < 16; ++j) {
            const int i = order[j];
            const int lv = j < i1 ? 0 : j < i2 ? 1 : 2;
            const int half = i < 8 ? 0 : 1;
            for (int c = 0; c < 4; ++c) {
              const float q = deltas(c, half)[lv];
              sumqx[c] += weight[i] * q * xb[i];
              sumq2[c] += weight[i] * q * q;
            }
          }
          for (int c = 0; c < 4; ++c) {
            if (sumq2[c] > 0 && sumqx[c] * sumqx[c] > best_score * sumq2[c]) {
              scale = sumqx[c] / sumq2[c];
              best_score = scale * sumqx[c];
              besti1 = i1;
              besti2 = i2;
              best_k = c;
            }
          }
        }
      }
      if (besti1 < 0 || besti2 < 0 || best_k < 0) {
        scales[ib] = 0;
        shifts[ib] = 0;
        continue;
      }
      for (int j = 0; j < 16; ++j) L[order[j]] = static_cast<int8_t>(j < besti1 ? 0 : j < besti2 ? 1 : 2);
      if (scale < 0) {
        for (int j = 0; j < 16; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
        scale = -scale;
        best_k = 3 - best_k;
      }
      bool all_on_grid = true;
      for (int k = 0; k < 2; ++k) {
        uint16_t u = 0;
        for (int j = 0; j < 8; ++j) u |= static_cast<uint16_t>(L[8 * k + j] << (2 * j));
        int e = g.index(u);
        if (e < 0) {
          all_on_grid = false;
          e = best_neighbour_iq1(g, u, xb + 8 * k, weight + 8 * k, scale, deltas(best_k, k), L + 8 * k);
        }
        index[k] = static_cast<uint16_t>(e);
      }
      if (!all_on_grid) {
        float sumqx = 0, sumq2 = 0;
        for (int k = 0; k < 2; ++k)
          for (int j = 0; j < 8; ++j) {
            const float wj = weight[8 * k + j];
            const float q = deltas(best_k, k)[(g.value(index[k], j) - 1) / 2];
            sumqx += wj * q * xb[8 * k + j];
            sumq2 += wj * q * q;
          }
        if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
      }
      y[ibl].qs[2 * ib] = static_cast<uint8_t>(index[0] & 255);
      y[ibl].qs[2 * ib + 1] = static_cast<uint8_t>(index[1] & 255);
      y[ibl].qh[ib] = static_cast<uint8_t>((index[0] >> 8) | ((index[1] >> 8) << 4));
      scales[ib] = scale;
      shifts[ib] = static_cast<int8_t>(best_k);
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) continue;
    uint16_t sc[4] = {0, 0, 0, 0};
    float d = max_scale / 15;
    const float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int ib = 0; ib < 16; ++ib) {
      const int l = std::max(0, std::min(7, nearest_int(0.5f * (id * scales[ib] - 1))));
      sc[ib / 4] = static_cast<uint16_t>(sc[ib / 4] | (l << (3 * (ib % 4))));
      y[ibl].qh[ib] |= masks[shifts[ib]];
      const float* xb = xbl + 16 * ib;
      block_weights_m(xb, qw ? qw + 256 * ibl + 16 * ib : nullptr, sigma2);
      for (int k = 0; k < 2; ++k) {
        const float* xx = deltas(shifts[ib], k);
        const int e = y[ibl].qs[2 * ib + k] + ((y[ibl].qh[ib] << (8 - 4 * k)) & 0x700);
        for (int j = 0; j < 8; ++j) {
          const float wj = weight[8 * k + j];
          const float q = xx[(g.value(e, j) - 1) / 2] * static_cast<float>(2 * l + 1);
          sumqx += wj * q * xb[8 * k + j];
          sumq2 += wj * q * q;
        }
      }
    }
    if (sumq2 > 0) d = sumqx / sumq2;
    const uint16_t s16 = fp32_to_fp16(d * 1.1125f);
    sc[0] = static_cast<uint16_t>(sc[0] | ((s16 & 0x000f) << 12));
    sc[1] = static_cast<uint16_t>(sc[1] | ((s16 & 0x00f0) << 8));
    sc[2] = static_cast<uint16_t>(sc[2] | ((s16 & 0x0f00) << 4));
    sc[3] = static_cast<uint16_t>(sc[3] | (s16 & 0xf000));
    std::memcpy(y[ibl].scales, sc, sizeof(sc));
  }
}

}  // namespace r1::kernels
