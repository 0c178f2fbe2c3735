#include "eval/rollout.hpp"

#include <memory>

#include "base/error.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::eval {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

struct Slot {
  size_t index = 0;                  // into prompts
  std::unique_ptr<KvCache> kv;
  std::unique_ptr<Sampler> sampler;
  std::vector<int32_t> pending;      // tokens to feed next
  RolloutSample out;
};

}  // namespace

void split_generation(const Tokenizer& tok, RolloutSample* s, bool starts_in_reasoning) {
  s->text = tok.decode(s->tokens);
  const std::string close = "</think>";
  std::string body = s->text;
  bool in_reasoning = starts_in_reasoning;
  if (!in_reasoning) {
    const size_t lead = body.find_first_not_of(" \t\r\n");
    if (lead != std::string::npos && body.compare(lead, 7, "<think>") == 0) {
      in_reasoning = true;
      body = body.substr(lead + 7);
    }
  }
  if (!in_reasoning) {
    s->reasoning.clear();
    s->content = trim(body);
    s->reasoning_tokens = 0;
    s->closed_reasoning = false;
    return;
  }
  const size_t p = body.find(close);
  s->closed_reasoning = p != std::string::npos;
  s->reasoning = trim(s->closed_reasoning ? body.substr(0, p) : body);
  s->content = s->closed_reasoning ? trim(body.substr(p + close.size())) : std::string();
  // Tokens up to and including the one that completes "</think>".
  s->reasoning_tokens = static_cast<int64_t>(s->tokens.size());
  if (s->closed_reasoning) {
    std::string acc;
    for (size_t i = 0; i < s->tokens.size(); ++i) {
      acc += tok.token_bytes(s->tokens[i]);
      if (acc.find(close) != std::string::npos) {
        s->reasoning_tokens = static_cast<int64_t>(i + 1);
        break;
      }
    }
  }
}

std::vector<RolloutSample> rollout(Model& model, const std::vector<std::vector<int32_t>>& prompts,
                                   const std::vector<uint64_t>& seeds, bool starts_in_reasoning,
                                   const RolloutOptions& o, const RolloutProgress& progress) {
  if (seeds.size() != prompts.size()) fail("rollout: {} seeds for {} prompts", seeds.size(), prompts.size());
  if (o.max_tokens < 1 || o.max_batch < 1) fail("rollout: max_tokens and max_batch must be positive");
  const Tokenizer& tok = model.tokenizer();
  const int32_t n_vocab = static_cast<int32_t>(model.config().n_vocab);
  std::vector<RolloutSample> results(prompts.size());
  std::vector<Slot> active;
  size_t next = 0, done = 0;
  std::vector<float> logits;
  while (done < prompts.size()) {
    while (active.size() < static_cast<size_t>(o.max_batch) && next < prompts.size()) {
      Slot s;
      s.index = next;
      if (prompts[next].empty()) fail("rollout: prompt {} is empty", next);
      s.kv = model.new_cache(static_cast<int64_t>(prompts[next].size()) + o.max_tokens);
      SamplingParams sp = o.sampling;
      sp.seed = seeds[next];
      s.sampler = std::make_unique<Sampler>(sp, n_vocab);
      for (int32_t t : prompts[next]) s.sampler->accept(t);
      s.pending = prompts[next];
      active.push_back(std::move(s));
      ++next;
    }
    std::vector<SeqBatch> batch;
    for (Slot& s : active) batch.push_back({s.pending, s.kv.get(), false});
    model.forward_batch(batch, logits);
    std::vector<Slot> still;
    for (size_t i = 0; i < active.size(); ++i) {
      Slot& s = active[i];
      std::span<float> row(logits.data() + i * static_cast<size_t>(n_vocab), static_cast<size_t>(n_vocab));
      const int32_t t = s.sampler->sample(row);
      bool finished = false;
      if (tok.is_eog(t)) {
        finished = true;
      } else {
        s.sampler->accept(t);
        s.out.tokens.push_back(t);
        s.pending.assign(1, t);
        if (static_cast<int32_t>(s.out.tokens.size()) >= o.max_tokens) {
          s.out.truncated = true;
          finished = true;
        }
      }
      if (finished) {
        split_generation(tok, &s.out, starts_in_reasoning);
        results[s.index] = std::move(s.out);
        ++done;
        if (progress) progress(done, prompts.size());
      } else {
        still.push_back(std::move(s));
      }
    }
    active = std::move(still);
  }
  return results;
}

}  // namespace r1::eval
