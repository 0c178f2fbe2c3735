// Whole-model gradients of the trainable transformer against central finite
// differences of its loss, for tiny qwen2, qwen3 and llama models (tied and untied
// output), and determinism of forward/backward across thread counts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "train/transformer.hpp"

using namespace r1;
using namespace r1::train;

namespace {

ModelConfig tiny_config(Arch arch, bool tied) {
  ModelConfig c;
  c.arch = arch;
  c.n_vocab = 11;
  c.n_embd = 8;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.head_dim = 4;
  c.rope.n_dims = 4;
  c.n_ff = 12;
  c.n_ctx_train = 16;
  c.rms_eps = 1e-5f;
  c.rope.freq_base = 10000.0f;
  c.rope.style = arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
  c.tied_output = tied;
  return c;
}

Batch tiny_batch() {
  Batch b;
  const std::vector<int32_t> s1 = {1, 5, 3, 9, 2}, s2 = {4, 4, 7, 0, 10, 6, 8};
  const std::vector<uint8_t> p2 = {0, 0, 0, 1, 1, 1, 1};  // a prompt of 3 tokens, then the answer
  b.add_sequence(s1);
  b.add_sequence(s2, p2);
  return b;
}

// Random weights with a larger scale than training init, so the function is far
// from uniform and every gradient is sizeable. Norm weights around 1.
template <class T>
void randomize(TransformerT<T>& m, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.5f);
  for (const ParamSpec& s : m.layout().specs()) {
    T* p = m.params().data() + s.offset;
    for (int64_t i = 0; i < s.numel(); ++i) p[i] = (s.init == Init::ones ? 1.0f : 0.0f) + d(rng);
  }
}

std::vector<double> row_weights(const Batch& b) {
  std::vector<double> w(static_cast<size_t>(b.n()));
  for (size_t t = 0; t < w.size(); ++t) w[t] = 0.5 + 0.1 * static_cast<double>(t % 4);
  return w;
}

// Loss = -sum_t w_t logp_t with fixed per-row weights.
template <class T>
double loss_of(TransformerT<T>& m, const Batch& b, const std::vector<double>& w) {
  const std::vector<T>& lp = m.forward(b);
  double l = 0;
  for (size_t t = 0; t < lp.size(); ++t) l -= w[t] * static_cast<double>(lp[t]);
  return l;
}

template <class T>
std::vector<T> grads_of(TransformerT<T>& m, const Batch& b, const std::vector<double>& w) {
  std::vector<T> dlogp(w.size());
  for (size_t t = 0; t < w.size(); ++t) dlogp[t] = static_cast<T>(-w[t]);
  m.zero_grad();
  m.forward(b);
  m.backward(dlogp);
  return m.grads();
}

void check_model(Arch arch, bool tied) {
  ThreadPool pool(1);
  const Batch b = tiny_batch();
  const std::vector<double> w = row_weights(b);

  // Every parameter of the double model against central differences (h = 1e-5).
  TransformerT<double> md(tiny_config(arch, tied), pool);
  randomize(md, 42);
  const std::vector<double> g = grads_of(md, b, w);
  std::vector<double>& p = md.params();
  int bad = 0;
  for (size_t i = 0; i < p.size() && bad < 10; ++i) {
    const double save = p[i], h = 1e-5;
    p[i] = save + h;
    const double lp = loss_of(md, b, w);
    p[i] = save - h;
    const double lm = loss_of(md, b, w);
    p[i] = save;
    const double fd = (lp - lm) / (2 * h);
    if (std::fabs(fd - g[i]) > 1e-6 * std::max(1.0, std::fabs(fd))) {
      ++bad;
      ADD_FAILURE() << arch_name(arch) << (tied ? " tied" : "") << ": param " << i << " analytic " << g[i]
                    << " fd " << fd;
    }
  }

  // The float model (AVX2 matmuls, two threads) computes the same loss and gradients.
  ThreadPool pool2(2);
  Transformer mf(tiny_config(arch, tied), pool2);
  randomize(mf, 42);
  EXPECT_NEAR(loss_of(mf, b, w), loss_of(md, b, w), 1e-4);
  const std::vector<float> gf = grads_of(mf, b, w);
  double gmax = 0;
  for (double x : g) gmax = std::max(gmax, std::fabs(x));
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(gf[i], g[i], 1e-4 * gmax) << "param " << i;

  // A random direction through the float model: the directional derivative.
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<double> dir(gf.size());
  double nrm = 0, gd = 0;
  for (auto& x : dir) {
    x = d(rng);
    nrm += x * x;
  }
  nrm = std::sqrt(nrm);
  for (size_t i = 0; i < dir.size(); ++i) gd += gf[i] * dir[i] / nrm;
  std::vector<float>& pf = mf.params();
  const std::vector<float> p0 = pf;
  const double eps = 1e-2;
  for (size_t i = 0; i < pf.size(); ++i) pf[i] = static_cast<float>(p0[i] + eps * dir[i] / nrm);
  const double lp = loss_of(mf, b, w);
  for (size_t i = 0; i < pf.size(); ++i) pf[i] = static_cast<float>(p0[i] - eps * dir[i] / nrm);
  const double lm = loss_of(mf, b, w);
  pf = p0;
  EXPECT_NEAR(gd, (lp - lm) / (2 * eps), 1e-2 * std::max(1.0, std::fabs(gd)));
}

}  // namespace

TEST(TrainModel, GradientsQwen2) { check_model(Arch::qwen2, false); }
TEST(TrainModel, GradientsQwen2Tied) { check_model(Arch::qwen2, true); }
TEST(TrainModel, GradientsLlama) { check_model(Arch::llama, false); }
TEST(TrainModel, GradientsQwen3) { check_model(Arch::qwen3, false); }  // per-head q/k norms
TEST(TrainModel, GradientsQwen3Tied) { check_model(Arch::qwen3, true); }

TEST(TrainModel, MaskedRowsHaveNoTargetAndNoGradient) {
  ThreadPool pool(1);
  Transformer m(tiny_config(Arch::qwen2, false), pool);
  randomize(m, 3);
  const Batch b = tiny_batch();
  // Rows of the second sequence's prompt predict nothing.
  ASSERT_EQ(b.n(), 4 + 6);
  EXPECT_EQ(b.targets[4], -1);
  EXPECT_EQ(b.targets[5], -1);
  EXPECT_EQ(b.targets[6], 0);
  const std::vector<float> lp = m.forward(b);
  EXPECT_EQ(lp[4], 0.0f);
  for (size_t t = 0; t < lp.size(); ++t)
    if (b.targets[t] >= 0) {
      EXPECT_LT(lp[t], 0.0f);
    }
}

TEST(TrainModel, SequencesAreIndependent) {
  // A sequence's log-probs do not depend on what else is in the batch.
  ThreadPool pool(2);
  Transformer m(tiny_config(Arch::qwen2, false), pool);
  randomize(m, 5);
  const std::vector<int32_t> s = {4, 4, 7, 0, 10, 6, 8};
  Batch alone, packed;
  alone.add_sequence(s);
  packed.add_sequence(std::vector<int32_t>{1, 2, 3, 4, 5});
  packed.add_sequence(s);
  const std::vector<float> a = m.forward(alone);
  const std::vector<float> p = m.forward(packed);
  for (size_t t = 0; t < a.size(); ++t) EXPECT_NEAR(a[t], p[4 + t], 1e-5f);
}

TEST(TrainModel, BitIdenticalAcrossThreadCounts) {
  std::vector<float> ref_grads, ref_lp;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    Transformer m(tiny_config(Arch::qwen2, false), pool);
    randomize(m, 9);
    const Batch b = tiny_batch();
    m.zero_grad();
    const std::vector<float> lp = m.forward(b);
    std::vector<float> dlogp(lp.size(), -1.0f);
    m.backward(dlogp);
    if (ref_grads.empty()) {
      ref_grads = m.grads();
      ref_lp = lp;
    } else {
      EXPECT_EQ(lp, ref_lp) << threads << " threads";
      EXPECT_EQ(m.grads(), ref_grads) << threads << " threads";
    }
  }
}

TEST(TrainModel, RejectsBadInput) {
  ThreadPool pool(1);
  Transformer m(tiny_config(Arch::qwen2, false), pool);
  Batch b;
  b.add_sequence(std::vector<int32_t>{1, 99});
  EXPECT_THROW(m.forward(b), Error);
  Batch longer;
  longer.add_sequence(std::vector<int32_t>(18, 1));
  EXPECT_THROW(m.forward(longer), Error);
  ModelConfig ds2 = tiny_config(Arch::qwen2, false);
  ds2.arch = Arch::deepseek2;  // not trainable yet
  EXPECT_THROW(ParamLayout{ds2}, Error);
}
