// Packed (interleaved 8- and 16-row) layouts: exact byte round trips, and the packed kernels
// against (1) their scalar references bit for bit, (2) llama.cpp's repacked float order as
// the numerics helper reproduced it per row (vec_dot_*_repack_avx2) bit for bit, and
// (3) the plain scalar vec_dot within a summation-order tolerance. Shapes sweep ragged
// token counts (1..9: every tile width and the gemm / gemv split) and several widths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "base/thread_pool.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/matmul.hpp"
#include "kernels/repack.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

using kernels::ActQ8_0;
using kernels::BlockQ8_0;
using kernels::BlockQ8_K;

struct Case {
  DType type;
  WeightLayout layout;
  int64_t cols;
};

std::vector<uint8_t> random_weights(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  const TypeTraits* t = find_reference_traits(type);
  std::vector<uint8_t> w(row_bytes(type, cols) * rows);
  const auto x = test::gaussian(static_cast<size_t>(rows * cols), seed);
  for (int64_t r = 0; r < rows; ++r) t->from_float(x.data() + r * cols, w.data() + r * row_bytes(type, cols), cols);
  return w;
}

TEST(KernelsRepack, PackUnpackRoundTripAndRowExtraction) {
  for (const Case c : {Case{DType::Q4_0, WeightLayout::kQ4_0x8, 96}, Case{DType::Q4_K, WeightLayout::kQ4_Kx8, 512},
                       Case{DType::Q4_0, WeightLayout::kQ4_0x16, 64}, Case{DType::Q4_K, WeightLayout::kQ4_Kx16, 256},
                       Case{DType::Q8_0, WeightLayout::kQ8_0x16, 96}, Case{DType::Q6_K, WeightLayout::kQ6_Kx16, 512}}) {
    const int64_t G = kernels::layout_rows(c.layout), rows = 3 * G;
    const size_t rb = row_bytes(c.type, c.cols);
    std::vector<uint8_t> orig(rb * rows);
    for (size_t i = 0; i < orig.size(); ++i) orig[i] = static_cast<uint8_t>(i * 131 + 7);
    std::vector<uint8_t> packed = orig;
    kernels::pack_rows(c.layout, packed.data(), rows / G, c.cols);
    EXPECT_NE(packed, orig);
    std::vector<uint8_t> row(rb);
    for (int64_t r = 0; r < rows; ++r) {
      kernels::packed_row(c.layout, packed.data(), c.cols, r, row.data());
      ASSERT_EQ(0, std::memcmp(row.data(), orig.data() + r * rb, rb)) << r;
    }
    kernels::unpack_rows(c.layout, packed.data(), rows / G, c.cols);
    EXPECT_EQ(packed, orig);
  }
}

TEST(KernelsRepack, LayoutChoice) {
  const bool avx2 = active_isa() == Isa::kAvx2, wide = avx512_active();
  EXPECT_EQ(kernels::packed_layout_for(DType::Q4_0, 16, 64),
            !avx2 ? WeightLayout::kRows : wide ? WeightLayout::kQ4_0x16 : WeightLayout::kQ4_0x8);
  EXPECT_EQ(kernels::packed_layout_for(DType::Q4_K, 8, 256), avx2 ? WeightLayout::kQ4_Kx8 : WeightLayout::kRows);
  EXPECT_EQ(kernels::packed_layout_for(DType::Q4_K, 32, 256),
            !avx2 ? WeightLayout::kRows : wide ? WeightLayout::kQ4_Kx16 : WeightLayout::kQ4_Kx8);
  EXPECT_EQ(kernels::packed_layout_for(DType::Q4_0, 12, 64), WeightLayout::kRows);  // rows % 8 != 0
  EXPECT_EQ(kernels::packed_layout_for(DType::Q8_0, 16, 64), avx2 && wide ? WeightLayout::kQ8_0x16 : WeightLayout::kRows);
  EXPECT_EQ(kernels::packed_layout_for(DType::Q8_0, 8, 64), WeightLayout::kRows);  // no 8-row Q8_0 layout
  EXPECT_EQ(kernels::packed_layout_for(DType::Q8_0, 16, 48), WeightLayout::kRows);  // cols % 32 != 0
  EXPECT_EQ(kernels::packed_layout_for(DType::Q6_K, 32, 512), avx2 && wide ? WeightLayout::kQ6_Kx16 : WeightLayout::kRows);
  EXPECT_EQ(kernels::packed_layout_for(DType::Q6_K, 24, 512), WeightLayout::kRows);  // rows % 16 != 0
}

TEST(KernelsRepack, ActivationBlocksCarryScaleAndSum) {
  const int64_t k = 96;
  const auto x = test::gaussian(k, 5);
  std::vector<ActQ8_0> act(k / 32);
  kernels::quantize_act_q8_0(find_reference_traits(DType::Q8_0)->from_float, x.data(), k, k, 1, act.data());
  std::vector<BlockQ8_0> q(k / 32);
  find_reference_traits(DType::Q8_0)->from_float(x.data(), q.data(), k);
  for (int64_t b = 0; b < k / 32; ++b) {
    EXPECT_EQ(act[b].d, fp16_to_fp32(q[b].d));
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += q[b].qs[j];
    EXPECT_EQ(act[b].sum8, 8 * sum);
    EXPECT_EQ(0, std::memcmp(act[b].qs, q[b].qs, 32));
  }
}

// Packed kernels vs references, for every tile width and gemm/gemv split.
TEST(KernelsRepack, PackedKernelsMatchReferencesExactly) {
  uint32_t seed = 100;
  for (const Case c : {Case{DType::Q4_0, WeightLayout::kQ4_0x8, 32}, Case{DType::Q4_0, WeightLayout::kQ4_0x8, 224},
                       Case{DType::Q4_K, WeightLayout::kQ4_Kx8, 256}, Case{DType::Q4_K, WeightLayout::kQ4_Kx8, 768},
                       Case{DType::Q4_0, WeightLayout::kQ4_0x16, 96}, Case{DType::Q4_K, WeightLayout::kQ4_Kx16, 512},
                       Case{DType::Q8_0, WeightLayout::kQ8_0x16, 32}, Case{DType::Q8_0, WeightLayout::kQ8_0x16, 8960},
                       Case{DType::Q6_K, WeightLayout::kQ6_Kx16, 256}, Case{DType::Q6_K, WeightLayout::kQ6_Kx16, 8960 / 256 * 256}}) {
    const int64_t G = kernels::layout_rows(c.layout), rows = 2 * G, k = c.cols;
    const size_t rb = row_bytes(c.type, k);
    const std::vector<uint8_t> w_rows = random_weights(c.type, rows, k, ++seed);
    std::vector<uint8_t> w_packed = w_rows;
    kernels::pack_rows(c.layout, w_packed.data(), rows / G, k);
    for (int64_t n_tokens = 1; n_tokens <= 9; ++n_tokens) {
      const auto x = test::gaussian(static_cast<size_t>(n_tokens * k), ++seed, 2.f);
      // Activations: ActQ8_0 for the packed Q4_0 / Q8_0 kernels, plain Q8_0 / Q8_K rows otherwise.
      const bool act_q8_0 = kernels::layout_takes_act_q8_0(c.layout);
      const DType vt = act_q8_0 ? DType::Q8_0 : DType::Q8_K;
      const TypeTraits* at = find_traits(vt);
      const size_t vstride = row_bytes(vt, k);
      std::vector<uint8_t> act_rows(vstride * n_tokens);
      for (int64_t t = 0; t < n_tokens; ++t) at->from_float(x.data() + t * k, act_rows.data() + t * vstride, k);
      std::vector<ActQ8_0> act_q8(static_cast<size_t>(n_tokens * k / 32));
      if (act_q8_0) kernels::quantize_act_q8_0(at->from_float, x.data(), k, k, n_tokens, act_q8.data());
      const void* act = act_q8_0 ? static_cast<const void*>(act_q8.data()) : act_rows.data();
      const size_t stride = act_q8_0 ? static_cast<size_t>(k / 32) * sizeof(ActQ8_0) : vstride;
      const int64_t n_gemm = n_tokens - n_tokens % 4;

      const int64_t ldy = rows + 3;
      std::vector<float> ref(static_cast<size_t>(n_tokens * ldy), -1.f), fast = ref;
      kernels::packed_gemm_reference(c.layout)(k, w_packed.data(), rows / G, act, stride, n_tokens, n_gemm,
                                               ref.data(), ldy);
      kernels::packed_gemm(c.layout)(k, w_packed.data(), rows / G, act, stride, n_tokens, n_gemm, fast.data(), ldy);
      for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t r = 0; r < rows; ++r) {
          const float want = ref[t * ldy + r];
          ASSERT_EQ(test::float_bits(fast[t * ldy + r]), test::float_bits(want))
              << dtype_name(c.type) << " k=" << k << " n=" << n_tokens << " t=" << t << " r=" << r;
          // Plain scalar dot product: same value up to summation order.
          const float plain = find_reference_traits(c.type)->vec_dot(k, w_rows.data() + r * rb,
                                                                     act_rows.data() + t * vstride);
          EXPECT_NEAR(want, plain, 1e-4f * (1.f + std::fabs(plain)));
          if (isa_available(Isa::kAvx2) && c.type != DType::Q8_0 && c.type != DType::Q6_K) {
            // llama.cpp's repacked order, per row (ggml_order.hpp); it has no packed Q8_0 / Q6_K on x86.
            const float ggml = c.type == DType::Q4_0
                                   ? kernels::vec_dot_q4_0_q8_0_repack_avx2(k, w_rows.data() + r * rb,
                                                                            act_rows.data() + t * vstride)
                                   : kernels::vec_dot_q4_k_q8_k_repack_avx2(k, w_rows.data() + r * rb,
                                                                            act_rows.data() + t * vstride, t < n_gemm);
            ASSERT_EQ(test::float_bits(ggml), test::float_bits(want)) << dtype_name(c.type) << " t=" << t;
          }
        }
    }
  }
}

// matmul on a packed view equals matmul on the row-major view bit for bit (same float
// order), with 1 and 2 threads, and dequantize_row reads packed rows.
TEST(KernelsRepack, MatmulPackedEqualsRowMajor) {
  if (active_isa() != Isa::kAvx2) GTEST_SKIP() << "packing needs the AVX2 kernels";
  ThreadPool pool1(1), pool2(2);
  for (const Case c : {Case{DType::Q4_0, WeightLayout::kQ4_0x8, 160}, Case{DType::Q4_K, WeightLayout::kQ4_Kx8, 512}}) {
    const int64_t rows = 48, k = c.cols;
    std::vector<uint8_t> w_rows = random_weights(c.type, rows, k, 7);
    std::vector<uint8_t> w_packed = w_rows;
    WeightView plain{.type = c.type, .rows = rows, .cols = k, .row_stride = row_bytes(c.type, k),
                     .data = w_rows.data(), .name = "plain"};
    WeightView packed = plain;
    packed.data = w_packed.data();
    ASSERT_TRUE(pack_weight_in_place(packed, &pool2));
    EXPECT_EQ(packed.layout, kernels::packed_layout_for(c.type, rows, k));
    EXPECT_FALSE(pack_weight_in_place(packed));  // already packed
    std::vector<float> a(k), b(k);
    for (int64_t r : {0, 7, 8, 17, 47}) {
      dequantize_row(plain, r, a.data());
      dequantize_row(packed, r, b.data());
      ASSERT_EQ(a, b) << r;
    }
    for (int64_t n : {1, 5, 12}) {
      const auto x = test::gaussian(static_cast<size_t>(n * k), 3);
      std::vector<float> y0(static_cast<size_t>(n * rows)), y1 = y0, y2 = y0;
      matmul(plain, x.data(), k, n, y0.data(), rows, pool1);
      matmul(packed, x.data(), k, n, y1.data(), rows, pool1);
      matmul(packed, x.data(), k, n, y2.data(), rows, pool2);
      EXPECT_EQ(y0, y1) << n;
      EXPECT_EQ(y0, y2) << n;
    }
  }
}

// Q8_0 and Q6_K have no llama.cpp packed order: matmul on the packed view (16-row groups,
// AVX-512 only) equals the row-major product up to float summation order, for single
// tokens, partial and full token tiles, with 1 and 2 threads; dequantize_row reads packed rows.
TEST(KernelsRepack, MatmulPackedQ8_0AndQ6_KMatchRowMajor) {
  ThreadPool pool1(1), pool2(2);
  for (const Case c : {Case{DType::Q8_0, WeightLayout::kQ8_0x16, 256}, Case{DType::Q6_K, WeightLayout::kQ6_Kx16, 512}}) {
    const int64_t rows = 48, k = c.cols;
    if (kernels::packed_layout_for(c.type, rows, k) != c.layout) GTEST_SKIP() << "no such packed layout on this CPU";
    std::vector<uint8_t> w_rows = random_weights(c.type, rows, k, 11);
    std::vector<uint8_t> w_packed = w_rows;
    WeightView plain{.type = c.type, .rows = rows, .cols = k, .row_stride = row_bytes(c.type, k),
                     .data = w_rows.data(), .name = "plain"};
    WeightView packed = plain;
    packed.data = w_packed.data();
    ASSERT_TRUE(pack_weight_in_place(packed, &pool2));
    EXPECT_EQ(packed.layout, c.layout);
    std::vector<float> a(k), b(k);
    for (int64_t r : {0, 15, 16, 33, 47}) {
      dequantize_row(plain, r, a.data());
      dequantize_row(packed, r, b.data());
      ASSERT_EQ(a, b) << r;
    }
    for (int64_t n : {1, 3, 8, 13, 20}) {
      const auto x = test::gaussian(static_cast<size_t>(n * k), 4 + static_cast<uint32_t>(n));
      std::vector<float> y0(static_cast<size_t>(n * rows)), y1 = y0, y2 = y0;
      matmul(plain, x.data(), k, n, y0.data(), rows, pool1);
      matmul(packed, x.data(), k, n, y1.data(), rows, pool1);
      matmul(packed, x.data(), k, n, y2.data(), rows, pool2);
      for (size_t i = 0; i < y0.size(); ++i) {
        ASSERT_NEAR(y1[i], y0[i], 1e-5f * (1.f + std::fabs(y0[i]))) << dtype_name(c.type) << " n=" << n << " i=" << i;
        ASSERT_EQ(y1[i], y2[i]) << "n=" << n << " i=" << i;  // same kernel, any thread split
      }
    }
  }
}

// matmul_multi gives each job exactly what a separate matmul gives.
TEST(KernelsRepack, MatmulMultiEqualsSeparateCalls) {
  ThreadPool pool(2);
  const int64_t k = 256;
  std::vector<std::vector<uint8_t>> store;
  std::vector<WeightView> views;
  const DType types[] = {DType::Q4_K, DType::Q6_K, DType::Q8_0, DType::F32};
  const int64_t rows[] = {24, 8, 13, 5};
  for (int i = 0; i < 4; ++i) {
    store.push_back(random_weights(types[i], rows[i], k, 20 + i));
    views.push_back(WeightView{.type = types[i], .rows = rows[i], .cols = k, .row_stride = row_bytes(types[i], k),
                               .data = store.back().data(), .name = "job"});
  }
  pack_weight_in_place(views[0], &pool);
  for (int64_t n : {1, 6}) {
    const auto x = test::gaussian(static_cast<size_t>(n * k), 9);
    std::vector<std::vector<float>> sep(4), fused(4);
    std::vector<MatmulJob> jobs;
    for (int i = 0; i < 4; ++i) {
      sep[i].assign(static_cast<size_t>(n * rows[i]), 0.f);
      fused[i].assign(static_cast<size_t>(n * rows[i]), 0.f);
      matmul(views[i], x.data(), k, n, sep[i].data(), rows[i], pool);
      jobs.push_back({&views[i], fused[i].data(), rows[i]});
    }
    matmul_multi(jobs.data(), 4, x.data(), k, n, pool);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(sep[i], fused[i]) << i;
  }
}

}  // namespace
}  // namespace r1
