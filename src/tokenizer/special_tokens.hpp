// Finds added (special / user-defined) tokens verbatim in text.
//
// Contract: scanning left to right, at each position the longest token that
// starts there wins (as Hugging Face's added-token splitter and llama.cpp do);
// text between matches is returned as plain segments. Tokens flagged lstrip /
// rstrip absorb the Unicode whitespace to their left / right into the match;
// single_word tokens only match when not preceded or followed by a word
// character (letter, digit, mark, '_').
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1::tok {

struct AddedToken {
  std::string text;
  int32_t id = -1;
  bool control = false;  // matched only when parse_special is requested
  bool lstrip = false, rstrip = false, single_word = false;
};

class SpecialMatcher {
 public:
  explicit SpecialMatcher(std::vector<AddedToken> tokens);

  struct Segment {
    uint32_t begin = 0, end = 0;  // byte range in the text
    int32_t id = -1;              // token id, or -1 for plain text to be pre-tokenized
  };
  // Splits text into plain segments and matched tokens (in order, no empty plain
  // segments). Control tokens are ignored unless parse_special.
  void split(std::string_view text, bool parse_special, std::vector<Segment>* out) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // (byte, node index), sorted by byte
    int32_t token = -1;                                  // index into tokens_ when a token ends here
  };
  int32_t child(int32_t node, uint8_t b) const;
  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

}  // namespace r1::tok
