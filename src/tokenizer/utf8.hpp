// UTF-8 helpers for the tokenizer (decode/encode one code point, validation).
//
// Contract: the decoder follows the Unicode "maximal subpart" practice (the same
// as the WHATWG TextDecoder): a byte sequence that is a valid prefix of a
// well-formed character but is cut short, or an invalid byte, is one error.
// sanitize_utf8()/utf8_incomplete_tail() are declared in tokenizer.hpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace r1::utf8 {

inline constexpr uint32_t kReplacement = 0xFFFD;

// Decodes the character starting at s[i]. On success returns its code point and
// sets *len to its byte length (1..4). On an ill-formed sequence returns -1 and
// sets *len to the length of the maximal subpart to replace (>= 1).
int32_t decode(std::string_view s, size_t i, size_t* len);

// Appends the UTF-8 encoding of cp (must be a scalar value <= 0x10FFFF).
void append(std::string& out, uint32_t cp);

// True when s is entirely well-formed UTF-8 (fast path for ASCII).
bool is_valid(std::string_view s);

// Length in bytes of the character whose lead byte is b (1 for invalid leads).
inline size_t lead_length(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xF0) return 4;
  if (b >= 0xE0) return 3;
  if (b >= 0xC0) return 2;
  return 1;
}

}  // namespace r1::utf8
