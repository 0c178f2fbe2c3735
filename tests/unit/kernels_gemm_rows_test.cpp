// Tiled row-major products (kernels/gemm_rows.hpp), AVX2 and (where the CPU has it)
// AVX-512, against one AVX2 vec_dot per output: bit-identical by contract (same operations
// per output). Sweeps odd row ranges (row pairs, 2-row and 1-row tiles), 1..9 tokens
// (every tile width, the decode hand-off), padded strides. I-quants: bit-identical below 8
// tokens, from 8 on within 1e-6 of the scalar reference (llama.cpp's panel order, see
// vec_dot_iq_avx2.cpp).
#include <gtest/gtest.h>

#include <vector>

#include "kernels/dispatch.hpp"
#include "kernels/gemm_rows.hpp"
#include "kernels/random_blocks.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

TEST(KernelsGemmRows, TilesEqualVecDotBitForBit) {
  if (!isa_available(Isa::kAvx2)) GTEST_SKIP() << "no AVX2";
  struct Case {
    DType type;
    kernels::RowsGemmFn fn;
    int64_t k;
  };
  uint32_t seed = 40;
  std::vector<Case> cases = {{DType::Q8_0, kernels::gemm_q8_0_rows_avx2, 32}, {DType::Q8_0, kernels::gemm_q8_0_rows_avx2, 160},
                             {DType::Q6_K, kernels::gemm_q6_k_rows_avx2, 256}, {DType::Q6_K, kernels::gemm_q6_k_rows_avx2, 768}};
  for (const Case& c : {Case{DType::IQ2_XXS, kernels::gemm_iq2_xxs_rows_avx2, 768},
                        Case{DType::IQ2_XS, kernels::gemm_iq2_xs_rows_avx2, 768},
                        Case{DType::IQ2_S, kernels::gemm_iq2_s_rows_avx2, 768},
                        Case{DType::IQ3_XXS, kernels::gemm_iq3_xxs_rows_avx2, 768},
                        Case{DType::IQ3_S, kernels::gemm_iq3_s_rows_avx2, 768},
                        Case{DType::IQ4_XS, kernels::gemm_iq4_xs_rows_avx2, 768},
                        Case{DType::IQ1_S, kernels::gemm_iq1_s_rows_avx2, 768},
                        Case{DType::IQ1_M, kernels::gemm_iq1_m_rows_avx2, 768}})
    cases.push_back(c);
  if (avx512_active()) {
    cases.push_back({DType::Q8_0, kernels::gemm_q8_0_rows_avx512, 96});
    cases.push_back({DType::Q6_K, kernels::gemm_q6_k_rows_avx512, 512});
  }
  for (const Case& c : cases) {
    const TypeTraits* wt = find_traits_for(Isa::kAvx2, c.type);
    const TypeTraits* at = find_traits_for(Isa::kAvx2, wt->vec_dot_type);
    const int64_t rows = 11;
    const size_t ws = row_bytes(c.type, c.k) + 6;  // padded stride
    std::vector<uint8_t> w(ws * rows);
    const auto wf = test::gaussian(static_cast<size_t>(rows * c.k), ++seed);
    for (int64_t r = 0; r < rows; ++r) {
      if (kernels::has_random_blocks(c.type))  // i-quants: no quantizer, random codebook blocks
        kernels::fill_random_blocks(c.type, w.data() + r * ws, c.k, seed + r, 0.05f);
      else
        find_reference_traits(c.type)->from_float(wf.data() + r * c.k, w.data() + r * ws, c.k);
    }
    for (int64_t n = 1; n <= 9; ++n) {
      const size_t as = row_bytes(wt->vec_dot_type, c.k);
      std::vector<uint8_t> act(as * n);
      const auto x = test::gaussian(static_cast<size_t>(n * c.k), ++seed, 3.f);
      for (int64_t t = 0; t < n; ++t) at->from_float(x.data() + t * c.k, act.data() + t * as, c.k);
      const int64_t ldy = rows + 2;
      std::vector<float> y(static_cast<size_t>(n * ldy), -5.f);
      c.fn(c.k, w.data(), ws, 1, rows, act.data(), as, n, y.data(), ldy);  // rows 1..10: 5 pairs, then none
      c.fn(c.k, w.data(), ws, 0, 1, act.data(), as, n, y.data(), ldy);     // a lone row
      // The i-quants from 8 tokens on take llama.cpp's panel order (a float sum per
      // super-block, as the scalar reference): compared with the reference instead.
      const bool panel = kernels::has_random_blocks(c.type) && n >= 8;
      const TypeTraits* ref = find_reference_traits(c.type);
      for (int64_t t = 0; t < n; ++t)
        for (int64_t r = 0; r < rows; ++r) {
          const void* wr = w.data() + r * ws;
          const void* ar = act.data() + t * as;
          if (panel) {
            const auto wd = test::dequantize(*ref, wr, c.k);
            const auto ad = test::dequantize(*find_reference_traits(wt->vec_dot_type), ar, c.k);
            ASSERT_NEAR(y[t * ldy + r], ref->vec_dot(c.k, wr, ar), 1e-6 * test::abs_dot_double(wd.data(), ad.data(), c.k))
                << dtype_name(c.type) << " n " << n << " t " << t << " r " << r;
            continue;
          }
          const float want = wt->vec_dot(c.k, wr, ar);
          ASSERT_EQ(test::float_bits(y[t * ldy + r]), test::float_bits(want))
              << dtype_name(c.type) << " k " << c.k << " n " << n << " t " << t << " r " << r;
        }
      EXPECT_EQ(y[rows], -5.f);  // padding untouched
    }
  }
}

}  // namespace
}  // namespace r1
