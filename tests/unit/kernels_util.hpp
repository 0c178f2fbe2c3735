// Helpers shared by the kernels unit tests (tests/unit/kernels_*.cpp).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/dispatch.hpp"
#include "kernels/types.hpp"

namespace r1::test {

// Deterministic N(0, sigma) samples.
inline std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Deterministic U(lo, hi) samples.
inline std::vector<float> uniform(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline uint16_t half_bits(float f) { return fp32_to_fp16(f); }

inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Quantizes n floats with `t` (whose from_float must exist) into a new byte buffer.
inline std::vector<uint8_t> quantize(const TypeTraits& t, const float* x, int64_t n) {
  std::vector<uint8_t> out(row_bytes(t.type, n));
  t.from_float(x, out.data(), n);
  return out;
}
inline std::vector<float> dequantize(const TypeTraits& t, const void* q, int64_t n) {
  std::vector<float> out(n);
  t.to_float(q, out.data(), n);
  return out;
}

inline double dot_double(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}
inline double abs_dot_double(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(a[i]) * b[i]);
  return s;
}

// Every ISA this build and CPU can run (always includes kScalar).
inline std::vector<Isa> available_isas() {
  std::vector<Isa> v;
  for (Isa isa : kAllIsas)
    if (isa_available(isa)) v.push_back(isa);
  return v;
}

// Weight types with a vec_dot, and every type with a dequantizer.
inline const std::vector<DType>& weight_types() {
  static const std::vector<DType> v = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,
                                       DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                                       DType::Q4_K, DType::Q5_K, DType::Q6_K};
  return v;
}
// The codebook types: weights only (no quantizer), made with fill_random_blocks.
inline const std::vector<DType>& iquant_types() {
  static const std::vector<DType> v = {DType::IQ1_S,  DType::IQ1_M, DType::IQ2_XXS, DType::IQ2_XS, DType::IQ2_S,
                                       DType::IQ3_XXS, DType::IQ3_S, DType::IQ4_NL,  DType::IQ4_XS};
  return v;
}

}  // namespace r1::test
