#include "tokenizer/byte_level.hpp"

#include "tokenizer/utf8.hpp"

namespace r1::byte_level {
namespace {

struct Tables {
  std::array<uint16_t, 256> to_cp{};
  std::array<int16_t, 324> from_cp{};  // code points 0..323 cover the whole alphabet
  Tables() {
    from_cp.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_cp[b] = static_cast<uint16_t>(printable ? b : next++);
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t byte_to_cp(uint8_t b) { return tables().to_cp[b]; }

int byte_from_cp(uint32_t cp) { return cp < tables().from_cp.size() ? tables().from_cp[cp] : -1; }

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8::append(out, byte_to_cp(b));
  return out;
}

std::string decode(std::string_view text, bool* all_mapped) {
  std::string out;
  out.reserve(text.size());
  bool ok = true;
  size_t i = 0;
  while (i < text.size()) {
    size_t len;
    const int32_t cp = utf8::decode(text, i, &len);
    const int b = cp >= 0 ? byte_from_cp(static_cast<uint32_t>(cp)) : -1;
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      ok = false;
      out.append(text.substr(i, len));
    }
    i += len;
  }
  if (all_mapped) *all_mapped = ok;
  return out;
}

}  // namespace r1::byte_level
