// The host-RAM prompt cache: snapshots (tokens + keys/values) of what slots held when
// their work ended, kept beyond the slots so that a conversation whose slot was reused by
// another one still resumes from its cached prefix (agents that re-send their history,
// many users over few slots).
//
// Contracts:
// - Bounded by a byte budget (--cache-ram); least recently used entries go first. An
//   entry larger than the budget is not kept. Budget 0: nothing is kept.
// - store() drops entries that the new snapshot extends (their tokens are a prefix of its
//   tokens): it holds them.
// - find() returns the entry sharing the longest prefix with the prompt (at most
//   prompt.size() - 1 tokens, as a session reuses) and marks it used.
// - Not thread-safe: the scheduler calls it under its own lock.
#pragma once
#include <cstdint>
#include <list>
#include <span>

#include "engine/session.hpp"

namespace r1::serve {

class PromptCache {
 public:
  explicit PromptCache(size_t budget_bytes) : budget_(budget_bytes) {}

  void store(Session::Snapshot snap);
  struct Match {
    const Session::Snapshot* snap = nullptr;
    size_t keep = 0;
  };
  Match find(std::span<const int32_t> prompt);

  size_t bytes() const { return bytes_; }
  size_t entries() const { return entries_.size(); }
  size_t budget() const { return budget_; }

 private:
  size_t budget_;
  size_t bytes_ = 0;
  std::list<Session::Snapshot> entries_;  // most recently used first
};

// Tokens a and b share from the start.
size_t common_prefix_length(std::span<const int32_t> a, std::span<const int32_t> b);

}  // namespace r1::serve
