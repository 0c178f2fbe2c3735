// Causal multi-head attention over an F16 KV cache. Fewer than 16 new rows (decode):
// flash-decoding kernels (kernels/attention.hpp), keys split across threads; larger
// batches (prefill): tiled online softmax in llama.cpp's float order (attention.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

namespace r1 {

class ThreadPool;

struct AttentionShape {
  int64_t n_head;     // query heads
  int64_t n_head_kv;  // key/value heads (GQA: n_head is a multiple)
  int64_t head_dim;
  float scale;        // usually 1/sqrt(head_dim)
};

// For each new token t < n_tokens at absolute position pos0 + t and each head h:
//   out[t, h, :] = sum_{j <= pos0 + t} softmax_j(scale * q[t,h,:] . K[j, kvh, :]) V[j, kvh, :]
// with kvh = h / (n_head / n_head_kv). q: (n_tokens, n_head * head_dim) floats;
// k_cache/v_cache: rows of n_head_kv * head_dim halves, row j at k_cache + j * kv_dim,
// already holding positions 0 .. pos0 + n_tokens - 1. out: like q.
void attention_f16(const AttentionShape& s, const float* q, int64_t n_tokens, int64_t pos0,
                   const uint16_t* k_cache, const uint16_t* v_cache, float* out, ThreadPool& pool);

}  // namespace r1

// The training pair (blocks/backprop.hpp): causal GQA over packed sequences, softmax rows
// saved for the backward pass.
namespace r1::train {

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

}  // namespace r1::train
