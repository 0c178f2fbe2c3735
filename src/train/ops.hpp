// Forward and backward passes of every op of the dense transformer, llm.c style:
// free functions over plain row-major arrays. T is float (training) or double
// (the gradient tests run the very same code in double against finite
// differences). Rows are tokens: `n` rows, each of `dim` (or C / OC) values.
//
// Contracts shared by all functions:
// - *_backward functions ACCUMULATE (+=) into every gradient they write, except
//   where stated otherwise; callers zero gradient buffers before a step.
// - pool may be null (single-threaded). With a pool, results do not depend on the
//   number of threads: every reduction has a fixed order.
// - Sequences in a batch are packed back to back; seq_start (n_seq + 1 entries,
//   seq_start[0] = 0, seq_start[n_seq] = n) marks where each begins. Attention never
//   crosses a sequence boundary; positions restart at 0 in every sequence.
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.hpp"

namespace r1 {
class ThreadPool;
}

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

// Rotary embedding tables for positions [0, max_pos): theta(p, i) = p * base^(-2i/rope_dim).
struct RopeTable {
  int64_t rope_dim = 0, max_pos = 0;
  RopeStyle style = RopeStyle::neox;  // neox rotates (i, i + rope_dim/2); normal rotates (2i, 2i+1)
  std::vector<float> cos, sin;        // (max_pos, rope_dim / 2)
  RopeTable() = default;
  RopeTable(int64_t rope_dim, int64_t max_pos, float base, RopeStyle style);
};
// In place: rotates the first rope_dim dims of every head (n_head heads of head_dim
// per row) of row t by the angles of position pos[t].
template <class T>
void rope_forward(T* x, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt);
// In place: turns d(loss)/d(rotated) into d(loss)/d(input) (the inverse rotation).
template <class T>
void rope_backward(T* dx, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt);

// Causal grouped-query attention, scale 1/sqrt(head_dim).
// q: (n, n_head * HD); k, v: (n, n_head_kv * HD); out: like q.
// probs: the softmax rows saved for backward, attn_probs_size() floats.
struct AttnShape {
  int64_t n_head, n_head_kv, head_dim;
};
size_t attn_probs_size(const int64_t* seq_start, int64_t n_seq, int64_t n_head);
template <class T>
void attention_forward(T* out, T* probs, const T* q, const T* k, const T* v, const int64_t* seq_start,
                       int64_t n_seq, const AttnShape& s, ThreadPool* pool);
template <class T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* probs, const T* q, const T* k, const T* v,
                        const int64_t* seq_start, int64_t n_seq, const AttnShape& s, ThreadPool* pool);

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
