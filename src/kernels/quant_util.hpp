// Small scalar helpers shared by the kernels. Everything here has internal linkage
// (unnamed namespace) on purpose: the *_avx2.cpp files include it too, and an inline
// function with external linkage compiled there could be picked by the linker for the
// baseline files, putting AVX2 instructions on a path that must run everywhere.
#pragma once
#include <cstdint>
#include <cstring>

namespace r1::kernels {
namespace {

inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// IEEE binary16 -> binary32, exact for every input (same results as r1::fp16_to_fp32,
// which the tests check over all 65536 values), without branches on the exponent:
// normal numbers are rebiased by a multiply, subnormals by a float subtraction.
inline float half_to_float(uint16_t h) {
  const uint32_t w = static_cast<uint32_t>(h) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;  // exponent and mantissa, sign shifted out
  // Normal / inf / nan: exponent and mantissa moved into f32 position with the exponent
  // raised by 224 (so half inf/nan land on f32 inf/nan), then scaled by 2^-112.
  const float normalized = bits_to_float((two_w >> 4) + (0xE0u << 23)) * bits_to_float(0x7800000u);
  // Subnormal: mantissa into a float 0.5 + m * 2^-24, minus 0.5.
  const float denormalized = bits_to_float((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t result = sign | (two_w < (1u << 27) ? float_to_bits(denormalized) : float_to_bits(normalized));
  return bits_to_float(result);
}

// Round to nearest, ties to even, for |x| <= 2^22 (the quantizers never exceed 2^8).
// Adding 1.5 * 2^23 pushes the fraction out of the mantissa under the default rounding.
inline int nearest_int(float x) {
  const float v = x + 12582912.f;
  return static_cast<int>(float_to_bits(v) & 0x007FFFFFu) - 0x00400000;
}

// Scale and min (6 bits each) of sub-block j (< 8) of a Q4_K / Q5_K block.
// Bytes 0..3: scales 0..3 in the low 6 bits; bytes 4..7: mins 0..3 in the low 6 bits;
// bytes 8..11: low nibble = low 4 bits of scale j+4, high nibble = low 4 bits of min j+4;
// the top 2 bits of scale j+4 / min j+4 sit in bits 6..7 of byte j / byte j+4.
inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Signed scale of sub-block j (< 16) of a Q3_K block: 6-bit value minus 32.
inline int q3k_scale(const uint8_t* s, int j) {
  const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | hi << 4) - 32;
}

}  // namespace
}  // namespace r1::kernels
