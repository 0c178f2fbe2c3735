#include "format/fp8.hpp"

#include <cmath>
#include <limits>

#include "kernels/types.hpp"

namespace r1 {

float fp8_e4m3_to_float(uint8_t code) {
  const float sign = (code & 0x80u) ? -1.0f : 1.0f;
  const int exp = (code >> 3) & 0xF;
  const int mant = code & 0x7;
  if (exp == 0xF && mant == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0) return sign * std::ldexp(static_cast<float>(mant), -9);  // subnormal: m/8 * 2^(1-7)
  return sign * std::ldexp(static_cast<float>(8 + mant), exp - 7 - 3);  // (1 + m/8) * 2^(e-7)
}

float fp8_e5m2_to_float(uint8_t code) { return fp16_to_fp32(static_cast<uint16_t>(code) << 8); }

}  // namespace r1
