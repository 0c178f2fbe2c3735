// The training pair of a linear layer (llm.c style, contracts in blocks/backprop.hpp):
// matmul_forward / matmul_backward over float or double parameters. The engine's products
// of the same layers are kernels/matmul_ops.hpp, on the planned (quantized) weights; the
// float path here uses the same F32 kernels.
#pragma once
#include <cstdint>
#include <vector>

namespace r1 {
class ThreadPool;
}

namespace r1::train {

// out[t, o] = sum_c x[t, c] * w[o, c] + b[o]   (w: (OC, C); b may be null)
template <class T>
void matmul_forward(T* out, const T* x, const T* w, const T* b, int64_t n, int64_t C, int64_t OC, ThreadPool* pool);
// Reusable buffers of the fast float backward (transposed copies); optional.
struct MatmulScratch {
  std::vector<float> a, b, c;
};
// dx (may be null: not needed), dw, db (may be null) accumulate.
template <class T>
void matmul_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, int64_t n, int64_t C, int64_t OC,
                     ThreadPool* pool, MatmulScratch* scratch = nullptr);

}  // namespace r1::train
