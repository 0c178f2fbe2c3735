// Vector forms of the element-wise llama.cpp functions of ggml_order.hpp: every output
// element is bit-identical to the scalar function (same operations per element; lanes
// the vector code cannot reproduce, such as exp arguments whose result leaves the normal
// range, are recomputed with the scalar function). `lanes` (8 or 16) selects the ggml
// build being reproduced, as in ggml_order.hpp.
#pragma once
#include <cstdint>

namespace r1 {

// p[j] = ggml_expf(p[j] - shift, lanes) for j < n.
void ggml_expf_shifted(float* p, int64_t n, float shift, int lanes);

// ggml_vec_swiglu_f32: out[i] = ggml_silu(gate[i], lanes) * up[i] for the first
// n - n % lanes elements, gate / (1 + expf(-gate)) * up (libm expf) for the rest.
// out may alias gate or up.
void ggml_swiglu(const float* gate, const float* up, int64_t n, float* out, int lanes);

namespace kernels {
// AVX2 + FMA variants (call only when isa_available(Isa::kAvx2)).
void ggml_expf_shifted_avx2(float* p, int64_t n, float shift, int lanes);
void ggml_swiglu_avx2(const float* gate, const float* up, int64_t n, float* out, int lanes);
}  // namespace kernels

}  // namespace r1
