// matmul (threaded, best ISA) against matmul_reference (scalar, one thread) for every
// weight type, 1..17 tokens, odd row counts, padded strides, 1 and 2 threads; plus the
// error paths and dequantize_row.
//
// Tolerance per output: 2e-5 * sum_c |W[r,c] * A[t,c]| over the dequantized operands
// (the two differ only in float summation order inside vec_dot).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/ggml_vec.hpp"
#include "kernels/matmul.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

struct Matrix {
  std::vector<uint8_t> bytes;
  WeightView view;
};

// rows x cols weights of `type`, each row padded by `pad` bytes so row_stride != row size.
Matrix make_weights(DType type, int64_t rows, int64_t cols, uint32_t seed, size_t pad = 0) {
  const TypeTraits* t = find_reference_traits(type);
  const size_t rb = row_bytes(type, cols);
  Matrix m;
  m.bytes.assign((rb + pad) * rows, 0xCD);
  const auto x = test::gaussian(static_cast<size_t>(rows * cols), seed);
  for (int64_t r = 0; r < rows; ++r) t->from_float(x.data() + r * cols, m.bytes.data() + r * (rb + pad), cols);
  m.view = WeightView{.type = type, .rows = rows, .cols = cols, .row_stride = rb + pad, .data = m.bytes.data(),
                      .name = "blk.0.test"};
  return m;
}

int64_t cols_for(DType type) {
  const int64_t bs = dtype_block_size(type);
  return bs == 1 ? 70 : bs == 32 ? 96 : 512;
}

TEST(KernelsMatmul, MatchesReferenceAllTypesTokensThreads) {
  ThreadPool pool1(1), pool2(2);
  uint32_t seed = 1;
  for (DType type : test::weight_types()) {
    const int64_t cols = cols_for(type);
    const int64_t ldx = cols + 3;
    for (int64_t rows : {1, 7, 17, 33}) {
      const Matrix W = make_weights(type, rows, cols, ++seed, rows % 2 ? 4 : 0);
      const TypeTraits* wt = find_reference_traits(type);
      const TypeTraits* at = find_reference_traits(wt->vec_dot_type);
      std::vector<float> wd(static_cast<size_t>(rows * cols));
      for (int64_t r = 0; r < rows; ++r) dequantize_row(W.view, r, wd.data() + r * cols);
      for (int64_t n_tokens = 1; n_tokens <= 17; ++n_tokens) {
        if (rows != 17 && n_tokens > 3 && n_tokens != 8 && n_tokens != 17) continue;  // keep it fast
        const int64_t ldy = rows + 5;
        const auto X = test::gaussian(static_cast<size_t>(n_tokens * ldx), ++seed);
        std::vector<float> want(static_cast<size_t>(n_tokens * ldy), -7.f);
        matmul_reference(W.view, X.data(), ldx, n_tokens, want.data(), ldy);
        for (ThreadPool* pool : {&pool1, &pool2}) {
          // Two threads on a loaded 2-core machine cost milliseconds per call: fewer cases.
          if (pool == &pool2 && !((rows == 7 || rows == 17) && (n_tokens <= 2 || n_tokens == 17))) continue;
          std::vector<float> got(static_cast<size_t>(n_tokens * ldy), -7.f);
          matmul(W.view, X.data(), ldx, n_tokens, got.data(), ldy, *pool);
          for (int64_t t = 0; t < n_tokens; ++t) {
            const auto aq = test::quantize(*at, X.data() + t * ldx, cols);
            const auto ad = test::dequantize(*at, aq.data(), cols);
            for (int64_t r = 0; r < ldy; ++r) {
              const size_t i = static_cast<size_t>(t * ldy + r);
              if (r >= rows) {
                ASSERT_EQ(got[i], -7.f) << "wrote past the rows";
                continue;
              }
              const double tol = 2e-5 * test::abs_dot_double(wd.data() + r * cols, ad.data(), cols) + 1e-30;
              ASSERT_NEAR(got[i], want[i], tol) << dtype_name(type) << " rows=" << rows << " tokens=" << n_tokens
                                                << " t=" << t << " r=" << r << " threads=" << pool->size();
            }
          }
        }
      }
    }
  }
}

// matmul_reference itself against a plain dequantize-and-multiply in double, with the
// activations quantized the same way (checks the token/row indexing and strides).
TEST(KernelsMatmul, ReferenceMatchesDequantizedProduct) {
  for (DType type : {DType::Q4_0, DType::Q6_K, DType::F16}) {
    const int64_t rows = 5, cols = cols_for(type), n_tokens = 3, ldx = cols + 1, ldy = rows + 2;
    const Matrix W = make_weights(type, rows, cols, 77);
    const TypeTraits* at = find_reference_traits(find_reference_traits(type)->vec_dot_type);
    const auto X = test::gaussian(static_cast<size_t>(n_tokens * ldx), 78);
    std::vector<float> Y(static_cast<size_t>(n_tokens * ldy));
    matmul_reference(W.view, X.data(), ldx, n_tokens, Y.data(), ldy);
    std::vector<float> wrow(cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const auto ad = test::dequantize(*at, test::quantize(*at, X.data() + t * ldx, cols).data(), cols);
      for (int64_t r = 0; r < rows; ++r) {
        dequantize_row(W.view, r, wrow.data());
        const double want = test::dot_double(wrow.data(), ad.data(), cols);
        EXPECT_NEAR(Y[t * ldy + r], want, 1e-5 * test::abs_dot_double(wrow.data(), ad.data(), cols))
            << dtype_name(type);
      }
    }
  }
}

TEST(KernelsMatmul, ManyRowsSplitOverThreads) {
  ThreadPool pool2(2);
  const Matrix W = make_weights(DType::Q4_K, 301, 256, 5);
  const auto X = test::gaussian(256 * 2, 6);
  std::vector<float> a(2 * 301), b(2 * 301);
  matmul(W.view, X.data(), 256, 2, a.data(), 301, pool2);
  matmul_reference(W.view, X.data(), 256, 2, b.data(), 301);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-3f * (1 + std::fabs(b[i]))) << i;
}

TEST(KernelsMatmul, BadInputsThrowWithTensorName) {
  ThreadPool pool(1);
  std::vector<uint8_t> data(1024);
  std::vector<float> x(512), y(16);
  WeightView w{.type = DType::I32, .rows = 2, .cols = 4, .row_stride = 16, .data = data.data(), .name = "tok_embd"};
  try {
    matmul(w, x.data(), 4, 1, y.data(), 2, pool);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tok_embd"), std::string::npos) << e.what();
  }
  w.type = DType::Q8_K;  // activation-only format
  EXPECT_THROW(matmul(w, x.data(), 4, 1, y.data(), 2, pool), Error);
  w.type = DType::Q4_0;
  w.cols = 48;  // not a multiple of 32
  EXPECT_THROW(matmul(w, x.data(), 48, 1, y.data(), 2, pool), Error);
  EXPECT_THROW(matmul_reference(w, x.data(), 48, 1, y.data(), 2), Error);
  float row[64];
  EXPECT_THROW(dequantize_row(w, 0, row), Error);
  w.cols = 32;
  EXPECT_THROW(dequantize_row(w, 2, row), Error);
  EXPECT_THROW(dequantize_row(w, -1, row), Error);
  w.type = DType::I8;
  EXPECT_THROW(dequantize_row(w, 0, row), Error);
}

TEST(KernelsMatmul, EmptyShapesAreNoOps) {
  ThreadPool pool(2);
  const Matrix W = make_weights(DType::Q8_0, 3, 32, 9);
  std::vector<float> x(32), y(3, 5.f);
  matmul(W.view, x.data(), 32, 0, y.data(), 3, pool);
  for (float v : y) EXPECT_EQ(v, 5.f);
}

TEST(KernelsMatmul, DequantizeRowUsesStride) {
  const Matrix W = make_weights(DType::Q5_K, 3, 512, 11, 6);  // 2-byte aligned rows are fine for blocks
  const TypeTraits* t = find_reference_traits(DType::Q5_K);
  std::vector<float> got(512);
  dequantize_row(W.view, 2, got.data());
  const auto want = test::dequantize(*t, W.bytes.data() + 2 * W.view.row_stride, 512);
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// matmul_swiglu equals the unfused gate/up products followed by ggml_swiglu row by row,
// bit for bit: packed and row-major quantized weights (fused path), F32 (the llama.cpp
// order path, not fused) and a row count that is not a multiple of 16 (not fused);
// 1, 5 and 20 tokens; 1 and 2 threads. And it is the SwiGLU of the two reference products.
TEST(KernelsMatmul, SwigluFusedEqualsSeparateProducts) {
  ThreadPool pool1(1), pool2(2);
  struct Shape {
    DType type;
    int64_t rows;
    bool pack;
  };
  for (const Shape sh : {Shape{DType::Q4_0, 64, true}, Shape{DType::Q8_0, 48, true}, Shape{DType::Q6_K, 32, true},
                         Shape{DType::Q4_K, 32, true}, Shape{DType::Q8_0, 48, false}, Shape{DType::F32, 32, false},
                         Shape{DType::Q4_0, 40, false}}) {
    const int64_t cols = cols_for(sh.type);
    Matrix g = make_weights(sh.type, sh.rows, cols, 31), u = make_weights(sh.type, sh.rows, cols, 32);
    g.view.row_stride = u.view.row_stride = row_bytes(sh.type, cols);
    if (sh.pack) {
      pack_weight_in_place(g.view, &pool2);
      pack_weight_in_place(u.view, &pool2);
    }
    for (int64_t n : {1, 5, 20}) {
      const auto x = test::gaussian(static_cast<size_t>(n * cols), 40 + static_cast<uint32_t>(n));
      const auto R = static_cast<size_t>(sh.rows);
      std::vector<float> want(n * R), want_u(n * R);
      const MatmulJob jobs[] = {{&g.view, want.data(), sh.rows}, {&u.view, want_u.data(), sh.rows}};
      matmul_multi(jobs, 2, x.data(), cols, n, pool2);
      for (int64_t t = 0; t < n; ++t)
        ggml_swiglu(&want[t * R], &want_u[t * R], sh.rows, &want[t * R], ggml_lanes());
      std::vector<float> ref_g(n * R), ref_u(n * R);
      matmul_reference(g.view, x.data(), cols, n, ref_g.data(), sh.rows);
      matmul_reference(u.view, x.data(), cols, n, ref_u.data(), sh.rows);
      for (ThreadPool* pool : {&pool1, &pool2}) {
        std::vector<float> y(n * R, -7.f), scratch(n * R);
        matmul_swiglu(g.view, u.view, x.data(), cols, n, y.data(), sh.rows, scratch.data(), sh.rows, *pool);
        for (size_t i = 0; i < y.size(); ++i) {
          ASSERT_EQ(test::float_bits(y[i]), test::float_bits(want[i]))
              << dtype_name(sh.type) << " rows=" << sh.rows << " n=" << n << " i=" << i;
          const float silu = ref_g[i] / (1.0f + std::exp(-ref_g[i]));
          ASSERT_NEAR(y[i], silu * ref_u[i], 1e-3f * (1.f + std::fabs(silu * ref_u[i])));
        }
      }
    }
  }
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// A prologue (the fused pre-norm) gives the products exactly what the prologue applied to
// every row first gives, writes each input row once, and works when a job reads the
// input as floats (F32: all rows first) and through matmul_swiglu.
TEST(KernelsMatmul, PrologueRowsEqualPrecomputedInput) {
  ThreadPool pool2(2);
  const int64_t cols = 256;
  Matrix q4 = make_weights(DType::Q4_0, 48, cols, 51), q8 = make_weights(DType::Q8_0, 32, cols, 52),
         f32 = make_weights(DType::F32, 16, cols, 53), q6 = make_weights(DType::Q6_K, 48, cols, 54);
  for (Matrix* m : {&q4, &q8, &q6}) pack_weight_in_place(m->view, &pool2);
  for (int64_t n : {1, 5, 20}) {
    const auto raw = test::gaussian(static_cast<size_t>(n * cols), 60 + static_cast<uint32_t>(n));
    auto transform = [&](int64_t t, float* out) {  // any per-row function of the raw input
      for (int64_t c = 0; c < cols; ++c) out[c] = 0.5f * raw[t * cols + c] + 0.01f * static_cast<float>(c % 7);
    };
    std::vector<float> xn_ready(static_cast<size_t>(n * cols));
    for (int64_t t = 0; t < n; ++t) transform(t, &xn_ready[t * cols]);
    for (bool with_f32 : {false, true}) {
      std::vector<const WeightView*> ws = {&q4.view, &q8.view};
      if (with_f32) ws.push_back(&f32.view);
      std::vector<std::vector<float>> want(ws.size()), got(ws.size());
      std::vector<MatmulJob> jw, jg;
      for (size_t i = 0; i < ws.size(); ++i) {
        want[i].assign(static_cast<size_t>(n * ws[i]->rows), 0.f);
        got[i].assign(static_cast<size_t>(n * ws[i]->rows), -1.f);
        jw.push_back({ws[i], want[i].data(), ws[i]->rows});
        jg.push_back({ws[i], got[i].data(), ws[i]->rows});
      }
      matmul_multi(jw.data(), static_cast<int>(jw.size()), xn_ready.data(), cols, n, pool2);
      std::vector<float> xn(static_cast<size_t>(n * cols), NAN);
      std::vector<std::atomic<int>> writes(static_cast<size_t>(n));
      matmul_multi(jg.data(), static_cast<int>(jg.size()), xn.data(), cols, n, pool2, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          transform(t, &xn[t * cols]);
          ++writes[static_cast<size_t>(t)];
        }
      });
      for (int64_t t = 0; t < n; ++t) ASSERT_EQ(writes[static_cast<size_t>(t)].load(), 1) << "row " << t;
      for (size_t i = 0; i < ws.size(); ++i)
        for (size_t k = 0; k < got[i].size(); ++k)
          ASSERT_EQ(test::float_bits(got[i][k]), test::float_bits(want[i][k])) << i << " n=" << n << " k=" << k;
    }
    // Through the fused SwiGLU.
    std::vector<float> y0(static_cast<size_t>(n * 48)), u0 = y0, y1 = y0, u1 = y0;
    matmul_swiglu(q6.view, q4.view, xn_ready.data(), cols, n, y0.data(), 48, u0.data(), 48, pool2);
    std::vector<float> xn(static_cast<size_t>(n * cols), NAN);
    matmul_swiglu(q6.view, q4.view, xn.data(), cols, n, y1.data(), 48, u1.data(), 48, pool2,
                  [&](int64_t t0, int64_t t1) {
                    for (int64_t t = t0; t < t1; ++t) transform(t, &xn[t * cols]);
                  });
    for (size_t k = 0; k < y0.size(); ++k) ASSERT_EQ(test::float_bits(y1[k]), test::float_bits(y0[k])) << k;
  }
}

}  // namespace
}  // namespace r1
