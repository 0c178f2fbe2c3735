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

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  // ggml_vec_swiglu_f32: ggml_v_silu on whole vectors, libm expf on the n % lanes tail.
  ggml_swiglu(gate, up, n, out, ggml_lanes());
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace r1::ops
