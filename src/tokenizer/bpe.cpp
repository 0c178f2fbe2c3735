#include "tokenizer/bpe.hpp"

#include <algorithm>
#include <cassert>

namespace r1 {

namespace {
inline size_t hash_key(uint64_t k) {
  k ^= k >> 29;
  k *= 0xbf58476d1ce4e5b9ull;
  k ^= k >> 32;
  return static_cast<size_t>(k);
}
}  // namespace

BpeMerger::BpeMerger(const std::vector<int32_t>& byte_ids, int32_t unk) : unk_(unk) {
  assert(byte_ids.size() == 256);
  std::copy(byte_ids.begin(), byte_ids.end(), byte_ids_);
  keys_.assign(1024, kEmpty);
  vals_.assign(1024, Merge{});
}

void BpeMerger::grow() {
  std::vector<uint64_t> old_keys(keys_.size() * 2, kEmpty);
  std::vector<Merge> old_vals(vals_.size() * 2);
  std::swap(old_keys, keys_);
  std::swap(old_vals, vals_);
  const size_t mask = keys_.size() - 1;
  for (size_t i = 0; i < old_keys.size(); ++i) {
    if (old_keys[i] == kEmpty) continue;
    size_t h = hash_key(old_keys[i]) & mask;
    while (keys_[h] != kEmpty) h = (h + 1) & mask;
    keys_[h] = old_keys[i];
    vals_[h] = old_vals[i];
  }
}

void BpeMerger::add(int32_t left, int32_t right, int32_t result, int32_t rank) {
  if ((count_ + 1) * 2 > keys_.size()) grow();
  const uint64_t k = key(left, right);
  const size_t mask = keys_.size() - 1;
  size_t h = hash_key(k) & mask;
  while (keys_[h] != kEmpty) {
    if (keys_[h] == k) return;  // duplicate pair: first rank wins
    h = (h + 1) & mask;
  }
  keys_[h] = k;
  vals_[h] = Merge{rank, result};
  ++count_;
}

BpeMerger::Merge BpeMerger::find(int32_t left, int32_t right) const {
  const uint64_t k = key(left, right);
  const size_t mask = keys_.size() - 1;
  size_t h = hash_key(k) & mask;
  while (true) {
    const uint64_t kk = keys_[h];
    if (kk == k) return vals_[h];
    if (kk == kEmpty) return Merge{};
    h = (h + 1) & mask;
  }
}

void BpeMerger::encode_word(std::string_view bytes, std::vector<int32_t>* out, Scratch& sc) const {
  // Initial symbols: one per byte (bytes without a token are dropped or unk).
  auto& syms = sc.syms;
  syms.clear();
  for (unsigned char b : bytes) {
    int32_t id = byte_ids_[b];
    if (id < 0) id = unk_;
    if (id < 0) continue;
    const int32_t i = static_cast<int32_t>(syms.size());
    syms.push_back({id, i - 1, i + 1});
  }
  const int32_t n = static_cast<int32_t>(syms.size());
  if (n == 0) return;
  syms.back().next = -1;
  if (n == 1) {
    out->push_back(syms[0].id);
    return;
  }
  // Min-heap on (rank, left position).
  auto& heap = sc.heap;
  heap.clear();
  const auto worse = [](const Scratch::Cand& a, const Scratch::Cand& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  };
  const auto push = [&](int32_t l, int32_t r) {
    const Merge m = find(syms[l].id, syms[r].id);
    if (m.rank < 0) return;
    heap.push_back({m.rank, l, r});
    std::push_heap(heap.begin(), heap.end(), worse);
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i, i + 1);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Scratch::Cand c = heap.back();
    heap.pop_back();
    Scratch::Sym& L = syms[c.left];
    // Stale entry: a side was merged away, or the left symbol changed since.
    if (L.id < 0 || L.next != c.right || syms[c.right].id < 0) continue;
    const Merge m = find(L.id, syms[c.right].id);
    if (m.rank != c.rank) continue;
    Scratch::Sym& R = syms[c.right];
    L.id = m.result;
    L.next = R.next;
    if (R.next >= 0) syms[R.next].prev = c.left;
    R.id = -1;
    if (L.prev >= 0) push(L.prev, c.left);
    if (L.next >= 0) push(c.left, L.next);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) out->push_back(syms[i].id);
}

}  // namespace r1
