// Multi-head latent attention in absorbed form over the MLA cache (F32 math; only
// the cache is F16, as llama.cpp's tiled flash-attention path computes it).
//
// For each new token t < n_tokens at position pos0 + t and head h:
//   s_j = scale * q[t,h,:] . K_j          for j <= pos0 + t, K_j = cache row j
//                                         (kv_lora_rank latent, then qk_rope rope key)
//   out[t,h,:] = sum_j softmax(s)_j * K_j[0 : kv_lora_rank]     (V is the latent)
// q: (n_tokens, n_head, kv_lora_rank + qk_rope) floats (absorbed q_nope, then roped q_pe).
// out: (n_tokens, n_head, kv_lora_rank). The cache must hold rows 0 .. pos0 + n_tokens - 1.
// All heads share the cache rows (one latent per token), so keys are converted to
// float once per call and visited in blocks by every head.
#pragma once
#include <cstdint>
#include <vector>

namespace r1 {

class ThreadPool;

struct MlaShape {
  int64_t n_head;
  int64_t kv_lora_rank;
  int64_t qk_rope;
  float scale;
};

struct MlaScratch {
  std::vector<float> keys;                   // converted cache rows
  std::vector<std::vector<float>> per_thread;
};

void mla_attention(const MlaShape& s, const float* q, int64_t n_tokens, int64_t pos0, const uint16_t* rows,
                   float* out, ThreadPool& pool, MlaScratch& scratch);

}  // namespace r1
