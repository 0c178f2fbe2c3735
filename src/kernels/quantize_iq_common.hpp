// Pieces shared by the grid i-quant quantizers (quantize_iq2.cpp, quantize_iq3.cpp), each
// in the float order of the ggml-quants.c code it stands for. Internal to the kernels layer.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/quant_util.hpp"
#include "kernels/types.hpp"

namespace r1::kernels::iq {

// Magnitudes of n (16 or 32) elements and their 7-bit sign indices, one per group of 8.
inline void magnitudes_and_signs(const float* xb, const float* weight, int n, float* xval, uint8_t* signs) {
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

// Magnitudes of n elements and all 8 signs of every group of 8 (IQ2_S, IQ3_S).
inline void magnitudes_all_signs(const float* xb, int n, float* xval, uint8_t* signs) {
  for (int k = 0; k < n / 8; ++k) {
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
      const bool neg = !(xb[8 * k + i] >= 0);
      xval[8 * k + i] = neg ? -xb[8 * k + i] : xb[8 * k + i];
      if (neg) s |= static_cast<uint8_t>(1 << i);
    }
    signs[k] = s;
  }
}

// sum w x q and sum w q^2 over n elements of values 2 L + 1.
inline void fit_sums(const float* weight, const float* xval, const int8_t* L, int n, float* sumqx, float* sumq2) {
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
inline void block_weights(const float* xb, const float* qw, int n, float sigma2, float* weight, float* waux) {
  for (int i = 0; i < n; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
  for (int i = 0; i < n; ++i) waux[i] = std::sqrt(weight[i]);
}

inline float largest(const float* v, int n) {
  float m = v[0];
  for (int i = 1; i < n; ++i) m = std::max(m, v[i]);
  return m;
}

// A negative fit (never expected) is stored as its magnitude with every sign flipped.
inline void make_positive(float* scale, uint8_t* signs, int n_groups) {
  if (*scale >= 0) return;
  *scale = -*scale;
  for (int k = 0; k < n_groups; ++k) signs[k] = static_cast<uint8_t>(~signs[k]) & 127;
}

// 4-bit codes of the block scales against d = max_scale / 31 (stored as fp16 in *d16).
inline void block_scale_codes(const float* scales, int n, float max_scale, uint16_t* d16, int* codes) {
  const float d = max_scale / 31;
  *d16 = fp32_to_fp16(d);
  const float id = 1 / d;
  for (int ib = 0; ib < n; ++ib) codes[ib] = std::max(0, std::min(15, nearest_int(0.5f * (id * scales[ib] - 1))));
}

inline float sum_squares(const float* x, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return s;
}

inline float mean_square(const float* x, int n) { return sum_squares(x, n) / static_cast<float>(n); }


}  // namespace r1::kernels::iq
