#include "tokenizer/unicode_nfc.hpp"

#include <algorithm>
#include <vector>

#include "tokenizer/unicode_nfc_data.hpp"
#include "tokenizer/utf8.hpp"

namespace r1::tok {
namespace {

using namespace nfc_data;

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

uint8_t ccc(uint32_t cp) {
  if (cp < 0x300) return 0;
  const CccRange* end = kCcc + kCccCount;
  const CccRange* it = std::upper_bound(kCcc, end, cp, [](uint32_t c, const CccRange& r) { return c < r.first; });
  if (it == kCcc) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

bool unsafe(uint32_t cp) {
  if (cp < 0x300) return false;
  const Range* end = kUnsafe + kUnsafeCount;
  const Range* it = std::upper_bound(kUnsafe, end, cp, [](uint32_t c, const Range& r) { return c < r.first; });
  if (it == kUnsafe) return false;
  --it;
  return cp <= it->last;
}

void decompose(uint32_t cp, std::vector<uint32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out->push_back(kTBase + s % kTCount);
    return;
  }
  const Decomp* end = kDecomp + kDecompCount;
  const Decomp* it = std::lower_bound(kDecomp, end, cp, [](const Decomp& d, uint32_t c) { return d.cp < c; });
  if (it != end && it->cp == cp) {
    out->insert(out->end(), kDecompData + it->offset, kDecompData + it->offset + it->length);
  } else {
    out->push_back(cp);
  }
}

// Primary composite of (a, b), or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const Compose* end = kCompose + kComposeCount;
  const Compose* it = std::lower_bound(kCompose, end, std::make_pair(a, b), [](const Compose& c, auto key) {
    return c.first != key.first ? c.first < key.first : c.second < key.second;
  });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

}  // namespace

bool nfc_quick_check(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Everything below U+0300 is safe; UTF-8 lead bytes below 0xCC encode it.
    if (static_cast<uint8_t>(s[i]) < 0xCC) {
      ++i;
      continue;
    }
    size_t len;
    const int32_t cp = utf8::decode(s, i, &len);
    if (cp >= 0 && unsafe(static_cast<uint32_t>(cp))) return false;
    i += len;
  }
  return true;
}

std::string nfc(std::string_view s) {
  if (nfc_quick_check(s)) return std::string(s);
  // 1. Full canonical decomposition.
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len;
    const int32_t cp = utf8::decode(s, i, &len);
    decompose(cp >= 0 ? static_cast<uint32_t>(cp) : utf8::kReplacement, &cps);
    i += len;
  }
  // 2. Canonical ordering: stable sort of each run of non-starters by class.
  for (size_t i = 0; i < cps.size();) {
    if (ccc(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && ccc(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j, [](uint32_t a, uint32_t b) { return ccc(a) < ccc(b); });
    i = j;
  }
  // 3. Canonical composition.
  std::string out;
  out.reserve(s.size());
  std::vector<uint32_t> res;
  res.reserve(cps.size());
  long starter = -1;      // index in res of the last starter
  int last_class = -1;    // class of the last char appended after the starter (-1: none)
  for (uint32_t cp : cps) {
    const int cls = ccc(cp);
    if (starter >= 0 && (last_class < cls || (last_class == -1))) {
      // Not blocked: nothing between the starter and cp has class 0 or >= cls.
      if (const uint32_t c = compose(res[starter], cp)) {
        res[starter] = c;
        continue;
      }
    }
    if (cls == 0) {
      starter = static_cast<long>(res.size());
      last_class = -1;
    } else {
      last_class = cls;
    }
    res.push_back(cp);
  }
  for (uint32_t cp : res) utf8::append(out, cp);
  return out;
}

}  // namespace r1::tok
