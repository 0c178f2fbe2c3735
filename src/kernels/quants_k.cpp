// Scalar dequantization of the k-quants (Q2_K..Q6_K, Q8_K) and the Q8_K activation
// quantizer. Layouts: blocks.hpp.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/kernels_ref.hpp"
#include "kernels/quant_util.hpp"

namespace r1::kernels {

void to_float_q2_k(const void* src, float* dst, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* b = static_cast<const BlockQ2_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, s = (e / 32) % 4, l = e % 32;
      const int q = (b[i].qs[32 * h + l] >> (2 * s)) & 3;
      const uint8_t sc = b[i].scales[e / 16];
      dst[e] = d * static_cast<float>(sc & 0xF) * static_cast<float>(q) - dmin * static_cast<float>(sc >> 4);
    }
  }
}

void to_float_q3_k(const void* src, float* dst, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* b = static_cast<const BlockQ3_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = half_to_float(b[i].d);
    float dl[16];
    for (int j = 0; j < 16; ++j) dl[j] = d * static_cast<float>(q3k_scale(b[i].scales, j));
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, s = (e / 32) % 4, l = e % 32;
      const int low = (b[i].qs[32 * h + l] >> (2 * s)) & 3;
      const int high = (b[i].hmask[e % 32] >> (e / 32)) & 1;
      dst[e] = dl[e / 16] * static_cast<float>((low | high << 2) - 4);
    }
  }
}

void to_float_q4_k(const void* src, float* dst, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* b = static_cast<const BlockQ4_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      unpack_scale_min_k4(sb, b[i].scales, &sc, &m);
      const float ds = d * sc, dm = dmin * m;
      const uint8_t* q = b[i].qs + 32 * (sb / 2);
      const int shift = 4 * (sb % 2);
      for (int l = 0; l < 32; ++l) dst[32 * sb + l] = ds * static_cast<float>((q[l] >> shift) & 0xF) - dm;
    }
  }
}

void to_float_q5_k(const void* src, float* dst, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* b = static_cast<const BlockQ5_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      unpack_scale_min_k4(sb, b[i].scales, &sc, &m);
      const float ds = d * sc, dm = dmin * m;
      const uint8_t* q = b[i].qs + 32 * (sb / 2);
      const int shift = 4 * (sb % 2);
      for (int l = 0; l < 32; ++l) {
        const int v = ((q[l] >> shift) & 0xF) | ((b[i].qh[l] >> sb) & 1) << 4;
        dst[32 * sb + l] = ds * static_cast<float>(v) - dm;
      }
    }
  }
}

void to_float_q6_k(const void* src, float* dst, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* b = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = half_to_float(b[i].d);
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, s = (e / 32) % 4, l = e % 32;
      const int low = (b[i].ql[64 * h + 32 * (s & 1) + l] >> (4 * (s / 2))) & 0xF;
      const int high = (b[i].qh[32 * h + l] >> (2 * s)) & 3;
      dst[e] = d * static_cast<float>(b[i].scales[e / 16]) * static_cast<float>((low | high << 4) - 32);
    }
  }
}

void to_float_q8_k(const void* src, float* dst, int64_t n) {
  assert(n % kQK_K == 0);
  const auto* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K)
    for (int j = 0; j < kQK_K; ++j) dst[j] = b[i].d * static_cast<float>(b[i].qs[j]);
}

// llama.cpp's reference Q8_K: with max the signed value of largest magnitude (first on
// ties), iscale = -127/max, q = min(127, nearest(iscale * x)), d = 1/iscale (f32).
void from_float_q8_k(const float* src, void* dst, int64_t n) {
  assert(n % kQK_K == 0);
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < kQK_K; ++j) {
      const float a = std::fabs(src[j]);
      if (a > amax) {
        amax = a;
        max = src[j];
      }
    }
    if (amax == 0.f) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) b[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * src[j])));
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += b[i].qs[16 * g + l];
      b[i].bsums[g] = static_cast<int16_t>(s);
    }
    b[i].d = 1.f / iscale;
  }
}

}  // namespace r1::kernels
