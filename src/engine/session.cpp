#include "engine/session.hpp"

#include <algorithm>
#include <cassert>

#include "base/error.hpp"

namespace r1 {

int64_t default_context_length(const ModelConfig& config) {
  if (config.n_ctx_train <= 0) return 4096;
  return std::min<int64_t>(config.n_ctx_train, 8192);
}

Session::Session(Model& model, int64_t n_ctx) : model_(&model), kv_(model.new_cache(n_ctx)) {
  assert(kv_ && kv_->n_past() == 0);
}

void Session::clear() {
  kv_->truncate(0);
  tokens_.clear();
}

int64_t Session::reuse_prefix(std::span<const int32_t> prompt) {
  size_t keep = 0;
  const size_t limit = std::min(tokens_.size(), prompt.empty() ? size_t{0} : prompt.size() - 1);
  while (keep < limit && tokens_[keep] == prompt[keep]) ++keep;
  if (keep < tokens_.size()) {
    kv_->truncate(static_cast<int64_t>(keep));
    tokens_.resize(keep);
  }
  return static_cast<int64_t>(keep);
}

void Session::truncate(size_t n) {
  if (n > tokens_.size()) fail("cannot truncate a session holding {} tokens to {}", tokens_.size(), n);
  kv_->truncate(static_cast<int64_t>(n));
  tokens_.resize(n);
}

Session::Snapshot Session::snapshot(size_t n) const {
  if (n > tokens_.size()) fail("cannot snapshot {} tokens of a session holding {}", n, tokens_.size());
  return Snapshot{std::vector<int32_t>(tokens_.begin(), tokens_.begin() + static_cast<ptrdiff_t>(n)),
                  kv_->save(static_cast<int64_t>(n))};
}

void Session::restore(const Snapshot& s, size_t n) {
  if (n > s.tokens.size()) fail("cannot restore {} tokens from a snapshot of {}", n, s.tokens.size());
  const size_t per = kv_->bytes_per_token();
  if (s.kv.size() != per * s.tokens.size()) fail("the snapshot's KV data does not match this model's cache");
  // The blob is laid out per layer, so a shorter prefix is the whole snapshot, truncated.
  kv_->restore(s.kv, static_cast<int64_t>(s.tokens.size()));
  kv_->truncate(static_cast<int64_t>(n));
  tokens_.assign(s.tokens.begin(), s.tokens.begin() + static_cast<ptrdiff_t>(n));
}

void forward_sessions(Model& model, std::span<Session* const> sessions, std::span<const std::span<const int32_t>> toks,
                      std::vector<float>& logits, std::span<const uint8_t> all_logits) {
  assert(sessions.size() == toks.size());
  assert(all_logits.empty() || all_logits.size() == sessions.size());
  std::vector<SeqBatch> seqs;
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (&sessions[i]->model() != &model) fail("internal: a session of another model in a batch");
    seqs.push_back({toks[i], &sessions[i]->cache(), !all_logits.empty() && all_logits[i] != 0});
  }
  model.forward_batch(seqs, logits);
  for (size_t i = 0; i < sessions.size(); ++i) sessions[i]->tokens_.insert(sessions[i]->tokens_.end(), toks[i].begin(), toks[i].end());
}

}  // namespace r1
