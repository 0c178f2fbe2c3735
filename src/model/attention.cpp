#include "model/attention.hpp"

#include <cmath>
#include <vector>

#include "base/thread_pool.hpp"
#include "kernels/types.hpp"

namespace r1 {

void attention_f16(const AttentionShape& s, const float* q, int64_t n_tokens, int64_t pos0,
                   const uint16_t* k_cache, const uint16_t* v_cache, float* out, ThreadPool& pool) {
  const int64_t HD = s.head_dim, kv_dim = s.n_head_kv * HD, q_dim = s.n_head * HD;
  const int64_t group = s.n_head / s.n_head_kv;
  const int64_t n_ctx_used = pos0 + n_tokens;
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()));
  pool.parallel_for(n_tokens * s.n_head, [&](int64_t begin, int64_t end, int thread) {
    std::vector<float>& buf = scratch[static_cast<size_t>(thread)];
    buf.resize(static_cast<size_t>(n_ctx_used + 2 * HD));
    float* scores = buf.data();
    float* qh = scores + n_ctx_used;
    float* acc = qh + HD;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / s.n_head, h = item % s.n_head, kvh = h / group;
      const int64_t n_keys = pos0 + t + 1;
      // F32 math throughout; only K and V are rounded to half (by the cache). This is
      // what llama.cpp's tiled flash-attention path computes.
      for (int64_t d = 0; d < HD; ++d) qh[d] = q[t * q_dim + h * HD + d];
      float mx = -INFINITY;
      for (int64_t j = 0; j < n_keys; ++j) {
        const uint16_t* k = k_cache + j * kv_dim + kvh * HD;
        float dot = 0;
        for (int64_t d = 0; d < HD; ++d) dot += qh[d] * fp16_to_fp32(k[d]);
        scores[j] = dot * s.scale;
        mx = std::max(mx, scores[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < n_keys; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t d = 0; d < HD; ++d) acc[d] = 0;
      for (int64_t j = 0; j < n_keys; ++j) {
        const uint16_t* v = v_cache + j * kv_dim + kvh * HD;
        const float p = scores[j] * inv;
        for (int64_t d = 0; d < HD; ++d) acc[d] += p * fp16_to_fp32(v[d]);
      }
      float* o = out + t * q_dim + h * HD;
      for (int64_t d = 0; d < HD; ++d) o[d] = acc[d];
    }
  });
}

}  // namespace r1
