#include "tokenizer/bpe.hpp"

#include <algorithm>
#include <cassert>
#include <climits>

namespace r1::tok {

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
  slots_.assign(1024, Slot{});
}

void BpeMerger::grow() {
  std::vector<Slot> old(slots_.size() * 2);
  std::swap(old, slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& o : old) {
    if (o.key == kEmpty) continue;
    size_t h = hash_key(o.key) & mask;
    while (slots_[h].key != kEmpty) h = (h + 1) & mask;
    slots_[h] = o;
  }
}

void BpeMerger::add(int32_t left, int32_t right, int32_t result, int32_t rank) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t k = key(left, right);
  const size_t mask = slots_.size() - 1;
  size_t h = hash_key(k) & mask;
  while (slots_[h].key != kEmpty) {
    if (slots_[h].key == k) return;  // duplicate pair: first rank wins
    h = (h + 1) & mask;
  }
  slots_[h] = Slot{k, Merge{rank, result}};
  ++count_;
}

BpeMerger::Merge BpeMerger::find(int32_t left, int32_t right) const {
  const uint64_t k = key(left, right);
  const size_t mask = slots_.size() - 1;
  size_t h = hash_key(k) & mask;
  while (true) {
    const Slot& sl = slots_[h];
    if (sl.key == k) return sl.val;
    if (sl.key == kEmpty) return Merge{};
    h = (h + 1) & mask;
  }
}

// Short words: a linear scan for the lowest (rank, position) pair per merge is
// cheaper than a heap. Same order as the heap path: lowest rank, then leftmost.
void BpeMerger::encode_short(std::vector<int32_t>* out, Scratch& sc) const {
  int32_t ids[kShortWord], ranks[kShortWord], results[kShortWord];
  int32_t m = static_cast<int32_t>(sc.syms.size());
  for (int32_t i = 0; i < m; ++i) ids[i] = sc.syms[i].id;
  const auto pair_at = [&](int32_t i) {  // rank/result of (ids[i], ids[i+1])
    const Merge g = find(ids[i], ids[i + 1]);
    ranks[i] = g.rank < 0 ? INT32_MAX : g.rank;
    results[i] = g.result;
  };
  for (int32_t i = 0; i + 1 < m; ++i) pair_at(i);
  while (m > 1) {
    int32_t best = 0;
    for (int32_t i = 1; i + 1 < m; ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == INT32_MAX) break;
    ids[best] = results[best];
    for (int32_t i = best + 1; i + 1 < m; ++i) ids[i] = ids[i + 1];
    for (int32_t i = best + 1; i + 2 < m; ++i) ranks[i] = ranks[i + 1], results[i] = results[i + 1];
    --m;
    if (best > 0) pair_at(best - 1);
    if (best + 1 < m) pair_at(best);
  }
  out->insert(out->end(), ids, ids + m);
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
  if (n <= kShortWord) {
    encode_short(out, sc);
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
    heap.push_back({m.rank, l, r, syms[l].id, syms[r].id, m.result});
    std::push_heap(heap.begin(), heap.end(), worse);
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i, i + 1);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const Scratch::Cand c = heap.back();
    heap.pop_back();
    Scratch::Sym& L = syms[c.left];
    Scratch::Sym& R = syms[c.right];
    // Stale entry: a side was merged away or changed since it was queued.
    if (L.id != c.left_id || L.next != c.right || R.id != c.right_id) continue;
    L.id = c.result;
    L.next = R.next;
    if (R.next >= 0) syms[R.next].prev = c.left;
    R.id = -1;
    if (L.prev >= 0) push(L.prev, c.left);
    if (L.next >= 0) push(c.left, L.next);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) out->push_back(syms[i].id);
}

}  // namespace r1::tok
