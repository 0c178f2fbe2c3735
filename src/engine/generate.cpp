#include "engine/generate.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

#include "base/error.hpp"
#include "base/timing.hpp"
#include "engine/batch_runner.hpp"
#include "engine/chat_format.hpp"
#include "engine/reasoning_parser.hpp"
#include "engine/session.hpp"
#include "grammar/matcher.hpp"
#include "grammar/token_trie.hpp"
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

// Log-softmax of the raw logits: the chosen token's value and the k most likely.
void fill_logprobs(std::span<const float> logits, int32_t chosen, int32_t k, GenerateEvent& ev) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float x : logits) mx = std::max(mx, x);
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - mx);
  const float lse = mx + static_cast<float>(std::log(sum));
  ev.logprob = logits[static_cast<size_t>(chosen)] - lse;
  ev.top_logprobs.clear();
  const auto n = static_cast<int32_t>(logits.size());
  k = std::min(k, n);
  if (k <= 0) return;
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = i;
  auto at = [&](int32_t id) { return logits[static_cast<size_t>(id)]; };
  auto better = [&](int32_t a, int32_t b) { return at(a) > at(b) || (at(a) == at(b) && a < b); };
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), better);
  for (int32_t i = 0; i < k; ++i) {
    const int32_t id = ids[static_cast<size_t>(i)];
    ev.top_logprobs.emplace_back(id, at(id) - lse);
  }
}

}  // namespace

PreparedPrompt prepare_prompt(const Session& session, const GenerateRequest& req) {
  return prepare_prompt(session.model().tokenizer(), req);
}

PreparedPrompt prepare_prompt(const Tokenizer& tok, const GenerateRequest& req) {
  PreparedPrompt p;
  std::string& text = p.text;
  if (!req.messages.is_null() && !(req.messages.is_array() && req.messages.empty())) {
    text = format_chat(tok, req.messages, /*add_generation_prompt=*/true, req.tools);
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

// Everything a Generation carries between steps.
struct Generation::State {
  // The request's settings (copied: the request need not outlive the generation).
  int32_t max_tokens, think_budget, top_logprobs;
  bool stop_at_budget, ignore_eos;

  Sampler sampler;
  Tokenizer::StreamDecoder decoder;
  ReasoningParser parser;
  StopMatcher stopper;
  bool content_seen = false;
  Phase phase = Phase::undecided;
  int32_t undecided_tokens = 0;  // counted once the phase is known
  std::vector<int32_t> eog_ids;  // end-of-generation ids (only needed with ignore_eos)
  std::vector<int32_t> forced;   // queued forced tokens, in reverse order
  bool budget_done = false;
  std::vector<float> raw;        // (n_vocab) copy of the logits for the log-probabilities

  // Constrained decoding (GenerateRequest::grammar).
  std::unique_ptr<grammar::Matcher> matcher;
  std::shared_ptr<const grammar::TokenTrie> trie;
  bool grammar_on = false;       // the constraint applies to the next token
  bool grammar_fed = false;      // the matcher has consumed a token
  int32_t newlines_before = 0;   // newline-only tokens let through before the answer (at most 2)
  std::vector<float> unmasked;   // (n_vocab) the logits before the first draw
  std::vector<uint8_t> allowed;  // (n_vocab) scratch for the full mask
  std::vector<int32_t> grammar_eog;  // end-of-generation ids (allowed when the grammar can end)

  State(const Tokenizer& tok, int32_t n_vocab, const GenerateRequest& req, bool starts_in_reasoning)
      : max_tokens(req.max_tokens),
        think_budget(req.think_budget),
        top_logprobs(req.top_logprobs),
        stop_at_budget(req.stop_at_budget),
        ignore_eos(req.ignore_eos),
        sampler(req.sampling, n_vocab),
        decoder(tok),
        parser(ReasoningParser::Options{.start_in_reasoning = starts_in_reasoning, .keep_tags = req.keep_tags}),
        stopper(req.stop) {}
};

Generation::Generation(const Tokenizer& tok, int32_t n_vocab, int64_t n_ctx, const GenerateRequest& req,
                       PreparedPrompt prompt)
    : tok_(tok), n_vocab_(n_vocab), n_ctx_(n_ctx), starts_in_reasoning_(prompt.starts_in_reasoning) {
  res_.prompt_tokens = std::move(prompt.tokens);
  res_.prompt_text = std::move(prompt.text);
  const auto& ptoks = res_.prompt_tokens;
  if (ptoks.empty()) fail("the prompt is empty (no tokens)");
  if (static_cast<int64_t>(ptoks.size()) > n_ctx)
    fail("prompt has {} tokens but the context is {}", ptoks.size(), n_ctx);
  if (static_cast<int64_t>(ptoks.size()) == n_ctx)
    fail("prompt has {} tokens but the context is {} (no room left to generate)", ptoks.size(), n_ctx);
  for (int32_t id : ptoks)
    if (id < 0 || id >= n_vocab) fail("prompt token id {} is out of range (the model has {} logits)", id, n_vocab);
  res_.summary.prompt_tokens = static_cast<int32_t>(ptoks.size());

  st_ = std::make_unique<State>(tok, n_vocab, req, starts_in_reasoning_);
  res_.summary.seed = st_->sampler.seed();
  for (int32_t id : ptoks) st_->sampler.accept(id);
  st_->phase = phase_of(st_->parser, starts_in_reasoning_, st_->content_seen);
  if (req.ignore_eos)
    for (int32_t id = 0; id < std::min(n_vocab, tok.n_vocab()); ++id)
      if (tok.is_eog(id)) st_->eog_ids.push_back(id);
  if (req.grammar) {
    st_->matcher = std::make_unique<grammar::Matcher>(req.grammar);
    st_->trie = grammar::TokenTrie::of(tok);
    for (int32_t id = 0; id < tok.n_vocab(); ++id)
      if (tok.is_eog(id)) st_->grammar_eog.push_back(id);
    st_->grammar_on = !starts_in_reasoning_;
  }
}

Generation::~Generation() = default;

bool Generation::in_reasoning() const { return st_->phase == Phase::reasoning; }
bool Generation::reasoning_closed() const { return st_->parser.reasoning_closed(); }

void Generation::end(FinishReason r) {
  finished_ = true;
  res_.summary.finish = r;
}

void Generation::cancel() {
  if (!finished_) end(FinishReason::cancelled);
}

bool Generation::step(std::span<float> logits, GenerateEvent& ev) {
  assert(!finished_);
  assert(static_cast<int64_t>(logits.size()) == n_vocab_);
  State& s = *st_;
  GenerateSummary& sum = res_.summary;
  if (s.max_tokens >= 0 && sum.generated_tokens >= s.max_tokens) {
    end(FinishReason::length);
    return false;
  }
  if (!s.budget_done && s.think_budget >= 0 && s.phase == Phase::reasoning && sum.reasoning_tokens >= s.think_budget) {
    s.budget_done = true;
    sum.budget_forced = true;
    if (s.stop_at_budget) {
      end(FinishReason::budget);
      return false;
    }
    s.forced = tok_.encode("\n</think>\n\n", /*add_bos=*/false, /*parse_special=*/true);
    std::reverse(s.forced.begin(), s.forced.end());
  }

  ev = GenerateEvent{};
  if (s.top_logprobs >= 0) s.raw.assign(logits.begin(), logits.end());
  if (!s.forced.empty()) {
    ev.token = s.forced.back();
    ev.forced = true;
    s.forced.pop_back();
  } else {
    if (s.ignore_eos)
      for (int32_t id : s.eog_ids) logits[static_cast<size_t>(id)] = -std::numeric_limits<float>::infinity();
    // Output rows past the tokenizer's vocabulary (a file with more rows than
    // tokens) are no tokens: they are never sampled (their log-probabilities are
    // still reported among the alternatives).
    for (size_t id = static_cast<size_t>(tok_.n_vocab()); id < logits.size(); ++id)
      logits[id] = -std::numeric_limits<float>::infinity();
    if (s.grammar_on) {
      if (s.matcher->must_end()) {
        end(FinishReason::stop);
        return false;
      }
      ev.token = sample_constrained(logits);
      if (ev.token < 0) {  // no token of the vocabulary can continue the grammar
        end(FinishReason::stop);
        return false;
      }
    } else {
      ev.token = s.sampler.sample(logits);
    }
    if (tok_.is_eog(ev.token)) {
      end(FinishReason::stop);
      return false;
    }
  }
  if (s.top_logprobs >= 0) fill_logprobs(s.raw, ev.token, s.top_logprobs, ev);
  s.sampler.accept(ev.token);
  res_.tokens.push_back(ev.token);
  ++sum.generated_tokens;

  if (s.grammar_on && !tok_.is_eog(ev.token)) {
    const double t0 = now_seconds();
    if (s.matcher->accept(tok_.token_bytes(ev.token))) s.grammar_fed = true;
    else ++s.newlines_before;  // an exempt newline token (grammar_allows)
    sum.grammar_ms += (now_seconds() - t0) * 1000.0;
  }
  const Phase before = s.phase;
  std::string piece = s.decoder.push(ev.token);
  res_.text += piece;
  ReasoningDelta d = s.parser.push(piece);
  s.content_seen = s.content_seen || !d.content.empty();
  s.phase = phase_of(s.parser, starts_in_reasoning_, s.content_seen);
  if (before == Phase::reasoning || s.phase == Phase::reasoning) {
    sum.reasoning_tokens += 1 + s.undecided_tokens;
    s.undecided_tokens = 0;
  } else if (s.phase == Phase::content) {
    sum.content_tokens += 1 + s.undecided_tokens;
    s.undecided_tokens = 0;
  } else {
    ++s.undecided_tokens;
  }
  ev.reasoning = std::move(d.reasoning);
  ev.content = s.stopper.push(d.content);
  res_.reasoning += ev.reasoning;
  res_.content += ev.content;
  if (s.matcher && !s.grammar_on && s.parser.reasoning_closed()) s.grammar_on = true;
  if (s.stopper.matched()) {
    end(FinishReason::stop);
    sum.stop_string = s.stopper.matched_string();
  } else if (sum.prompt_tokens + static_cast<int64_t>(sum.generated_tokens) > n_ctx_) {
    // The cache holds the prompt and every generated token but this one: no room to feed it.
    end(FinishReason::length);
  }
  return true;
}

int64_t Generation::tokens_left() const {
  if (finished_) return 0;
  const GenerateSummary& sum = res_.summary;
  int64_t left = n_ctx_ + 1 - sum.prompt_tokens - sum.generated_tokens;  // see the context check in step()
  if (st_->max_tokens >= 0) left = std::min<int64_t>(left, st_->max_tokens - sum.generated_tokens);
  return std::max<int64_t>(left, 0);
}

// Whether token `id` may come next under the grammar: end-of-generation when the
// grammar can end; newline-only tokens before the answer has started (after a
// reasoning block); otherwise the token's text must continue the grammar.
bool Generation::grammar_allows(int32_t id) {
  State& s = *st_;
  if (id < 0 || id >= tok_.n_vocab()) return false;
  if (tok_.is_eog(id)) return s.matcher->can_end();
  if (newline_exempt()) {
    const auto& nl = s.trie->newline_tokens();
    if (std::binary_search(nl.begin(), nl.end(), id)) return true;
  }
  return s.matcher->allows(tok_.token_bytes(id));
}

bool Generation::newline_exempt() const {
  return starts_in_reasoning_ && !st_->grammar_fed && st_->newlines_before < 2;
}

// Samples as usual; when the grammar rejects the token, samples again from the
// original logits with every disallowed token at -inf (so greedy decoding picks the
// best allowed token, as with the whole mask applied first). -1: nothing is allowed.
int32_t Generation::sample_constrained(std::span<float> logits) {
  State& s = *st_;
  // Timed: everything beyond the plain draw (the copy, the check, the mask, the re-draw).
  double t0 = now_seconds();
  s.unmasked.assign(logits.begin(), logits.end());
  double spent = now_seconds() - t0;
  const int32_t first = s.sampler.sample(logits);
  t0 = now_seconds();
  int32_t id = first;
  if (!grammar_allows(id)) {
    s.matcher->allowed_tokens(*s.trie, s.allowed);
    if (newline_exempt())
      for (int32_t nl : s.trie->newline_tokens()) s.allowed[static_cast<size_t>(nl)] = 1;
    if (s.matcher->can_end())
      for (int32_t e : s.grammar_eog) s.allowed[static_cast<size_t>(e)] = 1;
    bool any = false;
    constexpr float kOff = -std::numeric_limits<float>::infinity();
    const size_t n_allowed = std::min(s.allowed.size(), s.unmasked.size());
    for (size_t t = 0; t < n_allowed; ++t) {
      if (!s.allowed[t]) s.unmasked[t] = kOff;
      else if (s.unmasked[t] != kOff) any = true;
    }
    for (size_t t = n_allowed; t < s.unmasked.size(); ++t) s.unmasked[t] = kOff;
    if (!any) {
      id = -1;
    } else {
      std::copy(s.unmasked.begin(), s.unmasked.end(), logits.begin());
      id = s.sampler.sample(logits);
    }
  }
  spent += now_seconds() - t0;
  res_.summary.grammar_ms += spent * 1000.0;
  return id;
}

GenerateEvent Generation::finish() {
  assert(finished_ && !flushed_);
  flushed_ = true;
  State& s = *st_;
  GenerateSummary& sum = res_.summary;
  // Release whatever the decoder, the parser and the stop matcher still hold.
  sum.content_tokens += s.undecided_tokens;  // never decided: no reasoning block
  s.undecided_tokens = 0;
  std::string rest = s.decoder.flush();
  res_.text += rest;
  ReasoningDelta d1 = s.parser.push(rest);
  ReasoningDelta d2 = s.parser.flush();
  std::string content;
  if (!s.stopper.matched()) {
    content = s.stopper.push(d1.content + d2.content);
    content += s.stopper.flush();
    if (s.stopper.matched()) {
      sum.finish = FinishReason::stop;
      sum.stop_string = s.stopper.matched_string();
    }
  }
  GenerateEvent done;
  done.kind = GenerateEvent::Kind::done;
  done.reasoning = d1.reasoning + d2.reasoning;
  done.content = std::move(content);
  done.summary = &sum;
  res_.reasoning += done.reasoning;
  res_.content += done.content;
  return done;
}

GenerateResult generate(Session& session, const GenerateRequest& req, const GenerateCallback& on_event) {
  Model& model = session.model();
  const int32_t n_vocab = static_cast<int32_t>(model.config().n_vocab);
  Generation gen(model.tokenizer(), n_vocab, session.n_ctx(), req, prepare_prompt(session, req));
  // A batch of one through the batch runner: prompt chunks of req.prefill_chunk tokens,
  // then one token per step; the cancel flag is read before every step.
  BatchRunner runner(model, req.prefill_chunk, req.speculation);
  const int64_t id = runner.add(session, gen);
  auto finish = [&] {
    GenerateEvent done = gen.finish();
    if (on_event) on_event(done);
    return gen.take_result();
  };
  for (;;) {
    if (cancelled(req)) {
      gen.cancel();
      runner.remove(id);
      return finish();
    }
    for (BatchRunner::Outcome& o : runner.step()) {
      if (!o.error.empty()) fail("{}", o.error);
      if (o.has_token && on_event) on_event(o.ev);
      if (o.done) return finish();
    }
  }
}

}  // namespace r1
