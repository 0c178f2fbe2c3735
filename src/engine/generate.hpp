// Generation: one request as a state machine (below), and generate(), the CLI's and the
// C/C++ API's entry point: a batch of one in the engine's one generation loop, the batch
// runner (batch_runner.hpp), which the server's scheduler, eval and GRPO rollouts drive
// with many Generations at once:
//
//   prompt (chat messages | text | token ids)
//     -> [no-think: append "</think>\n\n"] -> prefill in chunks through the model
//     -> repeat: sample (or take a forced token) -> StreamDecoder -> ReasoningParser
//        -> stop-string matcher (answer text only) -> on_event(token + deltas)
//     -> on_event(done + summary)
//
// Contracts:
// - Everything about the prompt is checked before any model work: an empty
//   prompt, an out-of-range id, or a prompt that does not fit ("prompt has N
//   tokens but the context is C") throws r1::Error.
// - Token accounting: every generated token (forced ones included, the final
//   end-of-generation token excluded) is counted once: as reasoning when the
//   output was inside the reasoning block before or after it (so the closing tag
//   counts as reasoning), else as content. Tokens that leave it undecided (a
//   possible "<think>" at the start when the prompt did not open one) are counted
//   once it is decided. The end-of-generation token is neither emitted nor fed back.
// - Stop strings are matched in the answer (content) text only, never in the
//   reasoning; the matched string and anything after it are not emitted. Text
//   that could still be the start of a stop string is held back until decided.
// - Think budget: once `think_budget` tokens were counted as reasoning and the
//   model is still reasoning, the tokens of "\n</think>\n\n" are forced one by one
//   (GenerateEvent::forced) and generation continues with the answer; with
//   stop_at_budget it ends there instead (finish reason "budget").
// - no_think: "</think>\n\n" is appended to a prompt that ends inside <think>
//   (the R1 convention for an empty reasoning block), "<think>\n\n</think>\n\n"
//   to one that does not.
// - max_tokens caps generated tokens (forced ones included); -1 = until the
//   context is full (finish "length" either way).
// - The cancel flag is read before every model call; when set, generation ends
//   with finish "cancelled" (the flag is not reset here).
// - The session's cache keeps the prompt and the generated tokens that were fed
//   back: all of them when an end-of-generation token ended the answer, all but
//   the last otherwise. The next call reuses the common prefix.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sampler.hpp"
#include "engine/speculation.hpp"

namespace r1 {

class Session;
class Tokenizer;
namespace grammar {
struct Grammar;
}

enum class FinishReason { stop, length, cancelled, budget };
const char* finish_reason_name(FinishReason r);  // "stop" | "length" | "cancelled" | "budget"

struct GenerateRequest {
  // The prompt, first non-empty of: chat messages (rendered with the model's chat
  // template, add_generation_prompt = true), raw text (special tokens parsed, BOS
  // per the model), token ids (used as given).
  nlohmann::json messages;             // [{"role": ..., "content": ...}, ...] or null
  nlohmann::ordered_json tools;        // with messages: the tools to show the model (format_chat), or null
  std::string prompt_text;
  std::vector<int32_t> prompt_tokens;

  SamplingParams sampling;
  int32_t max_tokens = -1;             // -1: until the context is full
  std::vector<std::string> stop;       // stop strings (answer text only); empty strings ignored
  bool no_think = false;               // close the reasoning block in the prompt
  int32_t think_budget = -1;           // max reasoning tokens before the close is forced; -1: none
  bool stop_at_budget = false;         // at the budget, end (finish "budget") instead of forcing
  bool ignore_eos = false;             // never stop at end-of-generation tokens (benchmarks, tests):
                                       // their logits are set to -inf before sampling
  std::atomic<bool>* cancel = nullptr; // polled before every model call
  int32_t prefill_chunk = 512;         // prompt tokens per Model::forward call
  bool keep_tags = false;              // lossless split: tags and newlines kept, tags as reasoning
                                       // (ReasoningParser::Options::keep_tags), so reasoning +
                                       // content of the events, in order, is the generated text
  int32_t top_logprobs = -1;           // >= 0: events carry the chosen token's log-probability and
                                       // the `top_logprobs` most likely alternatives
  // Constrained decoding: the answer must match this grammar (grammar/gbnf.hpp). It
  // applies from the first generated token when the prompt does not open a reasoning
  // block, else from the token after the block closes (the reasoning is free; newline-only
  // tokens are allowed before the answer starts, as R1 writes "\n\n" there). Every
  // sampled token is checked; a rejected one is resampled from the logits with every
  // disallowed token removed. End-of-generation is allowed only when the grammar can end,
  // and generation stops (finish "stop") once nothing more can follow.
  std::shared_ptr<const grammar::Grammar> grammar;
  // Speculative decoding for generate() (speculation.hpp): the same tokens, fewer steps.
  SpeculationOptions speculation;
};

struct GenerateSummary {
  int32_t prompt_tokens = 0;     // all prompt tokens (no-think injection included)
  int32_t cached_tokens = 0;     // of which reused from the session's cache (not prefilled)
  int32_t reasoning_tokens = 0;
  int32_t content_tokens = 0;
  int32_t generated_tokens = 0;  // reasoning_tokens + content_tokens
  double prefill_ms = 0;         // prompt processing (prompt_tokens - cached_tokens tokens)
  double decode_ms = 0;          // sampling + forward of the generated tokens
  double grammar_ms = 0;         // of decode_ms: checking and masking tokens against the grammar
  int32_t draft_tokens = 0;      // speculative decoding: tokens drafted and verified
  int32_t draft_accepted = 0;    // of which the model produced (each saved a decode step)
  FinishReason finish = FinishReason::stop;
  bool budget_forced = false;    // the think budget forced the end of reasoning
  std::string stop_string;       // the stop string that matched (finish "stop"), if any
  uint64_t seed = 0;             // the sampler's effective seed

  int32_t prefilled_tokens() const { return prompt_tokens - cached_tokens; }
  double prefill_tps() const { return prefill_ms > 0 ? prefilled_tokens() * 1000.0 / prefill_ms : 0.0; }
  double decode_tps() const { return decode_ms > 0 ? generated_tokens * 1000.0 / decode_ms : 0.0; }
};

struct GenerateEvent {
  enum class Kind { token, done };
  Kind kind = Kind::token;
  int32_t token = -1;            // kind == token: the generated id
  bool forced = false;           // kind == token: forced by the think budget, not sampled
  std::string reasoning;         // newly known reasoning text (may be empty)
  std::string content;           // newly known answer text (may be empty)
  const GenerateSummary* summary = nullptr;  // kind == done
  // kind == token and req.top_logprobs >= 0: natural-log probabilities under the
  // model's distribution (log-softmax of the raw logits, before penalties,
  // temperature and truncation), of the chosen token and of the most likely ones
  // (highest first, ties by lower id).
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top_logprobs;  // (id, logprob), req.top_logprobs entries
};

using GenerateCallback = std::function<void(const GenerateEvent&)>;

struct GenerateResult {
  std::string prompt_text;       // the rendered prompt (no-think injection included)
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;   // generated ids (forced included, end-of-generation excluded)
  std::string text;              // decoded text of `tokens`, tags and a matched stop string included
  std::string reasoning;         // concatenated reasoning deltas
  std::string content;           // concatenated answer deltas
  GenerateSummary summary;
};

// Runs one generation on `session` (see the contracts above). on_event may be
// empty. Exceptions from on_event propagate (the session stays consistent).
GenerateResult generate(Session& session, const GenerateRequest& req, const GenerateCallback& on_event);

// The prompt ids generate() would use for `req` (chat template, tokenization and
// no-think injection applied), and whether generation starts inside reasoning.
struct PreparedPrompt {
  std::string text;              // rendered text (decoded from the ids when ids were given)
  std::vector<int32_t> tokens;
  bool starts_in_reasoning = false;
};
PreparedPrompt prepare_prompt(const Session& session, const GenerateRequest& req);
PreparedPrompt prepare_prompt(const Tokenizer& tok, const GenerateRequest& req);

// One generation as a state machine, without the model: everything generate()
// does between two model calls (sampling, forced tokens, think budget, stop
// strings, reasoning split, token accounting). generate() drives it over a
// Session; the server's scheduler drives many of them over one batched forward.
//
// Use: construct (checks the prompt, throws r1::Error like generate()); prefill
// prompt().tokens; then repeat { step(logits of the last token fed) -> feed
// ev.token } until step() returns false or finished() is true; then finish().
// The cancel flag of the request is not read here: the driver calls cancel().
class Generation {
 public:
  // n_vocab: logits per row; n_ctx: the cache size (prompt + generated must fit).
  Generation(const Tokenizer& tok, int32_t n_vocab, int64_t n_ctx, const GenerateRequest& req,
             PreparedPrompt prompt);
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  const std::vector<int32_t>& prompt_tokens() const { return res_.prompt_tokens; }
  const std::string& prompt_text() const { return res_.prompt_text; }
  bool starts_in_reasoning() const { return starts_in_reasoning_; }

  // Produces the next token from `logits` (n_vocab values for the last token fed;
  // modified in place). Returns false, with finished() true, when generation ended
  // without a new token (max_tokens reached, budget stop, end-of-generation
  // token). Otherwise fills `ev` (kind token); the caller feeds ev.token to the
  // model before the next step unless finished() became true (stop string
  // matched, context full).
  bool step(std::span<float> logits, GenerateEvent& ev);
  bool finished() const { return finished_; }
  // Ends with finish "cancelled" unless already finished.
  void cancel();
  // The done event: releases held-back text and points at summary(). Call once,
  // after generation ended (finished() or cancel()).
  GenerateEvent finish();

  GenerateSummary& summary() { return res_.summary; }
  const GenerateResult& result() const { return res_; }  // accumulated so far
  GenerateResult take_result() { return std::move(res_); }
  // How many more tokens step() may produce (max_tokens and the context), at least 0.
  int64_t tokens_left() const;
  // Where the output stands now: inside the reasoning block (or about to be).
  bool in_reasoning() const;
  // The output closed its reasoning block (the first closing tag was generated).
  bool reasoning_closed() const;

 private:
  struct State;
  void end(FinishReason r);
  bool grammar_allows(int32_t id);
  bool newline_exempt() const;
  int32_t sample_constrained(std::span<float> logits);
  const Tokenizer& tok_;
  int32_t n_vocab_;
  int64_t n_ctx_;
  bool starts_in_reasoning_;
  bool finished_ = false;
  bool flushed_ = false;
  GenerateResult res_;
  std::unique_ptr<State> st_;
};

}  // namespace r1
