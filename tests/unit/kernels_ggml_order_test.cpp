// llama.cpp float orders (kernels/ggml_order.hpp). The expected values are spelled out
// here from the ggml-cpu sources (sgemm.cpp tinyBLAS + hsum, vec.cpp ggml_vec_dot_f16/_f32,
// simd-mappings.h reductions, repack.cpp q4_0_8x8 / q4_K_8x8 kernels) as plain scalar
// loops, independently of the AVX2 code under test; the end-to-end bit agreement with
// llama.cpp itself is checked by tests/reference/forward.test.mjs.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/thread_pool.hpp"
#include "kernels/blocks.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_util.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

// (v4 + v0) + (v6 + v2)) + ((v5 + v1) + (v7 + v3)), after folding 16 lanes as v[i + 8] + v[i].
float tree(const float* v, int lanes) {
  float h[8];
  for (int i = 0; i < 8; ++i) h[i] = lanes == 16 ? v[i + 8] + v[i] : v[i];
  return ((h[4] + h[0]) + (h[6] + h[2])) + ((h[5] + h[1]) + (h[7] + h[3]));
}

// tinyBLAS: one lanes-wide FMA accumulator per output.
float tiled_dot(int64_t k, const float* w, const float* x, int lanes) {
  float acc[16] = {};
  for (int64_t l = 0; l < k; l += lanes)
    for (int i = 0; i < lanes; ++i) acc[i] = std::fma(w[l + i], x[l + i], acc[i]);
  return tree(acc, lanes);
}

// ggml_vec_dot_f16 (half = true) / ggml_vec_dot_f32.
float vec_dot(int64_t k, const float* w, const float* x, int lanes, bool half) {
  float acc[4][16] = {};
  const int64_t step = 4 * lanes, np = k - k % step;
  for (int64_t i = 0; i < np; i += step)
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < lanes; ++l) acc[j][l] = std::fma(w[i + j * lanes + l], x[i + j * lanes + l], acc[j][l]);
  float a[16];
  for (int l = 0; l < lanes; ++l) a[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  float r;
  if (lanes == 16) {
    r = tree(a, 16);
  } else {  // GGML_F32x8_REDUCE: lo + hi, then two hadds
    float t[4];
    for (int i = 0; i < 4; ++i) t[i] = a[i] + a[i + 4];
    r = (t[0] + t[1]) + (t[2] + t[3]);
  }
  if (half) {
    double s = r;
    for (int64_t i = np; i < k; ++i) s += static_cast<double>(w[i] * x[i]);
    return static_cast<float>(s);
  }
  for (int64_t i = np; i < k; ++i) r = std::fma(w[i], x[i], r);
  return r;
}

std::vector<float> round_half(const std::vector<float>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = fp16_to_fp32(fp32_to_fp16(v[i]));
  return r;
}

std::vector<uint16_t> to_half(const std::vector<float>& v) {
  std::vector<uint16_t> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = fp32_to_fp16(v[i]);
  return r;
}

TEST(GgmlOrder, HsumIsTheFoldedTree) {
  // 1e8 has float spacing 8: the order of the additions decides which small terms survive.
  const float v[16] = {1e8f, 3, -1e8f, 5, 7, 11, 13, 17, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(ggml_hsum(v, 8), ((7.0f + 1e8f) + (13.0f + -1e8f)) + ((11.0f + 3) + (17.0f + 5)));
  EXPECT_EQ(ggml_hsum(v, 16), tree(v, 16));
  float seq = 0;
  for (float x : v) seq += x;
  EXPECT_NE(ggml_hsum(v, 16), seq);  // the test can tell orders apart
}

TEST(GgmlOrder, ExpfIsAccurateAndSaturates) {
  for (int lanes : {8, 16}) {
    EXPECT_EQ(ggml_expf(0.0f, lanes), 1.0f);
    EXPECT_EQ(ggml_expf(-200.0f, lanes), 0.0f);
    EXPECT_EQ(ggml_expf(-INFINITY, lanes), 0.0f);
    EXPECT_TRUE(std::isinf(ggml_expf(100.0f, lanes)));
    for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
      const double want = std::exp(static_cast<double>(x));
      EXPECT_NEAR(ggml_expf(x, lanes), want, 2.5 * want * 0x1p-23) << "x = " << x << " lanes " << lanes;
    }
    for (float x = -20.0f; x < 20.0f; x += 0.0371f) {
      const double want = x / (1.0 + std::exp(-static_cast<double>(x)));
      EXPECT_NEAR(ggml_silu(x, lanes), want, 4.0 * std::fabs(want) * 0x1p-23 + 1e-30) << x;
    }
  }
  // The two builds round the last step differently somewhere.
  int differ = 0;
  for (float x = -10.0f; x < 10.0f; x += 0.001f) differ += ggml_expf(x, 8) != ggml_expf(x, 16);
  EXPECT_GT(differ, 0);
}

TEST(GgmlOrder, AvxGemmMatchesScalarOrders) {
  if (!isa_available(Isa::kAvx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  const int64_t rows = 13, tokens = 3;
  for (int64_t k : {64, 96, 160, 200}) {
    const auto w = round_half(test::gaussian(static_cast<size_t>(rows * k), 1));
    const auto x = round_half(test::gaussian(static_cast<size_t>(tokens * k), 2));
    const auto wh = to_half(w), xh = to_half(x);
    for (int lanes : {8, 16}) {
      for (bool tiled : {true, false}) {
        if (tiled && k % lanes != 0) continue;
        std::vector<float> y16(static_cast<size_t>(rows * tokens)), y32(y16.size());
        kernels::ggml_gemm_f16_avx2(k, wh.data(), k, 0, rows, xh.data(), k, tokens, y16.data(), rows, lanes, tiled);
        kernels::ggml_gemm_f32_avx2(k, w.data(), k, 0, rows, x.data(), k, tokens, y32.data(), rows, lanes, tiled);
        for (int64_t t = 0; t < tokens; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            const float* wr = &w[static_cast<size_t>(r * k)];
            const float* xt = &x[static_cast<size_t>(t * k)];
            const size_t o = static_cast<size_t>(t * rows + r);
            EXPECT_EQ(y16[o], tiled ? tiled_dot(k, wr, xt, lanes) : vec_dot(k, wr, xt, lanes, true))
                << "f16 k " << k << " lanes " << lanes << " tiled " << tiled;
            EXPECT_EQ(y32[o], tiled ? tiled_dot(k, wr, xt, lanes) : vec_dot(k, wr, xt, lanes, false))
                << "f32 k " << k << " lanes " << lanes << " tiled " << tiled;
          }
      }
    }
  }
}

// The 512-bit register tiles (4 rows x 4 tokens, then 1-row and 1-token edges) keep the
// tinyBLAS order bit for bit: every shape edge against the scalar chain, over a row range
// that starts inside a tile.
TEST(GgmlOrder, Avx512TilesMatchTinyBlasOrder) {
  if (!avx512_active()) GTEST_SKIP() << "no AVX-512 kernels active";
  for (int64_t k : {16, 160, 512}) {
    for (int64_t rows : {4, 7, 21, 37}) {
      for (int64_t tokens : {1, 2, 4, 5, 11}) {
        const auto w = round_half(test::gaussian(static_cast<size_t>(rows * k), 3));
        const auto x = round_half(test::gaussian(static_cast<size_t>(tokens * k), 4));
        const auto wh = to_half(w), xh = to_half(x);
        const int64_t r_begin = rows > 4 ? 3 : 0;
        std::vector<float> y16(static_cast<size_t>(rows * tokens), -1.0f), y32(y16.size(), -1.0f);
        kernels::ggml_gemm_f16_tiled_avx512(k, wh.data(), k, r_begin, rows, xh.data(), k, tokens, y16.data(), rows);
        kernels::ggml_gemm_f32_tiled_avx512(k, w.data(), k, r_begin, rows, x.data(), k, tokens, y32.data(), rows);
        for (int64_t t = 0; t < tokens; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            const size_t o = static_cast<size_t>(t * rows + r);
            const float want = r < r_begin ? -1.0f
                                           : tiled_dot(k, &w[static_cast<size_t>(r * k)], &x[static_cast<size_t>(t * k)], 16);
            EXPECT_EQ(y16[o], want) << "f16 k " << k << " rows " << rows << " tokens " << tokens << " at " << t << "," << r;
            EXPECT_EQ(y32[o], want) << "f32 k " << k << " rows " << rows << " tokens " << tokens << " at " << t << "," << r;
          }
      }
    }
  }
}

TEST(GgmlOrder, MatmulPicksTinyBlasOnlyForBatchesOfWholeRowGroups) {
  if (!isa_available(Isa::kAvx2) || active_isa() != Isa::kAvx2) GTEST_SKIP() << "no AVX2 kernels active";
  const int64_t k = 128;
  const int lanes = ggml_lanes();
  ThreadPool pool(2);
  for (int64_t rows : {12, 13}) {
    for (int64_t tokens : {1, 5}) {
      const auto w = round_half(test::gaussian(static_cast<size_t>(rows * k), 3));
      const auto x = test::gaussian(static_cast<size_t>(tokens * k), 4);  // rounded by matmul
      const auto wh = to_half(w);
      const auto xr = round_half(x);
      const WeightView view{.type = DType::F16, .rows = rows, .cols = k, .row_stride = static_cast<size_t>(k * 2),
                            .data = wh.data(), .name = "w"};
      std::vector<float> y(static_cast<size_t>(rows * tokens));
      matmul(view, x.data(), k, tokens, y.data(), rows, pool);
      const bool tiled = tokens >= 2 && rows % 4 == 0;
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t r = 0; r < rows; ++r) {
          const float* wr = &w[static_cast<size_t>(r * k)];
          const float* xt = &xr[static_cast<size_t>(t * k)];
          EXPECT_EQ(y[static_cast<size_t>(t * rows + r)],
                    tiled ? tiled_dot(k, wr, xt, lanes) : vec_dot(k, wr, xt, lanes, true))
              << "rows " << rows << " tokens " << tokens;
        }
    }
  }
}

TEST(GgmlOrder, RepackedQ4DotsAreExactIntegersThenOneFmaChain) {
  if (!isa_available(Isa::kAvx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  using kernels::BlockQ4_0;
  using kernels::BlockQ4_K;
  using kernels::BlockQ8_0;
  using kernels::BlockQ8_K;
  const int64_t n = 512;
  const auto xw = test::gaussian(n, 5), xa = test::gaussian(n, 6);
  // Q4_0 x Q8_0: per block acc = fma(float(sum (q4 - 8) q8), d_w d_a, acc).
  {
    std::vector<BlockQ4_0> w(n / 32);
    std::vector<BlockQ8_0> a(n / 32);
    find_reference_traits(DType::Q4_0)->from_float(xw.data(), w.data(), n);
    find_reference_traits(DType::Q8_0)->from_float(xa.data(), a.data(), n);
    float want = 0;
    for (size_t b = 0; b < w.size(); ++b) {
      int32_t s = 0;
      for (int j = 0; j < 32; ++j) s += (((w[b].qs[j % 16] >> (4 * (j / 16))) & 15) - 8) * a[b].qs[j];
      want = std::fma(static_cast<float>(s), fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d), want);
    }
    EXPECT_EQ(kernels::vec_dot_q4_0_q8_0_repack_avx2(n, w.data(), a.data()), want);
  }
  // Q4_K x Q8_K: integer sums per 64-element pair (gemm) or per block (gemv).
  {
    std::vector<BlockQ4_K> w(n / 256);
    std::vector<BlockQ8_K> a(n / 256);
    find_reference_traits(DType::Q4_K)->from_float(xw.data(), w.data(), n);
    find_reference_traits(DType::Q8_K)->from_float(xa.data(), a.data(), n);
    for (bool per_pair : {true, false}) {
      float acc = 0, acc_m = 0;
      for (size_t b = 0; b < w.size(); ++b) {
        const float dd = fp16_to_fp32(w[b].d) * a[b].d, dm = fp16_to_fp32(w[b].dmin) * a[b].d;
        int32_t ib = 0, mb = 0;
        for (int p = 0; p < 4; ++p) {
          int32_t ip = 0, mp = 0;
          for (int sub = 2 * p; sub < 2 * p + 2; ++sub) {
            uint8_t sc, m;
            kernels::unpack_scale_min_k4(sub, w[b].scales, &sc, &m);
            int32_t dot = 0;
            for (int j = 0; j < 32; ++j) {
              const uint8_t byte = w[b].qs[32 * p + j];
              dot += ((sub % 2 == 0) ? (byte & 15) : (byte >> 4)) * a[b].qs[32 * sub + j];
            }
            ip += sc * dot;
            mp += m * (a[b].bsums[2 * sub] + a[b].bsums[2 * sub + 1]);
          }
          if (per_pair) {
            acc = std::fma(static_cast<float>(ip), dd, acc);
            acc_m = std::fma(static_cast<float>(mp), dm, acc_m);
          }
          ib += ip;
          mb += mp;
        }
        if (!per_pair) {
          acc = std::fma(static_cast<float>(ib), dd, acc);
          acc_m = std::fma(static_cast<float>(mb), dm, acc_m);
        }
      }
      EXPECT_EQ(kernels::vec_dot_q4_k_q8_k_repack_avx2(n, w.data(), a.data(), per_pair), acc - acc_m)
          << "per_pair " << per_pair;
    }
  }
}

}  // namespace
}  // namespace r1
