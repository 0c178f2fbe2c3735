// generate(): the generation loop on a scripted fake model. The fake's "next
// token" is a function of the whole token history it has seen, so the tests can
// script reasoning, answers, stop strings and reactions to forced tokens, and
// every expected value below is written out by hand from the script.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "engine/generate.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {
namespace {

using Ids = std::vector<int32_t>;
using NextFn = std::function<int32_t(const Ids& history)>;

class FakeCache final : public KvCache {
 public:
  explicit FakeCache(int64_t n_ctx) : n_ctx_(n_ctx) {}
  int64_t n_ctx() const override { return n_ctx_; }
  int64_t n_past() const override { return static_cast<int64_t>(history.size()); }
  void truncate(int64_t pos) override { history.resize(static_cast<size_t>(pos)); }
  size_t bytes() const override { return 0; }
  std::vector<uint8_t> save(int64_t) const override { return {}; }
  void restore(std::span<const uint8_t>, int64_t) override {}
  size_t bytes_per_token() const override { return 0; }
  Ids history;  // (n_past) tokens "stored"

 private:
  int64_t n_ctx_;
};

// A Model whose logits put 10 on next(history) and 0 elsewhere.
class FakeModel final : public Model {
 public:
  FakeModel() : tok_(Tokenizer::from_vocab(builtin_byte_vocab())), pool_(1) {
    cfg_.n_vocab = tok_->n_vocab();
    cfg_.n_ctx_train = 64;
  }
  const ModelConfig& config() const override { return cfg_; }
  const Tokenizer& tokenizer() const override { return *tok_; }
  const gguf::File* file() const override { return nullptr; }  // not used by the engine
  ThreadPool& pool() override { return pool_; }
  std::unique_ptr<KvCache> new_cache(int64_t n_ctx) const override {
    return std::make_unique<FakeCache>(n_ctx > 0 ? n_ctx : cfg_.n_ctx_train);
  }
  void forward(std::span<const int32_t> tokens, KvCache& kv, std::vector<float>& logits,
               bool all_logits) override {
    auto& c = static_cast<FakeCache&>(kv);
    if (c.n_past() + static_cast<int64_t>(tokens.size()) > c.n_ctx()) fail("fake: cache full");
    batches.push_back(static_cast<int>(tokens.size()));
    const size_t n_vocab = static_cast<size_t>(cfg_.n_vocab);
    logits.assign(all_logits ? tokens.size() * n_vocab : n_vocab, 0.0f);
    for (size_t i = 0; i < tokens.size(); ++i) {
      c.history.push_back(tokens[i]);
      if (all_logits || i + 1 == tokens.size()) {
        float* row = logits.data() + (all_logits ? i * n_vocab : 0);
        row[static_cast<size_t>(next(c.history))] = 10.0f;
      }
    }
  }
  size_t weight_bytes() const override { return 0; }

  NextFn next = [this](const Ids&) { return tok_->eos(); };
  std::vector<int> batches;  // sizes of the forward() calls, in order

 private:
  std::unique_ptr<Tokenizer> tok_;
  ModelConfig cfg_;
  ThreadPool pool_;
};

class GenerateTest : public ::testing::Test {
 protected:
  void SetUp() override { req.sampling.temperature = 0; }  // greedy: the script is followed exactly

  const Tokenizer& tok() const { return model.tokenizer(); }
  int32_t id(const char* special) const {
    int32_t i = tok().find_token(special);
    EXPECT_GE(i, 0) << special;
    return i;
  }
  int32_t think() const { return id("<think>"); }
  int32_t close() const { return id("</think>"); }
  int32_t eos() const { return tok().eos(); }
  // Byte tokens: ids 0..255 of the built-in vocabulary are the byte values.
  static Ids bytes(const std::string& s) {
    Ids out;
    for (unsigned char c : s) out.push_back(c);
    return out;
  }
  // A prompt that ends inside <think> (the R1 generation prompt).
  Ids r1_prompt() const {
    Ids p = {tok().bos(), id("<｜User｜>")};
    for (int32_t b : bytes("hi")) p.push_back(b);
    p.push_back(id("<｜Assistant｜>"));
    p.push_back(think());
    p.push_back('\n');
    return p;
  }
  // The model emits `script` after the prompt, then eos.
  void script(const Ids& prompt, Ids out) {
    const size_t n = prompt.size();
    model.next = [n, out, this](const Ids& h) {
      size_t k = h.size() - n;
      return k < out.size() ? out[k] : eos();
    };
  }
  static Ids cat(std::initializer_list<Ids> parts) {
    Ids r;
    for (const auto& p : parts) r.insert(r.end(), p.begin(), p.end());
    return r;
  }
  GenerateResult run(Session& s) {
    events.clear();
    return generate(s, req, [this](const GenerateEvent& ev) { events.push_back(ev); });
  }

  FakeModel model;
  GenerateRequest req;
  std::vector<GenerateEvent> events;
};

TEST_F(GenerateTest, SplitsReasoningFromAnswerAndCountsTokens) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  const Ids out = cat({bytes("abc"), {close()}, bytes("\n\nxyz")});
  script(req.prompt_tokens, out);
  GenerateResult r = run(s);
  EXPECT_EQ(r.reasoning, "abc");
  EXPECT_EQ(r.content, "xyz");
  EXPECT_EQ(r.text, "abc</think>\n\nxyz");
  EXPECT_EQ(r.tokens, out);  // eos not included
  EXPECT_EQ(r.summary.reasoning_tokens, 4);  // a b c </think>
  EXPECT_EQ(r.summary.content_tokens, 5);    // \n \n x y z
  EXPECT_EQ(r.summary.generated_tokens, 9);
  EXPECT_EQ(r.summary.prompt_tokens, 7);
  EXPECT_EQ(r.summary.finish, FinishReason::stop);
  EXPECT_FALSE(r.summary.budget_forced);

  // One event per token, then done; the deltas add up to the result.
  ASSERT_EQ(events.size(), out.size() + 1);
  std::string reasoning, content;
  for (size_t i = 0; i < events.size(); ++i) {
    reasoning += events[i].reasoning;
    content += events[i].content;
    if (i < out.size()) {
      EXPECT_EQ(events[i].kind, GenerateEvent::Kind::token);
      EXPECT_EQ(events[i].token, out[i]);
      EXPECT_FALSE(events[i].forced);
    }
  }
  EXPECT_EQ(events.back().kind, GenerateEvent::Kind::done);
  ASSERT_NE(events.back().summary, nullptr);
  EXPECT_EQ(events.back().summary->generated_tokens, 9);
  EXPECT_EQ(reasoning, "abc");
  EXPECT_EQ(content, "xyz");
  // The first reasoning text is known with the first token.
  EXPECT_EQ(events[0].reasoning, "a");
}

TEST_F(GenerateTest, ChatMessagesUseTheBuiltInR1Format) {
  Session s(model, 64);
  req.messages = nlohmann::json::array({{{"role", "user"}, {"content", "hi"}}});
  // The built-in vocabulary has no chat template: the prompt must be exactly
  // <bos><｜User｜>hi<｜Assistant｜><think>\n.
  const Ids expected = r1_prompt();
  script(expected, cat({bytes("r"), {close()}, bytes("ok")}));
  GenerateResult r = run(s);
  EXPECT_EQ(r.prompt_tokens, expected);
  EXPECT_EQ(r.reasoning, "r");
  EXPECT_EQ(r.content, "ok");
}

TEST_F(GenerateTest, MaxTokensEndsWithLength) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  script(req.prompt_tokens, bytes("abcdefgh"));
  req.max_tokens = 3;
  GenerateResult r = run(s);
  EXPECT_EQ(r.tokens, bytes("abc"));
  EXPECT_EQ(r.summary.finish, FinishReason::length);
  EXPECT_EQ(r.reasoning, "abc");

  req.max_tokens = 0;
  r = run(s);
  EXPECT_TRUE(r.tokens.empty());
  EXPECT_EQ(r.summary.finish, FinishReason::length);
}

TEST_F(GenerateTest, StopStringsCutTheAnswerOnly) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  // "END" inside the reasoning must not stop; "EN" followed by "x" is a false start.
  script(req.prompt_tokens, cat({bytes("so END"), {close()}, bytes("\n\nA ENx B END tail")}));
  req.stop = {"END", ""};
  GenerateResult r = run(s);
  EXPECT_EQ(r.reasoning, "so END");
  EXPECT_EQ(r.content, "A ENx B ");
  EXPECT_EQ(r.summary.finish, FinishReason::stop);
  EXPECT_EQ(r.summary.stop_string, "END");
  // Generation ended on the token that completed the stop string.
  EXPECT_EQ(r.tokens.back(), 'D');
  std::string streamed;
  for (const auto& ev : events) streamed += ev.content;
  EXPECT_EQ(streamed, "A ENx B ");
  // The held-back "E", "EN" were released only once decided: no event carries a
  // partial stop string that is later retracted.
  for (const auto& ev : events) EXPECT_EQ(ev.content.find("END"), std::string::npos);
}

TEST_F(GenerateTest, StopStringHeldBackIsReleasedAtTheEnd) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  script(req.prompt_tokens, cat({{close()}, bytes("okE")}));
  req.stop = {"END"};
  GenerateResult r = run(s);
  EXPECT_EQ(r.content, "okE");
  EXPECT_EQ(r.summary.finish, FinishReason::stop);
  EXPECT_EQ(r.summary.stop_string, "");
  EXPECT_EQ(events.back().content, "E");  // released by the done event
}

// A model that reasons ("a" forever) until it sees </think>, then answers "ok"
// (whatever else follows the tag).
void reason_until_closed(FakeModel& m, int32_t close_id, int32_t eos_id) {
  m.next = [=](const Ids& h) {
    size_t c = 0;
    while (c < h.size() && h[c] != close_id) ++c;
    if (c == h.size()) return int32_t{'a'};
    const Ids tail(h.begin() + static_cast<long>(c) + 1, h.end());
    auto has = [&](int32_t t) { return std::find(tail.begin(), tail.end(), t) != tail.end(); };
    if (!has('o')) return int32_t{'o'};
    if (!has('k')) return int32_t{'k'};
    return eos_id;
  };
}

TEST_F(GenerateTest, ThinkBudgetForcesTheCloseAndContinues) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  reason_until_closed(model, close(), eos());
  req.think_budget = 5;
  GenerateResult r = run(s);
  const Ids forced = tok().encode("\n</think>\n\n", false, true);
  ASSERT_FALSE(forced.empty());
  size_t close_at = 0;
  while (forced[close_at] != close()) ++close_at;
  // 5 sampled 'a', the forced tokens, then the model's answer after </think>.
  const Ids expect = cat({bytes("aaaaa"), forced, bytes("ok")});
  EXPECT_EQ(r.tokens, expect);
  EXPECT_EQ(r.reasoning, "aaaaa");
  EXPECT_EQ(r.content, "ok");
  EXPECT_TRUE(r.summary.budget_forced);
  EXPECT_EQ(r.summary.finish, FinishReason::stop);
  EXPECT_EQ(r.summary.reasoning_tokens, static_cast<int32_t>(5 + close_at + 1));
  EXPECT_EQ(r.summary.content_tokens, static_cast<int32_t>(forced.size() - close_at - 1 + 2));
  for (size_t i = 0; i < expect.size(); ++i) EXPECT_EQ(events[i].forced, i >= 5 && i < 5 + forced.size()) << i;
}

TEST_F(GenerateTest, ThinkBudgetZeroClosesAtOnce) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  reason_until_closed(model, close(), eos());
  req.think_budget = 0;
  GenerateResult r = run(s);
  EXPECT_EQ(r.reasoning, "");
  EXPECT_EQ(r.content, "ok");
  EXPECT_TRUE(events[0].forced);
}

TEST_F(GenerateTest, StopAtBudgetEndsWithBudget) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  reason_until_closed(model, close(), eos());
  req.think_budget = 4;
  req.stop_at_budget = true;
  GenerateResult r = run(s);
  EXPECT_EQ(r.tokens, bytes("aaaa"));
  EXPECT_EQ(r.summary.finish, FinishReason::budget);
  EXPECT_EQ(r.reasoning, "aaaa");
}

TEST_F(GenerateTest, BudgetDoesNotFireOnceTheAnswerStarted) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  script(req.prompt_tokens, cat({bytes("ab"), {close()}, bytes("\n\nlong answer")}));
  req.think_budget = 3;  // reached only by content tokens: nothing forced
  GenerateResult r = run(s);
  EXPECT_FALSE(r.summary.budget_forced);
  EXPECT_EQ(r.content, "long answer");
  for (const auto& ev : events) EXPECT_FALSE(ev.forced);
}

TEST_F(GenerateTest, NoThinkClosesTheReasoningInThePrompt) {
  Session s(model, 64);
  const Ids base = r1_prompt();
  req.prompt_tokens = base;
  req.no_think = true;
  const Ids injected = tok().encode("</think>\n\n", false, true);
  ASSERT_EQ(injected.front(), close());
  script(cat({base, injected}), bytes("hi"));
  GenerateResult r = run(s);
  EXPECT_EQ(r.prompt_tokens, cat({base, injected}));
  EXPECT_EQ(r.reasoning, "");
  EXPECT_EQ(r.content, "hi");
  EXPECT_EQ(r.summary.reasoning_tokens, 0);
  EXPECT_EQ(r.summary.content_tokens, 2);
}

TEST_F(GenerateTest, NoThinkWithoutAnOpenBlockAddsAnEmptyOne) {
  Session s(model, 64);
  const Ids base = cat({{tok().bos()}, bytes("q:")});
  req.prompt_tokens = base;
  req.no_think = true;
  const Ids injected = tok().encode("<think>\n\n</think>\n\n", false, true);
  ASSERT_EQ(injected.front(), think());
  script(cat({base, injected}), bytes("x"));
  GenerateResult r = run(s);
  EXPECT_EQ(r.prompt_tokens, cat({base, injected}));
  EXPECT_EQ(r.content, "x");
}

TEST_F(GenerateTest, OutputThatOpensItsOwnThinkBlock) {
  Session s(model, 64);
  const Ids prompt = cat({{tok().bos()}, bytes("q:")});  // not inside <think>
  req.prompt_tokens = prompt;
  script(prompt, cat({{think()}, bytes("r"), {close()}, bytes("ans")}));
  GenerateResult r = run(s);
  EXPECT_EQ(r.reasoning, "r");
  EXPECT_EQ(r.content, "ans");
  EXPECT_EQ(r.summary.reasoning_tokens, 3);  // <think> r </think>
  EXPECT_EQ(r.summary.content_tokens, 3);

  // No tags at all: everything is content, including a leading newline that
  // kept the parser undecided for a while.
  s.clear();
  script(prompt, bytes("\n<thx"));
  r = run(s);
  EXPECT_EQ(r.reasoning, "");
  EXPECT_EQ(r.content, "\n<thx");
  EXPECT_EQ(r.summary.content_tokens, 5);
  EXPECT_EQ(r.summary.reasoning_tokens, 0);
}

TEST_F(GenerateTest, CancelStopsAfterTheCurrentToken) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  script(req.prompt_tokens, bytes("abcdefgh"));
  std::atomic<bool> cancel{false};
  req.cancel = &cancel;
  int seen = 0;
  GenerateResult r = generate(s, req, [&](const GenerateEvent& ev) {
    if (ev.kind == GenerateEvent::Kind::token && ++seen == 3) cancel.store(true);
  });
  EXPECT_EQ(r.tokens, bytes("abc"));
  EXPECT_EQ(r.summary.finish, FinishReason::cancelled);

  // Already cancelled: nothing is prefilled or generated.
  model.batches.clear();
  s.clear();
  r = generate(s, req, {});
  EXPECT_TRUE(r.tokens.empty());
  EXPECT_EQ(r.summary.finish, FinishReason::cancelled);
  EXPECT_TRUE(model.batches.empty());
}

TEST_F(GenerateTest, PromptLongerThanTheContextIsAnError) {
  Session s(model, 8);
  req.prompt_tokens = Ids(9, 'a');
  try {
    generate(s, req, {});
    FAIL() << "expected r1::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "prompt has 9 tokens but the context is 8");
  }
  req.prompt_tokens = Ids(8, 'a');
  try {
    generate(s, req, {});
    FAIL() << "expected r1::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "prompt has 8 tokens but the context is 8 (no room left to generate)");
  }
  EXPECT_TRUE(model.batches.empty());  // checked before any work

  req.prompt_tokens = {};
  EXPECT_THROW(generate(s, req, {}), Error);
  req.prompt_tokens = {'a', 999999};
  EXPECT_THROW(generate(s, req, {}), Error);
  req.prompt_tokens = {};
  req.messages = nlohmann::json::array({{{"role", "user"}}});  // no content
  EXPECT_THROW(generate(s, req, {}), Error);
}

TEST_F(GenerateTest, FullContextEndsWithLength) {
  Session s(model, 9);
  req.prompt_tokens = bytes("hello");  // 5 tokens, not in reasoning
  model.next = [](const Ids&) { return int32_t{'z'}; };
  GenerateResult r = run(s);
  // Tokens 1..4 are fed back (positions 5..8); the 5th is sampled from the last
  // position's logits and the cache is full.
  EXPECT_EQ(r.tokens, bytes("zzzzz"));
  EXPECT_EQ(r.summary.finish, FinishReason::length);
  EXPECT_EQ(s.n_past(), 9);
}

TEST_F(GenerateTest, PrefillsInChunksAndReusesThePrefix) {
  Session s(model, 64);
  req.prompt_tokens = bytes("0123456789");
  req.prefill_chunk = 4;
  script(req.prompt_tokens, bytes("ab"));
  GenerateResult r = run(s);
  EXPECT_EQ(r.tokens, bytes("ab"));
  // 4 + 4 + 2 prompt tokens, then "a" and "b" fed back (the eos after "b" is
  // sampled from b's logits, and is not fed).
  EXPECT_EQ(model.batches, (std::vector<int>{4, 4, 2, 1, 1}));
  EXPECT_EQ(s.tokens(), bytes("0123456789ab"));
  EXPECT_EQ(r.summary.cached_tokens, 0);

  // The next turn extends the conversation: only the new tokens are prefilled.
  model.batches.clear();
  req.prompt_tokens = bytes("0123456789abXY");
  script(req.prompt_tokens, bytes("c"));
  r = run(s);
  EXPECT_EQ(r.summary.cached_tokens, 12);
  EXPECT_EQ(model.batches, (std::vector<int>{2, 1}));  // X Y, then c
  EXPECT_EQ(r.tokens, bytes("c"));

  // A prompt the cache already holds still recomputes its last token (Y); the
  // generated "c" after it is dropped from the cache and recomputed.
  model.batches.clear();
  r = run(s);
  EXPECT_EQ(r.summary.cached_tokens, 13);
  EXPECT_EQ(model.batches, (std::vector<int>{1, 1}));
  EXPECT_EQ(s.tokens(), bytes("0123456789abXYc"));
}

TEST_F(GenerateTest, ImmediateEndOfGeneration) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  script(req.prompt_tokens, {});
  GenerateResult r = run(s);
  EXPECT_TRUE(r.tokens.empty());
  EXPECT_EQ(r.summary.finish, FinishReason::stop);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, GenerateEvent::Kind::done);
}

TEST_F(GenerateTest, IgnoreEosSamplesTheNextBestToken) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  script(req.prompt_tokens, {});  // eos right away
  req.ignore_eos = true;
  req.max_tokens = 3;
  GenerateResult r = run(s);
  // eos masked: every other logit is 0, greedy takes the first index.
  EXPECT_EQ(r.tokens, (Ids{0, 0, 0}));
  EXPECT_EQ(r.summary.finish, FinishReason::length);
}

TEST_F(GenerateTest, MultiByteCharactersAreNeverSplitAcrossEvents) {
  Session s(model, 64);
  req.prompt_tokens = r1_prompt();
  const std::string answer = "é→😀";
  script(req.prompt_tokens, cat({{close()}, bytes(answer)}));
  GenerateResult r = run(s);
  EXPECT_EQ(r.content, answer);
  for (const auto& ev : events) EXPECT_EQ(utf8_incomplete_tail(ev.content), 0u);
  EXPECT_EQ(r.summary.content_tokens, static_cast<int32_t>(answer.size()));
}

}  // namespace
}  // namespace r1
