// Expansion of the packed i-quant codebooks (see iq_grids.hpp).
#include "kernels/iq_grids.hpp"

#include <memory>

namespace r1::kernels {

namespace {

// Entry of `n` elements of `bits`-bit level indices, element j from bits [bits*j, ...),
// as bytes (element j in byte j), each level index mapped through `levels`.
template <typename Word>
Word expand(uint16_t code, int n, int bits, const int* levels) {
  Word w = 0;
  for (int j = 0; j < n; ++j) {
    const int level = (code >> (bits * j)) & ((1 << bits) - 1);
    w |= static_cast<Word>(static_cast<uint8_t>(levels[level])) << (8 * j);
  }
  return w;
}

std::unique_ptr<IqTables> build() {
  auto t = std::make_unique<IqTables>();
  static const int k2[4] = {8, 25, 43, 0};
  static const int k3xxs[8] = {4, 12, 20, 28, 36, 44, 52, 62};
  static const int k3s[8] = {1, 3, 5, 7, 9, 11, 13, 15};
  static const int k1[4] = {-1, 0, 1, 0};
  using namespace iq_data;
  for (int i = 0; i < 256; ++i) t->grid2xxs[i] = expand<uint64_t>(kIq2xxsCodes[i], 8, 2, k2);
  for (int i = 0; i < 512; ++i) t->grid2xs[i] = expand<uint64_t>(kIq2xsCodes[i], 8, 2, k2);
  for (int i = 0; i < 1024; ++i) t->grid2s[i] = expand<uint64_t>(kIq2sCodes[i], 8, 2, k2);
  for (int i = 0; i < 256; ++i) t->grid3xxs[i] = expand<uint32_t>(kIq3xxsCodes[i], 4, 3, k3xxs);
  for (int i = 0; i < 512; ++i) t->grid3s[i] = expand<uint32_t>(kIq3sCodes[i], 4, 3, k3s);
  for (int i = 0; i < 2048; ++i) t->grid1s[i] = expand<uint64_t>(kIq1sCodes[i], 8, 2, k1);
  for (int m = 0; m < 256; ++m) {
    uint64_t bytes = 0;
    for (int j = 0; j < 8; ++j) bytes |= static_cast<uint64_t>((m >> j) & 1 ? 0xFF : 0x01) << (8 * j);
    t->mask_bytes[m] = bytes;
  }
  for (int i = 0; i < 128; ++i) {
    const int mask = i | (__builtin_popcount(static_cast<unsigned>(i)) & 1 ? 0x80 : 0);
    t->signs[i] = static_cast<uint8_t>(mask);
    t->sign_bytes[i] = t->mask_bytes[mask];
  }
  for (int i = 0; i < 16; ++i) t->iq4nl[i] = kIq4nlValues[i];
  return t;
}

}  // namespace

const IqTables& iq_tables() {
  static const std::unique_ptr<IqTables> tables = build();
  return *tables;
}

}  // namespace r1::kernels
