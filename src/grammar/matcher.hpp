// Matching generated text against a grammar, one token at a time, and the set of
// tokens that may come next.
//
// The state is the set of parse stacks llama.cpp's grammar keeps (each stack: the
// symbols still to match, innermost on top, every top a terminal; an empty stack: the
// text so far is a complete match) plus a partly decoded UTF-8 character when the last
// token ended inside one. Stack sets are interned and the step "set x code point ->
// set" is memoised, so a state that recurs (inside a JSON string, say) costs a lookup.
//
// Contracts (the same decisions as llama.cpp's grammar sampler, so that greedy
// constrained decoding picks the same tokens):
// - A token's bytes are decoded as UTF-8 continuing the partial character; a token is
//   allowed when some stack matches all its complete characters and, if it ends inside
//   a character, the stack's next terminal admits some character that starts so.
//   Continuation bytes of a character begun in an earlier token must be 10xxxxxx; a
//   byte that cannot start a character rejects the token.
// - End of generation is allowed when some stack is empty (can_end()). A token that
//   completes no character (only the start of one) drops the empty stacks, as llama.cpp's
//   accept does: the character it began must be finished.
// - accept() commits a token only when it is allowed, else changes nothing.
// - allowed_tokens() results are cached per state (cleared with the tables), so repeated
//   states cost a copy.
// - Work is bounded: more than `max_stacks` parallel stacks, or an interned-state table
//   over `max_states`, throws r1::Error ("grammar is too ambiguous"); the table is
//   cleared and rebuilt when it fills, so a long generation cannot grow it unboundedly.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grammar/gbnf.hpp"
#include "grammar/token_trie.hpp"

namespace r1::grammar {

// The tables of a Matcher, as published to its grammar (SharedTables) when it ends.
struct MatcherTables {
  std::vector<std::vector<std::vector<uint32_t>>> sets;
  std::unordered_map<std::string, uint32_t> ids;
  std::unordered_map<uint64_t, uint32_t> memo;
  std::vector<std::array<uint32_t, 128>> ascii;  // rows of sets that have one (ascii_index)
  std::vector<int32_t> ascii_index;              // per set: its row, or -1
  std::vector<uint32_t> plain_step;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> masks;
  size_t next_mask = 0;
  const TokenTrie* masks_trie = nullptr;
};

class Matcher {
 public:
  // Starts from the grammar's published tables, when a matcher of it ran before (the
  // answers are the same; only the work to compute them is shared).
  explicit Matcher(std::shared_ptr<const Grammar> grammar, size_t max_stacks = 4096);
  // Publishes its tables to the grammar when they outgrew the published ones.
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Whether `bytes` (one token's text) may come next; accept() also consumes it.
  bool allows(std::string_view bytes);
  bool accept(std::string_view bytes);
  // The text so far is a complete match (end of generation allowed).
  bool can_end() const;
  // Nothing can follow: every stack is empty.
  bool must_end() const;
  // allowed[id] = 1 for every token of `trie` that may come next, 0 for the others
  // (ids outside the trie: end-of-generation, unused and empty tokens, stay 0).
  // `allowed` is resized to trie.n_vocab().
  void allowed_tokens(const TokenTrie& trie, std::vector<uint8_t>& allowed);
  // Interned parse states so far (tables loaded from the grammar included).
  size_t states() const { return sets_.size(); }

 private:
  struct Utf8 {
    uint32_t value = 0;
    int8_t remain = 0;   // continuation bytes still expected
    bool carried = false;  // the partial character began in an earlier token
  };
  using Stack = std::vector<uint32_t>;
  static constexpr uint32_t kDead = 0xFFFFFFFFu;

  uint32_t intern(std::vector<Stack>& stacks);
  void expand(Stack s, std::vector<Stack>& out) const;
  uint32_t advance(uint32_t set, uint32_t code_point);
  bool partial_ok(uint32_t set, const Utf8& u) const;
  // One byte from (set, u); false when the byte rejects every token through it.
  bool step(uint32_t& set, Utf8& u, uint8_t byte);
  // completed: whether the bytes finished at least one character.
  bool run(std::string_view bytes, uint32_t& set, Utf8& u, bool* completed);
  void reset_tables();
  void compute_allowed(const TokenTrie& trie, std::vector<uint8_t>& allowed);
  void load_tables(const MatcherTables& t);
  size_t loaded_sets_ = 0;  // sets_ size when the shared tables were loaded
  // The one set every plain byte (TokenTrie::is_plain_byte) leads to from `set` (kDead when
  // they all fail), or kMixed when plain bytes lead to different sets. Then whether a plain
  // token is allowed depends only on its length.
  uint32_t plain_step(uint32_t set);
  static constexpr uint32_t kMixed = 0xFFFFFFFDu;

  std::shared_ptr<const Grammar> g_;
  size_t max_stacks_;
  std::vector<Stack> initial_;                 // the stacks before any text
  std::vector<std::vector<Stack>> sets_;       // interned stack sets (sorted, unique)
  std::unordered_map<std::string, uint32_t> ids_;
  std::unordered_map<uint64_t, uint32_t> memo_;  // (set << 21 | code point) -> set, beyond ASCII
  // ASCII steps per set, filled on first use (kUnknown: not computed yet): most steps
  // inside the vocabulary walk are ASCII, and an array index is much cheaper than a hash.
  std::vector<std::unique_ptr<std::array<uint32_t, 128>>> ascii_;
  std::vector<uint32_t> plain_step_;  // per set: plain_step(), kUnknownStep = not known yet
  std::vector<Stack> current_;                 // the stacks of state_ (survive table resets)
  // Masks already computed, by (state, partial character): states recur (inside a JSON
  // string, between list items), so most steps reuse one. A few dozen are kept.
  struct CachedMask {
    uint64_t key;
    std::vector<uint8_t> allowed;
  };
  std::vector<CachedMask> masks_;
  size_t next_mask_ = 0;                       // the slot the next new mask replaces
  const TokenTrie* masks_trie_ = nullptr;
  uint32_t state_ = 0;
  Utf8 utf8_;
};

}  // namespace r1::grammar
