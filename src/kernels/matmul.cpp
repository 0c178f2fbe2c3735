// Weight x activation products built on the traits table's vec_dot kernels.
#include "kernels/matmul.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/ggml_order.hpp"
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

// F32 and F16 weights on AVX2: llama.cpp's float order (ggml_order.hpp), so that F16
// roundings downstream (activations, KV cache) flip exactly where the oracle's do.
// Returns false where that path does not apply.
bool matmul_ggml_order(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy,
                       ThreadPool& pool, const TypeTraits& at) {
  if (active_isa() != Isa::kAvx2 || (W.type != DType::F32 && W.type != DType::F16)) return false;
  const int lanes = ggml_lanes();
  // llama.cpp runs tinyBLAS for batches when the shapes fit, ggml_vec_dot otherwise.
  const bool tiled = n_tokens >= 2 && W.rows % 4 == 0 && W.cols % lanes == 0;
  if (W.type == DType::F32) {
    const auto* w = static_cast<const float*>(W.data);
    const auto ldw = static_cast<int64_t>(W.row_stride / sizeof(float));
    pool.parallel_for(
        W.rows,
        [&](int64_t r0, int64_t r1, int) {
          kernels::ggml_gemm_f32_avx2(W.cols, w, ldw, r0, r1, X, ldx, n_tokens, Y, ldy, lanes, tiled);
        },
        kRowTile / 4);
    return true;
  }
  // F16: activations rounded to F16 (nearest-even) once, as ggml's from_float does.
  std::vector<uint16_t> xh(static_cast<size_t>(W.cols * n_tokens));
  pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) at.from_float(X + t * ldx, xh.data() + t * W.cols, W.cols);
  });
  const auto* w = static_cast<const uint16_t*>(W.data);
  const auto ldw = static_cast<int64_t>(W.row_stride / sizeof(uint16_t));
  pool.parallel_for(
      W.rows,
      [&](int64_t r0, int64_t r1, int) {
        kernels::ggml_gemm_f16_avx2(W.cols, w, ldw, r0, r1, xh.data(), W.cols, n_tokens, Y, ldy, lanes, tiled);
      },
      kRowTile / 4);
  return true;
}

}  // namespace

void matmul(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy,
            ThreadPool& pool) {
  const TypeTraits& wt = weight_traits(W, find_traits(W.type));
  if (W.rows <= 0 || n_tokens <= 0) return;
  const TypeTraits& at = traits(wt.vec_dot_type);
  if (matmul_ggml_order(W, X, ldx, n_tokens, Y, ldy, pool, at)) return;
  const bool repacked = active_isa() == Isa::kAvx2 && W.rows % 8 == 0 &&
                        (W.type == DType::Q4_0 || W.type == DType::Q4_K);

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
  if (repacked) {
    // llama.cpp repacks these weights; follow its kernels' float order (ggml_order.hpp).
    const int64_t n_gemm = n_tokens - n_tokens % 4;
    const auto* base = static_cast<const uint8_t*>(W.data);
    pool.parallel_for(
        W.rows,
        [&](int64_t r_begin, int64_t r_end, int) {
          for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowTile) {
            const int64_t r1 = std::min(r_end, r0 + kRowTile);
            for (int64_t t = 0; t < n_tokens; ++t)
              for (int64_t r = r0; r < r1; ++r) {
                const void* w = base + r * W.row_stride;
                Y[t * ldy + r] = W.type == DType::Q4_0
                                     ? kernels::vec_dot_q4_0_q8_0_repack_avx2(W.cols, w, act(t))
                                     : kernels::vec_dot_q4_k_q8_k_repack_avx2(W.cols, w, act(t), t < n_gemm);
              }
          }
        },
        kRowTile / 4);
    return;
  }
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
