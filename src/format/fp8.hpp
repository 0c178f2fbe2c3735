// 8-bit floating point formats found in safetensors checkpoints (OCP FP8, arXiv 2209.05433).
//
//   E4M3 ("e4m3fn", torch.float8_e4m3fn; DeepSeek V3/R1 weights): sign, 4 exponent bits
//     (bias 7), 3 mantissa bits. No infinities: S.1111.111 (0x7F, 0xFF) is NaN, so the
//     largest value is S.1111.110 = 448. Exponent 0 is subnormal: m * 2^-9.
//   E5M2 (torch.float8_e5m2): the upper byte of an IEEE binary16, infinities and NaNs
//     included (max 57344).
// Both conversions are exact (every code is a float).
#pragma once
#include <cstdint>

namespace r1 {

float fp8_e4m3_to_float(uint8_t code);
float fp8_e5m2_to_float(uint8_t code);

}  // namespace r1
