// Element-wise operations of the forward pass in llama.cpp's float order (scalar, row by
// row). Contracts are per row; callers split rows over threads.
#pragma once
#include <cstdint>

namespace r1::ops {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]   (w may be null: no scale)
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out);

// out[i] = silu(gate[i]) * up[i]
void swiglu(const float* gate, const float* up, int64_t n, float* out);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

}  // namespace r1::ops
