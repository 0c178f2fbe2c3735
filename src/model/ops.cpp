#include "model/ops.hpp"

#include <cmath>

#include "kernels/ggml_order.hpp"
#include "kernels/ggml_vec.hpp"

namespace r1::ops {

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  // llama.cpp squares in float and accumulates the squares in double (ggml_float).
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float scale = 1.0f / std::sqrt(static_cast<float>(sum / n) + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale;
  }
}

void rope(float* x, int64_t pos, const RopeParams& p) {
  const int64_t half = p.rope_dim / 2;
  const float theta_scale = std::pow(p.theta_base, -2.0f / static_cast<float>(p.rope_dim));
  float theta_extrap = static_cast<float>(pos);
  for (int64_t i = 0; i < half; ++i) {
    const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float theta = p.freq_scale * (theta_extrap / ff);
    const float c = std::cos(theta), s = std::sin(theta);
    int64_t a, b;
    if (p.style == RopeStyle::normal) {
      a = 2 * i;
      b = 2 * i + 1;
    } else {
      a = i;
      b = i + half;
    }
    const float x0 = x[a], x1 = x[b];
    // ggml's rotate_pairs as GCC contracts it for FMA targets: the first product is fused.
    x[a] = std::fma(x0, c, -(x1 * s));
    x[b] = std::fma(x0, s, x1 * c);
    theta_extrap *= theta_scale;
  }
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  // ggml_vec_swiglu_f32: ggml_v_silu on whole vectors, libm expf on the n % lanes tail.
  ggml_swiglu(gate, up, n, out, ggml_lanes());
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace r1::ops
