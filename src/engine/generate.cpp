#include "engine/generate.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

#include "base/error.hpp"
#include "base/timing.hpp"
#include "engine/chat_format.hpp"
#include "engine/reasoning_parser.hpp"
#include "engine/session.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::cancelled: return "cancelled";
    case FinishReason::budget: return "budget";
  }
  return "stop";
}

namespace {

// Finds stop strings in a text stream given in pieces. push() returns the text
// that is certainly before any match; a tail that could begin a stop string is
// held back until later pieces decide it.
class StopMatcher {
 public:
  explicit StopMatcher(const std::vector<std::string>& stops) {
    for (const auto& s : stops)
      if (!s.empty()) stops_.push_back(s);
  }

  // Returns the emittable text; sets matched() once a stop string was found.
  std::string push(std::string_view piece) {
    if (matched_ || (stops_.empty() && held_.empty())) return matched_ ? std::string() : std::string(piece);
    held_ += piece;
    size_t first = std::string::npos;
    for (const auto& s : stops_) {
      size_t p = held_.find(s);
      if (p != std::string::npos && p < first) {
        first = p;
        matched_string_ = s;
      }
    }
    if (first != std::string::npos) {
      matched_ = true;
      std::string out = held_.substr(0, first);
      held_.clear();
      return out;
    }
    // Longest suffix of held_ that is a proper prefix of some stop string.
    size_t keep = 0;
    for (const auto& s : stops_) {
      size_t max_k = std::min(s.size() - 1, held_.size());
      for (size_t k = max_k; k > keep; --k)
        if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
          keep = k;
          break;
        }
    }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
  }

  std::string flush() {
    std::string out = matched_ ? std::string() : std::move(held_);
    held_.clear();
    return out;
  }

  bool matched() const { return matched_; }
  const std::string& matched_string() const { return matched_string_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool matched_ = false;
  std::string matched_string_;
};

// Where the output stands relative to the reasoning block. The parser alone
// cannot say before its first decision (it starts undecided), so the prompt's
// state fills the gap: after a prompt that opened <think>, the output is in the
// reasoning block until the parser saw it close.
enum class Phase { undecided, reasoning, content };

Phase phase_of(const ReasoningParser& p, bool starts_in_reasoning, bool content_seen) {
  if (p.in_reasoning()) return Phase::reasoning;
  if (p.reasoning_closed()) return Phase::content;
  if (starts_in_reasoning) return Phase::reasoning;
  return content_seen ? Phase::content : Phase::undecided;
}

bool cancelled(const GenerateRequest& req) {
  return req.cancel && req.cancel->load(std::memory_order_relaxed);
}

}  // namespace

PreparedPrompt prepare_prompt(const Session& session, const GenerateRequest& req) {
  const Tokenizer& tok = session.model().tokenizer();
  PreparedPrompt p;
  std::string& text = p.text;
  if (!req.messages.is_null() && !(req.messages.is_array() && req.messages.empty())) {
    text = format_chat(tok, req.messages, /*add_generation_prompt=*/true);
    p.tokens = tokenize_prompt(tok, text);
  } else if (!req.prompt_text.empty()) {
    text = req.prompt_text;
    p.tokens = tokenize_prompt(tok, text);
  } else {
    p.tokens = req.prompt_tokens;
    for (int32_t id : p.tokens)
      if (id < 0 || id >= tok.n_vocab())
        fail("prompt token id {} is out of range (the vocabulary has {} tokens)", id, tok.n_vocab());
    text = tok.decode(p.tokens);
  }
  p.starts_in_reasoning = ends_in_reasoning(text);
  if (req.no_think) {
    const char* inject = p.starts_in_reasoning ? "</think>\n\n" : "<think>\n\n</think>\n\n";
    auto extra = tok.encode(inject, /*add_bos=*/false, /*parse_special=*/true);
    p.tokens.insert(p.tokens.end(), extra.begin(), extra.end());
    text += inject;
    p.starts_in_reasoning = false;
  }
  return p;
}

GenerateResult generate(Session& session, const GenerateRequest& req, const GenerateCallback& on_event) {
  Model& model = session.model();
  const Tokenizer& tok = model.tokenizer();
  const int32_t n_vocab = static_cast<int32_t>(model.config().n_vocab);

  GenerateResult res;
  GenerateSummary& sum = res.summary;
  PreparedPrompt prompt = prepare_prompt(session, req);
  res.prompt_tokens = std::move(prompt.tokens);
  res.prompt_text = std::move(prompt.text);
  const auto& ptoks = res.prompt_tokens;
  const int64_t n_ctx = session.n_ctx();
  if (ptoks.empty()) fail("the prompt is empty (no tokens)");
  if (static_cast<int64_t>(ptoks.size()) > n_ctx)
    fail("prompt has {} tokens but the context is {}", ptoks.size(), n_ctx);
  if (static_cast<int64_t>(ptoks.size()) == n_ctx)
    fail("prompt has {} tokens but the context is {} (no room left to generate)", ptoks.size(), n_ctx);
  for (int32_t id : ptoks)
    if (id < 0 || id >= n_vocab) fail("prompt token id {} is out of range (the model has {} logits)", id, n_vocab);
  sum.prompt_tokens = static_cast<int32_t>(ptoks.size());

  auto emit = [&](GenerateEvent& ev) {
    res.reasoning += ev.reasoning;
    res.content += ev.content;
    if (on_event) on_event(ev);
  };
  // The done event: carries what was still held back, and the summary.
  auto finish = [&](double t_start, std::string reasoning, std::string content) {
    sum.decode_ms = (now_seconds() - t_start) * 1000.0;
    GenerateEvent done;
    done.kind = GenerateEvent::Kind::done;
    done.reasoning = std::move(reasoning);
    done.content = std::move(content);
    done.summary = &sum;
    emit(done);
    return std::move(res);
  };

  // Prefill (only what the cache does not already hold).
  Sampler sampler(req.sampling, n_vocab);
  sum.seed = sampler.seed();
  for (int32_t id : ptoks) sampler.accept(id);
  sum.cached_tokens = static_cast<int32_t>(session.reuse_prefix(ptoks));
  std::vector<float> logits;
  const double t_prefill = now_seconds();
  const size_t chunk = static_cast<size_t>(std::max(1, req.prefill_chunk));
  for (size_t pos = static_cast<size_t>(sum.cached_tokens); pos < ptoks.size(); pos += chunk) {
    if (cancelled(req)) {
      sum.prefill_ms = (now_seconds() - t_prefill) * 1000.0;
      sum.finish = FinishReason::cancelled;
      return finish(now_seconds(), {}, {});
    }
    size_t n = std::min(chunk, ptoks.size() - pos);
    session.forward(std::span<const int32_t>(ptoks.data() + pos, n), logits);
  }
  sum.prefill_ms = (now_seconds() - t_prefill) * 1000.0;
  assert(static_cast<int64_t>(logits.size()) == n_vocab);

  // Decode.
  const double t_decode = now_seconds();
  Tokenizer::StreamDecoder decoder(tok);
  const bool starts_in_reasoning = prompt.starts_in_reasoning;
  ReasoningParser parser(ReasoningParser::Options{.start_in_reasoning = starts_in_reasoning});
  bool content_seen = false;
  Phase phase = phase_of(parser, starts_in_reasoning, content_seen);
  int32_t undecided_tokens = 0;  // counted once the phase is known
  StopMatcher stopper(req.stop);
  std::vector<int32_t> eog_ids;  // end-of-generation ids (only needed with ignore_eos)
  if (req.ignore_eos)
    for (int32_t id = 0; id < std::min(n_vocab, tok.n_vocab()); ++id)
      if (tok.is_eog(id)) eog_ids.push_back(id);
  std::vector<int32_t> forced;  // queued forced tokens, in reverse order
  bool budget_done = false;
  const std::string budget_close = "\n</think>\n\n";

  for (;;) {
    if (cancelled(req)) {
      sum.finish = FinishReason::cancelled;
      break;
    }
    if (req.max_tokens >= 0 && sum.generated_tokens >= req.max_tokens) {
      sum.finish = FinishReason::length;
      break;
    }
    if (!budget_done && req.think_budget >= 0 && phase == Phase::reasoning &&
        sum.reasoning_tokens >= req.think_budget) {
      budget_done = true;
      sum.budget_forced = true;
      if (req.stop_at_budget) {
        sum.finish = FinishReason::budget;
        break;
      }
      forced = tok.encode(budget_close, /*add_bos=*/false, /*parse_special=*/true);
      std::reverse(forced.begin(), forced.end());
    }

    GenerateEvent ev;
    if (!forced.empty()) {
      ev.token = forced.back();
      ev.forced = true;
      forced.pop_back();
    } else {
      if (req.ignore_eos)
        for (int32_t id : eog_ids) logits[static_cast<size_t>(id)] = -std::numeric_limits<float>::infinity();
      ev.token = sampler.sample(logits);
      if (tok.is_eog(ev.token)) {
        sum.finish = FinishReason::stop;
        break;
      }
    }
    sampler.accept(ev.token);
    res.tokens.push_back(ev.token);
    ++sum.generated_tokens;

    const Phase before = phase;
    std::string piece = decoder.push(ev.token);
    res.text += piece;
    ReasoningDelta d = parser.push(piece);
    content_seen = content_seen || !d.content.empty();
    phase = phase_of(parser, starts_in_reasoning, content_seen);
    if (before == Phase::reasoning || phase == Phase::reasoning) {
      sum.reasoning_tokens += 1 + undecided_tokens;
      undecided_tokens = 0;
    } else if (phase == Phase::content) {
      sum.content_tokens += 1 + undecided_tokens;
      undecided_tokens = 0;
    } else {
      ++undecided_tokens;
    }
    ev.reasoning = std::move(d.reasoning);
    ev.content = stopper.push(d.content);
    emit(ev);
    if (stopper.matched()) {
      sum.finish = FinishReason::stop;
      sum.stop_string = stopper.matched_string();
      break;
    }

    if (session.n_past() + 1 > n_ctx) {
      sum.finish = FinishReason::length;
      break;
    }
    if (cancelled(req)) {
      sum.finish = FinishReason::cancelled;
      break;
    }
    const int32_t id = ev.token;
    session.forward(std::span<const int32_t>(&id, 1), logits);
  }

  // Release whatever the decoder, the parser and the stop matcher still hold.
  sum.content_tokens += undecided_tokens;  // never decided: no reasoning block
  std::string rest = decoder.flush();
  res.text += rest;
  ReasoningDelta d1 = parser.push(rest);
  ReasoningDelta d2 = parser.flush();
  std::string content;
  if (!stopper.matched()) {
    content = stopper.push(d1.content + d2.content);
    content += stopper.flush();
    if (stopper.matched()) {
      sum.finish = FinishReason::stop;
      sum.stop_string = stopper.matched_string();
    }
  }
  return finish(t_decode, d1.reasoning + d2.reasoning, std::move(content));
}

}  // namespace r1
