// Helpers of the training ops (the *_forward / *_backward pairs beside each block: model/ops,
// blocks/linear, blocks/rope, blocks/attention).
//
// The pairs, llm.c style:
// free functions over plain row-major arrays. T is float (training) or double
// (the gradient tests run the very same code in double against finite
// differences). Rows are tokens: `n` rows, each of `dim` (or C / OC) values.
//
// Contracts shared by all functions:
// - *_backward functions ACCUMULATE (+=) into every gradient they write, except
//   where stated otherwise; callers zero gradient buffers before a step.
// - pool may be null (single-threaded). With a pool, results do not depend on the
//   number of threads: every reduction has a fixed order.
// - Sequences in a batch are packed back to back; seq_start (n_seq + 1 entries,
//   seq_start[0] = 0, seq_start[n_seq] = n) marks where each begins. Attention never
//   crosses a sequence boundary; positions restart at 0 in every sequence.
#pragma once
#include <algorithm>
#include <cassert>
#include <cstdint>
#include <type_traits>

#include "base/thread_pool.hpp"
#include "kernels/matmul.hpp"
#include "kernels/types.hpp"

namespace r1::train::detail {

// Calls fn(begin, end) over [0, n) split across the pool (or once, serially).
template <class F>
void for_rows(ThreadPool* pool, int64_t n, F&& fn, int64_t grain = 1) {
  if (!pool) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  pool->parallel_for(n, [&](int64_t b, int64_t e, int) { fn(b, e); }, grain);
}

template <class T>
T dot(const T* a, const T* b, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    static const VecDotFn f32_dot = traits(DType::F32).vec_dot;  // AVX2 when the CPU has it
    return f32_dot(n, a, b);
  } else {
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
  }
}

template <class T>
void axpy(T* y, T a, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// Transposes src (rows, cols) into dst (cols, ld): dst[c * ld + r] = src[r * cols + c];
// columns r in [rows, ld) of dst are set to zero.
inline void transpose(float* dst, const float* src, int64_t rows, int64_t cols, int64_t ld, ThreadPool* pool) {
  constexpr int64_t B = 32;
  for_rows(pool, (cols + B - 1) / B, [&](int64_t b0, int64_t b1) {
    for (int64_t cb = b0 * B; cb < std::min(cols, b1 * B); cb += B) {
      for (int64_t rb = 0; rb < rows; rb += B)
        for (int64_t c = cb; c < std::min(cols, cb + B); ++c)
          for (int64_t r = rb; r < std::min(rows, rb + B); ++r) dst[c * ld + r] = src[r * cols + c];
      for (int64_t c = cb; c < std::min(cols, cb + B); ++c) std::fill(dst + c * ld + rows, dst + (c + 1) * ld, 0.0f);
    }
  });
}

inline WeightView f32_view(const float* data, int64_t rows, int64_t cols) {
  WeightView w;
  w.type = DType::F32;
  w.rows = rows;
  w.cols = cols;
  w.row_stride = static_cast<size_t>(cols) * sizeof(float);
  w.data = data;
  w.name = "train";
  return w;
}

// Rows per chunk of a parameter-gradient reduction: fixed, so sums do not depend
// on the thread count.
constexpr int64_t kReduceChunk = 32;

}  // namespace r1::train::detail
