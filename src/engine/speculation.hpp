// Speculative decoding: cheap guesses of the next tokens (drafts) that the target model
// verifies in one batched step (BatchRunner), so that a step can yield several tokens for
// little more than the cost of one.
//
// Contracts:
// - A Drafter proposes up to `max` tokens to follow `history` (every token of the sequence
//   so far: prompt, generated tokens, and the token about to be fed). It is deterministic
//   given the history: n-gram lookup copies what followed the latest earlier occurrence of
//   the history's suffix; a draft model decodes greedily. Proposals are guesses only:
//   correctness never depends on them.
// - Verification (batch_runner.cpp) feeds the last token plus the drafts with logits for
//   every row and steps the Generation on row 0, 1, ... while the token it produced equals
//   the next draft. The Generation samples every row exactly as it would without drafts
//   (same sampler, same random stream), so the tokens are those of plain decoding: at
//   temperature 0 the same greedy tokens, at temperature > 0 the same distribution (for a
//   deterministic proposal, "sample, then compare" is the standard rejection rule:
//   the draft is accepted with probability p(draft), else a token is drawn from p without
//   it). Only float summation order differs between a batched and a one-token step.
// - Rejected positions are dropped from the session's cache before the next step.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace r1 {

class Model;

enum class SpecMode { none, ngram, draft };
const char* spec_mode_name(SpecMode m);  // "none" | "ngram" | "draft"
SpecMode parse_spec_mode(const std::string& s);  // throws r1::Error naming the accepted values

struct SpeculationOptions {
  SpecMode mode = SpecMode::none;
  int32_t draft_max = 8;        // most tokens drafted (and verified) per step
  int32_t draft_min = 1;        // fewer drafted tokens than this: decode one token plainly
  // n-gram (prompt lookup): suffix lengths looked up in the history, longest first.
  int32_t ngram_min = 2;
  int32_t ngram_max = 4;
  // draft: a second model with the target's vocabulary (check_draft_model), drafting
  // greedily while its top token's probability is at least draft_p_min.
  Model* draft_model = nullptr;
  float draft_p_min = 0.75f;

  bool enabled() const { return mode != SpecMode::none && draft_max > 0; }
  // Throws r1::Error for inconsistent settings (ranges, a draft mode without a model).
  void validate() const;
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  // Up to `max` tokens to follow `history` (may be none).
  virtual std::vector<int32_t> propose(std::span<const int32_t> history, int32_t max) = 0;
};

// The drafter of `opts.mode` for one sequence of context n_ctx; null for mode none.
std::unique_ptr<Drafter> make_drafter(const SpeculationOptions& opts, int64_t n_ctx);

// The n-gram proposal itself (exposed for tests): for n = ngram_max .. ngram_min, the
// tokens after the latest earlier occurrence of history's last n tokens, at most max.
std::vector<int32_t> ngram_proposal(std::span<const int32_t> history, int32_t ngram_min, int32_t ngram_max,
                                    int32_t max);

// Throws r1::Error unless `draft` can draft for `target`: the same tokenizer vocabulary
// (every token's bytes; the logits rows may be padded differently).
void check_draft_model(const Model& target, const Model& draft);

}  // namespace r1
