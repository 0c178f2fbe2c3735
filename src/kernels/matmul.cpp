// Weight x activation products built on the traits table's vec_dot kernels.
#include "kernels/matmul.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kernels/types.hpp"

namespace r1 {

namespace {

// Output rows computed together against every token: the tile of weight rows stays in
// cache while the activation rows stream past it.
constexpr int64_t kRowTile = 16;

const TypeTraits& weight_traits(const WeightView& W, const TypeTraits* t) {
  if (!t) fail("tensor '{}': type {} is not supported by this build", W.name, dtype_name(W.type));
  if (!t->vec_dot) fail("tensor '{}': type {} cannot be used as a matrix", W.name, dtype_name(W.type));
  if (W.cols % t->block_size != 0)
    fail("tensor '{}': {} columns is not a multiple of the {} block size {}", W.name, W.cols, t->name,
         t->block_size);
  return *t;
}

// Computes rows [r_begin, r_end) of Y for every token. act(t) is the converted row t.
template <class ActRow>
void dot_rows(const WeightView& W, VecDotFn dot, ActRow act, int64_t n_tokens, float* Y, int64_t ldy,
              int64_t r_begin, int64_t r_end) {
  const auto* base = static_cast<const uint8_t*>(W.data);
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowTile) {
    const int64_t r1 = std::min(r_end, r0 + kRowTile);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const void* a = act(t);
      float* y = Y + t * ldy;
      for (int64_t r = r0; r < r1; ++r) y[r] = dot(W.cols, base + r * W.row_stride, a);
    }
  }
}

}  // namespace

void matmul(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy,
            ThreadPool& pool) {
  const TypeTraits& wt = weight_traits(W, find_traits(W.type));
  if (W.rows <= 0 || n_tokens <= 0) return;
  const TypeTraits& at = traits(wt.vec_dot_type);

  // Activations in vec_dot_type, converted once and shared by all threads (F32
  // weights read X in place).
  std::vector<uint8_t> converted;
  size_t act_stride = 0;
  const uint8_t* act_base = nullptr;
  if (wt.vec_dot_type == DType::F32) {
    act_base = reinterpret_cast<const uint8_t*>(X);
    act_stride = static_cast<size_t>(ldx) * sizeof(float);
  } else {
    act_stride = row_bytes(wt.vec_dot_type, W.cols);
    converted.resize(act_stride * static_cast<size_t>(n_tokens));
    uint8_t* dst = converted.data();
    pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1, int) {
      for (int64_t t = t0; t < t1; ++t) at.from_float(X + t * ldx, dst + t * act_stride, W.cols);
    });
    act_base = converted.data();
  }
  auto act = [&](int64_t t) { return static_cast<const void*>(act_base + t * act_stride); };
  pool.parallel_for(
      W.rows, [&](int64_t r0, int64_t r1, int) { dot_rows(W, wt.vec_dot, act, n_tokens, Y, ldy, r0, r1); },
      kRowTile / 4);
}

void matmul_reference(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y,
                      int64_t ldy) {
  const TypeTraits& wt = weight_traits(W, find_reference_traits(W.type));
  if (W.rows <= 0 || n_tokens <= 0) return;
  const TypeTraits* at = find_reference_traits(wt.vec_dot_type);
  const size_t act_stride = row_bytes(wt.vec_dot_type, W.cols);
  std::vector<uint8_t> converted(act_stride * static_cast<size_t>(n_tokens));
  for (int64_t t = 0; t < n_tokens; ++t) at->from_float(X + t * ldx, converted.data() + t * act_stride, W.cols);
  const auto* base = static_cast<const uint8_t*>(W.data);
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t r = 0; r < W.rows; ++r)
      Y[t * ldy + r] = wt.vec_dot(W.cols, base + r * W.row_stride, converted.data() + t * act_stride);
}

void dequantize_row(const WeightView& W, int64_t row, float* dst) {
  const TypeTraits* t = find_traits(W.type);
  if (!t || !t->to_float) fail("tensor '{}': type {} is not supported by this build", W.name, dtype_name(W.type));
  if (W.cols % t->block_size != 0)
    fail("tensor '{}': {} columns is not a multiple of the {} block size {}", W.name, W.cols, t->name,
         t->block_size);
  if (row < 0 || row >= W.rows) fail("tensor '{}': row {} out of range [0, {})", W.name, row, W.rows);
  t->to_float(static_cast<const uint8_t*>(W.data) + row * W.row_stride, dst, W.cols);
}

}  // namespace r1
