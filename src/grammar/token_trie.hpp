// The vocabulary as a prefix tree of token bytes, for masking a whole vocabulary
// against a grammar in one walk: tokens that share a prefix share the work of matching it.
//
// Which tokens it holds (llama.cpp's rule for grammar pieces): every token with a
// non-empty text, control and user-defined tokens by their literal text, normal tokens
// by their decoded bytes. Left out: end-of-generation tokens (the sampler allows them
// when the grammar can end), unused tokens (no text; also control tokens whose text
// contains "unused") and empty ones. A token's bytes
// are cut at the first NUL byte (as llama.cpp reads pieces as C strings); a token that
// starts with one is left out.
//
// Layout: nodes in preorder; node 0 is the root (the empty prefix); the subtree of node
// i is [i, nodes[i].end). Token ids of the tokens whose bytes end at node i are
// ids[tok_begin, tok_end); those of its whole subtree are ids[tok_begin, tok_subtree_end).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace r1 {
class Tokenizer;
}

namespace r1::grammar {

class TokenTrie {
 public:
  struct Node {
    uint8_t byte = 0;               // the byte on the edge into this node (root: 0)
    uint32_t end = 0;               // one past the last node of the subtree
    uint32_t tok_begin = 0, tok_end = 0, tok_subtree_end = 0;
    bool plain_subtree = false;     // every byte of this node and below is plain text (is_plain_byte)
    uint16_t depth = 0;             // bytes from the root (saturating)
  };
  // Printable ASCII but '"' and '\\': what most text and JSON string content is made of.
  // A grammar state that plain bytes leave unchanged admits whole plain subtrees at once.
  static bool is_plain_byte(uint8_t b) { return b >= 0x20 && b < 0x7F && b != '"' && b != '\\'; }

  explicit TokenTrie(const Tokenizer& tok);
  // The trie of a tokenizer, built once and kept with it (Tokenizer::derived).
  static std::shared_ptr<const TokenTrie> of(const Tokenizer& tok);

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int32_t>& ids() const { return ids_; }
  int32_t n_vocab() const { return n_vocab_; }
  // Tokens whose bytes are all '\n' (what a reasoning model writes after </think>).
  const std::vector<int32_t>& newline_tokens() const { return newlines_; }

 private:
  std::vector<Node> nodes_;
  std::vector<int32_t> ids_;
  std::vector<int32_t> newlines_;
  int32_t n_vocab_ = 0;
};

}  // namespace r1::grammar
