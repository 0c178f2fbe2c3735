// A Session is one sequence being generated: a model, its KV cache and the token
// ids whose keys/values the cache holds, in order. It lets the generation loop
// reuse the longest common prefix of the previous and the next prompt (a chat
// turn re-sends the whole history; only the new part is prefilled).
//
// Contracts:
// - tokens() is always exactly what the cache holds (tokens().size() == n_past).
// - forward_sessions() appends to the caches and to tokens() together, or changes
//   nothing (Model::forward_batch leaves the caches unchanged when it throws).
// - Not thread-safe: one generation at a time per Session. The Model may be
//   shared by several Sessions, also on different threads: its forward passes and its
//   thread pool's jobs are serialised.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/model.hpp"

namespace r1 {

// The context length front ends use when the user gives none: the model's
// training context, at most 8192 tokens (4096 when the model does not say).
int64_t default_context_length(const ModelConfig& config);

class Session {
 public:
  // n_ctx <= 0: the model's training context length.
  Session(Model& model, int64_t n_ctx);

  Model& model() { return *model_; }
  const Model& model() const { return *model_; }
  KvCache& cache() { return *kv_; }
  int64_t n_ctx() const { return kv_->n_ctx(); }
  int64_t n_past() const { return kv_->n_past(); }
  const std::vector<int32_t>& tokens() const { return tokens_; }

  // Drops everything (a new conversation).
  void clear();
  // Keeps the longest common prefix of tokens() and `prompt`, but at most
  // prompt.size() - 1 tokens so that at least one prompt token is run again
  // (its logits are needed to sample). Returns the number of tokens kept.
  int64_t reuse_prefix(std::span<const int32_t> prompt);
  // Forgets every token from position n on (n <= tokens().size()): rejected drafts.
  void truncate(size_t n);
  // A copy of what the cache holds (tokens and their keys/values), and back: restore()
  // replaces the session's contents with a snapshot of a session of the same model
  // (throws r1::Error, changing nothing, when it does not fit this session's cache).
  struct Snapshot {
    std::vector<int32_t> tokens;
    std::vector<uint8_t> kv;  // KvCache::save(tokens.size())
    size_t bytes() const { return kv.size() + tokens.size() * sizeof(int32_t); }
  };
  Snapshot snapshot(size_t n) const;  // the first n <= tokens().size() tokens
  void restore(const Snapshot& s, size_t n);  // the first n <= s.tokens.size() tokens of s

 private:
  friend void forward_sessions(Model&, std::span<Session* const>, std::span<const std::span<const int32_t>>,
                               std::vector<float>&, std::span<const uint8_t>);
  Model* model_;
  std::unique_ptr<KvCache> kv_;
  std::vector<int32_t> tokens_;  // (n_past) ids held by kv_
};

// Several sessions of one model in one batched pass (Model::forward_batch): session i
// appends toks[i]; logits receive one row (n_vocab floats) per session, in order. Each
// session must appear once. Throws like Model::forward_batch, changing no session.
// all_logits (empty, or one flag per session): a flagged session receives one row per
// token of toks[i] instead of one for its last.
void forward_sessions(Model& model, std::span<Session* const> sessions, std::span<const std::span<const int32_t>> toks,
                      std::vector<float>& logits, std::span<const uint8_t> all_logits = {});

}  // namespace r1
