// AdamW, gradient clipping and the learning-rate schedule against values
// computed by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "base/thread_pool.hpp"
#include "train/optimizer.hpp"

using namespace r1;
using namespace r1::train;

namespace {
ModelConfig small_cfg() {
  ModelConfig c;
  c.arch = Arch::qwen2;
  c.n_vocab = 3;
  c.n_embd = 2;
  c.n_layer = 1;
  c.n_head = 1;
  c.n_head_kv = 1;
  c.head_dim = 2;
  c.rope.n_dims = 2;
  c.n_ff = 2;
  c.n_ctx_train = 4;
  c.rope.style = RopeStyle::neox;
  return c;
}
}  // namespace

TEST(TrainOptim, Schedule) {
  AdamWConfig c{.lr = 1.0f, .min_lr_ratio = 0.1f, .warmup_steps = 4, .total_steps = 14};
  EXPECT_FLOAT_EQ(lr_at(c, 0), 0.25f);
  EXPECT_FLOAT_EQ(lr_at(c, 3), 1.0f);
  EXPECT_FLOAT_EQ(lr_at(c, 4), 1.0f);                                   // cosine starts at the peak
  EXPECT_NEAR(lr_at(c, 9), 0.1 + 0.5 * 0.9 * (1 + std::cos(M_PI * 0.5)), 1e-6);  // half way: 0.55
  EXPECT_FLOAT_EQ(lr_at(c, 14), 0.1f);
  EXPECT_FLOAT_EQ(lr_at(c, 100), 0.1f);                                  // stays at the floor
  AdamWConfig none{.lr = 2.0f, .min_lr_ratio = 1.0f, .warmup_steps = 0, .total_steps = 10};
  EXPECT_FLOAT_EQ(lr_at(none, 0), 2.0f);
}

TEST(TrainOptim, AdamWFirstStepsByHand) {
  const ModelConfig cfg = small_cfg();
  ParamLayout layout(cfg);
  ThreadPool pool(2);
  AdamWConfig c{.lr = 0.1f, .min_lr_ratio = 1.0f, .warmup_steps = 0, .total_steps = 10, .beta1 = 0.9f,
                .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.5f, .grad_clip = 0.0f};
  AdamW opt(c, layout);
  std::vector<float> p(layout.size(), 2.0f), g(layout.size(), 0.0f);
  const ParamSpec* emb = layout.find("token_embd.weight");     // decayed
  const ParamSpec* norm = layout.find("output_norm.weight");   // not decayed
  ASSERT_TRUE(emb && norm && emb->decay && !norm->decay);
  g[emb->offset] = 3.0f;
  g[norm->offset] = -1.0f;
  opt.step(p.data(), g.data(), pool);
  // Step 1: mhat = g, vhat = g^2, update = lr * (sign(g) + wd * p).
  EXPECT_NEAR(p[emb->offset], 2.0 - 0.1 * (1.0 + 0.5 * 2.0), 1e-6);
  EXPECT_NEAR(p[norm->offset], 2.0 + 0.1, 1e-6);
  EXPECT_NEAR(p[emb->offset + 1], 2.0 - 0.1 * 0.5 * 2.0, 1e-6);  // zero gradient: decay only
  // Step 2 with gradient 1: m = 0.9*0.3+0.1 = 0.37, v = 0.99*0.09+0.01 = 0.0991.
  const double p1 = p[emb->offset];
  std::fill(g.begin(), g.end(), 0.0f);
  g[emb->offset] = 1.0f;
  opt.step(p.data(), g.data(), pool);
  const double mhat = 0.37 / (1 - 0.81), vhat = 0.0991 / (1 - 0.9801);
  EXPECT_NEAR(p[emb->offset], p1 - 0.1 * (mhat / std::sqrt(vhat) + 0.5 * p1), 1e-5);
  EXPECT_EQ(opt.steps_done(), 2);
}

TEST(TrainOptim, ClipsTheGlobalNorm) {
  const ModelConfig cfg = small_cfg();
  ParamLayout layout(cfg);
  ThreadPool pool(1);
  AdamWConfig c{.lr = 0.0f, .warmup_steps = 0, .grad_clip = 1.0f};
  AdamW opt(c, layout);
  std::vector<float> p(layout.size(), 0.0f), g(layout.size(), 0.0f);
  g[0] = 3.0f;
  g[layout.size() - 1] = 4.0f;
  EXPECT_NEAR(global_norm(g.data(), g.size(), pool), 5.0, 1e-12);
  EXPECT_NEAR(opt.step(p.data(), g.data(), pool), 5.0, 1e-12);
  EXPECT_NEAR(g[0], 0.6f, 1e-7);
  EXPECT_NEAR(g[layout.size() - 1], 0.8f, 1e-7);
}
