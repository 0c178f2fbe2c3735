#include "engine/speculation.hpp"

#include <algorithm>
#include <cmath>

#include "base/error.hpp"
#include "engine/session.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

const char* spec_mode_name(SpecMode m) {
  switch (m) {
    case SpecMode::none: return "none";
    case SpecMode::ngram: return "ngram";
    case SpecMode::draft: return "draft";
  }
  return "none";
}

SpecMode parse_spec_mode(const std::string& s) {
  if (s == "none") return SpecMode::none;
  if (s == "ngram") return SpecMode::ngram;
  if (s == "draft") return SpecMode::draft;
  fail("unknown speculation mode '{}' (none, ngram or draft)", s);
}

void SpeculationOptions::validate() const {
  if (draft_max < 0 || draft_max > 64) fail("--draft-max must be between 0 and 64 (got {})", draft_max);
  if (draft_min < 1 || draft_min > std::max(1, draft_max))
    fail("--draft-min must be between 1 and --draft-max (got {})", draft_min);
  if (ngram_min < 1 || ngram_max < ngram_min || ngram_max > 16)
    fail("n-gram lengths must satisfy 1 <= min <= max <= 16 (got {}..{})", ngram_min, ngram_max);
  if (!(draft_p_min >= 0.0f && draft_p_min <= 1.0f)) fail("--draft-p-min must be between 0 and 1");
  if (mode == SpecMode::draft && !draft_model) fail("speculation mode 'draft' needs a draft model (--draft FILE)");
}

std::vector<int32_t> ngram_proposal(std::span<const int32_t> h, int32_t ngram_min, int32_t ngram_max, int32_t max) {
  const size_t len = h.size();
  if (max <= 0) return {};
  for (int32_t n = ngram_max; n >= ngram_min; --n) {
    const auto un = static_cast<size_t>(n);
    if (len < un + 1) continue;
    const int32_t* suffix = h.data() + len - un;
    // Latest earlier start j (j + n < len, so at least one token follows the match).
    for (size_t j = len - un; j-- > 0;) {
      if (h[j] != suffix[0] || !std::equal(suffix, suffix + un, h.data() + j)) continue;
      const size_t from = j + un, to = std::min(len, from + static_cast<size_t>(max));
      return {h.begin() + static_cast<ptrdiff_t>(from), h.begin() + static_cast<ptrdiff_t>(to)};
    }
  }
  return {};
}

namespace {

class NgramDrafter final : public Drafter {
 public:
  NgramDrafter(int32_t nmin, int32_t nmax) : nmin_(nmin), nmax_(nmax) {}
  std::vector<int32_t> propose(std::span<const int32_t> history, int32_t max) override {
    return ngram_proposal(history, nmin_, nmax_, max);
  }

 private:
  int32_t nmin_, nmax_;
};

// Greedy decoding on a second, smaller model over its own session, which keeps the
// longest common prefix with the history between calls (the accepted part).
class DraftModelDrafter final : public Drafter {
 public:
  DraftModelDrafter(Model& model, int64_t n_ctx, float p_min) : session_(model, n_ctx), p_min_(p_min) {}

  std::vector<int32_t> propose(std::span<const int32_t> history, int32_t max) override {
    std::vector<int32_t> out;
    if (history.empty() || max <= 0) return out;
    // Room for the history and the drafts fed back (all but the last).
    const auto room = session_.n_ctx() - static_cast<int64_t>(history.size());
    if (room < 1) return out;
    max = static_cast<int32_t>(std::min<int64_t>(max, room));
    const int64_t kept = session_.reuse_prefix(history);
    feed(history.subspan(static_cast<size_t>(kept)));
    for (int32_t i = 0; i < max; ++i) {
      const auto [id, p] = top_token();
      if (p < p_min_) break;
      out.push_back(id);
      if (session_.model().tokenizer().is_eog(id) || i + 1 == max) break;
      feed(std::span<const int32_t>(&out.back(), 1));
    }
    return out;
  }

 private:
  void feed(std::span<const int32_t> toks) {
    Session* s = &session_;
    forward_sessions(session_.model(), std::span<Session* const>(&s, 1), std::span<const std::span<const int32_t>>(&toks, 1),
                     logits_);
  }
  // The most likely next token (lowest id on ties) and its probability.
  std::pair<int32_t, float> top_token() const {
    const auto n = static_cast<size_t>(session_.model().tokenizer().n_vocab());
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
      if (logits_[i] > logits_[best]) best = i;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits_[i] - logits_[best]));
    return {static_cast<int32_t>(best), static_cast<float>(1.0 / sum)};
  }

  Session session_;
  float p_min_;
  std::vector<float> logits_;
};

}  // namespace

std::unique_ptr<Drafter> make_drafter(const SpeculationOptions& opts, int64_t n_ctx) {
  if (!opts.enabled()) return nullptr;
  if (opts.mode == SpecMode::ngram) return std::make_unique<NgramDrafter>(opts.ngram_min, opts.ngram_max);
  if (!opts.draft_model) fail("speculation mode 'draft' needs a draft model (--draft FILE)");
  return std::make_unique<DraftModelDrafter>(*opts.draft_model, n_ctx, opts.draft_p_min);
}

void check_draft_model(const Model& target, const Model& draft) {
  const Tokenizer& a = target.tokenizer();
  const Tokenizer& b = draft.tokenizer();
  if (a.n_vocab() != b.n_vocab())
    fail("the draft model's vocabulary has {} tokens, the model's {}: drafts need the same vocabulary", b.n_vocab(),
         a.n_vocab());
  if (target.config().n_vocab < a.n_vocab() || draft.config().n_vocab < b.n_vocab())
    fail("internal: a model with fewer logits than tokens");
  for (int32_t id = 0; id < a.n_vocab(); ++id)
    if (a.token_bytes(id) != b.token_bytes(id))
      fail("the draft model's token {} differs from the model's: drafts need the same vocabulary", id);
}

}  // namespace r1
