// AdamW with decoupled weight decay (matrices only, per ParamSpec::decay), global
// gradient-norm clipping, and a linear warm-up + cosine learning-rate schedule.
//
// Contract: step() is deterministic and independent of the thread count (the
// gradient norm is summed in double over fixed chunks in a fixed order), so a run
// resumed from a checkpoint of (params, m, v, step) continues bit-identically.
#pragma once
#include <cstdint>
#include <vector>

#include "train/params.hpp"

namespace r1 {
class ThreadPool;
}

namespace r1::train {

struct AdamWConfig {
  float lr = 1e-3f;          // peak learning rate
  float min_lr_ratio = 0.1f; // final lr = lr * min_lr_ratio
  int64_t warmup_steps = 100;
  int64_t total_steps = 1000;  // the cosine reaches its end here and stays there
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
  float grad_clip = 1.0f;    // max global L2 norm; <= 0 = no clipping
};

// Learning rate for (0-based) step `step`: linear warm-up from lr/warmup to lr over
// warmup_steps, then cosine from lr down to lr * min_lr_ratio at total_steps.
float lr_at(const AdamWConfig& c, int64_t step);

// L2 norm of g (n floats), summed in double in fixed-size chunks.
double global_norm(const float* g, size_t n, ThreadPool& pool);

class AdamW {
 public:
  AdamW(const AdamWConfig& cfg, const ParamLayout& layout);
  const AdamWConfig& config() const { return cfg_; }
  AdamWConfig& config() { return cfg_; }

  // One update of params from grads (both layout.size() floats). Clips grads in
  // place when their norm exceeds grad_clip. Returns the norm before clipping.
  double step(float* params, float* grads, ThreadPool& pool);

  int64_t steps_done() const { return t_; }
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  const std::vector<float>& m() const { return m_; }
  const std::vector<float>& v() const { return v_; }
  void set_steps_done(int64_t t) { t_ = t; }

 private:
  AdamWConfig cfg_;
  const ParamLayout& layout_;
  std::vector<float> m_, v_;  // first and second moments, same layout as the params
  int64_t t_ = 0;             // completed steps
};

}  // namespace r1::train
