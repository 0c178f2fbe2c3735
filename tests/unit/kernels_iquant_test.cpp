// The i-quant kernels (IQ1_S .. IQ4_XS) against their own references: the scalar dot
// products against a double-precision dot of the dequantized operands, every SIMD dot
// against the scalar one, the matrix products against matmul_reference, and the random
// block writer against its RMS contract. (Bit-exactness with llama.cpp's dequantizers
// and closeness to its dot products: kernels_oracle_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kernels/matmul.hpp"
#include "kernels/random_blocks.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

std::vector<uint8_t> random_row(DType t, int64_t n, uint64_t seed, float rms = 0.05f) {
  std::vector<uint8_t> b(row_bytes(t, n));
  kernels::fill_random_blocks(t, b.data(), n, seed, rms);
  return b;
}

TEST(KernelsIquant, RandomBlocksHaveTheRequestedRms) {
  for (DType t : test::iquant_types()) {
    const int64_t n = 256 * 64;
    const auto raw = random_row(t, n, 7, 0.02f);
    const auto y = test::dequantize(*find_reference_traits(t), raw.data(), n);
    double ss = 0;
    for (float v : y) ss += static_cast<double>(v) * v;
    // Per block the RMS is exact up to the fp16 rounding of d (2^-11 relative).
    EXPECT_NEAR(std::sqrt(ss / n), 0.02, 0.02 * 1e-3) << dtype_name(t);
    EXPECT_EQ(random_row(t, n, 7, 0.02f), raw) << dtype_name(t) << ": not deterministic";
    EXPECT_NE(random_row(t, n, 8, 0.02f), raw) << dtype_name(t) << ": seed ignored";
  }
}

TEST(KernelsIquant, ReferenceDotEqualsDotOfDequantizedOperands) {
  uint64_t seed = 10;
  for (DType t : test::iquant_types()) {
    const TypeTraits* w = find_reference_traits(t);
    const TypeTraits* a = find_reference_traits(w->vec_dot_type);
    for (int64_t n : {256, 768, 4096}) {
      const auto wq = random_row(t, n, ++seed);
      const auto x = test::gaussian(n, static_cast<uint32_t>(++seed));
      const auto aq = test::quantize(*a, x.data(), n);
      const auto wd = test::dequantize(*w, wq.data(), n);
      const auto ad = test::dequantize(*a, aq.data(), n);
      const double want = test::dot_double(wd.data(), ad.data(), n);
      const double tol = 1e-5 * test::abs_dot_double(wd.data(), ad.data(), n);
      EXPECT_NEAR(w->vec_dot(n, wq.data(), aq.data()), want, tol) << dtype_name(t) << " n=" << n;
    }
  }
}

TEST(KernelsIquant, SimdDotMatchesScalar) {
  uint64_t seed = 100;
  int checked = 0;
  for (Isa isa : test::available_isas()) {
    if (isa == Isa::kScalar) continue;
    for (DType t : test::iquant_types()) {
      const TypeTraits* ref = find_reference_traits(t);
      const TypeTraits* simd = find_traits_for(isa, t);
      const TypeTraits* a = find_reference_traits(ref->vec_dot_type);
      for (int64_t n : {256, 512, 2816}) {
        const auto wq = random_row(t, n, ++seed);
        const auto x = test::gaussian(n, static_cast<uint32_t>(++seed));
        const auto aq = test::quantize(*a, x.data(), n);
        const auto wd = test::dequantize(*ref, wq.data(), n);
        const auto ad = test::dequantize(*a, aq.data(), n);
        const double tol = 2e-6 * test::abs_dot_double(wd.data(), ad.data(), n);
        EXPECT_NEAR(simd->vec_dot(n, wq.data(), aq.data()), ref->vec_dot(n, wq.data(), aq.data()), tol)
            << dtype_name(t) << " " << isa_name(isa) << " n=" << n;
        ++checked;
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no SIMD ISA on this CPU";
}

TEST(KernelsIquant, MatmulMatchesReference) {
  ThreadPool pool(2);
  uint64_t seed = 500;
  for (DType t : test::iquant_types()) {
    const int64_t cols = 512, rows = 19;
    const auto raw = random_row(t, rows * cols, ++seed);
    WeightView W;
    W.type = t;
    W.rows = rows;
    W.cols = cols;
    W.row_stride = row_bytes(t, cols);
    W.data = raw.data();
    for (int64_t n_tokens : {1, 5, 16}) {
      const auto X = test::gaussian(static_cast<size_t>(n_tokens * cols), static_cast<uint32_t>(++seed));
      std::vector<float> want(static_cast<size_t>(n_tokens * rows)), got(want.size());
      matmul_reference(W, X.data(), cols, n_tokens, want.data(), rows);
      matmul(W, X.data(), cols, n_tokens, got.data(), rows, pool);
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-4 * (std::fabs(want[i]) + 1)) << dtype_name(t) << " tokens=" << n_tokens;
    }
  }
}

TEST(KernelsIquant, RandomBlocksRejectOtherTypes) {
  std::vector<uint8_t> b(row_bytes(DType::Q4_K, 256));
  EXPECT_FALSE(kernels::has_random_blocks(DType::Q4_K));
  EXPECT_THROW(kernels::fill_random_blocks(DType::Q4_K, b.data(), 256, 1, 1.f), Error);
}

}  // namespace
}  // namespace r1
