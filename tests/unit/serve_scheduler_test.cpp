// Scheduler: continuous batching over slots on a tiny random-weight model. The
// reference for every output is generate() on its own Session (one sequence, the
// CLI's path): batched results must be the same token for token, at temperature 0
// and with a seeded sampler alike.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/timing.hpp"
#include "engine/session.hpp"
#include "model/generator.hpp"
#include "serve/scheduler.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::serve {
namespace {

std::string r1_template() {
  std::ifstream in(std::string(R1_SOURCE_DIR) + "/models/templates/deepseek-r1-distill.jinja");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string test_dir() {
  const std::string dir = std::string(R1_BINARY_DIR) + "/serve_test_tmp";
  std::filesystem::create_directories(dir);
  return dir;
}

std::string model_path() {
  static const std::string path = [] {
    const std::string p = test_dir() + "/tiny.gguf";
    GenModelSpec spec = gen_model_preset("tiny", Arch::qwen2);
    spec.chat_template = r1_template();
    write_random_model(spec, p, 1);
    return p;
  }();
  return path;
}

// A DeepSeek-V3-like model (MLA, sigmoid router with groups and bias, shared expert, YaRN)
// in Q8_0 with llama-quantize's F32 router.
std::string deepseek2_path() {
  static const std::string path = [] {
    const std::string p = test_dir() + "/tiny-v3-q8_0.gguf";
    GenDeepseek2Spec spec = gen_deepseek2_preset("tiny-v3");
    spec.mix = FileType::q8_0;
    spec.chat_template = r1_template();
    write_random_deepseek2(spec, p, 1);
    return p;
  }();
  return path;
}

class SchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = Model::load(model_path(), ModelOptions{.n_threads = 2}).release(); }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }

  static GenerateRequest chat(const std::string& user, int32_t max_tokens, float temp = 0.0f, uint64_t seed = 7) {
    GenerateRequest g;
    g.messages = nlohmann::json::array({{{"role", "user"}, {"content", user}}});
    g.max_tokens = max_tokens;
    g.sampling.temperature = temp;
    g.sampling.seed = seed;
    return g;
  }

  // The reference: generate() alone on a fresh session.
  static GenerateResult alone(const GenerateRequest& g, int64_t n_ctx) {
    Session s(*model_, n_ctx);
    return generate(s, g, {});
  }

  static std::unique_ptr<Job> job(const GenerateRequest& g, int32_t index, std::shared_ptr<Channel> ch, int64_t n_ctx) {
    auto j = std::make_unique<Job>();
    const Tokenizer& tok = model_->tokenizer();
    j->gen = std::make_unique<Generation>(tok, static_cast<int32_t>(model_->config().n_vocab), n_ctx, g,
                                          prepare_prompt(tok, g));
    j->index = index;
    j->channel = std::move(ch);
    j->t_arrival = now_seconds();
    return j;
  }

  struct Collected {
    std::vector<std::vector<int32_t>> tokens;
    std::vector<std::string> reasoning, content;
    std::vector<GenerateSummary> summary;
  };
  // Reads a channel until `n` jobs are done (fails the test after 60 s).
  static Collected collect(Channel& ch, size_t n) {
    Collected c;
    c.tokens.resize(n);
    c.reasoning.resize(n);
    c.content.resize(n);
    c.summary.resize(n);
    size_t done = 0;
    const double t0 = now_seconds();
    std::vector<Channel::Item> items;
    while (done < n && now_seconds() - t0 < 60) {
      items.clear();
      ch.wait(items, 100);
      for (auto& it : items) {
        const auto i = static_cast<size_t>(it.index);
        c.reasoning[i] += it.ev.reasoning;
        c.content[i] += it.ev.content;
        if (it.ev.kind == GenerateEvent::Kind::token) {
          c.tokens[i].push_back(it.ev.token);
        } else {
          c.summary[i] = it.summary;
          ++done;
        }
      }
    }
    EXPECT_EQ(done, n) << "jobs did not finish in time";
    return c;
  }

  static Model* model_;
};
Model* SchedulerTest::model_ = nullptr;

TEST_F(SchedulerTest, BatchedGreedyEqualsAloneTokenForToken) {
  const int64_t n_ctx = 512;
  Metrics metrics;
  Scheduler sched(*model_, {.n_slots = 4, .n_ctx = n_ctx, .max_queue = 16, .prefill_chunk = 7, .speculation = {}}, metrics);
  // Prompts of different lengths, so prefill chunks and decode steps interleave.
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 10; ++i) reqs.push_back(chat(std::string(static_cast<size_t>(1 + 5 * i), 'a' + i), 12 + 3 * i));
  auto ch = std::make_shared<Channel>();
  std::vector<std::unique_ptr<Job>> jobs;
  for (size_t i = 0; i < reqs.size(); ++i) jobs.push_back(job(reqs[i], static_cast<int32_t>(i), ch, n_ctx));
  ASSERT_EQ(sched.submit(std::move(jobs)), Scheduler::Submit::ok);
  Collected got = collect(*ch, reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    GenerateResult ref = alone(reqs[i], n_ctx);
    EXPECT_EQ(got.tokens[i], ref.tokens) << "prompt " << i;
    EXPECT_EQ(got.reasoning[i], ref.reasoning) << "prompt " << i;
    EXPECT_EQ(got.content[i], ref.content) << "prompt " << i;
    EXPECT_EQ(got.summary[i].generated_tokens, ref.summary.generated_tokens);
    EXPECT_EQ(got.summary[i].reasoning_tokens, ref.summary.reasoning_tokens);
    EXPECT_EQ(got.summary[i].finish, ref.summary.finish);
  }
  const std::string m = metrics.render(sched.gauges());
  EXPECT_NE(m.find("r1_generations_total 10\n"), std::string::npos);
}

TEST_F(SchedulerTest, SeededSamplingIsTheSameBatchedOrAlone) {
  const int64_t n_ctx = 256;
  Metrics metrics;
  Scheduler sched(*model_, {.n_slots = 3, .n_ctx = n_ctx, .max_queue = 8, .speculation = {}}, metrics);
  auto ch = std::make_shared<Channel>();
  std::vector<GenerateRequest> reqs = {chat("seeded one", 20, 1.0f, 11), chat("seeded two", 20, 1.0f, 12),
                                       chat("seeded three", 20, 0.8f, 13)};
  std::vector<std::unique_ptr<Job>> jobs;
  for (size_t i = 0; i < reqs.size(); ++i) jobs.push_back(job(reqs[i], static_cast<int32_t>(i), ch, n_ctx));
  ASSERT_EQ(sched.submit(std::move(jobs)), Scheduler::Submit::ok);
  Collected got = collect(*ch, reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(got.tokens[i], alone(reqs[i], n_ctx).tokens) << i;
}

TEST_F(SchedulerTest, PromptPrefixIsReusedFromTheSameSlot) {
  const int64_t n_ctx = 256;
  Metrics metrics;
  Scheduler sched(*model_, {.n_slots = 2, .n_ctx = n_ctx, .speculation = {}}, metrics);
  const GenerateRequest g = chat("a long shared system prompt and a question", 6);
  const size_t n_prompt = prepare_prompt(model_->tokenizer(), g).tokens.size();
  GenerateResult ref = alone(g, n_ctx);
  for (int round = 0; round < 2; ++round) {
    auto ch = std::make_shared<Channel>();
    std::vector<std::unique_ptr<Job>> jobs;
    jobs.push_back(job(g, 0, ch, n_ctx));
    ASSERT_EQ(sched.submit(std::move(jobs)), Scheduler::Submit::ok);
    Collected got = collect(*ch, 1);
    EXPECT_EQ(got.tokens[0], ref.tokens);
    // First time nothing is cached; then all but the last prompt token (its logits are needed).
    EXPECT_EQ(got.summary[0].cached_tokens, round == 0 ? 0 : static_cast<int32_t>(n_prompt - 1));
  }
}

TEST_F(SchedulerTest, CancelEndsAJobAndFreesItsSlot) {
  const int64_t n_ctx = 2048;
  Metrics metrics;
  Scheduler sched(*model_, {.n_slots = 1, .n_ctx = n_ctx, .max_queue = 4, .speculation = {}}, metrics);
  GenerateRequest longer = chat("go on", -1);
  longer.ignore_eos = true;  // runs until the context is full unless cancelled
  auto ch = std::make_shared<Channel>();
  std::vector<std::unique_ptr<Job>> jobs;
  jobs.push_back(job(longer, 0, ch, n_ctx));
  ASSERT_EQ(sched.submit(std::move(jobs)), Scheduler::Submit::ok);
  std::vector<Channel::Item> items;
  while (items.empty()) ch->wait(items, 100);  // it is running
  ch->cancel = true;
  Collected rest = collect(*ch, 1);
  EXPECT_EQ(rest.summary[0].finish, FinishReason::cancelled);
  EXPECT_LT(rest.summary[0].generated_tokens, 1000);
  EXPECT_TRUE(sched.wait_idle(5.0));
  EXPECT_EQ(sched.gauges().busy, 0);
  // The slot serves the next job.
  auto ch2 = std::make_shared<Channel>();
  std::vector<std::unique_ptr<Job>> jobs2;
  jobs2.push_back(job(chat("next", 4), 0, ch2, n_ctx));
  ASSERT_EQ(sched.submit(std::move(jobs2)), Scheduler::Submit::ok);
  const int32_t got = collect(*ch2, 1).summary[0].generated_tokens;  // before alone(): one user of the model at a time
  EXPECT_EQ(got, alone(chat("next", 4), n_ctx).summary.generated_tokens);
}

TEST_F(SchedulerTest, FullQueueAndDrainingRefuseWholeRequests) {
  const int64_t n_ctx = 2048;
  Metrics metrics;
  Scheduler sched(*model_, {.n_slots = 1, .n_ctx = n_ctx, .max_queue = 1, .speculation = {}}, metrics);
  GenerateRequest longer = chat("busy", -1);
  longer.ignore_eos = true;
  auto ch = std::make_shared<Channel>();
  auto submit = [&](int count) {
    std::vector<std::unique_ptr<Job>> jobs;
    for (int i = 0; i < count; ++i) jobs.push_back(job(longer, i, ch, n_ctx));
    return sched.submit(std::move(jobs));
  };
  EXPECT_EQ(submit(3), Scheduler::Submit::queue_full);  // 1 free slot + 1 queue place < 3
  EXPECT_EQ(sched.gauges().queued, 0);                  // nothing of it was taken
  EXPECT_EQ(submit(2), Scheduler::Submit::ok);          // one runs, one waits
  EXPECT_EQ(submit(1), Scheduler::Submit::queue_full);
  sched.begin_drain();
  EXPECT_EQ(submit(1), Scheduler::Submit::shutting_down);
  sched.cancel_all();
  Collected c = collect(*ch, 2);
  EXPECT_EQ(c.summary[0].finish, FinishReason::cancelled);
  EXPECT_EQ(c.summary[1].finish, FinishReason::cancelled);
  EXPECT_TRUE(sched.wait_idle(5.0));
}

// The same scheduler over the deepseek2 family: a request's greedy tokens are the same
// alone (the CLI's path) and batched with 7 others (MoE routing included).
class SchedulerDeepseek2Test : public SchedulerTest {
 protected:
  static void SetUpTestSuite() { model_ = Model::load(deepseek2_path(), ModelOptions{.n_threads = 2}).release(); }
};

TEST_F(SchedulerDeepseek2Test, GreedyTokensAloneEqualBatchedWithSevenOthers) {
  const int64_t n_ctx = 512;
  Metrics metrics;
  Scheduler sched(*model_, {.n_slots = 8, .n_ctx = n_ctx, .max_queue = 16, .speculation = {}}, metrics);
  std::vector<GenerateRequest> reqs;
  const char* users[] = {"What is 2 + 2?", "Name a prime.", "hello", "Explain MoE routing in one line.",
                         "12 * 34 = ?", "A haiku about caches", "zzz", "Why is the sky blue?"};
  for (int i = 0; i < 8; ++i) reqs.push_back(chat(users[i], 24 + 2 * i));
  auto ch = std::make_shared<Channel>();
  std::vector<std::unique_ptr<Job>> jobs;
  for (size_t i = 0; i < reqs.size(); ++i) jobs.push_back(job(reqs[i], static_cast<int32_t>(i), ch, n_ctx));
  ASSERT_EQ(sched.submit(std::move(jobs)), Scheduler::Submit::ok);
  Collected got = collect(*ch, reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    GenerateResult ref = alone(reqs[i], n_ctx);
    EXPECT_EQ(got.tokens[i], ref.tokens) << "request " << i;
    EXPECT_EQ(got.content[i], ref.content) << "request " << i;
    EXPECT_GT(ref.tokens.size(), 0u);
  }
  // They really ran together: steps with more than 4 sequences in the batch.
  const std::string m = metrics.render(sched.gauges());
  auto bucket = [&](const char* le) {
    const std::string key = std::string("r1_batch_sequences_bucket{le=\"") + le + "\"} ";
    const size_t p = m.find(key);
    return p == std::string::npos ? -1L : std::stol(m.substr(p + key.size()));
  };
  EXPECT_GE(bucket("8") - bucket("4"), 10) << m;
}

}  // namespace
}  // namespace r1::serve
