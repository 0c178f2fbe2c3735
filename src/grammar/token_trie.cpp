#include "grammar/token_trie.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "tokenizer/tokenizer.hpp"

namespace r1::grammar {

namespace {

// The text a grammar sees for token `id` (see the header); empty: never allowed.
std::string grammar_piece(const Tokenizer& tok, int32_t id) {
  if (tok.is_eog(id)) return {};
  const VocabData& v = tok.vocab();
  TokenType type = v.types.empty() ? TokenType::normal : v.types[static_cast<size_t>(id)];
  std::string piece;
  switch (type) {
    case TokenType::normal: piece = tok.token_bytes(id); break;
    case TokenType::control:
      // llama.cpp marks control tokens named "...unused..." unused: no text.
      if (v.tokens[static_cast<size_t>(id)].find("unused") != std::string::npos) return {};
      piece = v.tokens[static_cast<size_t>(id)];
      break;
    case TokenType::user_defined:
    case TokenType::unknown: piece = v.tokens[static_cast<size_t>(id)]; break;
    default: return {};
  }
  size_t nul = piece.find('\0');
  if (nul != std::string::npos) piece.resize(nul);
  return piece;
}

bool all_newlines(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c == '\n'; });
}

}  // namespace

TokenTrie::TokenTrie(const Tokenizer& tok) : n_vocab_(tok.n_vocab()) {
  std::vector<std::string> pieces(static_cast<size_t>(n_vocab_));
  std::vector<int32_t> order;
  for (int32_t id = 0; id < n_vocab_; ++id) {
    pieces[static_cast<size_t>(id)] = grammar_piece(tok, id);
    if (!pieces[static_cast<size_t>(id)].empty()) order.push_back(id);
    if (all_newlines(pieces[static_cast<size_t>(id)])) newlines_.push_back(id);
  }
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return pieces[static_cast<size_t>(a)] < pieces[static_cast<size_t>(b)];
  });
  // Sorted pieces visit the trie in preorder: each piece shares a prefix with the
  // previous one, closes the nodes below it, and opens its own.
  nodes_.push_back(Node{});
  std::vector<uint32_t> path{0};  // path[d]: the open node at depth d
  const std::string* prev = nullptr;
  auto close_to = [&](size_t depth) {
    while (path.size() > depth + 1) {
      Node& n = nodes_[path.back()];
      n.end = static_cast<uint32_t>(nodes_.size());
      n.tok_subtree_end = static_cast<uint32_t>(ids_.size());
      path.pop_back();
    }
  };
  for (int32_t id : order) {
    const std::string& p = pieces[static_cast<size_t>(id)];
    size_t common = 0;
    if (prev != nullptr)
      while (common < prev->size() && common < p.size() && (*prev)[common] == p[common]) ++common;
    close_to(common);
    for (size_t d = common; d < p.size(); ++d) {
      Node n;
      n.byte = static_cast<uint8_t>(p[d]);
      n.depth = static_cast<uint16_t>(std::min<size_t>(d + 1, 0xFFFF));
      n.tok_begin = n.tok_end = static_cast<uint32_t>(ids_.size());
      path.push_back(static_cast<uint32_t>(nodes_.size()));
      nodes_.push_back(n);
    }
    ids_.push_back(id);
    nodes_[path.back()].tok_end = static_cast<uint32_t>(ids_.size());
    prev = &p;
  }
  close_to(0);
  nodes_[0].end = static_cast<uint32_t>(nodes_.size());
  nodes_[0].tok_subtree_end = static_cast<uint32_t>(ids_.size());
  // plain_subtree: no non-plain byte in [i, end), by a prefix count over preorder.
  std::vector<uint32_t> bad(nodes_.size() + 1, 0);
  for (size_t i = 0; i < nodes_.size(); ++i) bad[i + 1] = bad[i] + (i > 0 && !is_plain_byte(nodes_[i].byte) ? 1 : 0);
  for (size_t i = 1; i < nodes_.size(); ++i) nodes_[i].plain_subtree = bad[nodes_[i].end] == bad[i];
}

std::shared_ptr<const TokenTrie> TokenTrie::of(const Tokenizer& tok) {
  auto p = tok.derived("grammar.token_trie", [&] { return std::make_shared<const TokenTrie>(tok); });
  return std::static_pointer_cast<const TokenTrie>(p);
}

}  // namespace r1::grammar
