#include "train/optimizer.hpp"

#include <algorithm>
#include <cmath>

#include "base/thread_pool.hpp"

namespace r1::train {

float lr_at(const AdamWConfig& c, int64_t step) {
  if (c.warmup_steps > 0 && step < c.warmup_steps)
    return c.lr * static_cast<float>(step + 1) / static_cast<float>(c.warmup_steps);
  const int64_t span = std::max<int64_t>(1, c.total_steps - c.warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / static_cast<double>(span));
  const double min_lr = static_cast<double>(c.lr) * c.min_lr_ratio;
  return static_cast<float>(min_lr + 0.5 * (c.lr - min_lr) * (1.0 + std::cos(M_PI * progress)));
}

double global_norm(const float* g, size_t n, ThreadPool& pool) {
  constexpr size_t kChunk = 1 << 14;
  const size_t n_chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(n_chunks, 0.0);
  pool.parallel_for(static_cast<int64_t>(n_chunks), [&](int64_t c0, int64_t c1, int) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      const size_t end = std::min(n, static_cast<size_t>(c + 1) * kChunk);
      for (size_t i = static_cast<size_t>(c) * kChunk; i < end; ++i) s += static_cast<double>(g[i]) * g[i];
      part[static_cast<size_t>(c)] = s;
    }
  });
  double total = 0;
  for (double s : part) total += s;
  return std::sqrt(total);
}

AdamW::AdamW(const AdamWConfig& cfg, const ParamLayout& layout)
    : cfg_(cfg), layout_(layout), m_(layout.size(), 0.0f), v_(layout.size(), 0.0f) {}

double AdamW::step(float* params, float* grads, ThreadPool& pool) {
  const double norm = global_norm(grads, layout_.size(), pool);
  const float clip = cfg_.grad_clip > 0 && norm > cfg_.grad_clip ? static_cast<float>(cfg_.grad_clip / norm) : 1.0f;
  const float lr = lr_at(cfg_, t_);
  ++t_;
  const float b1 = cfg_.beta1, b2 = cfg_.beta2;
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(b1), static_cast<double>(t_)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(b2), static_cast<double>(t_)));
  for (const ParamSpec& s : layout_.specs()) {
    const float wd = s.decay ? cfg_.weight_decay : 0.0f;
    float* p = params + s.offset;
    float* g = grads + s.offset;
    float* m = m_.data() + s.offset;
    float* v = v_.data() + s.offset;
    pool.parallel_for(s.numel(), [&](int64_t i0, int64_t i1, int) {
      for (int64_t i = i0; i < i1; ++i) {
        const float gi = g[i] * clip;
        g[i] = gi;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        const float mhat = m[i] / bc1, vhat = v[i] / bc2;
        p[i] -= lr * (mhat / (std::sqrt(vhat) + cfg_.eps) + wd * p[i]);
      }
    }, 1024);
  }
  return norm;
}

}  // namespace r1::train
