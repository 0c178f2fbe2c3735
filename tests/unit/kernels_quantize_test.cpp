// Quantize -> dequantize round trips with stated error bounds, and exact properties of
// the quantizers (representable inputs, block sums, zero blocks). The dequantizers
// these rely on are pinned by kernels_dequant_test.cpp.
//
// Bounds (x a block of values, amax = max |x|, h(v) = max(|v| 2^-11, 2^-25) the fp16
// rounding error of v, subnormals included):
//   Q8_0 / Q8_1  |err| <= d/2 + 127 h(d)          (d = amax/127, stored in fp16)
//   Q8_K         |err| <= |d|/2                   (d stored in f32)
//   Q4_0         |err| <= |d| + 8 h(d)            (d = max/-8; +8 clips to 7: error up to |d|)
//   Q5_0         |err| <= |d| + 16 h(d)           (d = max/-16)
//   Q4_1         |err| <= d/2 + 15 h(d) + h(min)  (d = (max-min)/15)
//   Q5_1         |err| <= d/2 + 31 h(d) + h(min)  (d = (max-min)/31)
//   K-quants     relative RMS error on N(0,1) data below: Q2_K 0.40, Q3_K 0.20, Q4_K 0.10,
//                Q5_K 0.05, Q6_K 0.025 (uniform-noise estimates 2^-bits*range/sqrt(12)
//                with headroom); max |err| below 1.5 * the largest sub-block step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

constexpr double kU = 1.0 / 2048;
double h(double v) { return std::max(std::fabs(v) * kU, std::ldexp(1.0, -25)); }

struct BlockStats {
  float amax = 0, max = 0, mn = 0, mx = 0;
};
BlockStats stats(const float* x, int n) {
  BlockStats s{0, 0, x[0], x[0]};
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > s.amax) {
      s.amax = std::fabs(x[i]);
      s.max = x[i];
    }
    s.mn = std::min(s.mn, x[i]);
    s.mx = std::max(s.mx, x[i]);
  }
  return s;
}

// Round trip through the reference traits, checking |x - x'| <= bound(block) per block.
template <class Bound>
void check_legacy_bound(DType type, const std::vector<float>& x, Bound bound) {
  const TypeTraits* t = find_reference_traits(type);
  ASSERT_NE(t, nullptr);
  const auto q = test::quantize(*t, x.data(), static_cast<int64_t>(x.size()));
  const auto y = test::dequantize(*t, q.data(), static_cast<int64_t>(x.size()));
  const int bs = static_cast<int>(t->block_size);
  for (size_t b = 0; b < x.size() / bs; ++b) {
    const double lim = bound(stats(&x[b * bs], bs)) * (1 + 1e-6) + 1e-30;
    for (int j = 0; j < bs; ++j) {
      const size_t i = b * bs + j;
      ASSERT_LE(std::fabs(static_cast<double>(x[i]) - y[i]), lim) << dtype_name(type) << " element " << i;
    }
  }
}

std::vector<float> mixed_data(size_t n, uint32_t seed) {
  // Gaussian blocks with very different scales, plus a zero block and an all-positive block.
  auto x = test::gaussian(n, seed);
  for (size_t i = 0; i < n; ++i) x[i] *= std::pow(10.0f, static_cast<float>((i / 256) % 7) - 3);
  std::fill(x.begin(), x.begin() + 256, 0.0f);
  for (size_t i = 256; i < 512; ++i) x[i] = std::fabs(x[i]) + 0.5f;
  return x;
}

TEST(KernelsQuantize, Q8_0AndQ8_1Bound) {
  const auto x = mixed_data(256 * 16, 1);
  auto bound = [](const BlockStats& s) { return s.amax / 127.0 / 2 + 127 * h(s.amax / 127.0); };
  check_legacy_bound(DType::Q8_0, x, bound);
  check_legacy_bound(DType::Q8_1, x, bound);
}

TEST(KernelsQuantize, Q4_0Bound) {
  const auto x = mixed_data(256 * 16, 2);
  check_legacy_bound(DType::Q4_0, x, [](const BlockStats& s) { return s.amax / 8.0 + 8 * h(s.amax / 8.0); });
}

TEST(KernelsQuantize, Q5_0Bound) {
  const auto x = mixed_data(256 * 16, 3);
  check_legacy_bound(DType::Q5_0, x, [](const BlockStats& s) { return s.amax / 16.0 + 16 * h(s.amax / 16.0); });
}

TEST(KernelsQuantize, Q4_1Bound) {
  const auto x = mixed_data(256 * 16, 4);
  check_legacy_bound(DType::Q4_1, x, [](const BlockStats& s) {
    const double d = (s.mx - s.mn) / 15.0;
    return d / 2 + 15 * h(d) + h(s.mn);
  });
}

TEST(KernelsQuantize, Q5_1Bound) {
  const auto x = mixed_data(256 * 16, 5);
  check_legacy_bound(DType::Q5_1, x, [](const BlockStats& s) {
    const double d = (s.mx - s.mn) / 31.0;
    return d / 2 + 31 * h(d) + h(s.mn);
  });
}

TEST(KernelsQuantize, Q8_KBoundAndBlockSums) {
  const auto x = mixed_data(256 * 16, 6);
  const TypeTraits* t = find_reference_traits(DType::Q8_K);
  const auto q = test::quantize(*t, x.data(), static_cast<int64_t>(x.size()));
  const auto y = test::dequantize(*t, q.data(), static_cast<int64_t>(x.size()));
  for (size_t b = 0; b < x.size() / 256; ++b) {
    kernels::BlockQ8_K blk;
    std::memcpy(&blk, q.data() + b * sizeof(blk), sizeof(blk));
    const BlockStats s = stats(&x[b * 256], 256);
    if (s.amax == 0) {
      EXPECT_EQ(blk.d, 0.0f);
    } else {
      EXPECT_NEAR(std::fabs(blk.d), s.amax / 127.0, s.amax / 127.0 * 1e-6);
    }
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += blk.qs[16 * g + l];
      ASSERT_EQ(blk.bsums[g], sum) << "block " << b << " group " << g;
    }
    for (int j = 0; j < 256; ++j) {
      ASSERT_LE(std::abs(static_cast<int>(blk.qs[j])), 127);
      ASSERT_LE(std::fabs(static_cast<double>(x[b * 256 + j]) - y[b * 256 + j]), std::fabs(blk.d) / 2 * (1 + 1e-6));
    }
  }
}

TEST(KernelsQuantize, Q8_1StoresScaledSum) {
  const auto x = test::gaussian(32 * 8, 7);
  const TypeTraits* t = find_reference_traits(DType::Q8_1);
  const auto q = test::quantize(*t, x.data(), static_cast<int64_t>(x.size()));
  for (size_t b = 0; b < x.size() / 32; ++b) {
    kernels::BlockQ8_1 blk;
    std::memcpy(&blk, q.data() + b * sizeof(blk), sizeof(blk));
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += blk.qs[j];
    const double d = stats(&x[b * 32], 32).amax / 127.0;  // unrounded d
    EXPECT_NEAR(fp16_to_fp32(blk.s), d * sum, std::fabs(d * sum) * kU + 1e-7);
  }
}

// Values that are exact multiples of a power of two on the level grid survive exactly.
TEST(KernelsQuantize, RepresentableValuesAreExact) {
  std::vector<float> x(32);
  // Q4_0: max = -8 * 0.5 -> d = 0.5, levels -8..7.
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>((j % 16) - 8) * 0.5f;
  // Q8_K: max = -127 * 2^-3 -> d = 2^-3 exactly (d = 1/iscale, iscale = -127/max).
  std::vector<float> k(256);
  for (int j = 0; j < 256; ++j) k[j] = static_cast<float>((j * 37) % 255 - 127) * 0.125f;
  const TypeTraits* t40 = find_reference_traits(DType::Q4_0);
  const auto y40 = test::dequantize(*t40, test::quantize(*t40, x.data(), 32).data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y40[j], x[j]) << j;
  const TypeTraits* t8k = find_reference_traits(DType::Q8_K);
  const auto y8k = test::dequantize(*t8k, test::quantize(*t8k, k.data(), 256).data(), 256);
  for (int j = 0; j < 256; ++j) EXPECT_EQ(y8k[j], k[j]) << j;
  // Q8_0: amax = 127 -> d = 1 exactly and the multiplier 127/127 = 1.
  std::vector<float> z(32);
  for (int j = 0; j < 32; ++j) z[j] = static_cast<float>(j * 8 - 127);
  z[31] = 127.0f;
  const TypeTraits* t80 = find_reference_traits(DType::Q8_0);
  const auto y80 = test::dequantize(*t80, test::quantize(*t80, z.data(), 32).data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y80[j], z[j]) << j;
}

// Q8_0 activation rounding is to nearest, ties to even (as llama.cpp's x86 backend):
// with amax = 127 the multiplier is 1, so x = 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
TEST(KernelsQuantize, Q8_0RoundsTiesToEven) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = 2.5f;
  x[2] = 3.5f;
  x[3] = -2.5f;
  x[4] = 0.5f;
  x[5] = 1.5f;
  kernels::BlockQ8_0 blk;
  find_reference_traits(DType::Q8_0)->from_float(x.data(), &blk, 32);
  EXPECT_EQ(blk.qs[1], 2);
  EXPECT_EQ(blk.qs[2], 4);
  EXPECT_EQ(blk.qs[3], -2);
  EXPECT_EQ(blk.qs[4], 0);
  EXPECT_EQ(blk.qs[5], 2);
}

TEST(KernelsQuantize, ZeroBlocksDecodeToZero) {
  std::vector<float> x(512, 0.0f);
  for (DType type : test::weight_types()) {
    const TypeTraits* t = find_reference_traits(type);
    const auto y = test::dequantize(*t, test::quantize(*t, x.data(), 512).data(), 512);
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(type);
  }
}

struct KQuantCase {
  DType type;
  double max_rel_rmse;
};

TEST(KernelsQuantize, KQuantRelativeRmse) {
  const KQuantCase cases[] = {{DType::Q2_K, 0.40}, {DType::Q3_K, 0.20}, {DType::Q4_K, 0.10},
                              {DType::Q5_K, 0.05}, {DType::Q6_K, 0.025}};
  const auto x = test::gaussian(256 * 64, 8);
  for (const auto& c : cases) {
    const TypeTraits* t = find_reference_traits(c.type);
    ASSERT_NE(t->from_float, nullptr) << dtype_name(c.type);
    const auto y = test::dequantize(*t, test::quantize(*t, x.data(), static_cast<int64_t>(x.size())).data(),
                                    static_cast<int64_t>(x.size()));
    double se = 0, sx = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      se += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
      sx += static_cast<double>(x[i]) * x[i];
    }
    const double rel = std::sqrt(se / sx);
    EXPECT_LT(rel, c.max_rel_rmse) << dtype_name(c.type);
    std::printf("[ stats    ] %s relative rmse %.4f\n", std::string(dtype_name(c.type)).c_str(), rel);
  }
}

// Per-block max error of the k-quants relative to the block's max |x|:
// the level step of the widest sub-block is at most amax / (levels / 2) up to scale
// quantization, so |err| <= 1.5 * 2 * amax / levels (levels: 4, 8, 16, 32, 64).
TEST(KernelsQuantize, KQuantMaxErrorPerBlock) {
  const std::pair<DType, int> cases[] = {
      {DType::Q2_K, 4}, {DType::Q3_K, 8}, {DType::Q4_K, 16}, {DType::Q5_K, 32}, {DType::Q6_K, 64}};
  const auto x = mixed_data(256 * 16, 9);
  for (const auto& [type, levels] : cases) {
    const TypeTraits* t = find_reference_traits(type);
    const auto y = test::dequantize(*t, test::quantize(*t, x.data(), static_cast<int64_t>(x.size())).data(),
                                    static_cast<int64_t>(x.size()));
    for (size_t b = 0; b < x.size() / 256; ++b) {
      const BlockStats s = stats(&x[b * 256], 256);
      const double range = std::max<double>(s.mx - std::min(0.0f, s.mn), std::fabs(s.mn));
      const double lim = 1.5 * 2 * range / levels + 1e-30;
      for (int j = 0; j < 256; ++j) {
        const size_t i = b * 256 + j;
        ASSERT_LE(std::fabs(static_cast<double>(x[i]) - y[i]), lim) << dtype_name(type) << " block " << b;
      }
    }
  }
}

}  // namespace
}  // namespace r1
