// Several independent weight x activation products: per-head MLA projections
// (attn_k_b / attn_v_b slices) and the routed experts of a MoE layer. Each job has the
// contract of kernels/matmul.hpp matmul():
//   y[t * ldy + r] = sum_c W[r, c] * x[t * ldx + c]   for t < n, r < W.rows
// and is computed by matmul() itself (threads split its rows, so every selected weight
// matrix is read once per call, and results carry matmul()'s llama.cpp-ordered
// numerics). Jobs with n == 0 are skipped. This is the one place to fuse the jobs into
// a single pass over the thread pool when dispatch overhead matters.
#pragma once
#include <cstdint>
#include <span>

#include "kernels/matmul.hpp"

namespace r1 {

class ThreadPool;

struct MatJob {
  WeightView w;
  const float* x = nullptr;
  int64_t ldx = 0;
  int64_t n = 0;  // activation rows (tokens)
  float* y = nullptr;
  int64_t ldy = 0;
};

void grouped_matmul(std::span<const MatJob> jobs, ThreadPool& pool);

}  // namespace r1
