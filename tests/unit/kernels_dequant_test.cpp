// Dequantizers against blocks assembled byte by byte in the test, with expected
// values written out by hand or computed per element from the documented layout
// (ggml-common.h), independently of the kernels' loops. Every ISA's to_float is run.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "kernels_util.hpp"

namespace r1 {
namespace {

using test::half_bits;

void put_u16(std::vector<uint8_t>& b, size_t off, uint16_t v) { std::memcpy(b.data() + off, &v, 2); }
void put_f32(std::vector<uint8_t>& b, size_t off, float v) { std::memcpy(b.data() + off, &v, 4); }

// Runs every ISA's dequantizer of `type` over `block` and compares with `want` exactly.
void expect_dequant(DType type, const std::vector<uint8_t>& block, const std::vector<float>& want) {
  ASSERT_EQ(block.size(), dtype_block_bytes(type) * (want.size() / dtype_block_size(type)));
  for (Isa isa : test::available_isas()) {
    const TypeTraits* t = find_traits_for(isa, type);
    ASSERT_NE(t, nullptr);
    std::vector<float> got(want.size(), -12345.f);
    t->to_float(block.data(), got.data(), static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << dtype_name(type) << " isa " << isa_name(isa) << " element " << i;
  }
}

TEST(KernelsDequant, F16AndBF16AndF32) {
  std::vector<uint8_t> h(8);
  put_u16(h, 0, 0x3C00);
  put_u16(h, 2, 0xC100);  // -2.5
  put_u16(h, 4, 0x0001);  // 2^-24
  put_u16(h, 6, 0x7BFF);
  // to_float of F16 is also run over 16+ elements so SIMD bodies (8 wide) get exercised.
  std::vector<uint8_t> h19(38);
  std::vector<float> w19(19);
  for (int i = 0; i < 19; ++i) {
    put_u16(h19, 2 * i, static_cast<uint16_t>(0x3C00 + i));  // 1 + i/1024
    w19[i] = 1.0f + i / 1024.0f;
  }
  expect_dequant(DType::F16, h, {1.0f, -2.5f, std::ldexp(1.0f, -24), 65504.0f});
  expect_dequant(DType::F16, h19, w19);
  std::vector<uint8_t> b(4);
  put_u16(b, 0, 0x3F80);
  put_u16(b, 2, 0xC0A0);  // -5
  expect_dequant(DType::BF16, b, {1.0f, -5.0f});
  std::vector<uint8_t> f(8);
  put_f32(f, 0, 0.1f);
  put_f32(f, 4, -7.0f);
  expect_dequant(DType::F32, f, {0.1f, -7.0f});
}

TEST(KernelsDequant, Q4_0) {
  // d = 0.5; byte j holds element j in the low nibble and element j + 16 in the high one.
  std::vector<uint8_t> b(18);
  put_u16(b, 0, 0x3800);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = (j - 8) * 0.5f;
    want[16 + j] = (15 - j - 8) * 0.5f;
  }
  EXPECT_EQ(want[0], -4.0f);
  EXPECT_EQ(want[16], 3.5f);
  expect_dequant(DType::Q4_0, b, want);
}

TEST(KernelsDequant, Q4_1) {
  // d = 0.25, m = -1
  std::vector<uint8_t> b(20);
  put_u16(b, 0, 0x3400);
  put_u16(b, 2, 0xBC00);
  for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = j * 0.25f - 1.0f;
    want[16 + j] = (15 - j) * 0.25f - 1.0f;
  }
  EXPECT_EQ(want[31], -1.0f);
  expect_dequant(DType::Q4_1, b, want);
}

TEST(KernelsDequant, Q5_0) {
  // d = 1; qh = 0xF0F0AAAA: bit j is the fifth bit of element j.
  std::vector<uint8_t> b(22);
  put_u16(b, 0, 0x3C00);
  const uint32_t qh = 0xF0F0AAAAu;
  std::memcpy(b.data() + 2, &qh, 4);
  for (int j = 0; j < 16; ++j) b[6 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int j = 0; j < 32; ++j) {
    const int low = j < 16 ? j : 15 - (j - 16);
    want[j] = static_cast<float>((low | static_cast<int>((qh >> j) & 1) << 4) - 16);
  }
  EXPECT_EQ(want[0], -16.0f);  // nibble 0, bit 0 clear
  EXPECT_EQ(want[1], 1.0f);    // nibble 1, bit 1 set: 17 - 16
  EXPECT_EQ(want[16], -1.0f);  // nibble 15, bit 16 clear
  EXPECT_EQ(want[20], 11.0f);  // nibble 11, bit 20 set: 27 - 16
  expect_dequant(DType::Q5_0, b, want);
}

TEST(KernelsDequant, Q5_1) {
  // d = 0.5, m = 2
  std::vector<uint8_t> b(24);
  put_u16(b, 0, 0x3800);
  put_u16(b, 2, 0x4000);
  const uint32_t qh = 0x0000FFFFu;  // elements 0..15 get +16
  std::memcpy(b.data() + 4, &qh, 4);
  for (int j = 0; j < 16; ++j) b[8 + j] = static_cast<uint8_t>(j | j << 4);
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = (16 + j) * 0.5f + 2.0f;
    want[16 + j] = j * 0.5f + 2.0f;
  }
  EXPECT_EQ(want[15], 17.5f);
  expect_dequant(DType::Q5_1, b, want);
}

TEST(KernelsDequant, Q8_0AndQ8_1) {
  std::vector<uint8_t> b(34), c(36);
  put_u16(b, 0, 0x3000);  // 0.125
  put_u16(c, 0, 0x3000);
  put_u16(c, 2, 0x7BFF);  // s is not part of the value
  std::vector<float> want(32);
  for (int j = 0; j < 32; ++j) {
    const int8_t q = static_cast<int8_t>(j * 8 - 128);
    b[2 + j] = static_cast<uint8_t>(q);
    c[4 + j] = static_cast<uint8_t>(q);
    want[j] = q * 0.125f;
  }
  EXPECT_EQ(want[0], -16.0f);
  EXPECT_EQ(want[31], 15.0f);
  expect_dequant(DType::Q8_0, b, want);
  expect_dequant(DType::Q8_1, c, want);
}

TEST(KernelsDequant, Q8_K) {
  std::vector<uint8_t> b(292);
  put_f32(b, 0, 0.5f);
  std::vector<float> want(256);
  for (int j = 0; j < 256; ++j) {
    b[4 + j] = static_cast<uint8_t>(j);  // int8: j - 256 for j >= 128
    want[j] = static_cast<float>(static_cast<int8_t>(j)) * 0.5f;
  }
  EXPECT_EQ(want[255], -0.5f);
  expect_dequant(DType::Q8_K, b, want);
}

// Q2_K: every qs byte 0xE4 = 0b11'10'01'00, so element e has q = (e / 32) % 4; every
// sub-block has scale 1 and min 2 (byte 0x21); d = 1, dmin = 0.5 -> x = q - 1.
TEST(KernelsDequant, Q2_KUniformHandBlock) {
  std::vector<uint8_t> b(84);
  for (int j = 0; j < 16; ++j) b[j] = 0x21;
  for (int j = 0; j < 64; ++j) b[16 + j] = 0xE4;
  put_u16(b, 80, 0x3C00);
  put_u16(b, 82, 0x3800);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) want[e] = static_cast<float>((e / 32) % 4) - 1.0f;
  EXPECT_EQ(want[0], -1.0f);
  EXPECT_EQ(want[100], 2.0f);
  expect_dequant(DType::Q2_K, b, want);
}

// Q2_K with a different scale / min per sub-block and varied quants, packed per layout:
// element e = 128 h + 32 s + l lives in bits 2s..2s+1 of qs[32 h + l].
TEST(KernelsDequant, Q2_KVariedBlock) {
  std::vector<uint8_t> b(84, 0);
  for (int g = 0; g < 16; ++g) b[g] = static_cast<uint8_t>((g % 16) | ((15 - g) << 4));
  std::array<int, 256> q{};
  for (int e = 0; e < 256; ++e) {
    q[e] = (e * 7 + e / 5) % 4;
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    b[16 + 32 * h + l] |= static_cast<uint8_t>(q[e] << (2 * s));
  }
  put_u16(b, 80, half_bits(0.75f));
  put_u16(b, 82, half_bits(0.125f));
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int g = e / 16;
    want[e] = 0.75f * static_cast<float>(g) * static_cast<float>(q[e]) - 0.125f * static_cast<float>(15 - g);
  }
  expect_dequant(DType::Q2_K, b, want);
}

// Q3_K: all sub-block scales 33 (-> 1): low nibbles 1 in bytes 0..7 (two per byte),
// high 2 bits = 2 in every slot of bytes 8..11. qs bytes 0xE4 as in Q2_K.
TEST(KernelsDequant, Q3_KUniformHandBlock) {
  std::vector<uint8_t> b(110);
  for (int j = 0; j < 64; ++j) b[32 + j] = 0xE4;
  for (int j = 0; j < 8; ++j) b[96 + j] = 0x11;
  for (int j = 8; j < 12; ++j) b[96 + j] = 0xAA;
  put_u16(b, 108, 0x3800);  // d = 0.5
  // High bit set everywhere: value = low bits.
  for (int j = 0; j < 32; ++j) b[j] = 0xFF;
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) want[e] = 0.5f * static_cast<float>((e / 32) % 4);
  expect_dequant(DType::Q3_K, b, want);
  // High bit clear everywhere: value = low bits - 4.
  for (int j = 0; j < 32; ++j) b[j] = 0x00;
  for (int e = 0; e < 256; ++e) want[e] = 0.5f * static_cast<float>((e / 32) % 4 - 4);
  EXPECT_EQ(want[0], -2.0f);
  expect_dequant(DType::Q3_K, b, want);
}

TEST(KernelsDequant, Q3_KVariedBlock) {
  std::vector<uint8_t> b(110, 0);
  std::array<int, 16> sc6{};  // 6-bit stored scales; the value is sc6 - 32
  for (int j = 0; j < 16; ++j) {
    sc6[j] = (j * 11 + 5) % 64;
    const int lo = sc6[j] & 0xF, hi = sc6[j] >> 4;
    b[96 + j % 8] |= static_cast<uint8_t>(lo << (4 * (j / 8)));
    b[96 + 8 + j % 4] |= static_cast<uint8_t>(hi << (2 * (j / 4)));
  }
  std::array<int, 256> q{};  // 0..7
  for (int e = 0; e < 256; ++e) {
    q[e] = (e * 5 + e / 7) % 8;
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    b[32 + 32 * h + l] |= static_cast<uint8_t>((q[e] & 3) << (2 * s));
    if (q[e] & 4) b[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
  }
  put_u16(b, 108, half_bits(0.0625f));
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) want[e] = 0.0625f * static_cast<float>(sc6[e / 16] - 32) * static_cast<float>(q[e] - 4);
  expect_dequant(DType::Q3_K, b, want);
}

// Writes 6-bit scale/min of sub-block j into the 12 Q4_K/Q5_K scale bytes.
void put_k4_scale(uint8_t* s, int j, int sc, int m) {
  if (j < 4) {
    s[j] = static_cast<uint8_t>((s[j] & 0xC0) | sc);
    s[j + 4] = static_cast<uint8_t>((s[j + 4] & 0xC0) | m);
  } else {
    s[j + 4] = static_cast<uint8_t>((sc & 0xF) | (m & 0xF) << 4);
    s[j - 4] |= static_cast<uint8_t>((sc >> 4) << 6);
    s[j] |= static_cast<uint8_t>((m >> 4) << 6);
  }
}

// Q4_K: scale 1 / min 0 for all sub-blocks; qs bytes 0x21 (low nibble 1, high 2);
// d = 2 -> sub-blocks 0,2,4,6 decode to 2, sub-blocks 1,3,5,7 to 4.
TEST(KernelsDequant, Q4_KUniformHandBlock) {
  std::vector<uint8_t> b(144, 0);
  put_u16(b, 0, 0x4000);
  put_u16(b, 2, 0x3C00);
  for (int j = 0; j < 4; ++j) b[4 + j] = 1;
  for (int j = 8; j < 12; ++j) b[4 + j] = 0x01;
  for (int j = 0; j < 128; ++j) b[16 + j] = 0x21;
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) want[e] = (e / 32) % 2 == 0 ? 2.0f : 4.0f;
  expect_dequant(DType::Q4_K, b, want);
}

TEST(KernelsDequant, Q4_KAndQ5_KVariedBlocks) {
  std::array<int, 8> sc{}, mn{};
  for (int j = 0; j < 8; ++j) {
    sc[j] = 10 + 7 * j;  // 10..59: exercises the top 2 bits for j >= 4
    mn[j] = 63 - 5 * j;
  }
  std::array<int, 256> q{};
  for (int e = 0; e < 256; ++e) q[e] = (e * 13 + e / 9) % 32;
  const float d = 0.03125f, dmin = 0.015625f;

  std::vector<uint8_t> b4(144, 0), b5(176, 0);
  put_u16(b4, 0, half_bits(d));
  put_u16(b4, 2, half_bits(dmin));
  put_u16(b5, 0, half_bits(d));
  put_u16(b5, 2, half_bits(dmin));
  for (int j = 0; j < 8; ++j) {
    put_k4_scale(&b4[4], j, sc[j], mn[j]);
    put_k4_scale(&b5[4], j, sc[j], mn[j]);
  }
  // Element e = 64 p + 32 h + l: nibble h of qs[32 p + l]; Q5_K's fifth bit is bit
  // (2p + h) of qh[l].
  for (int e = 0; e < 256; ++e) {
    const int p = e / 64, h = (e % 64) / 32, l = e % 32;
    b4[16 + 32 * p + l] |= static_cast<uint8_t>((q[e] & 0xF) << (4 * h));
    b5[48 + 32 * p + l] |= static_cast<uint8_t>((q[e] & 0xF) << (4 * h));
    b5[16 + l] |= static_cast<uint8_t>((q[e] >> 4) << (2 * p + h));
  }
  std::vector<float> want4(256), want5(256);
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32;
    want4[e] = d * static_cast<float>(sc[j]) * static_cast<float>(q[e] & 0xF) - dmin * static_cast<float>(mn[j]);
    want5[e] = d * static_cast<float>(sc[j]) * static_cast<float>(q[e]) - dmin * static_cast<float>(mn[j]);
  }
  expect_dequant(DType::Q4_K, b4, want4);
  expect_dequant(DType::Q5_K, b5, want5);
}

// Q6_K: ql bytes 0x21, qh bytes 0xE4. Element e = 128 h + 32 s + l takes nibble s / 2
// of its ql byte (1 for s < 2, else 2) and bits 2s of its qh byte (= s):
// q = 1, 17, 34, 50 for s = 0..3, minus 32 -> -31, -15, 2, 18.
// scales[g] = g - 8, d = 0.25.
TEST(KernelsDequant, Q6_KHandBlock) {
  std::vector<uint8_t> b(210);
  for (int j = 0; j < 128; ++j) b[j] = 0x21;
  for (int j = 0; j < 64; ++j) b[128 + j] = 0xE4;
  for (int g = 0; g < 16; ++g) b[192 + g] = static_cast<uint8_t>(static_cast<int8_t>(g - 8));
  put_u16(b, 208, 0x3400);
  const int v[4] = {-31, -15, 2, 18};
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) want[e] = 0.25f * static_cast<float>(e / 16 - 8) * static_cast<float>(v[(e / 32) % 4]);
  EXPECT_EQ(want[0], 62.0f);  // 0.25 * -8 * -31
  expect_dequant(DType::Q6_K, b, want);
}

TEST(KernelsDequant, Q6_KVariedBlock) {
  std::vector<uint8_t> b(210, 0);
  std::array<int, 256> q{};  // 0..63
  for (int e = 0; e < 256; ++e) {
    q[e] = (e * 29 + e / 3) % 64;
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    b[64 * h + 32 * (s & 1) + l] |= static_cast<uint8_t>((q[e] & 0xF) << (4 * (s / 2)));
    b[128 + 32 * h + l] |= static_cast<uint8_t>((q[e] >> 4) << (2 * s));
  }
  for (int g = 0; g < 16; ++g) b[192 + g] = static_cast<uint8_t>(static_cast<int8_t>(g * 17 - 128));
  put_u16(b, 208, half_bits(0.001f));
  const float d = fp16_to_fp32(half_bits(0.001f));
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e)
    want[e] = d * static_cast<float>(static_cast<int8_t>((e / 16) * 17 - 128)) * static_cast<float>(q[e] - 32);
  expect_dequant(DType::Q6_K, b, want);
}

TEST(KernelsDequant, MultipleBlocksAreIndependent) {
  // Two Q4_0 blocks with different scales.
  std::vector<uint8_t> b(36, 0);
  put_u16(b, 0, 0x3C00);
  put_u16(b, 18, 0x4000);
  for (int j = 0; j < 16; ++j) {
    b[2 + j] = 0x99;  // 9 - 8 = 1 for all elements
    b[20 + j] = 0x00;  // -8
  }
  std::vector<float> want(64);
  for (int j = 0; j < 32; ++j) {
    want[j] = 1.0f;
    want[32 + j] = -16.0f;
  }
  expect_dequant(DType::Q4_0, b, want);
}

}  // namespace
}  // namespace r1
