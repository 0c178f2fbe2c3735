#include "kernels/matmul_ops.hpp"

#include <algorithm>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/repack.hpp"
#include "kernels/types.hpp"

namespace r1 {

namespace {

constexpr int64_t kRowGrain = 4;

// One product in llama.cpp's per-row order (see the header). Returns false when
// matmul() already computes that order (or no AVX2 kernels are active).
bool rowwise(const MatJob& j, ThreadPool& pool) {
  if (active_isa() != Isa::kAvx2) return false;
  const WeightView& W = j.w;
  const DType t = W.type;
  const bool id = j.order == MatOrder::mul_mat_id;
  const bool repack = t == DType::Q4_0 || t == DType::Q4_K;
  if (t == DType::F16 && !id) return false;  // llama.cpp converts the input, then tinyBLAS: as matmul()
  if (t != DType::F32 && t != DType::F16 && !repack) return false;  // plain vec_dot either way

  const TypeTraits& wt = traits(t);
  if (W.cols % wt.block_size != 0)
    fail("tensor '{}': {} columns is not a multiple of the {} block size {}", W.name, W.cols, wt.name,
         wt.block_size);
  const int lanes = ggml_lanes();
  const auto* base = static_cast<const uint8_t*>(W.data);
  if (t == DType::F32) {
    // ggml_vec_dot_f32: vectors over the largest multiple of 4 * lanes columns, then the
    // leftover products added one by one in plain float (not fused; checked bit for bit
    // against llama.cpp on attn_k_b rows of 48 columns).
    const auto ldw = static_cast<int64_t>(W.row_stride / sizeof(float));
    const auto* w = static_cast<const float*>(W.data);
    const int64_t np = W.cols - W.cols % (4 * lanes);
    pool.parallel_for(W.rows, [&](int64_t r0, int64_t r1, int) {
      if (np > 0) {
        kernels::ggml_gemm_f32_avx2(np, w, ldw, r0, r1, j.x, j.ldx, j.n, j.y, j.ldy, lanes, /*tiled=*/false);
      } else {
        for (int64_t tok = 0; tok < j.n; ++tok)
          for (int64_t r = r0; r < r1; ++r) j.y[tok * j.ldy + r] = 0.0f;
      }
      for (int64_t tok = 0; tok < j.n; ++tok)
        for (int64_t r = r0; r < r1; ++r) {
          float s = j.y[tok * j.ldy + r];
          for (int64_t c = np; c < W.cols; ++c) s += w[r * ldw + c] * j.x[tok * j.ldx + c];
          j.y[tok * j.ldy + r] = s;
        }
    }, kRowGrain);
    return true;
  }
  if (W.layout != WeightLayout::kRows) {  // packed in place at load: the packed gemv kernels
    const int64_t G = kernels::layout_rows(W.layout);  // rows per packed group (8 or 16)
    if (!id || W.rows % G != 0) fail("tensor '{}': packed layout where llama.cpp keeps rows", W.name);
    const kernels::PackedGemmFn fn = kernels::packed_gemm(W.layout);
    // Packed Q4_0 / Q8_0 take ActQ8_0 rows, packed Q4_K Q8_K rows
    std::vector<uint8_t> buf;
    size_t a_stride = 0;
    if (kernels::layout_takes_act_q8_0(W.layout)) {
      a_stride = static_cast<size_t>(W.cols / 32) * sizeof(kernels::ActQ8_0);
      buf.resize(a_stride * static_cast<size_t>(j.n));
      kernels::quantize_act_q8_0(traits(DType::Q8_0).from_float, j.x, j.ldx, W.cols, j.n,
                                 reinterpret_cast<kernels::ActQ8_0*>(buf.data()));
    } else {
      a_stride = row_bytes(DType::Q8_K, W.cols);
      buf.resize(a_stride * static_cast<size_t>(j.n));
      for (int64_t r = 0; r < j.n; ++r) traits(DType::Q8_K).from_float(j.x + r * j.ldx, buf.data() + r * a_stride, W.cols);
    }
    const uint8_t* a = buf.data();
    pool.parallel_for(W.rows / G, [&](int64_t g0, int64_t g1, int) {
      fn(W.cols, base + static_cast<size_t>(g0 * G) * W.row_stride, g1 - g0, a, a_stride, j.n, /*n_gemm=*/0,
         j.y + g0 * G, j.ldy);
    });
    return true;
  }
  // Activations converted once to the weight's vec_dot_type (F16, Q8_0 or Q8_K).
  const TypeTraits& at = traits(wt.vec_dot_type);
  const size_t stride = row_bytes(wt.vec_dot_type, W.cols);
  std::vector<uint8_t> act(stride * static_cast<size_t>(j.n));
  pool.parallel_for(j.n, [&](int64_t t0, int64_t t1, int) {
    for (int64_t r = t0; r < t1; ++r) at.from_float(j.x + r * j.ldx, act.data() + r * stride, W.cols);
  });
  if (t == DType::F16) {
    const auto ldw = static_cast<int64_t>(W.row_stride / sizeof(uint16_t));
    pool.parallel_for(W.rows, [&](int64_t r0, int64_t r1, int) {
      kernels::ggml_gemm_f16_avx2(W.cols, static_cast<const uint16_t*>(W.data), ldw, r0, r1,
                                  reinterpret_cast<const uint16_t*>(act.data()), W.cols, j.n, j.y, j.ldy, lanes,
                                  /*tiled=*/false);
    }, kRowGrain);
    return true;
  }
  // Q4_0 / Q4_K: experts stay repacked (rows % 8 == 0) and take the gemv order;
  // 3-D mul_mat weights are never repacked: the plain vec_dot.
  const bool repacked = id && W.rows % 8 == 0;

  pool.parallel_for(W.rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t tok = 0; tok < j.n; ++tok) {
      const void* a = act.data() + tok * stride;
      float* y = j.y + tok * j.ldy;
      for (int64_t r = r0; r < r1; ++r) {
        const void* w = base + r * W.row_stride;
        y[r] = !repacked          ? wt.vec_dot(W.cols, w, a)
               : t == DType::Q4_0 ? kernels::vec_dot_q4_0_q8_0_repack_avx2(W.cols, w, a)
                                  : kernels::vec_dot_q4_k_q8_k_repack_avx2(W.cols, w, a, /*per_pair=*/false);
      }
    }
  }, kRowGrain);
  return true;
}

}  // namespace

void matmul_ops(std::span<const MatJob> jobs, ThreadPool& pool, const RowPrologue& prologue) {
  std::vector<MatmulJob> multi;
  if (prologue && (jobs.empty() || jobs[0].order != MatOrder::mul_mat))
    fail("internal: a row prologue needs a plain product first");
  for (size_t i = 0; i < jobs.size();) {
    const MatJob& j = jobs[i];
    if (j.n <= 0 || j.w.rows <= 0 || (j.order != MatOrder::mul_mat && rowwise(j, pool))) {
      ++i;
      continue;
    }
    if (j.order != MatOrder::mul_mat) {  // no special order on this CPU: the plain product
      matmul(j.w, j.x, j.ldx, j.n, j.y, j.ldy, pool);
      ++i;
      continue;
    }
    // Consecutive plain products of the same input: one activation conversion, one pass.
    multi.clear();
    size_t k = i;
    for (; k < jobs.size() && jobs[k].order == MatOrder::mul_mat && jobs[k].x == j.x && jobs[k].ldx == j.ldx &&
           jobs[k].n == j.n;
         ++k)
      if (jobs[k].w.rows > 0) multi.push_back({&jobs[k].w, jobs[k].y, jobs[k].ldy});
    matmul_multi(multi.data(), static_cast<int>(multi.size()), j.x, j.ldx, j.n, pool, i == 0 ? prologue : RowPrologue{});
    i = k;
  }
}

}  // namespace r1
