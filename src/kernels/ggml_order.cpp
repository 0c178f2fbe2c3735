// Scalar parts of ggml_order.hpp. Each function reproduces, element by element, the
// vector code of ggml-cpu (ggml/src/ggml-cpu/vec.h ggml_v_expf / ggml_v_silu,
// llamafile/sgemm.cpp hsum) with explicit fused multiply-adds where the original has them.
#include "kernels/ggml_order.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace r1 {

namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

int detect_lanes() {
  if (const char* e = std::getenv("R1_GGML_LANES")) {
    const int v = std::atoi(e);
    if (v == 8 || v == 16) return v;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? 16 : 8;
#else
  return 8;
#endif
}

// Range reduction shared by both builds: x = n ln2 + b, n integral, |b| <= ln2 / 2.
struct Reduced {
  float z, n, b, u;
};
[[gnu::always_inline]] inline Reduced reduce(float x) {
  const float r = 0x1.8p23f;
  Reduced v;
  v.z = std::fma(x, 0x1.715476p+0f, r);
  v.n = v.z - r;
  v.b = std::fma(-v.n, 0x1.7f7d1cp-20f, std::fma(-v.n, 0x1.62e4p-1f, x));
  v.u = v.b * v.b;
  return v;
}

// Both exp variants get an FMA clone (x86): std::fma is then one instruction instead of a
// libm call. The code has no a * b + c pattern the compiler could contract differently.
#if defined(__x86_64__)
#define R1_FMA_CLONES [[gnu::target_clones("fma", "default")]]
#else
#define R1_FMA_CLONES
#endif

// AVX-512 build: j ~ exp(b) including the leading 1, then scaled by 2^n (vscalefps:
// one rounding of the exact product j * 2^n); |n| > 192 saturates to 0 or inf.
R1_FMA_CLONES float expf_16(float x) {
  const Reduced v = reduce(x);
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, v.b, 0x1.573e2ep-5f), v.u,
                                    std::fma(0x1.555e66p-3f, v.b, 0x1.fffdb6p-2f)),
                           v.u, std::fma(0x1.ffffecp-1f, v.b, 1.0f));
  if (std::fabs(v.n) > 192) return v.n <= 0 ? 0.0f : INFINITY;
  const int n = static_cast<int>(v.n);
  if (n >= -126 && n <= 127) return j * from_bits(static_cast<uint32_t>(n + 127) << 23);
  return static_cast<float>(std::ldexp(static_cast<double>(j), n));  // exact, then one rounding
}

// AVX2 build: j ~ exp(b) - 1, result k + j k with k = 2^n built from the bits of z;
// |n| > 126 goes through two scale factors, |n| > 192 saturates.
R1_FMA_CLONES float expf_8(float x) {
  const Reduced v = reduce(x);
  const uint32_t e = to_bits(v.z) << 23;
  const float k = from_bits(e + to_bits(1.0f));
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, v.b, 0x1.573e2ep-5f), v.u,
                                    std::fma(0x1.555e66p-3f, v.b, 0x1.fffdb6p-2f)),
                           v.u, 0x1.ffffecp-1f * v.b);
  if (!(std::fabs(v.n) > 126)) return std::fma(j, k, k);
  const uint32_t g = v.n <= 0 ? 0x82000000u : 0u;
  const float s1 = from_bits(g + 0x7f000000u);
  const float s2 = from_bits(e - g);
  if (std::fabs(v.n) > 192) return s1 * s1;
  return std::fma(s2, j, s2) * s1;
}

}  // namespace

int ggml_lanes() {
  static const int lanes = detect_lanes();
  return lanes;
}

float ggml_expf(float x, int lanes) { return lanes == 16 ? expf_16(x) : expf_8(x); }

float ggml_silu(float x, int lanes) { return x / (1.0f + ggml_expf(0.0f - x, lanes)); }

float ggml_hsum(const float* v, int lanes) {
  float h[8];
  if (lanes == 16) {
    for (int i = 0; i < 8; ++i) h[i] = v[i + 8] + v[i];
  } else {
    for (int i = 0; i < 8; ++i) h[i] = v[i];
  }
  float q[4];
  for (int i = 0; i < 4; ++i) q[i] = h[i + 4] + h[i];
  return (q[0] + q[2]) + (q[1] + q[3]);
}

}  // namespace r1
