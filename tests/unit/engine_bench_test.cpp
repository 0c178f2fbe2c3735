// run_bench(): which tests it runs, what each repetition feeds the model (depth prefilled
// once in chunks, every repetition rewound to it), and the statistics. The model is a fake
// that records its forward calls; no timing is asserted.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "engine/bench.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {
namespace {

class CountingCache final : public KvCache {
 public:
  explicit CountingCache(int64_t n_ctx) : n_ctx_(n_ctx) {}
  int64_t n_ctx() const override { return n_ctx_; }
  int64_t n_past() const override { return n_past_; }
  void truncate(int64_t pos) override { n_past_ = pos; }
  size_t bytes() const override { return 0; }
  std::vector<uint8_t> save(int64_t) const override { return {}; }
  void restore(std::span<const uint8_t>, int64_t) override {}
  size_t bytes_per_token() const override { return 0; }
  int64_t n_past_ = 0;

 private:
  int64_t n_ctx_;
};

// Records (n_past before the call, tokens in the call) of every forward().
class RecordingModel final : public Model {
 public:
  struct Call {
    int64_t n_past, n_tokens;
  };
  RecordingModel() : tok_(Tokenizer::from_vocab(builtin_byte_vocab())), pool_(1) {
    cfg_.n_vocab = 50;
    cfg_.n_ctx_train = 4096;
  }
  const ModelConfig& config() const override { return cfg_; }
  const Tokenizer& tokenizer() const override { return *tok_; }
  const gguf::File* file() const override { return nullptr; }
  ThreadPool& pool() override { return pool_; }
  std::unique_ptr<KvCache> new_cache(int64_t n_ctx) const override {
    caches_made.push_back(n_ctx);
    return std::make_unique<CountingCache>(n_ctx);
  }
  void forward(std::span<const int32_t> tokens, KvCache& kv, std::vector<float>& logits, bool) override {
    auto& c = static_cast<CountingCache&>(kv);
    for (int32_t id : tokens) EXPECT_TRUE(id >= 0 && id < cfg_.n_vocab);
    if (c.n_past_ + static_cast<int64_t>(tokens.size()) > c.n_ctx()) fail("cache full");
    calls.push_back({c.n_past_, static_cast<int64_t>(tokens.size())});
    c.n_past_ += static_cast<int64_t>(tokens.size());
    logits.assign(static_cast<size_t>(cfg_.n_vocab), 0.0f);
  }
  void forward_batch(std::span<const SeqBatch> seqs, std::vector<float>& logits) override {
    batch_sizes.push_back(seqs.size());
    Model::forward_batch(seqs, logits);
  }
  size_t weight_bytes() const override { return 0; }

  std::vector<Call> calls;
  std::vector<size_t> batch_sizes;  // sequences of every forward_batch call
  mutable std::vector<int64_t> caches_made;

 private:
  ModelConfig cfg_;
  std::unique_ptr<Tokenizer> tok_;
  ThreadPool pool_;
};

TEST(Bench, TestsAndNamesFollowLlamaBench) {
  RecordingModel m;
  BenchOptions o{.n_prompt = {0, 16}, .n_gen = {4}, .n_depth = {0, 8}, .reps = 2};
  std::vector<std::string> seen;
  const auto res = run_bench(m, o, [&](const BenchResult& r) { seen.push_back(r.name); });
  ASSERT_EQ(res.size(), 4u);
  EXPECT_EQ(seen, (std::vector<std::string>{"pp16", "tg4", "pp16 @ d8", "tg4 @ d8"}));
  EXPECT_EQ(res[0].n_prompt, 16);
  EXPECT_EQ(res[0].n_gen, 0);
  EXPECT_EQ(res[1].n_prompt, 0);
  EXPECT_EQ(res[1].n_gen, 4);
  EXPECT_EQ(res[3].n_depth, 8);
  EXPECT_EQ(res[3].n_threads, 1);
  for (const auto& r : res) {
    EXPECT_EQ(r.samples_ts.size(), 2u);
    EXPECT_EQ(r.samples_ns.size(), 2u);
    EXPECT_GT(r.avg_ts, 0);
  }
}

TEST(Bench, DepthPrefilledOnceThenEveryRepetitionRewinds) {
  RecordingModel m;
  BenchOptions o{.n_prompt = {0}, .n_gen = {3}, .n_depth = {1100}, .reps = 2};
  run_bench(m, o);
  ASSERT_EQ(m.caches_made, (std::vector<int64_t>{1103}));
  // depth in 512-token chunks, warm-up (1 token), then 2 x 3 single tokens from depth.
  const std::vector<std::pair<int64_t, int64_t>> want = {
      {0, 512}, {512, 512}, {1024, 76}, {1100, 1}, {1100, 1}, {1101, 1}, {1102, 1}, {1100, 1}, {1101, 1}, {1102, 1}};
  ASSERT_EQ(m.calls.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(m.calls[i].n_past, want[i].first) << i;
    EXPECT_EQ(m.calls[i].n_tokens, want[i].second) << i;
  }
}

TEST(Bench, PromptTestIsOneForwardPass) {
  RecordingModel m;
  BenchOptions o{.n_prompt = {32}, .n_gen = {0}, .n_depth = {0}, .reps = 3};
  run_bench(m, o);
  ASSERT_EQ(m.calls.size(), 4u);  // warm-up + 3
  for (const auto& c : m.calls) {
    EXPECT_EQ(c.n_past, 0);
    EXPECT_EQ(c.n_tokens, 32);
  }
}

TEST(Bench, BatchedTestsRunAllSequencesTogether) {
  RecordingModel m;
  BenchOptions o{.n_prompt = {8}, .n_gen = {2}, .n_depth = {4}, .n_seq = {3}, .reps = 1};
  std::vector<std::string> seen;
  const auto res = run_bench(m, o, [&](const BenchResult& r) { seen.push_back(r.name); });
  EXPECT_EQ(seen, (std::vector<std::string>{"pp8 x3 @ d4", "tg2 x3 @ d4"}));
  EXPECT_EQ(res[0].n_seq, 3);
  // pp: warm-up + 1 rep, each one call with the 3 prompts; tg: warm-up step + 2 steps.
  EXPECT_EQ(m.batch_sizes, (std::vector<size_t>{3, 3, 3, 3, 3}));
  // Every sequence has its own cache (made per test) with its own depth prefill.
  EXPECT_EQ(m.caches_made, (std::vector<int64_t>{12, 12, 12, 6, 6, 6}));
  // The timed tokens of a batched test count every sequence: 3 x 8 tokens per pp repetition.
  ASSERT_EQ(res[0].samples_ns.size(), 1u);
  EXPECT_NEAR(res[0].samples_ts[0], 24 * 1e9 / res[0].samples_ns[0], 1e-6 * res[0].samples_ts[0]);
  EXPECT_THROW(run_bench(m, BenchOptions{.n_seq = {0}}), Error);
}

TEST(Bench, RejectsWhatDoesNotFit) {
  RecordingModel m;
  EXPECT_THROW(run_bench(m, BenchOptions{.n_prompt = {4000}, .n_gen = {0}, .n_depth = {100}}), Error);
  EXPECT_THROW(run_bench(m, BenchOptions{.reps = 0}), Error);
  EXPECT_THROW(run_bench(m, BenchOptions{.n_gen = {-1}}), Error);
  EXPECT_TRUE(m.calls.empty());
}

TEST(Bench, Statistics) {
  EXPECT_DOUBLE_EQ(mean_of({2, 4, 9}), 5.0);
  // sample variance of {2, 4, 9}: (9 + 1 + 16) / 2 = 13
  EXPECT_DOUBLE_EQ(stddev_of({2, 4, 9}), std::sqrt(13.0));
  EXPECT_EQ(stddev_of({7}), 0.0);
  EXPECT_EQ(mean_of({}), 0.0);
  EXPECT_GT(peak_rss_bytes(), 0);
}

}  // namespace
}  // namespace r1
