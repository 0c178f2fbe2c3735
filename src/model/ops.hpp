// Element-wise and attention operations of the dense forward pass (scalar, row by
// row). Contracts are per row; callers split rows over threads.
#pragma once
#include <cstdint>

#include "model/config.hpp"

namespace r1::ops {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]   (w may be null: no scale)
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out);

// In-place rotary embedding of one head vector of `head_dim` floats at position
// `pos`; the first `rope_dim` dims rotate. theta_i = pos * freq_scale * base^(-2i/rope_dim)
// / freq_factors[i] (freq_factors may be null). normal style rotates pairs
// (2i, 2i+1); neox rotates (i, i + rope_dim/2).
struct RopeParams {
  int64_t rope_dim;
  float theta_base;
  float freq_scale;
  RopeStyle style;
  const float* freq_factors;  // rope_dim/2 values or null
};
void rope(float* x, int64_t pos, const RopeParams& p);

// out[i] = silu(gate[i]) * up[i]
void swiglu(const float* gate, const float* up, int64_t n, float* out);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

}  // namespace r1::ops
