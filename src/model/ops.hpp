// Element-wise operations of the forward pass in llama.cpp's float order (scalar, row by
// row; contracts are per row, callers split rows over threads), and beside them the
// training pairs of the same operations (namespace train: *_forward saves what
// *_backward needs; contracts in blocks/backprop.hpp).
#pragma once
#include <cstdint>

namespace r1 {
class ThreadPool;
}

namespace r1::ops {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]   (w may be null: no scale)
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out);

// out[i] = silu(gate[i]) * up[i]
void swiglu(const float* gate, const float* up, int64_t n, float* out);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

}  // namespace r1::ops

namespace r1::train {

// out[t, :] = table[ids[t], :]
template <class T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int64_t n, int64_t dim);
// dtable[ids[t], :] += dout[t, :]
template <class T>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int64_t n, int64_t dim);

// out[t, i] = x[t, i] * rstd[t] * w[i], rstd[t] = 1 / sqrt(mean_i x[t, i]^2 + eps) (saved).
template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* x, const T* w, int64_t n, int64_t dim, float eps, ThreadPool* pool);
template <class T>
void rmsnorm_backward(T* dx, T* dw, const T* dout, const T* x, const T* w, const T* rstd, int64_t n, int64_t dim,
                      ThreadPool* pool);

// out[i] = silu(gate[i]) * up[i] over n elements.
template <class T>
void swiglu_forward(T* out, const T* gate, const T* up, int64_t n);
template <class T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t n);

// Log-probabilities of targets. Overwrites logits (n, V) with softmax probabilities
// and writes logp[t] = log softmax(logits[t])[targets[t]] (0 where targets[t] < 0).
template <class T>
void logprob_forward(T* logits, T* logp, const int32_t* targets, int64_t n, int64_t V, ThreadPool* pool);
// WRITES (not accumulates) dlogits[t, v] = dlogp[t] * ([v == targets[t]] - probs[t, v]);
// zero rows where targets[t] < 0. dlogits may alias probs.
template <class T>
void logprob_backward(T* dlogits, const T* probs, const T* dlogp, const int32_t* targets, int64_t n, int64_t V,
                      ThreadPool* pool);

// y[i] += x[i]
template <class T>
void add_inplace(T* y, const T* x, int64_t n);

}  // namespace r1::train
