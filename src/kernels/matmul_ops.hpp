// Weight x activation products as the llama.cpp operation they stand for: plain 2-D
// products, per-head products of 3-D weights (deepseek2's attn_k_b / attn_v_b) and the
// routed experts (slices of the 3-D *_exps tensors). Each job has the contract of
// kernels/matmul.hpp matmul():
//   y[t * ldy + r] = sum_c W[r, c] * x[t * ldx + c]   for t < n, r < W.rows
// and differs only in the float order, which follows the llama.cpp operation the
// product stands for (so that results match the oracle bit for bit, which MoE routing
// needs: see docs/deepseek2.md):
//   mul_mat     2-D weights (matmul() itself: tinyBLAS tiles, repacked Q4_0/Q4_K gemm)
//   mul_mat_id  routed experts: one ggml_vec_dot per row and token (no tinyBLAS); Q4_0/Q4_K
//               stay repacked but always take the gemv order
//   mul_mat_3d  3-D weights with a permuted input: never repacked; F32 without tinyBLAS
// Threads split each job's rows, so every selected weight matrix is read once per call.
#pragma once
#include <cstdint>
#include <span>

#include "kernels/matmul.hpp"

namespace r1 {

class ThreadPool;

enum class MatOrder { mul_mat, mul_mat_id, mul_mat_3d };

struct MatJob {
  WeightView w;
  const float* x = nullptr;
  int64_t ldx = 0;
  int64_t n = 0;  // activation rows (tokens); 0 = nothing to do
  float* y = nullptr;
  int64_t ldy = 0;
  MatOrder order = MatOrder::mul_mat;
};

// Runs the jobs in order, each split over the pool; consecutive mul_mat jobs on the
// same input share one activation conversion and one pass (matmul_multi). `prologue`
// (matmul_multi's contract) writes the input rows of the first jobs, which must be
// mul_mat jobs on one input.
void matmul_ops(std::span<const MatJob> jobs, ThreadPool& pool, const RowPrologue& prologue = {});

}  // namespace r1
