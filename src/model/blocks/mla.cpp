#include "model/blocks/mla.hpp"

#include <algorithm>
#include <cmath>

#include "base/thread_pool.hpp"
#include "kernels/types.hpp"

namespace r1 {

namespace {

constexpr int64_t kKeyBlock = 64;  // keys visited by every head of a work item before moving on

float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

void mla_attention(const MlaShape& s, const float* q, int64_t n_tokens, int64_t pos0, const uint16_t* rows,
                   float* out, ThreadPool& pool, MlaScratch& scratch) {
  const int64_t R = s.kv_lora_rank, D = s.kv_lora_rank + s.qk_rope, H = s.n_head;
  const int64_t n_keys_all = pos0 + n_tokens;

  // Keys to float once (shared by all heads).
  scratch.keys.resize(static_cast<size_t>(n_keys_all * D));
  float* keys = scratch.keys.data();
  pool.parallel_for(n_keys_all, [&](int64_t j0, int64_t j1, int) {
    for (int64_t i = j0 * D; i < j1 * D; ++i) keys[i] = fp16_to_fp32(rows[i]);
  }, 16);

  // Work items: (token, chunk of heads); enough chunks to keep every thread busy in decode.
  const int nt = pool.size();
  const int64_t chunks = std::clamp<int64_t>((2 * nt + n_tokens - 1) / n_tokens, 1, H);
  const int64_t per_chunk = (H + chunks - 1) / chunks;
  scratch.per_thread.resize(static_cast<size_t>(nt));
  pool.parallel_for(n_tokens * chunks, [&](int64_t i0, int64_t i1, int thread) {
    std::vector<float>& buf = scratch.per_thread[static_cast<size_t>(thread)];
    buf.resize(static_cast<size_t>(per_chunk * (n_keys_all + R)));
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t t = item / chunks, h0 = (item % chunks) * per_chunk, h1 = std::min(H, h0 + per_chunk);
      if (h0 >= h1) continue;
      const int64_t n_keys = pos0 + t + 1;
      float* scores = buf.data();                       // (heads, n_keys)
      float* acc = buf.data() + per_chunk * n_keys_all; // (heads, R)
      // pass 1: scores, key block by key block
      for (int64_t jb = 0; jb < n_keys; jb += kKeyBlock) {
        const int64_t je = std::min(n_keys, jb + kKeyBlock);
        for (int64_t h = h0; h < h1; ++h) {
          const float* qh = q + (t * H + h) * D;
          float* sc = scores + (h - h0) * n_keys_all;
          for (int64_t j = jb; j < je; ++j) sc[j] = dot(qh, keys + j * D, D) * s.scale;
        }
      }
      // pass 2: softmax per head (exp in float, sum in double)
      for (int64_t h = h0; h < h1; ++h) {
        float* sc = scores + (h - h0) * n_keys_all;
        float mx = -INFINITY;
        for (int64_t j = 0; j < n_keys; ++j) mx = std::max(mx, sc[j]);
        double sum = 0;
        for (int64_t j = 0; j < n_keys; ++j) {
          sc[j] = std::exp(sc[j] - mx);
          sum += sc[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < n_keys; ++j) sc[j] *= inv;
        std::fill(acc + (h - h0) * R, acc + (h - h0 + 1) * R, 0.0f);
      }
      // pass 3: weighted sum of the latents, key block by key block
      for (int64_t jb = 0; jb < n_keys; jb += kKeyBlock) {
        const int64_t je = std::min(n_keys, jb + kKeyBlock);
        for (int64_t h = h0; h < h1; ++h) {
          const float* sc = scores + (h - h0) * n_keys_all;
          float* a = acc + (h - h0) * R;
          for (int64_t j = jb; j < je; ++j) {
            const float p = sc[j];
            const float* k = keys + j * D;
            for (int64_t d = 0; d < R; ++d) a[d] += p * k[d];
          }
        }
      }
      for (int64_t h = h0; h < h1; ++h) std::copy(acc + (h - h0) * R, acc + (h - h0 + 1) * R, out + (t * H + h) * R);
    }
  });
}

}  // namespace r1
