// Matrix multiplication of a (possibly quantized) weight matrix with float activations.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "kernels/repack.hpp"
#include "kernels/types.hpp"

namespace r1 {

class ThreadPool;

// A read-only 2-D view of weights stored row-major in GGML order: `cols` (ne[0])
// elements per row, `rows` (ne[1]) rows, each row `row_stride` bytes apart.
// Every row must start at the type's natural alignment: 4 bytes for F32, 2 for every
// other type (GGUF tensor data, 32-byte aligned with whole-block rows, satisfies this).
// A packed layout (repack.hpp) stores groups of 8 rows interleaved; row_stride is then
// still the bytes of one row (a group takes 8 * row_stride bytes).
struct WeightView {
  DType type = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_stride = 0;
  const void* data = nullptr;
  const char* name = "";  // for error messages and activation statistics
  int32_t slice = 0;      // which matrix of a 3-D tensor (expert, head) this view is
  WeightLayout layout = WeightLayout::kRows;
};

// Y[t * ldy + r] = sum_c W[r, c] * X[t * ldx + c]   for t < n_tokens, r < W.rows.
// Activations are converted once to W's vec_dot_type (as llama.cpp does), then every
// output is a vec_dot of one weight row with one converted activation row. Work is
// split over `pool`. ldx >= W.cols, ldy >= W.rows.
void matmul(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy,
            ThreadPool& pool);

// One product of a fused call: Y[t * ldy + r] = W[r, :] . X[t, :].
struct MatmulJob {
  const WeightView* W = nullptr;
  float* Y = nullptr;
  int64_t ldy = 0;
};
// Computes rows [t0, t1) of a product's input X (e.g. a block's RMS norm) just before
// they are converted: see matmul_multi.
using RowPrologue = std::function<void(int64_t t0, int64_t t1)>;

// Several weight matrices applied to the same activations (q/k/v, gate/up): each
// activation format is computed once, and one pass over the pool splits all the jobs'
// rows among the threads in proportion to their bytes. Same results as separate
// matmul() calls.
// With a `prologue`, X is not ready on entry: prologue(t0, t1) writes its rows, once
// each, on the thread that then converts those rows to every activation format the
// jobs need while they are in its cache (norm + quantize fused, on all threads). When a
// job reads X as floats (F32 / F16 weights), all rows are written first. Same results
// as calling the prologue on every row, then matmul_multi without it.
void matmul_multi(const MatmulJob* jobs, int n_jobs, const float* X, int64_t ldx, int64_t n_tokens,
                  ThreadPool& pool, const RowPrologue& prologue = {});

// The SwiGLU feed-forward input, fused: Y[t, r] = silu(gate[r] . X[t]) * (up[r] . X[t]),
// ggml_vec_swiglu_f32's rounding. One activation conversion; each thread multiplies a
// slice of rows by both matrices and combines them while they are in its cache (the
// combination runs on all threads, not after the products on one). U (n_tokens x rows,
// ldu apart) is scratch for the up products. Results equal matmul_multi of gate and up
// followed by ggml_swiglu on each row, bit for bit.
// `prologue`: as for matmul_multi.
void matmul_swiglu(const WeightView& gate, const WeightView& up, const float* X, int64_t ldx, int64_t n_tokens,
                   float* Y, int64_t ldy, float* U, int64_t ldu, ThreadPool& pool, const RowPrologue& prologue = {});

// Rewrites W's data in place into the packed layout llama.cpp would use on this CPU
// (packed_layout_for), if there is one; the rows must be contiguous (row_stride = row
// bytes) and inside a private memory map or heap memory this process may write to.
// Returns true if W was packed (W.layout changes); the pages it covers are left
// readable and writable. Never changes results.
bool pack_weight_in_place(WeightView& W, ThreadPool* pool = nullptr);

// Same contract, computed with the scalar reference kernels on one thread.
void matmul_reference(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y,
                      int64_t ldy);

// Copies row `row` of W, dequantized, into dst (W.cols floats). Used for embeddings.
void dequantize_row(const WeightView& W, int64_t row, float* dst);

}  // namespace r1
