// Importance-weighted quantizers of the legacy types and the k-quants: what llama.cpp's
// ggml_quantize_chunk runs when llama-quantize is given an importance matrix
// (quantize_row_*_impl in ggml-quants.c). The weight of element j of a block is
// qw[j] * sqrt(sigma2 + x[j]^2): the imatrix column importance times a magnitude term,
// sigma2 being the mean square of the row (legacy types) or of the super-block
// (k-quants; twice it for Q3_K..Q5_K). Sub-block scales are then quantized with a
// weighted search too (fit::positive / fit::symmetric), not by the plain max rule of
// the reference quantizers.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/quant_fit.hpp"
#include "kernels/quant_pack.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/quantize_weighted.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {

namespace {

// Sum of x^2 over n values, in order.
float sum_squares(const float* x, int64_t n) {
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += x[j] * x[j];
  return sum;
}
float mean_square(const float* x, int64_t n) { return sum_squares(x, n) / static_cast<float>(n); }

// weight[j] = qw[j] * sqrt(sigma2 + x[j]^2) for n elements; returns their sum.
float importance(const float* x, const float* qw, float sigma2, int n, float* weight) {
  float sum = 0;
  for (int j = 0; j < n; ++j) {
    weight[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
    sum += weight[j];
  }
  return sum;
}

// Packs 32 levels (0..15 or 0..31) as Q4_0/Q4_1 nibbles, and bit 4 into *qh when given.
void pack_legacy(const uint8_t* L, uint8_t* qs, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((L[j] & 0x0F) | (L[j + 16] & 0x0F) << 4);
    qh |= static_cast<uint32_t>((L[j] & 0x10u) >> 4) << j;
    qh |= static_cast<uint32_t>((L[j + 16] & 0x10u) >> 4) << (j + 16);
  }
  if (qh_bytes) std::memcpy(qh_bytes, &qh, 4);
}

// Symmetric legacy block (Q4_0: nmax 8, Q5_0: nmax 16): returns d, levels in L.
float legacy_symmetric(const float* xb, const float* qw, float sigma2, int nmax, uint8_t* L) {
  float weight[kQK];
  importance(xb, qw, sigma2, kQK, weight);
  int8_t l8[kQK];
  const float d = fit::symmetric(kQK, nmax, xb, weight, l8);
  for (int j = 0; j < kQK; ++j) L[j] = static_cast<uint8_t>(l8[j]);
  return d;
}

// Asymmetric legacy block (Q4_1: nmax 15, Q5_1: nmax 31): returns d, *m = min.
float legacy_asymmetric(const float* xb, const float* qw, float sigma2, int nmax, uint8_t* L, float* m) {
  float weight[kQK];
  importance(xb, qw, sigma2, kQK, weight);
  float neg_min;
  const float d = fit::scale_min(kQK, nmax, xb, weight, L, &neg_min, -0.9f, 0.05f, 36, false);
  *m = -neg_min;
  return d;
}

// The Q4_K / Q5_K super-block: 8 weighted (scale, min) fits, their 6-bit codes from
// weighted fits of the scales and of the mins, then the final levels in L.
void weighted_k4(const float* x, const float* qw, int nmax, uint16_t* d, uint16_t* dmin, uint8_t* scales, uint8_t* L) {
  const float sigma2 = 2 * sum_squares(x, kQK_K) / kQK_K;
  float weight[32], sw[8], sc[8], mins[8];
  for (int j = 0; j < 8; ++j) {
    sw[j] = importance(x + 32 * j, qw + 32 * j, sigma2, 32, weight);
    sc[j] = fit::scale_min(32, nmax, x + 32 * j, weight, L + 32 * j, &mins[j], -0.9f, 0.05f, 36, false);
  }
  uint8_t ls[8], lm[8];
  const float d_block = fit::positive(8, 63, sc, ls, sw);
  const float m_block = fit::positive(8, 63, mins, lm, sw);
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::min<uint8_t>(63, ls[j]);
    lm[j] = std::min<uint8_t>(63, lm[j]);
  }
  pack_scale_min_k4(ls, lm, scales);
  *d = fp32_to_fp16(d_block);
  *dmin = fp32_to_fp16(m_block);
  requantize_k4(x, nmax, *d, *dmin, scales, L);
}

}  // namespace

namespace {

// The weighted legacy quantizers differ only in block type, level count and whether the
// block stores a min (Q4_1 / Q5_1) and a fifth bit (Q5_0 / Q5_1).
template <class Block, int kNmax, bool kHasMin, bool kHasHighBit>
void legacy_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  assert(qw && n % kQK == 0);
  auto* b = static_cast<Block*>(dst);
  const float sigma2 = mean_square(x, n);
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    uint8_t L[kQK];
    uint8_t* qh = nullptr;
    if constexpr (kHasHighBit) qh = b[ib].qh;
    if constexpr (kHasMin) {
      float m;
      b[ib].d = fp32_to_fp16(legacy_asymmetric(x + kQK * ib, qw + kQK * ib, sigma2, kNmax, L, &m));
      b[ib].m = fp32_to_fp16(m);
    } else {
      b[ib].d = fp32_to_fp16(legacy_symmetric(x + kQK * ib, qw + kQK * ib, sigma2, kNmax, L));
    }
    pack_legacy(L, b[ib].qs, qh);
  }
}

}  // namespace

void quantize_row_q4_0_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  legacy_weighted<BlockQ4_0, 8, false, false>(x, dst, n, qw);
}
void quantize_row_q5_0_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  legacy_weighted<BlockQ5_0, 16, false, true>(x, dst, n, qw);
}
void quantize_row_q4_1_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  legacy_weighted<BlockQ4_1, 15, true, false>(x, dst, n, qw);
}
void quantize_row_q5_1_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  legacy_weighted<BlockQ5_1, 31, true, true>(x, dst, n, qw);
}

void quantize_row_q8_0_weight(const float* x, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

void quantize_row_q2_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  assert(qw && n % kQK_K == 0);
  auto* b = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K, qw += kQK_K) {
    const float sigma2 = mean_square(x, kQK_K);
    uint8_t L[kQK_K];
    float weight[16], sw[16], sc[16], mins[16];
    for (int j = 0; j < 16; ++j) {
      sw[j] = importance(x + 16 * j, qw + 16 * j, sigma2, 16, weight);
      sc[j] = fit::scale_min(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], -0.9f, 0.05f, 36, false);
    }
    uint8_t ls[16], lm[16];
    const float dm = fit::positive(16, 15, sc, ls, sw);
    const float mm = fit::positive(16, 15, mins, lm, sw);
    b[i].d = fp32_to_fp16(dm);
    b[i].dmin = fp32_to_fp16(mm);
    const float d_all = half_to_float(b[i].d), m_all = half_to_float(b[i].dmin);
    for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<uint8_t>(ls[j] | lm[j] << 4);
    for (int j = 0; j < 16; ++j) {
      const float d = d_all * static_cast<float>(b[i].scales[j] & 0xF);
      if (d == 0.f) continue;
      const float m = m_all * static_cast<float>(b[i].scales[j] >> 4);
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[16 * j + l] + m) / d), 0, 3));
    }
    pack_2bit(L, b[i].qs);
  }
}

void quantize_row_q3_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  assert(qw && n % kQK_K == 0);
  auto* b = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K, qw += kQK_K) {
    const float sigma2 = 2 * sum_squares(x, kQK_K) / kQK_K;
    int8_t L[kQK_K];
    float weight[16], sw[16], sc[16];
    for (int j = 0; j < 16; ++j) {
      sw[j] = importance(x + 16 * j, qw + 16 * j, sigma2, 16, weight);
      sc[j] = fit::symmetric(16, 4, x + 16 * j, weight, L + 16 * j);
    }
    int8_t ls[16];
    const float d_block = fit::symmetric(16, 32, sc, sw, ls);
    int codes[16];
    for (int j = 0; j < 16; ++j) codes[j] = ls[j];
    pack_q3_k_scales(codes, b[i].scales);
    b[i].d = fp32_to_fp16(d_block);
    finish_q3_k(x, L, &b[i]);
  }
}

void quantize_row_q4_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  assert(qw && n % kQK_K == 0);
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K, qw += kQK_K) {
    uint8_t L[kQK_K];
    weighted_k4(x, qw, 15, &b[i].d, &b[i].dmin, b[i].scales, L);
    pack_q4_k_levels(L, &b[i]);
  }
}

void quantize_row_q5_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  assert(qw && n % kQK_K == 0);
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K, qw += kQK_K) {
    uint8_t L[kQK_K];
    weighted_k4(x, qw, 31, &b[i].d, &b[i].dmin, b[i].scales, L);
    pack_q5_k_levels(L, &b[i]);
  }
}

void quantize_row_q6_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  assert(qw && n % kQK_K == 0);
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K, qw += kQK_K) {
    int8_t L[kQK_K];
    float sc[16];
    for (int j = 0; j < 16; ++j) sc[j] = fit::symmetric(16, 32, x + 16 * j, qw + 16 * j, L + 16 * j);
    q6_k_from_scales(x, sc, L, &b[i]);
  }
}

}  // namespace r1::kernels
