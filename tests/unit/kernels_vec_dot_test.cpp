// vec_dot kernels: the scalar references against a double-precision dot of the
// dequantized operands, and every SIMD variant (kernels and activation quantizers)
// against the scalar reference on many shapes, including raw random weight bytes.
//
// Tolerances:
//   reference vs dequantized dot: |got - want| <= 1e-5 * sum|w_i x_i| (float summation),
//     plus for Q4_1/Q5_1 the fp16 rounding of the Q8_1 block sums s = d*sum(q):
//     sum_b |m_b| * |sum q_b| * d_b * 2^-10.
//   SIMD vs scalar dot: 2e-5 * sum|w_i x_i| + 1e-30 (only the summation order differs).
//   SIMD vs scalar quantizers / dequantizers: bit-identical.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "kernels/blocks.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

using test::abs_dot_double;
using test::dot_double;

// Offsets of the fp16 scale fields inside a block (they must hold finite values).
std::vector<size_t> half_fields(DType t) {
  switch (t) {
    case DType::Q4_0: case DType::Q5_0: case DType::Q8_0: return {0};
    case DType::Q4_1: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    case DType::Q6_K: return {208};
    default: return {};
  }
}

// A row of n elements of `type` made of random bytes, with sane scales / float values.
std::vector<uint8_t> random_weight_bytes(DType type, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(row_bytes(type, n));
  for (auto& v : b) v = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> mag(0.001f, 0.1f);
  auto sval = [&] { return (rng() & 1 ? -1.f : 1.f) * mag(rng); };
  if (type == DType::F32) {
    for (int64_t i = 0; i < n; ++i) {
      const float f = sval() * 10;
      std::memcpy(&b[4 * i], &f, 4);
    }
  } else if (type == DType::F16 || type == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = type == DType::F16 ? fp32_to_fp16(sval() * 10) : fp32_to_bf16(sval() * 10);
      std::memcpy(&b[2 * i], &h, 2);
    }
  } else {
    const size_t bb = dtype_block_bytes(type);
    for (size_t off = 0; off < b.size(); off += bb)
      for (size_t f : half_fields(type)) {
        const uint16_t h = fp32_to_fp16(sval());
        std::memcpy(&b[off + f], &h, 2);
      }
  }
  return b;
}

// Element counts to try for a type: several block counts (odd ones included), and for
// the plain float types lengths that leave every possible SIMD tail.
std::vector<int64_t> lengths(DType type) {
  const int64_t bs = dtype_block_size(type);
  if (bs == 1) {
    std::vector<int64_t> v;
    for (int64_t n = 1; n <= 70; ++n) v.push_back(n);
    for (int64_t n : {127, 128, 129, 1000, 4096, 4099}) v.push_back(n);
    return v;
  }
  if (bs == 32) return {32, 64, 96, 160, 224, 1024, 1056, 4096};
  return {256, 512, 768, 1280, 2816, 4096};
}

// Extra tolerance of the Q4_1 / Q5_1 dot products from the fp16-rounded block sums s.
double q8_1_sum_tolerance(DType wtype, const uint8_t* w, const uint8_t* a, int64_t n) {
  if (wtype != DType::Q4_1 && wtype != DType::Q5_1) return 0;
  double extra = 0;
  const size_t wb = dtype_block_bytes(wtype);
  for (int64_t b = 0; b < n / 32; ++b) {
    uint16_t m;
    std::memcpy(&m, w + b * wb + 2, 2);  // min is the second fp16 of both block types
    kernels::BlockQ8_1 y;
    std::memcpy(&y, a + b * sizeof(y), sizeof(y));
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += y.qs[j];
    extra += std::fabs(fp16_to_fp32(m)) * std::abs(sum) * fp16_to_fp32(y.d) * (1.0 / 1024);
  }
  return extra;
}

TEST(KernelsVecDot, ReferenceMatchesDequantizedDot) {
  uint32_t seed = 100;
  for (DType wt : test::weight_types()) {
    const TypeTraits* w = find_reference_traits(wt);
    const TypeTraits* a = find_reference_traits(w->vec_dot_type);
    for (int64_t n : lengths(wt)) {
      const auto wx = test::gaussian(n, ++seed);
      const auto xx = test::gaussian(n, ++seed);
      const auto wq = test::quantize(*w, wx.data(), n);
      const auto aq = test::quantize(*a, xx.data(), n);
      const auto wd = test::dequantize(*w, wq.data(), n);
      const auto ad = test::dequantize(*a, aq.data(), n);
      const double want = dot_double(wd.data(), ad.data(), n);
      const double tol = 1e-5 * abs_dot_double(wd.data(), ad.data(), n) + 1e-30 +
                         q8_1_sum_tolerance(wt, wq.data(), aq.data(), n);
      const float got = w->vec_dot(n, wq.data(), aq.data());
      ASSERT_NEAR(got, want, tol) << dtype_name(wt) << " n=" << n;
    }
  }
}

// The reference dot against the exact float dot of the unquantized inputs: the
// difference must be of the size of the quantization noise (relative RMS errors rw, ra
// of the two operands, unit Gaussians: |err| <~ (rw + ra) sqrt(n), checked at 5x).
TEST(KernelsVecDot, ReferenceIsCloseToExactDot) {
  auto noise = [](DType t) {
    switch (t) {
      case DType::F32: return 1e-7;
      case DType::F16: return 1e-3;
      case DType::BF16: return 4e-3;
      case DType::Q8_0: case DType::Q8_1: case DType::Q8_K: return 0.01;
      case DType::Q4_0: case DType::Q4_1: case DType::Q4_K: return 0.12;
      case DType::Q5_0: case DType::Q5_1: case DType::Q5_K: return 0.06;
      case DType::Q6_K: return 0.03;
      case DType::Q3_K: return 0.2;
      default: return 0.4;  // Q2_K
    }
  };
  uint32_t seed = 500;
  for (DType wt : test::weight_types()) {
    const TypeTraits* w = find_reference_traits(wt);
    const TypeTraits* a = find_reference_traits(w->vec_dot_type);
    const int64_t n = 4096;
    for (int rep = 0; rep < 4; ++rep) {
      const auto wx = test::gaussian(n, ++seed);
      const auto xx = test::gaussian(n, ++seed);
      const float got = w->vec_dot(n, test::quantize(*w, wx.data(), n).data(), test::quantize(*a, xx.data(), n).data());
      const double exact = dot_double(wx.data(), xx.data(), n);
      ASSERT_NEAR(got, exact, 5 * (noise(wt) + noise(w->vec_dot_type)) * std::sqrt(double(n))) << dtype_name(wt);
    }
  }
}

TEST(KernelsVecDot, SimdQuantizersAndDequantizersAreBitIdentical) {
  const DType all[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                       DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q2_K, DType::Q3_K, DType::Q4_K,
                       DType::Q5_K, DType::Q6_K, DType::Q8_K};
  uint32_t seed = 900;
  for (Isa isa : test::available_isas()) {
    if (isa == Isa::kScalar) continue;
    for (DType t : all) {
      const TypeTraits* ref = find_reference_traits(t);
      const TypeTraits* simd = find_traits_for(isa, t);
      ASSERT_NE(simd, nullptr);
      for (int64_t n : lengths(t)) {
        // Scales spanning many magnitudes, and blocks with ties / zeros.
        ++seed;
        auto x = test::gaussian(n, seed, std::pow(10.f, static_cast<float>(seed % 9) - 4));
        if (n >= 64) {
          for (int64_t i = 0; i < 32; ++i) x[i] = 0;
          for (int64_t i = 32; i < 64; ++i) x[i] = static_cast<float>(i - 48) * 0.5f;
        }
        if (simd->from_float != ref->from_float) {
          const auto qr = test::quantize(*ref, x.data(), n);
          const auto qs = test::quantize(*simd, x.data(), n);
          ASSERT_EQ(qr, qs) << dtype_name(t) << " " << isa_name(isa) << " from_float n=" << n;
        }
        if (simd->to_float != ref->to_float) {
          const auto raw = random_weight_bytes(t, n, ++seed);
          const auto yr = test::dequantize(*ref, raw.data(), n);
          const auto ys = test::dequantize(*simd, raw.data(), n);
          ASSERT_EQ(0, std::memcmp(yr.data(), ys.data(), n * sizeof(float)))
              << dtype_name(t) << " " << isa_name(isa) << " to_float n=" << n;
        }
      }
    }
  }
}

TEST(KernelsVecDot, SimdDotMatchesScalar) {
  uint32_t seed = 2000;
  int checked = 0;
  for (Isa isa : test::available_isas()) {
    if (isa == Isa::kScalar) continue;
    for (DType wt : test::weight_types()) {
      const TypeTraits* ref = find_reference_traits(wt);
      const TypeTraits* simd = find_traits_for(isa, wt);
      ASSERT_EQ(simd->vec_dot_type, ref->vec_dot_type);
      const TypeTraits* act = find_reference_traits(ref->vec_dot_type);
      const TypeTraits* act_simd = find_traits_for(isa, ref->vec_dot_type);
      for (int64_t n : lengths(wt)) {
        for (int variant = 0; variant < 2; ++variant) {
          // variant 0: quantizer-made weights; 1: raw random weight bytes (full code range).
          const auto wx = test::gaussian(n, ++seed);
          const auto w = variant == 0 ? test::quantize(*ref, wx.data(), n) : random_weight_bytes(wt, n, ++seed);
          const auto xx = test::gaussian(n, ++seed, 3.f);
          const auto a = test::quantize(*act, xx.data(), n);
          const auto wd = test::dequantize(*ref, w.data(), n);
          const auto ad = test::dequantize(*act, a.data(), n);
          const double tol = 2e-5 * abs_dot_double(wd.data(), ad.data(), n) + 1e-30;
          const float r = ref->vec_dot(n, w.data(), a.data());
          const float s = simd->vec_dot(n, w.data(), a.data());
          ASSERT_NEAR(s, r, tol) << dtype_name(wt) << " " << isa_name(isa) << " n=" << n << " variant " << variant;
          // The SIMD activation quantizer feeds the SIMD dot the same bytes.
          const auto a2 = test::quantize(*act_simd, xx.data(), n);
          ASSERT_EQ(a, a2);
          ++checked;
        }
      }
    }
  }
  if (!isa_available(Isa::kAvx2)) GTEST_SKIP() << "no SIMD variant available on this CPU";
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace r1
