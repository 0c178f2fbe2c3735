// UTF-8 decoding with maximal-subpart error handling (Unicode 15, section 3.9,
// "U+FFFD Substitution of Maximal Subparts"), and the sanitizers built on it.
#include "tokenizer/utf8.hpp"

#include <cassert>

#include "tokenizer/tokenizer.hpp"

namespace r1::utf8 {

int32_t decode(std::string_view s, size_t i, size_t* len) {
  assert(i < s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  const uint8_t b0 = p[i];
  if (b0 < 0x80) {
    *len = 1;
    return b0;
  }
  // Allowed range of the second byte per lead byte (Table 3-7, well-formed sequences).
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    *len = 1;  // C0, C1, F5..FF, or a stray continuation byte
    return -1;
  }
  size_t k = 1;
  for (; k <= need; ++k) {
    if (i + k >= n) break;
    const uint8_t b = p[i + k];
    const uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) break;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (k <= need) {  // cut short or a bad continuation: the valid prefix is one error
    *len = k;
    return -1;
  }
  *len = need + 1;
  return static_cast<int32_t>(cp);
}

void append(std::string& out, uint32_t cp) {
  assert(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF));
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_valid(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    if (decode(s, i, &len) < 0) return false;
    i += len;
  }
  return true;
}

}  // namespace r1::utf8

namespace r1 {

std::string sanitize_utf8(std::string_view s) {
  if (utf8::is_valid(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    size_t len;
    if (utf8::decode(s, i, &len) < 0) {
      utf8::append(out, utf8::kReplacement);
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

size_t utf8_incomplete_tail(std::string_view s) {
  // Look at the last up-to-3 bytes for a lead byte whose sequence is cut short
  // but valid so far.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t i = n - back;
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) return 0;                 // ASCII: nothing pending after it
    if ((b & 0xC0) == 0x80) continue;       // continuation byte: keep looking left
    size_t len;
    utf8::decode(s, i, &len);
    // Incomplete-but-valid: the maximal subpart reaches the end of the string and
    // is shorter than the full sequence the lead byte announces.
    if (i + len == n && len < utf8::lead_length(b) && b >= 0xC2 && b <= 0xF4) return back;
    return 0;
  }
  return 0;
}

}  // namespace r1
