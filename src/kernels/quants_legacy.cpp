// Scalar conversions for the plain float types and the 32-element legacy blocks
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1): dequantization and quantization.
#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/kernels_ref.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {

namespace {

// Largest |x| of a block and the signed value that has it (first one on ties).
struct AbsMax {
  float amax = 0.f;
  float max = 0.f;
};
AbsMax abs_max(const float* x, int n) {
  AbsMax r;
  for (int j = 0; j < n; ++j) {
    const float a = std::fabs(x[j]);
    if (a > r.amax) {
      r.amax = a;
      r.max = x[j];
    }
  }
  return r;
}

void min_max(const float* x, int n, float* mn, float* mx) {
  *mn = FLT_MAX;
  *mx = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    *mn = std::min(*mn, x[j]);
    *mx = std::max(*mx, x[j]);
  }
}

uint8_t low_nibble(const uint8_t* qs, int j) { return j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4); }

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// 32 values of 0..15 into the nibble layout of Q4_0 / Q4_1 / Q5_x.
void pack_nibbles(const int* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0xF) | (q[j + 16] & 0xF) << 4);
}
// Bit 4 of 32 values into a little-endian 32-bit mask.
void pack_high_bits(const int* q, uint8_t* qh) {
  uint32_t h = 0;
  for (int j = 0; j < 32; ++j) h |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &h, 4);
}

}  // namespace

// ---------------------------------------------------------------- plain floats

void to_float_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, sizeof(float) * n); }
void from_float_f32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, sizeof(float) * n); }

void to_float_f16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float(h[i]);
}
void from_float_f16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}

void to_float_bf16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bits_to_float(static_cast<uint32_t>(h[i]) << 16);
}
void from_float_bf16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}

// ---------------------------------------------------------------- dequantization

void to_float_q4_0(const void* src, float* dst, int64_t n) {
  assert(n % kQK == 0);
  const auto* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(low_nibble(b[i].qs, j) - 8) * d;
  }
}

void to_float_q4_1(const void* src, float* dst, int64_t n) {
  assert(n % kQK == 0);
  const auto* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = half_to_float(b[i].d), m = half_to_float(b[i].m);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(low_nibble(b[i].qs, j)) * d + m;
  }
}

void to_float_q5_0(const void* src, float* dst, int64_t n) {
  assert(n % kQK == 0);
  const auto* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = half_to_float(b[i].d);
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < kQK; ++j) {
      const int q = low_nibble(b[i].qs, j) | static_cast<int>((qh >> j) & 1) << 4;
      dst[j] = static_cast<float>(q - 16) * d;
    }
  }
}

void to_float_q5_1(const void* src, float* dst, int64_t n) {
  assert(n % kQK == 0);
  const auto* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = half_to_float(b[i].d), m = half_to_float(b[i].m);
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < kQK; ++j) {
      const int q = low_nibble(b[i].qs, j) | static_cast<int>((qh >> j) & 1) << 4;
      dst[j] = static_cast<float>(q) * d + m;
    }
  }
}

void to_float_q8_0(const void* src, float* dst, int64_t n) {
  assert(n % kQK == 0);
  const auto* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void to_float_q8_1(const void* src, float* dst, int64_t n) {
  assert(n % kQK == 0);
  const auto* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

// ---------------------------------------------------------------- quantization

// d = -max/8 (max: the signed value of largest magnitude), q = clamp(floor(x/d + 8.5), 0, 15).
void from_float_q4_0(const float* src, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    const AbsMax am = abs_max(src, kQK);
    const float d = am.max / -8.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = fp32_to_fp16(d);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = std::min(15, static_cast<int>(src[j] * id + 8.5f));
    pack_nibbles(q, b[i].qs);
  }
}

// d = (max - min)/15, m = min, q = clamp(floor((x - min)/d + 0.5), 0, 15).
void from_float_q4_1(const float* src, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    float mn, mx;
    min_max(src, kQK, &mn, &mx);
    const float d = (mx - mn) / 15.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = fp32_to_fp16(d);
    b[i].m = fp32_to_fp16(mn);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = std::min(15, static_cast<int>((src[j] - mn) * id + 0.5f));
    pack_nibbles(q, b[i].qs);
  }
}

// d = -max/16, q = clamp(floor(x/d + 16.5), 0, 31).
void from_float_q5_0(const float* src, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    const AbsMax am = abs_max(src, kQK);
    const float d = am.max / -16.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = fp32_to_fp16(d);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = std::min(31, static_cast<int>(src[j] * id + 16.5f));
    pack_nibbles(q, b[i].qs);
    pack_high_bits(q, b[i].qh);
  }
}

// d = (max - min)/31, m = min, q = clamp(floor((x - min)/d + 0.5), 0, 31).
void from_float_q5_1(const float* src, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    float mn, mx;
    min_max(src, kQK, &mn, &mx);
    const float d = (mx - mn) / 31.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = fp32_to_fp16(d);
    b[i].m = fp32_to_fp16(mn);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = std::min(31, static_cast<int>((src[j] - mn) * id + 0.5f));
    pack_nibbles(q, b[i].qs);
    pack_high_bits(q, b[i].qh);
  }
}

namespace {
// Shared by Q8_0 and Q8_1: returns the float scale d; fills qs and *sum.
float quantize_q8_block(const float* x, int8_t* qs, int* sum) {
  float amax = 0.f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.f;
  const float id = amax != 0.f ? 127.f / amax : 0.f;
  int s = 0;
  for (int j = 0; j < kQK; ++j) {
    const int q = std::clamp(nearest_int(x[j] * id), -128, 127);
    qs[j] = static_cast<int8_t>(q);
    s += q;
  }
  *sum = s;
  return d;
}
}  // namespace

void from_float_q8_0(const float* src, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    int sum;
    b[i].d = fp32_to_fp16(quantize_q8_block(src, b[i].qs, &sum));
  }
}

void from_float_q8_1(const float* src, void* dst, int64_t n) {
  assert(n % kQK == 0);
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    int sum;
    const float d = quantize_q8_block(src, b[i].qs, &sum);
    b[i].d = fp32_to_fp16(d);
    b[i].s = fp32_to_fp16(d * static_cast<float>(sum));
  }
}

}  // namespace r1::kernels
