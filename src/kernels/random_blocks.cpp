// Random i-quant blocks with a chosen RMS (see random_blocks.hpp).
#include "kernels/random_blocks.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "base/rng.hpp"
#include "kernels/blocks.hpp"

namespace r1::kernels {

namespace {

// Writes the fp16 super-block scale of one block.
void set_d(DType type, uint8_t* block, uint16_t h) {
  if (type == DType::IQ1_M) {
    // The four nibbles of d are the top nibbles of the four u16 scale words.
    auto* b = reinterpret_cast<BlockIq1M*>(block);
    for (int k = 0; k < 4; ++k) {
      uint16_t w;
      std::memcpy(&w, b->scales + 2 * k, 2);
      w = static_cast<uint16_t>((w & 0x0FFF) | (((h >> (4 * k)) & 0xF) << 12));
      std::memcpy(b->scales + 2 * k, &w, 2);
    }
    return;
  }
  std::memcpy(block, &h, 2);  // every other i-quant starts with d
}

}  // namespace

bool has_random_blocks(DType type) {
  switch (type) {
    case DType::IQ2_XXS: case DType::IQ2_XS: case DType::IQ2_S: case DType::IQ3_XXS: case DType::IQ3_S:
    case DType::IQ1_S: case DType::IQ1_M: case DType::IQ4_NL: case DType::IQ4_XS:
      return true;
    default:
      return false;
  }
}

void fill_random_blocks(DType type, void* dst, int64_t n, uint64_t seed, float target_rms) {
  if (!has_random_blocks(type)) fail("no random block generator for type {}", dtype_name(type));
  const TypeTraits* t = find_reference_traits(type);
  const int64_t bs = t->block_size;
  const size_t bb = t->block_bytes;
  SplitMix64 rng{seed};
  std::vector<float> values(static_cast<size_t>(bs));
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / bs; ++b) {
    uint8_t* block = out + static_cast<size_t>(b) * bb;
    for (size_t i = 0; i < bb; i += 8) {
      const uint64_t r = rng.next();
      std::memcpy(block + i, &r, std::min<size_t>(8, bb - i));
    }
    set_d(type, block, fp32_to_fp16(1.0f));
    t->to_float(block, values.data(), bs);
    double ss = 0;
    for (float v : values) ss += static_cast<double>(v) * v;
    const double rms = std::sqrt(ss / static_cast<double>(bs));
    const float d = rms > 0 ? static_cast<float>(target_rms / rms) : target_rms;
    set_d(type, block, fp32_to_fp16(rng.next() & 1 ? -d : d));
  }
}

}  // namespace r1::kernels
