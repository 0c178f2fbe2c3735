#include "tokenizer/special_tokens.hpp"

#include <algorithm>

#include "tokenizer/utf8.hpp"

namespace r1::tok {
namespace {

bool is_white_space(int32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// Start of the character that ends at byte i (exclusive) in well-formed UTF-8.
size_t prev_char_start(std::string_view s, size_t i) {
  size_t j = i - 1;
  while (j > 0 && (static_cast<uint8_t>(s[j]) & 0xC0) == 0x80) --j;
  return j;
}

int32_t cp_at(std::string_view s, size_t i) {
  size_t len;
  return utf8::decode(s, i, &len);
}

// Word characters for single_word tokens: ASCII letters, digits, '_' and every
// non-ASCII character (a conservative stand-in for Unicode alphanumerics).
bool is_word_char(int32_t cp) {
  return cp >= 0x80 || (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
         cp == '_';
}

}  // namespace

SpecialMatcher::SpecialMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  nodes_.emplace_back();
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& s = tokens_[t].text;
    if (s.empty()) continue;
    first_byte_[static_cast<uint8_t>(s[0])] = true;
    int32_t node = 0;
    for (unsigned char b : s) {
      int32_t c = child(node, b);
      if (c < 0) {
        c = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        auto& ch = nodes_[node].children;
        ch.insert(std::lower_bound(ch.begin(), ch.end(), std::make_pair(b, int32_t(-1))), {b, c});
      }
      node = c;
    }
    // Two added tokens with the same text: the first one listed wins.
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(t);
  }
}

int32_t SpecialMatcher::child(int32_t node, uint8_t b) const {
  const auto& ch = nodes_[node].children;
  auto it = std::lower_bound(ch.begin(), ch.end(), std::make_pair(b, int32_t(-1)));
  return it != ch.end() && it->first == b ? it->second : -1;
}

void SpecialMatcher::split(std::string_view text, bool parse_special, std::vector<Segment>* out) const {
  const size_t n = text.size();
  size_t plain = 0;  // start of the current plain segment
  size_t i = 0;
  while (i < n) {
    if (!first_byte_[static_cast<uint8_t>(text[i])]) {
      ++i;
      continue;
    }
    // Walk the trie; remember every eligible token end, keep the longest that
    // also satisfies its single_word constraint.
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t j = i; j < n; ++j) {
      node = child(node, static_cast<uint8_t>(text[j]));
      if (node < 0) break;
      const int32_t t = nodes_[node].token;
      if (t < 0) continue;
      const AddedToken& tok = tokens_[t];
      if (tok.control && !parse_special) continue;
      if (tok.single_word) {
        const bool left_ok = i == 0 || !is_word_char(cp_at(text, prev_char_start(text, i)));
        const bool right_ok = j + 1 == n || !is_word_char(cp_at(text, j + 1));
        if (!left_ok || !right_ok) continue;
      }
      best = t;
      best_end = j + 1;
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[best];
    size_t mb = i, me = best_end;
    if (tok.lstrip)
      while (mb > plain) {
        const size_t p = prev_char_start(text, mb);
        if (!is_white_space(cp_at(text, p))) break;
        mb = p;
      }
    if (tok.rstrip)
      while (me < n) {
        size_t len;
        const int32_t cp = utf8::decode(text, me, &len);
        if (!is_white_space(cp)) break;
        me += len;
      }
    if (mb > plain) out->push_back({uint32_t(plain), uint32_t(mb), -1});
    out->push_back({uint32_t(mb), uint32_t(me), tok.id});
    i = plain = me;
  }
  if (plain < n) out->push_back({uint32_t(plain), uint32_t(n), -1});
}

}  // namespace r1::tok
