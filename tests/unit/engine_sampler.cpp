// Sampler tests. Expected distributions are computed by hand (values in comments)
// or by a naive full-sort reference written here, never taken from the sampler.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "base/error.hpp"
#include "engine/sampler.hpp"

using r1::Sampler;
using r1::SamplingParams;

namespace {

// Logits used throughout: softmax at T=1 is
//   e^2=7.389056 e^1=2.718282 e^.5=1.648721 e^0=1 e^-1=0.367879, sum 13.123938
//   p = 0.563023 0.207127 0.125628 0.076197 0.028031
//   cumulative 0.5630 0.7702 0.8958 0.9720 1.0
const std::vector<float> kLogits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f};

SamplingParams base_params() {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 1.0f;
  p.top_k = 0;
  p.min_p = 0.0f;
  p.seed = 1234;
  return p;
}

// Draws `n` tokens (fresh logits each time) and returns frequencies per token.
std::vector<double> frequencies(const SamplingParams& params, const std::vector<float>& logits, int n) {
  Sampler s(params, int32_t(logits.size()));
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = logits;
    f[s.sample(l)] += 1.0;
  }
  for (double& x : f) x /= n;
  return f;
}

// Each frequency must be within 5 standard errors of the expected probability,
// and tokens with probability 0 must never be drawn.
void expect_distribution(const std::vector<double>& freq, const std::vector<double>& expected, int n) {
  ASSERT_EQ(freq.size(), expected.size());
  for (size_t i = 0; i < freq.size(); ++i) {
    if (expected[i] == 0.0) {
      EXPECT_EQ(freq[i], 0.0) << "token " << i << " should have been filtered out";
    } else {
      const double se = std::sqrt(expected[i] * (1 - expected[i]) / n);
      EXPECT_NEAR(freq[i], expected[i], 5 * se + 1e-12) << "token " << i;
    }
  }
}

constexpr int kDraws = 40000;

}  // namespace

TEST(Sampler, FullDistributionAtTemperatureOne) {
  auto f = frequencies(base_params(), kLogits, kDraws);
  expect_distribution(f, {0.563023, 0.207127, 0.125628, 0.076197, 0.028031}, kDraws);
}

TEST(Sampler, TopP09KeepsFourTokens) {
  auto p = base_params();
  p.top_p = 0.9f;  // cumulative reaches 0.9 only at the 4th token (0.8958 < 0.9 <= 0.9720)
  auto f = frequencies(p, kLogits, kDraws);
  // renormalised over the first four: sum 0.971975
  expect_distribution(f, {0.563023 / 0.971975, 0.207127 / 0.971975, 0.125628 / 0.971975, 0.076197 / 0.971975, 0.0},
                      kDraws);
}

TEST(Sampler, TopP08KeepsThreeTokens) {
  auto p = base_params();
  p.top_p = 0.8f;  // 0.7702 < 0.8 <= 0.8958
  auto f = frequencies(p, kLogits, kDraws);
  const double s = 0.563023 + 0.207127 + 0.125628;
  expect_distribution(f, {0.563023 / s, 0.207127 / s, 0.125628 / s, 0, 0}, kDraws);
}

TEST(Sampler, TopPSmallKeepsOnlyTheBest) {
  auto p = base_params();
  p.top_p = 0.5f;  // the first token alone has 0.563
  auto f = frequencies(p, kLogits, 2000);
  expect_distribution(f, {1, 0, 0, 0, 0}, 2000);
}

TEST(Sampler, MinP) {
  auto p = base_params();
  p.min_p = 0.2f;  // threshold 0.2 * 0.563023 = 0.112605: tokens 0, 1, 2 (0.125628) survive
  auto f = frequencies(p, kLogits, kDraws);
  const double s = 0.563023 + 0.207127 + 0.125628;
  expect_distribution(f, {0.563023 / s, 0.207127 / s, 0.125628 / s, 0, 0}, kDraws);

  p.min_p = 0.25f;  // threshold 0.140756: tokens 0, 1
  f = frequencies(p, kLogits, kDraws);
  const double s2 = 0.563023 + 0.207127;
  expect_distribution(f, {0.563023 / s2, 0.207127 / s2, 0, 0, 0}, kDraws);
}

TEST(Sampler, TopPMassIsMeasuredBeforeMinP) {
  // top_p 0.9 alone keeps 4 tokens, min_p 0.2 alone keeps 3: the chain keeps the
  // intersection (3); top-p is not recomputed over the min-p survivors.
  auto p = base_params();
  p.top_p = 0.9f;
  p.min_p = 0.2f;
  auto f = frequencies(p, kLogits, kDraws);
  const double s = 0.563023 + 0.207127 + 0.125628;
  expect_distribution(f, {0.563023 / s, 0.207127 / s, 0.125628 / s, 0, 0}, kDraws);
}

TEST(Sampler, TopK) {
  auto p = base_params();
  p.top_k = 2;  // e^2 / (e^2 + e^1) = 0.731059
  auto f = frequencies(p, kLogits, kDraws);
  expect_distribution(f, {0.731059, 0.268941, 0, 0, 0}, kDraws);
}

TEST(Sampler, TopKThenTopPUsesTopKMass) {
  // After top-k 3 the T=1 distribution is 7.389/11.756 = 0.628539, 0.231224, 0.140237;
  // top_p 0.85: 0.628539 + 0.231224 = 0.859763 >= 0.85 -> two tokens.
  auto p = base_params();
  p.top_k = 3;
  p.top_p = 0.85f;
  auto f = frequencies(p, kLogits, kDraws);
  expect_distribution(f, {0.731059, 0.268941, 0, 0, 0}, kDraws);
}

TEST(Sampler, TemperatureAppliesAfterFilters) {
  // top_p 0.9 keeps tokens 0..3; at T = 0.5 weights are e^4, e^2, e^1, e^0 =
  // 54.598150 7.389056 2.718282 1 (sum 65.705488) -> 0.830963 0.112458 0.041371 0.015220
  auto p = base_params();
  p.top_p = 0.9f;
  p.temperature = 0.5f;
  auto f = frequencies(p, kLogits, kDraws);
  expect_distribution(f, {0.830963, 0.112458, 0.041371, 0.015220, 0}, kDraws);
}

TEST(Sampler, HighTemperatureFlattens) {
  // T = 2 over all five: e^1, e^.5, e^.25, e^0, e^-.5 = 2.718282 1.648721 1.284025 1 0.606531
  // sum 7.257559 -> 0.374545 0.227173 0.176922 0.137788 0.083573
  auto p = base_params();
  p.temperature = 2.0f;
  auto f = frequencies(p, kLogits, kDraws);
  expect_distribution(f, {0.374545, 0.227173, 0.176922, 0.137788, 0.083573}, kDraws);
}

TEST(Sampler, PenaltiesByHand) {
  // history 0 0 3 4, repeat 1.5, frequency 0.1, presence 0.2:
  //   token 0 (count 2): 2 / 1.5 - (2*0.1 + 0.2) = 0.933333
  //   token 3 (count 1): 0 * 1.5 - 0.3 = -0.3
  //   token 4 (count 1): -1 * 1.5 - 0.3 = -1.8
  //   tokens 1, 2 untouched.
  auto p = base_params();
  p.temperature = 0.0f;
  p.repeat_penalty = 1.5f;
  p.frequency_penalty = 0.1f;
  p.presence_penalty = 0.2f;
  Sampler s(p, 5);
  for (int t : {0, 0, 3, 4}) s.accept(t);
  std::vector<float> l = kLogits;
  EXPECT_EQ(s.sample(l), 1);  // greedy after penalties: 1.0 beats 0.9333
  EXPECT_NEAR(l[0], 0.933333f, 1e-5);
  EXPECT_FLOAT_EQ(l[1], 1.0f);
  EXPECT_FLOAT_EQ(l[2], 0.5f);
  EXPECT_NEAR(l[3], -0.3f, 1e-6);
  EXPECT_NEAR(l[4], -1.8f, 1e-6);
}

TEST(Sampler, PenaltyWindow) {
  auto p = base_params();
  p.temperature = 0.0f;
  p.repeat_penalty = 3.0f;
  p.penalty_last_n = 2;  // only the last two tokens (3, 4) count
  Sampler s(p, 5);
  for (int t : {0, 0, 3, 4}) s.accept(t);
  std::vector<float> l = kLogits;
  EXPECT_EQ(s.sample(l), 0);
  EXPECT_FLOAT_EQ(l[0], 2.0f);
  EXPECT_FLOAT_EQ(l[4], -3.0f);

  p.penalty_last_n = -1;  // whole history: token 0 becomes 2/3 < 1
  Sampler all(p, 5);
  for (int t : {0, 0, 3, 4}) all.accept(t);
  l = kLogits;
  EXPECT_EQ(all.sample(l), 1);

  p.penalty_last_n = 0;  // disabled
  Sampler none(p, 5);
  for (int t : {0, 0, 3, 4}) none.accept(t);
  l = kLogits;
  EXPECT_EQ(none.sample(l), 0);
  EXPECT_FLOAT_EQ(l[0], 2.0f);

  // reset_history forgets.
  all.reset_history();
  l = kLogits;
  EXPECT_EQ(all.sample(l), 0);
}

TEST(Sampler, PenaltyWindowStaysCorrectOverLongHistories) {
  auto p = base_params();
  p.temperature = 0.0f;
  p.presence_penalty = 10.0f;
  p.penalty_last_n = 3;
  Sampler s(p, 5);
  for (int i = 0; i < 1000; ++i) s.accept(i % 2 ? 1 : 2);  // history trimmed internally
  s.accept(0);
  s.accept(4);
  s.accept(4);  // window = {0, 4, 4}
  std::vector<float> l = kLogits;
  EXPECT_EQ(s.sample(l), 1);
  EXPECT_FLOAT_EQ(l[0], 2.0f - 10.0f);
  EXPECT_FLOAT_EQ(l[1], 1.0f);
}

TEST(Sampler, GreedyFirstIndexOnTies) {
  auto p = base_params();
  p.temperature = 0.0f;
  Sampler s(p, 4);
  std::vector<float> l = {1.0f, 3.0f, 3.0f, 2.0f};
  EXPECT_EQ(s.sample(l), 1);
  p.temperature = -1.0f;
  Sampler s2(p, 4);
  l = {1.0f, 3.0f, 3.0f, 2.0f};
  EXPECT_EQ(s2.sample(l), 1);
}

TEST(Sampler, BannedTokensNeverDrawn) {
  auto p = base_params();
  std::vector<float> l = kLogits;
  l[0] = -INFINITY;
  // remaining weights e^1, e^.5, e^0, e^-1: sum 5.734883
  auto f = frequencies(p, l, kDraws);
  expect_distribution(f, {0, 0.473986, 0.287486, 0.174371, 0.064148}, kDraws);
}

TEST(Sampler, SeedReproducibility) {
  auto p = base_params();
  p.top_p = 0.95f;
  p.temperature = 0.8f;
  std::mt19937 gen(7);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  std::vector<std::vector<float>> steps(200, std::vector<float>(1000));
  for (auto& v : steps)
    for (float& x : v) x = nd(gen);
  auto run = [&](uint64_t seed) {
    auto q = p;
    q.seed = seed;
    Sampler s(q, 1000);
    std::vector<int32_t> out;
    for (auto v : steps) out.push_back(s.sample(v));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
  Sampler s(p, 5);
  EXPECT_EQ(s.seed(), 1234u);
  auto q = p;
  q.seed = 0xFFFFFFFFu;
  Sampler r(q, 5);
  EXPECT_NE(r.seed(), 0xFFFFFFFFu);  // a random seed was drawn (and is reported)
}

TEST(Sampler, BadInput) {
  auto p = base_params();
  EXPECT_THROW(Sampler(p, 0), r1::Error);
  Sampler s(p, 5);
  std::vector<float> wrong(4, 0.0f);
  EXPECT_THROW(s.sample(wrong), r1::Error);
  std::vector<float> banned(5, -INFINITY);
  EXPECT_THROW(s.sample(banned), r1::Error);
  p.top_p = 0.0f;
  EXPECT_THROW(Sampler(p, 5), r1::Error);
}

// A large vocabulary: every draw must lie in the survivor set computed by a naive
// full-sort reference, and the head probabilities must match.
TEST(Sampler, LargeVocabMatchesNaiveReference) {
  const int n = 151936;
  std::mt19937 gen(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> logits(n);
  for (float& x : logits) x = nd(gen) * 3.0f;
  logits[100] = 14.0f;
  logits[200] = 13.5f;
  logits[300] = 13.0f;

  // Naive reference: full sort, softmax, cumulative top-p 0.95.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  double z = 0;
  for (float l : logits) z += std::exp(double(l) - 14.0);
  std::vector<int> keep;
  double cum = 0;
  for (int id : order) {
    keep.push_back(id);
    cum += std::exp(double(logits[id]) - 14.0) / z;
    if (cum >= 0.95) break;
  }
  std::vector<char> allowed(n, 0);
  for (int id : keep) allowed[id] = 1;
  ASSERT_GT(keep.size(), 3u);

  auto p = base_params();
  p.top_p = 0.95f;
  p.temperature = 1.0f;
  Sampler s(p, n);
  std::map<int, int> counts;
  const int draws = 1500;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < draws; ++i) {
    std::vector<float> l = logits;
    int tok = s.sample(l);
    ASSERT_TRUE(allowed[tok]) << "token " << tok << " outside the top-p set";
    counts[tok]++;
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / draws;
  // expected P(100) among the kept set
  double kept_mass = 0;
  for (int id : keep) kept_mass += std::exp(double(logits[id]) - 14.0);
  const double p100 = 1.0 / kept_mass;
  const double se = std::sqrt(p100 * (1 - p100) / draws);
  EXPECT_NEAR(counts[100] / double(draws), p100, 5 * se);
  std::printf("[ info ] top-p 0.95 over %d logits: %zu survivors, %.3f ms/step (incl. logits copy)\n", n, keep.size(), ms);
}
