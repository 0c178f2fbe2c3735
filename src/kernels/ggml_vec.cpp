// Scalar forms and dispatch of ggml_vec.hpp.
#include "kernels/ggml_vec.hpp"

#include <cmath>

#include "kernels/dispatch.hpp"
#include "kernels/ggml_order.hpp"

namespace r1 {

void ggml_expf_shifted(float* p, int64_t n, float shift, int lanes) {
  if (active_isa() == Isa::kAvx2) return kernels::ggml_expf_shifted_avx2(p, n, shift, lanes);
  for (int64_t j = 0; j < n; ++j) p[j] = ggml_expf(p[j] - shift, lanes);
}

void ggml_swiglu(const float* gate, const float* up, int64_t n, float* out, int lanes) {
  if (active_isa() == Isa::kAvx2) return kernels::ggml_swiglu_avx2(gate, up, n, out, lanes);
  const int64_t nv = n - n % lanes;
  for (int64_t i = 0; i < nv; ++i) out[i] = ggml_silu(gate[i], lanes) * up[i];
  for (int64_t i = nv; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace r1
