#include "eval/rollout.hpp"

#include <algorithm>
#include <climits>
#include <memory>

#include "base/error.hpp"
#include "engine/batch_runner.hpp"
#include "engine/generate.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::eval {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// One sequence in flight: its cache and its generation.
struct Running {
  size_t index;  // into prompts
  int64_t entry; // in the batch runner
  std::unique_ptr<Session> session;
  std::unique_ptr<Generation> gen;
};

RolloutSample sample_of(Generation& gen) {
  GenerateEvent done = gen.finish();
  RolloutSample s;
  s.closed_reasoning = gen.reasoning_closed();
  s.truncated = done.summary->finish == FinishReason::length;
  s.reasoning_tokens = done.summary->reasoning_tokens;
  GenerateResult r = gen.take_result();
  s.tokens = std::move(r.tokens);
  s.text = std::move(r.text);
  s.reasoning = trim(r.reasoning);
  s.content = trim(r.content);
  return s;
}

}  // namespace

std::vector<RolloutSample> rollout(Model& model, const std::vector<std::vector<int32_t>>& prompts,
                                   const std::vector<uint64_t>& seeds, bool starts_in_reasoning,
                                   const RolloutOptions& o, const RolloutProgress& progress) {
  if (seeds.size() != prompts.size()) fail("rollout: {} seeds for {} prompts", seeds.size(), prompts.size());
  if (o.max_tokens < 1 || o.max_batch < 1) fail("rollout: max_tokens and max_batch must be positive");
  const Tokenizer& tok = model.tokenizer();
  const auto n_vocab = static_cast<int32_t>(model.config().n_vocab);
  std::vector<RolloutSample> results(prompts.size());
  // All new prompts of a step prefill in that one step (no budget limit).
  BatchRunner runner(model, INT32_MAX, o.speculation);
  std::vector<Running> active;
  size_t next = 0, done = 0;
  while (done < prompts.size()) {
    while (active.size() < static_cast<size_t>(o.max_batch) && next < prompts.size()) {
      if (prompts[next].empty()) fail("rollout: prompt {} is empty", next);
      GenerateRequest req;
      req.sampling = o.sampling;
      req.sampling.seed = seeds[next];
      req.max_tokens = o.max_tokens;
      PreparedPrompt p{tok.decode(prompts[next]), prompts[next], starts_in_reasoning};
      const auto n_ctx = static_cast<int64_t>(prompts[next].size()) + o.max_tokens + 1;
      Running r{next, -1, std::make_unique<Session>(model, n_ctx), nullptr};
      r.gen = std::make_unique<Generation>(tok, n_vocab, n_ctx, req, std::move(p));
      r.entry = runner.add(*r.session, *r.gen);
      active.push_back(std::move(r));
      ++next;
    }
    for (const BatchRunner::Outcome& out : runner.step()) {
      if (!out.error.empty()) fail("rollout: {}", out.error);
      if (!out.done) continue;
      auto it = std::find_if(active.begin(), active.end(), [&](const Running& r) { return r.entry == out.id; });
      results[it->index] = sample_of(*it->gen);
      active.erase(it);
      ++done;
      if (progress) progress(done, prompts.size());
    }
  }
  return results;
}

}  // namespace r1::eval
