#include "kernels/matmul_ops.hpp"

#include <algorithm>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kernels/activation_observer.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/gemm_rows.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/repack.hpp"
#include "kernels/row_split.hpp"
#include "kernels/types.hpp"

namespace r1 {

namespace {

constexpr int64_t kRowGrain = 4;
constexpr int64_t kChunksPerThread = 4;

// How a mul_mat_id / mul_mat_3d job computes its rows, in llama.cpp's per-row order.
enum class Path {
  f32,          // ggml_vec_dot_f32: vector part, then the leftover columns added unfused
  f16,          // activations rounded to F16, ggml_vec_dot_f16 per output
  packed,       // experts repacked at load: the packed kernels in the gemv order
  repack_order, // row-major Q4_0 / Q4_K experts: one row at a time in the repacked kernels' order
  rows,         // other quantized types: the vec_dot order (tiled kernel where there is one), as matmul()
};

// A job ready to run: its path, its activations converted once, its rows' cost.
struct Prepared {
  const MatJob* j = nullptr;
  Path path = Path::rows;
  const TypeTraits* wt = nullptr;
  kernels::PackedGemmFn packed = nullptr;
  kernels::RowsGemmFn rows_gemm = nullptr;
  std::vector<uint8_t> act;
  size_t act_stride = 0;
  int64_t grain = kRowGrain;  // rows per indivisible unit (a packed group)
  double cost_per_row = 0;    // weight bytes, weighted by the tokens
};

// The path of a job (see the header for the orders). Returns false when matmul() itself
// computes the job's order: plain 2-D products, 3-D ones of types whose order is the
// vec_dot's anyway, or no AVX2 kernels active.
bool choose(const MatJob& j, Prepared& p) {
  if (active_isa() != Isa::kAvx2 || j.order == MatOrder::mul_mat) return false;
  const WeightView& W = j.w;
  const DType t = W.type;
  const bool id = j.order == MatOrder::mul_mat_id;
  const bool q4 = t == DType::Q4_0 || t == DType::Q4_K;
  if (t == DType::F16 && !id) return false;  // llama.cpp converts the input, then tinyBLAS: as matmul()
  const TypeTraits& wt = traits(t);
  if (W.cols % wt.block_size != 0)
    fail("tensor '{}': {} columns is not a multiple of the {} block size {}", W.name, W.cols, wt.name,
         wt.block_size);
  p.j = &j;
  p.wt = &wt;
  p.cost_per_row = static_cast<double>(W.row_stride) * (1.0 + static_cast<double>(j.n) / 4.0);
  if (t == DType::F32) {
    p.path = Path::f32;
  } else if (t == DType::F16) {
    p.path = Path::f16;
  } else if (W.layout != WeightLayout::kRows) {
    const int64_t G = kernels::layout_rows(W.layout);  // rows per packed group (8 or 16)
    if (!id || !q4 || W.rows % G != 0) fail("tensor '{}': packed layout where llama.cpp keeps rows", W.name);
    p.path = Path::packed;
    p.packed = kernels::packed_gemm(W.layout);
    p.grain = G;
  } else if (q4 && id && W.rows % 8 == 0) {
    p.path = Path::repack_order;
  } else if (q4 || id) {
    // Q4 weights of 3-D products (never repacked) and other types of experts: the vec_dot
    // order, exactly as matmul() computes them.
    p.path = Path::rows;
    p.rows_gemm = kernels::rows_gemm_for(t);
  } else {
    return false;
  }
  return true;
}

// Sizes the activation buffer (call before convert()).
void size_act(Prepared& p) {
  const MatJob& j = *p.j;
  if (p.path == Path::f32) return;
  if (p.path == Path::packed && kernels::layout_takes_act_q8_0(j.w.layout))
    p.act_stride = static_cast<size_t>(j.w.cols / 32) * sizeof(kernels::ActQ8_0);
  else
    p.act_stride = row_bytes(p.path == Path::packed ? DType::Q8_K : p.wt->vec_dot_type, j.w.cols);
  p.act.resize(p.act_stride * static_cast<size_t>(j.n));
}

// Converts all activation rows of the job (packed Q4_0 / Q8_0: ActQ8_0 blocks; packed
// Q4_K: Q8_K rows; otherwise the weight's vec_dot_type).
void convert(Prepared& p) {
  const MatJob& j = *p.j;
  if (p.path == Path::f32) return;
  if (p.path == Path::packed && kernels::layout_takes_act_q8_0(j.w.layout)) {
    kernels::quantize_act_q8_0(traits(DType::Q8_0).from_float, j.x, j.ldx, j.w.cols, j.n,
                               reinterpret_cast<kernels::ActQ8_0*>(p.act.data()));
    return;
  }
  const TypeTraits& at = traits(p.path == Path::packed ? DType::Q8_K : p.wt->vec_dot_type);
  for (int64_t r = 0; r < j.n; ++r) at.from_float(j.x + r * j.ldx, p.act.data() + r * p.act_stride, j.w.cols);
}

// Rows [r0, r1) of the job for every token (multiples of the grain, except at the end).
void run_rows(const Prepared& p, int64_t r0, int64_t r1) {
  const MatJob& j = *p.j;
  const WeightView& W = j.w;
  const auto* base = static_cast<const uint8_t*>(W.data);
  const int lanes = ggml_lanes();
  switch (p.path) {
    case Path::f32: {
      // ggml_vec_dot_f32: vectors over the largest multiple of 4 * lanes columns, then the
      // leftover products added one by one in plain float (not fused; checked bit for bit
      // against llama.cpp on attn_k_b rows of 48 columns).
      const auto ldw = static_cast<int64_t>(W.row_stride / sizeof(float));
      const auto* w = static_cast<const float*>(W.data);
      const int64_t np = W.cols - W.cols % (4 * lanes);
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
      return;
    }
    case Path::f16: {
      const auto ldw = static_cast<int64_t>(W.row_stride / sizeof(uint16_t));
      kernels::ggml_gemm_f16_avx2(W.cols, static_cast<const uint16_t*>(W.data), ldw, r0, r1,
                                  reinterpret_cast<const uint16_t*>(p.act.data()), W.cols, j.n, j.y, j.ldy, lanes,
                                  /*tiled=*/false);
      return;
    }
    case Path::packed:
      p.packed(W.cols, base + static_cast<size_t>(r0) * W.row_stride, (r1 - r0) / p.grain, p.act.data(), p.act_stride,
               j.n, /*n_gemm=*/0, j.y + r0, j.ldy);
      return;
    case Path::rows:
      if (p.rows_gemm) {
        p.rows_gemm(W.cols, base, W.row_stride, r0, r1, p.act.data(), p.act_stride, j.n, j.y, j.ldy);
        return;
      }
      [[fallthrough]];
    case Path::repack_order:
      for (int64_t tok = 0; tok < j.n; ++tok) {
        const void* a = p.act.data() + tok * p.act_stride;
        float* y = j.y + tok * j.ldy;
        for (int64_t r = r0; r < r1; ++r) {
          const void* w = base + r * W.row_stride;
          y[r] = p.path == Path::rows      ? p.wt->vec_dot(W.cols, w, a)
                 : W.type == DType::Q4_0 ? kernels::vec_dot_q4_0_q8_0_repack_avx2(W.cols, w, a)
                                         : kernels::vec_dot_q4_k_q8_k_repack_avx2(W.cols, w, a, /*per_pair=*/false);
        }
      }
      return;
  }
}

// A run of prepared jobs in one pass over the pool: activations converted one job per
// chunk, then the rows of all jobs split by cost (row_split.hpp), so that many small
// expert products cost one dispatch, not one each.
void run_prepared(std::vector<Prepared>& prep, ThreadPool& pool) {
  for (Prepared& p : prep) size_act(p);
  pool.run_chunks(static_cast<int64_t>(prep.size()), [&](int64_t i) { convert(prep[static_cast<size_t>(i)]); });
  std::vector<kernels::RowJob> rows;
  for (const Prepared& p : prep) rows.push_back({p.j->w.rows, p.grain, p.cost_per_row});
  const int64_t n_chunks = pool.size() == 1 ? 1 : kChunksPerThread * pool.size();
  pool.run_chunks(n_chunks, [&](int64_t c) {
    kernels::for_chunk_rows(rows, c, n_chunks, [&](size_t i, int64_t r0, int64_t r1) { run_rows(prep[i], r0, r1); });
  });
}

}  // namespace

void matmul_ops(std::span<const MatJob> jobs, ThreadPool& pool, const RowPrologue& prologue) {
  std::vector<MatmulJob> multi;
  std::vector<Prepared> prep;
  if (prologue && (jobs.empty() || jobs[0].order != MatOrder::mul_mat))
    fail("internal: a row prologue needs a plain product first");
  for (size_t i = 0; i < jobs.size();) {
    const MatJob& j = jobs[i];
    if (j.n <= 0 || j.w.rows <= 0) {
      ++i;
      continue;
    }
    if (j.order != MatOrder::mul_mat) {
      // Consecutive products in a llama.cpp per-row order: prepared together, one pass.
      prep.clear();
      size_t k = i;
      for (; k < jobs.size() && jobs[k].order != MatOrder::mul_mat; ++k) {
        if (jobs[k].n <= 0 || jobs[k].w.rows <= 0) continue;
        Prepared p;
        if (choose(jobs[k], p)) {
          prep.push_back(std::move(p));
        } else {  // no special order for this one on this CPU: the plain product
          const kernels::ReportPause reported_below;
          matmul(jobs[k].w, jobs[k].x, jobs[k].ldx, jobs[k].n, jobs[k].y, jobs[k].ldy, pool);
        }
      }
      if (!prep.empty()) run_prepared(prep, pool);
      for (size_t r = i; r < k; ++r)
        kernels::report_activations(jobs[r].w, jobs[r].order, jobs[r].x, jobs[r].ldx, jobs[r].n);
      i = k;
      continue;
    }
    // Consecutive plain products of the same input: one activation conversion, one pass.
    multi.clear();
    size_t k = i;
    for (; k < jobs.size() && jobs[k].order == MatOrder::mul_mat && jobs[k].x == j.x && jobs[k].ldx == j.ldx &&
           jobs[k].n == j.n;
         ++k)
      if (jobs[k].w.rows > 0) multi.push_back({&jobs[k].w, jobs[k].y, jobs[k].ldy});
    matmul_multi(multi.data(), static_cast<int>(multi.size()), j.x, j.ldx, j.n, pool,
                 i == 0 ? prologue : RowPrologue{});
    i = k;
  }
}

}  // namespace r1
