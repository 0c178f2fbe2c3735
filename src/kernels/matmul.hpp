// Matrix multiplication of a (possibly quantized) weight matrix with float activations.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/types.hpp"

namespace r1 {

class ThreadPool;

// A read-only 2-D view of weights stored row-major in GGML order: `cols` (ne[0])
// elements per row, `rows` (ne[1]) rows, each row `row_stride` bytes apart.
// Every row must start at the type's natural alignment: 4 bytes for F32, 2 for every
// other type (GGUF tensor data, 32-byte aligned with whole-block rows, satisfies this).
struct WeightView {
  DType type = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_stride = 0;
  const void* data = nullptr;
  const char* name = "";  // for error messages
};

// Y[t * ldy + r] = sum_c W[r, c] * X[t * ldx + c]   for t < n_tokens, r < W.rows.
// Activations are converted once to W's vec_dot_type (as llama.cpp does), then every
// output is a vec_dot of one weight row with one converted activation row. Work is
// split over `pool`. ldx >= W.cols, ldy >= W.rows.
void matmul(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy,
            ThreadPool& pool);

// Same contract, computed with the scalar reference kernels on one thread.
void matmul_reference(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y,
                      int64_t ldy);

// Copies row `row` of W, dequantized, into dst (W.cols floats). Used for embeddings.
void dequantize_row(const WeightView& W, int64_t row, float* dst);

}  // namespace r1
