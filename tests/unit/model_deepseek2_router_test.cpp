// DeepSeekMoE routing against hand-computed cases (sigmoid + selection bias + group
// limits + weight norm and scale as in DeepSeek-V3; softmax as in V2).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/blocks/router.hpp"

namespace r1 {
namespace {

// Router logits whose sigmoids are exactly the given probabilities (up to float rounding).
std::vector<float> logits_for(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p / (1 - p))));
  return l;
}

struct Routed {
  std::vector<int32_t> ids;
  std::vector<float> w;
};

Routed route(const RouterParams& p, const std::vector<float>& logits, const std::vector<float>* bias) {
  Routed r;
  r.ids.assign(static_cast<size_t>(p.n_used), -1);
  r.w.assign(static_cast<size_t>(p.n_used), 0.0f);
  std::vector<float> scratch;
  route_token(p, logits.data(), bias ? bias->data() : nullptr, r.ids.data(), r.w.data(), scratch);
  return r;
}

// 8 experts in 4 groups of 2.
//   probs p = .9 .1 | .6 .55 | .3 .8 | .2 .75
//   bias  b = -.5 0 | .1 .1  | .38 0 | 0  0
//   sel = p + b = .4 .1 | .7 .65 | .68 .8 | .2 .75
//   group score (sum of the 2 best sel): .5, 1.35, 1.48, .95 -> groups 2 and 1 are kept
//   best 2 of experts 2..5 by sel: 5 (.8), 2 (.7)   [7 (.75) would win without the group limit,
//   0 (p = .9) without the bias]
//   weights = unbiased p: .8, .6 -> normalised /1.4 -> x 2.5 = 1.4285714, 1.0714286
const std::vector<double> kProbs = {0.9, 0.1, 0.6, 0.55, 0.3, 0.8, 0.2, 0.75};
const std::vector<float> kBias = {-0.5f, 0.0f, 0.1f, 0.1f, 0.38f, 0.0f, 0.0f, 0.0f};

RouterParams v3_params() {
  RouterParams p;
  p.n_expert = 8;
  p.n_used = 2;
  p.n_group = 4;
  p.n_group_used = 2;
  p.gating = MoeGating::sigmoid;
  p.norm = true;
  p.scale = 2.5f;
  return p;
}

TEST(Deepseek2Router, SigmoidBiasGroupsNormScale) {
  const Routed r = route(v3_params(), logits_for(kProbs), &kBias);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{5, 2}));
  EXPECT_NEAR(r.w[0], 0.8 / 1.4 * 2.5, 1e-6);
  EXPECT_NEAR(r.w[1], 0.6 / 1.4 * 2.5, 1e-6);
}

TEST(Deepseek2Router, WithoutGroupLimit) {
  RouterParams p = v3_params();
  p.n_group = 0;
  p.n_group_used = 0;
  const Routed r = route(p, logits_for(kProbs), &kBias);
  // sel .8 (5) and .75 (7); weights .8, .75 normalised by 1.55, x 2.5
  EXPECT_EQ(r.ids, (std::vector<int32_t>{5, 7}));
  EXPECT_NEAR(r.w[0], 0.8 / 1.55 * 2.5, 1e-6);
  EXPECT_NEAR(r.w[1], 0.75 / 1.55 * 2.5, 1e-6);
}

TEST(Deepseek2Router, BiasOnlySelects) {
  RouterParams p = v3_params();
  p.n_group = 0;
  p.norm = false;
  p.scale = 1.0f;  // 1 = no scaling
  const Routed no_bias = route(p, logits_for(kProbs), nullptr);
  EXPECT_EQ(no_bias.ids, (std::vector<int32_t>{0, 5}));  // p .9 and .8
  EXPECT_NEAR(no_bias.w[0], 0.9, 1e-6);
  EXPECT_NEAR(no_bias.w[1], 0.8, 1e-6);
  const Routed biased = route(p, logits_for(kProbs), &kBias);
  EXPECT_EQ(biased.ids, (std::vector<int32_t>{5, 7}));
  EXPECT_NEAR(biased.w[0], 0.8, 1e-6);  // the bias does not enter the weights
  EXPECT_NEAR(biased.w[1], 0.75, 1e-6);
}

TEST(Deepseek2Router, SoftmaxV2) {
  // softmax(1, 2, 3, 0): e^3 / (e + e^2 + e^3 + 1) = 0.6439143, e^2 / ... = 0.2368828
  RouterParams p;
  p.n_expert = 4;
  p.n_used = 2;
  p.gating = MoeGating::softmax;
  p.scale = 1.0f;
  const Routed r = route(p, {1.0f, 2.0f, 3.0f, 0.0f}, nullptr);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{2, 1}));
  EXPECT_NEAR(r.w[0], 0.6439143, 1e-6);
  EXPECT_NEAR(r.w[1], 0.2368828, 1e-6);
  // with norm: .6439143 / (.6439143 + .2368828) = 0.7310586 (= sigmoid(1))
  p.norm = true;
  const Routed n = route(p, {1.0f, 2.0f, 3.0f, 0.0f}, nullptr);
  EXPECT_NEAR(n.w[0], 0.7310586, 1e-6);
  EXPECT_NEAR(n.w[1], 1 - 0.7310586, 1e-6);
}

TEST(Deepseek2Router, NormClampsTinySums) {
  // sigmoid(-30) ~ 9.4e-14 each: the sum is clamped to 6.103515625e-5 (llama.cpp), so the
  // normalised weights stay tiny instead of becoming 0.5 each.
  RouterParams p;
  p.n_expert = 2;
  p.n_used = 2;
  p.gating = MoeGating::sigmoid;
  p.norm = true;
  const Routed r = route(p, {-30.0f, -30.0f}, nullptr);
  EXPECT_NEAR(r.w[0], 1.0 / (1.0 + std::exp(30.0)) / 6.103515625e-5, 1e-12);
}

}  // namespace
}  // namespace r1
