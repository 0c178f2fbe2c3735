// Causal multi-head attention over an F16 KV cache. Fewer than 16 new rows (decode):
// flash-decoding kernels (kernels/attention.hpp), keys split across threads; larger
// batches (prefill): tiled online softmax in llama.cpp's float order (attention.cpp).
#pragma once
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
