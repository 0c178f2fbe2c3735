// Speculative decoding (engine/speculation.hpp, batch_runner.cpp): the n-gram proposal on
// hand-checked histories, and on the bundled model the contract that matters: the tokens
// (greedy and sampled, same seed), finish reasons and the session's cache are the same
// with and without each mode, while drafts are in fact verified and accepted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.hpp"
#include "engine/generate.hpp"
#include "engine/session.hpp"
#include "engine/speculation.hpp"
#include "model/model.hpp"

namespace r1 {
namespace {

using Ids = std::vector<int32_t>;

TEST(NgramProposal, CopiesWhatFollowedTheLatestEarlierOccurrence) {
  // Suffix "2 3" occurs at 1 and at 5; the latest (5) is followed by 9 9 2 3.
  const Ids h = {1, 2, 3, 4, 0, 2, 3, 9, 9, 2, 3};
  EXPECT_EQ(ngram_proposal(h, 2, 2, 8), (Ids{9, 9, 2, 3}));
  EXPECT_EQ(ngram_proposal(h, 2, 2, 3), (Ids{9, 9, 2}));
  // The longest suffix wins: "9 2 3" occurs nowhere earlier, "2 3" does.
  EXPECT_EQ(ngram_proposal(h, 2, 3, 1), (Ids{9}));
  // "0 2 3 9 9 2 3"? no: a 4-gram "9 9 2 3" has no earlier occurrence, so n = 2 decides.
  EXPECT_EQ(ngram_proposal(h, 2, 4, 2), (Ids{9, 9}));
  // No earlier occurrence of any suffix of length >= 2: nothing.
  EXPECT_TRUE(ngram_proposal(Ids{1, 2, 3, 4, 5}, 2, 4, 8).empty());
  // Length 1 finds the last "5" before the end.
  EXPECT_EQ(ngram_proposal(Ids{5, 7, 8, 5}, 1, 1, 8), (Ids{7, 8, 5}));
  EXPECT_TRUE(ngram_proposal(Ids{}, 1, 4, 8).empty());
  EXPECT_TRUE(ngram_proposal(h, 2, 2, 0).empty());
}

TEST(SpeculationOptions, RejectsInconsistentSettings) {
  SpeculationOptions o;
  o.mode = SpecMode::draft;
  EXPECT_THROW(o.validate(), Error);  // no draft model
  o = {};
  o.draft_max = 65;
  EXPECT_THROW(o.validate(), Error);
  o = {};
  o.ngram_min = 3;
  o.ngram_max = 2;
  EXPECT_THROW(o.validate(), Error);
  EXPECT_EQ(parse_spec_mode("ngram"), SpecMode::ngram);
  EXPECT_THROW(parse_spec_mode("mtp"), Error);
}

class BundledSpeculation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = std::string(R1_SOURCE_DIR) + "/models/r1-tiny-reasoner.gguf";
    model_ = Model::load(path, {.n_threads = 2}).release();
    draft_ = Model::load(path, {.n_threads = 1}).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete draft_;
  }
  struct Run {
    GenerateResult r;
    Ids cache;
  };
  static Run run(const std::string& question, float temperature, uint64_t seed, SpeculationOptions spec,
                 int32_t max_tokens = -1, int64_t n_ctx = 0) {
    Session s(*model_, n_ctx);
    GenerateRequest req;
    req.messages = nlohmann::json::array({{{"role", "user"}, {"content", question}}});
    req.sampling.temperature = temperature;
    req.sampling.seed = seed;
    req.max_tokens = max_tokens;
    req.top_logprobs = 2;
    req.speculation = spec;
    Run out;
    out.r = generate(s, req, {});
    out.cache = s.tokens();
    return out;
  }
  static SpeculationOptions ngram() {
    SpeculationOptions o;
    o.mode = SpecMode::ngram;
    return o;
  }
  static SpeculationOptions self_draft() {
    SpeculationOptions o;
    o.mode = SpecMode::draft;
    o.draft_model = draft_;
    o.draft_p_min = 0.0f;
    return o;
  }
  static void expect_same(const Run& a, const Run& b, const std::string& what) {
    EXPECT_EQ(a.r.tokens, b.r.tokens) << what;
    EXPECT_EQ(a.r.text, b.r.text) << what;
    EXPECT_EQ(a.r.summary.finish, b.r.summary.finish) << what;
    EXPECT_EQ(a.r.summary.reasoning_tokens, b.r.summary.reasoning_tokens) << what;
    EXPECT_EQ(a.cache, b.cache) << what << ": the cache must hold exactly the fed-back tokens";
  }
  static Model* model_;
  static Model* draft_;
};
Model* BundledSpeculation::model_ = nullptr;
Model* BundledSpeculation::draft_ = nullptr;

TEST_F(BundledSpeculation, GreedyTokensAreIdenticalInEveryMode) {
  for (const char* q : {"What is 487 + 356?", "What is 905 + 96?", "What is 12 + 7?"}) {
    const Run plain = run(q, 0.0f, 1, {});
    ASSERT_GT(plain.r.tokens.size(), 20u) << q;
    const Run ng = run(q, 0.0f, 1, ngram());
    const Run dr = run(q, 0.0f, 1, self_draft());
    expect_same(plain, ng, std::string("ngram: ") + q);
    expect_same(plain, dr, std::string("draft: ") + q);
    EXPECT_GT(ng.r.summary.draft_tokens, 0) << q;
    // The model drafting for itself is right nearly always (float order aside).
    EXPECT_GE(dr.r.summary.draft_accepted, dr.r.summary.draft_tokens * 9 / 10) << q;
    EXPECT_GT(dr.r.summary.draft_accepted, static_cast<int32_t>(plain.r.tokens.size()) / 2) << q;
    EXPECT_EQ(plain.r.summary.draft_tokens, 0);
  }
}

// At temperature > 0 every row is sampled as plain decoding samples it (same sampler,
// same random stream): with the same seed, the same tokens, so the distribution is the
// same. The draft model drafts greedily, so many of its drafts are rejected here.
TEST_F(BundledSpeculation, SampledTokensAreIdenticalForTheSameSeed) {
  int32_t drafted = 0, accepted = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const Run plain = run("What is 318 + 476?", 1.5f, seed, {});
    const Run ng = run("What is 318 + 476?", 1.5f, seed, ngram());
    const Run dr = run("What is 318 + 476?", 1.5f, seed, self_draft());
    expect_same(plain, ng, "ngram seed " + std::to_string(seed));
    expect_same(plain, dr, "draft seed " + std::to_string(seed));
    drafted += dr.r.summary.draft_tokens;
    accepted += dr.r.summary.draft_accepted;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, drafted);  // some rejections were exercised
}

TEST_F(BundledSpeculation, LimitsAndContextEndTheSameWay) {
  for (int32_t max_tokens : {1, 2, 7, 30}) {
    const Run plain = run("What is 487 + 356?", 0.0f, 1, {}, max_tokens);
    const Run dr = run("What is 487 + 356?", 0.0f, 1, self_draft(), max_tokens);
    const Run ng = run("What is 487 + 356?", 0.0f, 1, ngram(), max_tokens);
    ASSERT_EQ(plain.r.tokens.size(), static_cast<size_t>(max_tokens));
    expect_same(plain, dr, "draft max_tokens " + std::to_string(max_tokens));
    expect_same(plain, ng, "ngram max_tokens " + std::to_string(max_tokens));
  }
  // A context that ends mid-answer: finish "length" at the same token.
  const Run probe = run("What is 487 + 356?", 0.0f, 1, {});
  const int64_t n_ctx = static_cast<int64_t>(probe.r.prompt_tokens.size()) + 40;
  const Run plain = run("What is 487 + 356?", 0.0f, 1, {}, -1, n_ctx);
  const Run dr = run("What is 487 + 356?", 0.0f, 1, self_draft(), -1, n_ctx);
  EXPECT_EQ(plain.r.summary.finish, FinishReason::length);
  expect_same(plain, dr, "draft at the context's end");
}

}  // namespace
}  // namespace r1
