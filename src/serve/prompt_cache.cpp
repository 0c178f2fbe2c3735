#include "serve/prompt_cache.hpp"

#include <algorithm>

namespace r1::serve {

size_t common_prefix_length(std::span<const int32_t> a, std::span<const int32_t> b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

void PromptCache::store(Session::Snapshot snap) {
  if (budget_ == 0 || snap.tokens.empty() || snap.bytes() > budget_) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool covered = it->tokens.size() <= snap.tokens.size() &&
                         common_prefix_length(it->tokens, snap.tokens) == it->tokens.size();
    if (covered) {
      bytes_ -= it->bytes();
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  bytes_ += snap.bytes();
  entries_.push_front(std::move(snap));
  while (bytes_ > budget_ && !entries_.empty()) {
    bytes_ -= entries_.back().bytes();
    entries_.pop_back();
  }
}

PromptCache::Match PromptCache::find(std::span<const int32_t> prompt) {
  if (prompt.empty()) return {};
  auto best = entries_.end();
  size_t best_keep = 0;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const size_t keep = std::min(common_prefix_length(it->tokens, prompt), prompt.size() - 1);
    if (keep > best_keep) best = it, best_keep = keep;
  }
  if (best == entries_.end()) return {};
  entries_.splice(entries_.begin(), entries_, best);  // most recently used
  return Match{&entries_.front(), best_keep};
}

}  // namespace r1::serve
