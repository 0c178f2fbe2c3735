#include "grammar/matcher.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "base/error.hpp"

namespace r1::grammar {

namespace {

constexpr size_t kMaxStates = 1u << 16;      // interned sets before the tables are rebuilt
constexpr size_t kMaxExpansions = 1u << 20;  // rule expansions in one advance
constexpr size_t kCachedMasks = 32;           // vocabulary masks kept (one byte per token each)

// UTF-8 sequence length - 1 by the high nibble of a lead byte; -1: not a lead byte.
constexpr int8_t kRemain[16] = {0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, 1, 1, 2, 3};

}  // namespace

Matcher::Matcher(std::shared_ptr<const Grammar> grammar, size_t max_stacks)
    : g_(std::move(grammar)), max_stacks_(max_stacks) {
  const Grammar& g = *g_;
  for (uint32_t alt : g.rules[g.root]) {
    Stack s;
    if (g.symbols[alt].kind != Symbol::Kind::end) s.push_back(alt);
    expand(std::move(s), initial_);
  }
  current_ = initial_;
  if (g.shared) {
    std::shared_ptr<const MatcherTables> t;
    {
      std::lock_guard lk(g.shared->mu);
      t = g.shared->tables;
    }
    if (t) load_tables(*t);
  }
  loaded_sets_ = sets_.size();
  state_ = intern(current_);
}

void Matcher::load_tables(const MatcherTables& t) {
  sets_ = t.sets;
  ids_ = t.ids;
  memo_ = t.memo;
  ascii_.clear();
  ascii_.resize(t.ascii_index.size());
  for (size_t i = 0; i < t.ascii_index.size(); ++i)
    if (t.ascii_index[i] >= 0) ascii_[i] = std::make_unique<std::array<uint32_t, 128>>(t.ascii[static_cast<size_t>(t.ascii_index[i])]);
  plain_step_ = t.plain_step;
  masks_.clear();
  for (const auto& [key, allowed] : t.masks) masks_.push_back(CachedMask{key, allowed});
  next_mask_ = t.next_mask;
  masks_trie_ = t.masks_trie;
}

Matcher::~Matcher() {
  const Grammar& g = *g_;
  // Tables over 16k sets are not kept (memory: a cached grammar keeps them for good).
  if (!g.shared || sets_.size() <= loaded_sets_ || sets_.size() > (1u << 14)) return;
  try {
    auto t = std::make_shared<MatcherTables>();
    t->sets = std::move(sets_);
    t->ids = std::move(ids_);
    t->memo = std::move(memo_);
    t->ascii_index.assign(ascii_.size(), -1);
    for (size_t i = 0; i < ascii_.size(); ++i)
      if (ascii_[i]) {
        t->ascii_index[i] = static_cast<int32_t>(t->ascii.size());
        t->ascii.push_back(*ascii_[i]);
      }
    t->plain_step = std::move(plain_step_);
    for (CachedMask& m : masks_)  // at most 8 masks are kept with the grammar
      if (t->masks.size() < 8) t->masks.emplace_back(m.key, std::move(m.allowed));
    t->next_mask = t->masks.size() % kCachedMasks;
    t->masks_trie = masks_trie_;
    std::lock_guard lk(g.shared->mu);
    if (!g.shared->tables || g.shared->tables->sets.size() < t->sets.size()) g.shared->tables = std::move(t);
  } catch (...) {
    // Publishing is an optimisation: out of memory here costs the next matcher a cold start.
  }
}

// Rewrites a stack until its top is a terminal (or it is empty), into `out`: a rule
// reference on top is replaced, once per alternative, by the alternative's first symbol
// above the symbol that follows the reference. The grammar has no left recursion, so
// this terminates; the expansion count bounds ambiguous grammars.
void Matcher::expand(Stack s, std::vector<Stack>& out) const {
  const std::vector<Symbol>& sym = g_->symbols;
  std::vector<Stack> work;
  work.push_back(std::move(s));
  size_t expansions = 0;
  while (!work.empty()) {
    Stack cur = std::move(work.back());
    work.pop_back();
    if (cur.empty() || sym[cur.back()].terminal()) {
      out.push_back(std::move(cur));
      if (out.size() > max_stacks_) fail("grammar is too ambiguous: more than {} parallel parses", max_stacks_);
      continue;
    }
    if (++expansions > kMaxExpansions) fail("grammar is too ambiguous: more than {} rule expansions per character", kMaxExpansions);
    const uint32_t top = cur.back();
    cur.pop_back();
    if (sym[top + 1].kind != Symbol::Kind::end) cur.push_back(top + 1);
    const std::vector<uint32_t>& alts = g_->rules[sym[top].value];
    for (size_t a = 0; a < alts.size(); ++a) {
      Stack next = (a + 1 == alts.size()) ? std::move(cur) : cur;
      if (sym[alts[a]].kind != Symbol::Kind::end) next.push_back(alts[a]);
      work.push_back(std::move(next));
    }
  }
}

uint32_t Matcher::intern(std::vector<Stack>& stacks) {
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  std::string key;
  for (const Stack& s : stacks) {
    uint32_t n = static_cast<uint32_t>(s.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(reinterpret_cast<const char*>(s.data()), s.size() * sizeof(uint32_t));
  }
  auto [it, inserted] = ids_.emplace(std::move(key), static_cast<uint32_t>(sets_.size()));
  if (inserted) sets_.push_back(stacks);
  return it->second;
}

void Matcher::reset_tables() {
  sets_.clear();
  ids_.clear();
  memo_.clear();
  ascii_.clear();
  plain_step_.clear();
  masks_.clear();
  next_mask_ = 0;
  state_ = intern(current_);
}

uint32_t Matcher::advance(uint32_t set, uint32_t code_point) {
  constexpr uint32_t kUnknown = 0xFFFFFFFEu;
  uint32_t* slot = nullptr;
  if (code_point < 128) {
    if (ascii_.size() <= set) ascii_.resize(sets_.size());
    auto& row = ascii_[set];
    if (!row) {
      row = std::make_unique<std::array<uint32_t, 128>>();
      row->fill(kUnknown);
    }
    slot = &(*row)[code_point];
    if (*slot != kUnknown) return *slot;
  }
  const uint64_t key = (static_cast<uint64_t>(set) << 21) | code_point;
  if (!slot) {
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
  }
  const std::vector<Symbol>& sym = g_->symbols;
  std::vector<Stack> next;
  for (const Stack& s : sets_[set]) {
    if (s.empty() || !g_->matches(sym[s.back()], code_point)) continue;
    Stack t(s.begin(), s.end() - 1);
    if (sym[s.back() + 1].kind != Symbol::Kind::end) t.push_back(s.back() + 1);
    expand(std::move(t), next);
  }
  uint32_t id = next.empty() ? kDead : intern(next);
  if (code_point < 128) (*ascii_[set])[code_point] = id;  // ascii_[set] outlives intern(): rows are heap cells
  else memo_.emplace(key, id);
  return id;
}

// Whether a character that starts with the partial bytes in `u` can come next. As
// llama.cpp decides it: the range of code points those bytes could complete to must
// meet one of the terminal's ranges (for a negated class: meet none of them).
bool Matcher::partial_ok(uint32_t set, const Utf8& u) const {
  if (u.remain < 0 || (u.remain == 1 && u.value < 2)) return false;  // invalid or overlong
  const int shift = u.remain * 6;
  uint32_t low = u.value << shift;
  const uint32_t high = low | ((1u << shift) - 1);
  if (low == 0) {
    if (u.remain == 2) low = 1u << 11;
    else if (u.remain == 3) low = 1u << 16;
  }
  for (const Stack& s : sets_[set]) {
    if (s.empty()) continue;
    const Symbol& t = g_->symbols[s.back()];
    if (t.kind == Symbol::Kind::any) return true;
    bool meets = false;
    for (uint32_t i = 0; i < t.count && !meets; ++i) {
      const CharRange& r = g_->ranges[t.value + i];
      meets = r.lo <= high && low <= r.hi;
    }
    if (meets == (t.kind == Symbol::Kind::chars)) return true;
  }
  return false;
}

bool Matcher::step(uint32_t& set, Utf8& u, uint8_t byte) {
  if (u.remain > 0) {
    if (u.carried && (byte >> 6) != 2) return false;  // broken continuation of an earlier token's character
    u.value = (u.value << 6) | (byte & 0x3Fu);
    if (--u.remain > 0) return true;
  } else {
    const int8_t remain = kRemain[byte >> 4];
    if (remain < 0) return false;
    u.value = byte & ((1u << (7 - remain)) - 1);
    u.remain = remain;
    u.carried = false;
    if (remain > 0) return true;
  }
  u.carried = false;
  set = advance(set, u.value);
  return set != kDead;
}

bool Matcher::run(std::string_view bytes, uint32_t& set, Utf8& u, bool* completed) {
  if (bytes.empty() || bytes[0] == '\0') return false;
  bool any = false;
  for (char c : bytes) {
    if (c == '\0') break;  // pieces are read as C strings
    const int8_t before = u.remain;
    if (!step(set, u, static_cast<uint8_t>(c))) return false;
    any = any || (u.remain == 0 && (before == 1 || before == 0));
  }
  if (completed) *completed = any;
  return u.remain == 0 || partial_ok(set, u);
}

bool Matcher::allows(std::string_view bytes) {
  if (sets_.size() > kMaxStates) reset_tables();
  uint32_t set = state_;
  Utf8 u = utf8_;
  u.carried = u.remain > 0;
  return run(bytes, set, u, nullptr);
}

bool Matcher::accept(std::string_view bytes) {
  if (sets_.size() > kMaxStates) reset_tables();
  uint32_t set = state_;
  Utf8 u = utf8_;
  u.carried = u.remain > 0;
  bool completed = false;
  if (!run(bytes, set, u, &completed)) return false;
  if (!completed) {
    // A token that completes no character still ends every finished parse (llama.cpp
    // drops the empty stacks on every accepted token): the partial character must go on.
    std::vector<Stack> rest;
    for (const Stack& st : sets_[set])
      if (!st.empty()) rest.push_back(st);
    set = intern(rest);
  }
  state_ = set;
  utf8_ = u;
  utf8_.carried = false;
  current_ = sets_[state_];
  return true;
}

bool Matcher::can_end() const {
  const std::vector<Stack>& s = sets_[state_];
  return std::any_of(s.begin(), s.end(), [](const Stack& st) { return st.empty(); });
}

bool Matcher::must_end() const {
  const std::vector<Stack>& s = sets_[state_];
  return std::all_of(s.begin(), s.end(), [](const Stack& st) { return st.empty(); });
}

void Matcher::allowed_tokens(const TokenTrie& trie, std::vector<uint8_t>& allowed) {
  if (sets_.size() > kMaxStates) reset_tables();
  if (masks_trie_ != &trie) {
    masks_.clear();
    next_mask_ = 0;
    masks_trie_ = &trie;
  }
  const uint64_t key = (static_cast<uint64_t>(state_) << 32) | (static_cast<uint64_t>(utf8_.value & 0x1FFFFF) << 3) |
                       static_cast<uint64_t>(utf8_.remain & 7);
  for (const CachedMask& m : masks_)
    if (m.key == key) {
      allowed = m.allowed;
      return;
    }
  compute_allowed(trie, allowed);
  if (masks_.size() < kCachedMasks) {
    masks_.push_back(CachedMask{key, allowed});
  } else {
    masks_[next_mask_] = CachedMask{key, allowed};
    next_mask_ = (next_mask_ + 1) % kCachedMasks;
  }
}

uint32_t Matcher::plain_step(uint32_t set) {
  constexpr uint32_t kUnknownStep = 0xFFFFFFFCu;
  if (plain_step_.size() <= set) plain_step_.resize(sets_.size(), kUnknownStep);
  if (plain_step_[set] != kUnknownStep) return plain_step_[set];
  uint32_t target = kUnknownStep;
  for (uint32_t c = 0x20; c < 0x7F; ++c) {
    if (!TokenTrie::is_plain_byte(static_cast<uint8_t>(c))) continue;
    const uint32_t next = advance(set, c);
    if (target == kUnknownStep) target = next;
    else if (next != target) {
      target = kMixed;
      break;
    }
  }
  if (plain_step_.size() <= set) plain_step_.resize(sets_.size(), kUnknownStep);
  plain_step_[set] = target;
  return target;
}

void Matcher::compute_allowed(const TokenTrie& trie, std::vector<uint8_t>& allowed) {
  allowed.assign(static_cast<size_t>(trie.n_vocab()), 0);
  const std::vector<TokenTrie::Node>& nodes = trie.nodes();
  const std::vector<int32_t>& ids = trie.ids();
  auto mark = [&](uint32_t begin, uint32_t end) {
    for (uint32_t k = begin; k < end; ++k) allowed[static_cast<size_t>(ids[k])] = 1;
  };
  struct Frame {
    uint32_t set;
    Utf8 u;
    uint32_t end;  // one past the last node of this frame's subtree
  };
  std::vector<Frame> path;
  std::vector<uint32_t> chain;  // plain subtrees: the state after each depth
  Utf8 start = utf8_;
  start.carried = start.remain > 0;
  path.push_back(Frame{state_, start, static_cast<uint32_t>(nodes.size())});
  const uint32_t n = static_cast<uint32_t>(nodes.size());
  for (uint32_t i = 1; i < n;) {
    while (i >= path.back().end) path.pop_back();
    const Frame& f = path.back();
    const TokenTrie::Node& node = nodes[i];
    if (node.plain_subtree && f.u.remain == 0 && plain_step(f.set) != kMixed) {
      // Every token below is plain text, and every plain byte takes each state on the way
      // to one same next state: a token is allowed iff the state after its length is
      // alive. The subtree is scanned against that chain of states without stepping; if
      // the chain reaches a state where plain bytes part ways, the subtree is walked
      // normally instead (marks are only ever set, so the partial scan does no harm).
      chain.clear();
      chain.push_back(f.set);
      const uint32_t base = node.depth - 1u;
      bool mixed = false;
      for (uint32_t k = i; k < node.end && !mixed;) {
        const TokenTrie::Node& q = nodes[k];
        const uint32_t d = q.depth - base;
        while (chain.size() <= d && !mixed) {
          const uint32_t last = chain.back();
          const uint32_t step = last == kDead ? kDead : plain_step(last);
          mixed = step == kMixed;
          chain.push_back(step);
        }
        if (mixed) break;
        if (chain[d] == kDead) {
          k = q.end;  // dead stays dead below
          continue;
        }
        mark(q.tok_begin, q.tok_end);
        ++k;
      }
      if (!mixed) {
        i = node.end;
        continue;
      }
    }
    Frame g{f.set, f.u, node.end};
    if (!step(g.set, g.u, node.byte)) {
      i = node.end;  // no token through this byte is allowed
      continue;
    }
    if (g.u.remain == 0 || partial_ok(g.set, g.u)) mark(node.tok_begin, node.tok_end);
    path.push_back(g);
    ++i;
  }
}

}  // namespace r1::grammar
