// Byte-pair merging over token ids.
//
// Contract: encode_word() starts from one symbol per byte (the byte's token id)
// and repeatedly merges the adjacent pair with the lowest merge rank, the
// leftmost one first among equal ranks (the Hugging Face / llama.cpp order),
// until no adjacent pair has a rank. O(n log n) in the word length (binary heap
// with lazy invalidation over a linked list of symbols).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace r1::tok {

class BpeMerger {
 public:
  // byte_ids[b]: id of the token for byte b, or -1 when the vocabulary lacks it
  // (such bytes are dropped, or become `unk` when unk >= 0).
  BpeMerger(const std::vector<int32_t>& byte_ids, int32_t unk);

  // Registers merge (left, right) -> result with priority `rank` (lower first).
  // A pair registered twice keeps its first (lowest) rank, as llama.cpp does.
  void add(int32_t left, int32_t right, int32_t result, int32_t rank);
  size_t n_merges() const { return count_; }

  struct Scratch;  // reusable per-call buffers
  // Appends the ids for `bytes` (one pre-tokenized piece, raw bytes) to *out.
  void encode_word(std::string_view bytes, std::vector<int32_t>* out, Scratch& scratch) const;

  struct Merge {
    int32_t rank = -1, result = -1;
  };
  // Rank and result of merging (left, right), or rank -1.
  Merge find(int32_t left, int32_t right) const;

  static constexpr uint64_t kEmpty = ~uint64_t(0);
  struct Slot {
    uint64_t key = kEmpty;  // (left << 32) | right
    Merge val;
  };

 private:
  static constexpr int32_t kShortWord = 24;  // words up to this many symbols use encode_short
  void encode_short(std::vector<int32_t>* out, Scratch& scratch) const;
  void grow();
  static uint64_t key(int32_t l, int32_t r) { return (uint64_t(uint32_t(l)) << 32) | uint32_t(r); }

  int32_t byte_ids_[256];
  int32_t unk_;
  // Open-addressing hash table (linear probing), power-of-two size, Slots of
  // 16 bytes so that a lookup touches one cache line.
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

struct BpeMerger::Scratch {
  struct Sym {
    int32_t id, prev, next;  // prev/next: symbol indices, -1 at the ends; id -1: merged away
  };
  struct Cand {
    int32_t rank, left, right;   // merge rank; symbol indices of the pair
    int32_t left_id, right_id;   // the pair's ids when queued (stale if they changed)
    int32_t result;
  };
  std::vector<Sym> syms;
  std::vector<Cand> heap;
};

}  // namespace r1::tok
