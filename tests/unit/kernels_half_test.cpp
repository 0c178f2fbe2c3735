// fp16 / bf16 conversions against hand-checked bit patterns (dtype.cpp), and the
// kernels' fast fp16 decoder against the exact one over all 65536 inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/quant_util.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

using test::bits_float;
using test::float_bits;

TEST(KernelsHalf, DecodeHandCheckedPatterns) {
  EXPECT_EQ(float_bits(fp16_to_fp32(0x0000)), 0x00000000u);
  EXPECT_EQ(float_bits(fp16_to_fp32(0x8000)), 0x80000000u);  // -0
  EXPECT_EQ(fp16_to_fp32(0x3C00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xC000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x3555), 0.333251953125f);  // 0x155 / 1024 + 1, times 2^-2
  EXPECT_EQ(fp16_to_fp32(0x3BFF), 0.99951171875f);   // 1 - 2^-11
  EXPECT_EQ(fp16_to_fp32(0x7BFF), 65504.0f);         // largest finite
  EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x03FF), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(fp16_to_fp32(0x8200), -std::ldexp(1.0f, -15));
  EXPECT_EQ(fp16_to_fp32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7E00)));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0xFC01)));
}

TEST(KernelsHalf, EncodeHandCheckedPatterns) {
  EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7BFF);  // just below the tie with 65536
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7C00);    // tie: rounds to even = infinity
  EXPECT_EQ(fp32_to_fp16(1e10f), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  const uint16_t nan = fp32_to_fp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  // Ties to even among normals: 1 + 2^-11 lies halfway between 0x3C00 and 0x3C01.
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  EXPECT_EQ(fp32_to_fp16(bits_float(float_bits(1.0f + std::ldexp(1.0f, -11)) + 1)), 0x3C01);
  EXPECT_EQ(fp32_to_fp16(2047.0f / 1024.0f + std::ldexp(1.0f, -11)), 0x4000);  // carry into exponent
  // Subnormals: 2^-24 is the unit; 2^-25 is a tie between 0 and 1 -> 0 (even).
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(fp32_to_fp16(bits_float(float_bits(std::ldexp(1.0f, -25)) + 1)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(3 * std::ldexp(1.0f, -25)), 0x0002);  // tie between 1 and 2 -> 2
  EXPECT_EQ(fp32_to_fp16(5 * std::ldexp(1.0f, -25)), 0x0002);  // tie between 2 and 3 -> 2
  EXPECT_EQ(fp32_to_fp16(-std::ldexp(1.0f, -26)), 0x8000);     // underflow keeps the sign
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -14)), 0x0400);
  // Halfway between the largest subnormal 0x03FF and the smallest normal 0x0400 -> even.
  EXPECT_EQ(fp32_to_fp16(std::ldexp(2047.0f, -25)), 0x0400);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(2045.0f, -25)), 0x03FE);  // tie 0x03FE / 0x03FF -> even
}

TEST(KernelsHalf, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << h;
  }
}

TEST(KernelsHalf, FastDecoderMatchesExactDecoder) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float a = fp16_to_fp32(static_cast<uint16_t>(h));
    const float b = kernels::half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(a)) {
      ASSERT_TRUE(std::isnan(b)) << std::hex << h;
    } else {
      ASSERT_EQ(float_bits(a), float_bits(b)) << std::hex << h;
    }
  }
}

TEST(KernelsHalf, BFloat16HandCheckedPatterns) {
  EXPECT_EQ(bf16_to_fp32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_fp32(0xC040), -3.0f);
  EXPECT_EQ(bf16_to_fp32(0x0001), bits_float(0x00010000u));  // subnormal
  EXPECT_EQ(bf16_to_fp32(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_fp32(0x7FC0)));

  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(fp32_to_bf16(bits_float(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(fp32_to_bf16(bits_float(0x3F818000u)), 0x3F82);  // tie -> even (up)
  EXPECT_EQ(fp32_to_bf16(bits_float(0x3F808001u)), 0x3F81);  // above the tie
  EXPECT_EQ(fp32_to_bf16(bits_float(0x3F807FFFu)), 0x3F80);  // below the tie
  EXPECT_EQ(fp32_to_bf16(bits_float(0x00010000u)), 0x0001);  // subnormal kept
  EXPECT_EQ(fp32_to_bf16(bits_float(0x7F7FFFFFu)), 0x7F80);  // FLT_MAX rounds to inf
  EXPECT_EQ(fp32_to_bf16(bits_float(0xFF800000u)), 0xFF80);  // -inf
  EXPECT_EQ(fp32_to_bf16(bits_float(0x7F800001u)), 0x7FC0);  // signalling NaN -> quiet NaN
  EXPECT_EQ(fp32_to_bf16(bits_float(0xFFC00000u)), 0xFFC0);
}

}  // namespace
}  // namespace r1
