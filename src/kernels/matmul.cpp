// Weight x activation products built on the traits table's vec_dot kernels and on the
// packed-layout kernels (repack.hpp).
//
// Threading: the rows of all jobs of a call form one range, split among the threads in
// proportion to their bytes, so each thread streams one contiguous run of weights per
// job (decode is bound by memory bandwidth). Activations are converted once per call
// and format, before the split, and shared by all threads.
#include "kernels/matmul.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kernels/activation_observer.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/gemm_rows.hpp"
#include "kernels/ggml_order.hpp"
#include "kernels/ggml_vec.hpp"
#include "kernels/repack.hpp"
#include "kernels/row_split.hpp"
#include "kernels/types.hpp"

namespace r1 {

namespace {

// Output rows computed together against every token: the tile of weight rows stays in
// cache while the activation rows stream past it.
constexpr int64_t kRowTile = 16;
// Chunks of a matmul_multi call per thread (see the work split there).
constexpr int64_t kChunksPerThread = 4;

const TypeTraits& weight_traits(const WeightView& W, const TypeTraits* t) {
  if (!t) fail("tensor '{}': type {} is not supported by this build", W.name, dtype_name(W.type));
  if (!t->vec_dot) fail("tensor '{}': type {} cannot be used as a matrix", W.name, dtype_name(W.type));
  if (W.cols % t->block_size != 0)
    fail("tensor '{}': {} columns is not a multiple of the {} block size {}", W.name, W.cols, t->name,
         t->block_size);
  return *t;
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
  // The same tinyBLAS order with 512-bit register tiles (bit-identical).
  const bool wide_tiles = tiled && lanes == 16 && avx512_active();
  if (W.type == DType::F32) {
    const auto* w = static_cast<const float*>(W.data);
    const auto ldw = static_cast<int64_t>(W.row_stride / sizeof(float));
    pool.parallel_for(
        W.rows,
        [&](int64_t r0, int64_t r1, int) {
          if (wide_tiles) kernels::ggml_gemm_f32_tiled_avx512(W.cols, w, ldw, r0, r1, X, ldx, n_tokens, Y, ldy);
          else kernels::ggml_gemm_f32_avx2(W.cols, w, ldw, r0, r1, X, ldx, n_tokens, Y, ldy, lanes, tiled);
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
        if (wide_tiles) kernels::ggml_gemm_f16_tiled_avx512(W.cols, w, ldw, r0, r1, xh.data(), W.cols, n_tokens, Y, ldy);
        else kernels::ggml_gemm_f16_avx2(W.cols, w, ldw, r0, r1, xh.data(), W.cols, n_tokens, Y, ldy, lanes, tiled);
      },
      kRowTile / 4);
  return true;
}

// ---------------------------------------------------------------- quantized jobs

// Activation formats a call may need: the ActQ8_0 of the Q4_0x8 kernels, or the rows
// of a vec_dot_type.
struct ActBuffer {
  bool act_q8_0 = false;  // ActQ8_0 blocks (else rows of `type`)
  DType type = DType::F32;
  int64_t cols = 0;
  size_t stride = 0;
  std::vector<uint8_t> bytes;
};

struct Prepared {
  const WeightView* W;
  const TypeTraits* wt;
  float* Y;
  int64_t ldy;
  const ActBuffer* act;
  int64_t grain;        // rows per indivisible unit (8 for packed groups)
  double cost_per_row;  // bytes of weights per row
};

// Rows [r0, r1) of one job for every token (r0, r1 multiples of the job's grain).
void run_rows(const Prepared& p, int64_t r0, int64_t r1, int64_t n_tokens) {
  const WeightView& W = *p.W;
  const uint8_t* act = p.act->bytes.data();
  const size_t stride = p.act->stride;
  const auto* base = static_cast<const uint8_t*>(W.data);
  if (W.layout != WeightLayout::kRows) {
    const kernels::PackedGemmFn fn = kernels::packed_gemm(W.layout);
    fn(W.cols, base + static_cast<size_t>(r0) * W.row_stride, (r1 - r0) / kernels::layout_rows(W.layout), act, stride, n_tokens,
       n_tokens - n_tokens % 4, p.Y + r0, p.ldy);
    return;
  }
  if (const kernels::RowsGemmFn fn = kernels::rows_gemm_for(W.type)) {
    fn(W.cols, base, W.row_stride, r0, r1, act, stride, n_tokens, p.Y, p.ldy);
    return;
  }
  // Row-major Q4_0 / Q4_K with rows % 8 == 0: llama.cpp repacks these, so follow its
  // kernels' float order (ggml_order.hpp) one row at a time.
  const bool repack_order = active_isa() == Isa::kAvx2 && W.rows % 8 == 0 &&
                            (W.type == DType::Q4_0 || W.type == DType::Q4_K);
  const int64_t n_gemm = n_tokens - n_tokens % 4;
  for (int64_t a0 = r0; a0 < r1; a0 += kRowTile) {
    const int64_t a1 = std::min(r1, a0 + kRowTile);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const void* a = act + t * stride;
      float* y = p.Y + t * p.ldy;
      for (int64_t r = a0; r < a1; ++r) {
        const void* w = base + r * W.row_stride;
        if (!repack_order)
          y[r] = p.wt->vec_dot(W.cols, w, a);
        else if (W.type == DType::Q4_0)
          y[r] = kernels::vec_dot_q4_0_q8_0_repack_avx2(W.cols, w, a);
        else
          y[r] = kernels::vec_dot_q4_k_q8_k_repack_avx2(W.cols, w, a, t < n_gemm);
      }
    }
  }
}

// Sizes b for n_tokens rows (call before convert_rows).
void size_buffer(ActBuffer& b, int64_t n_tokens) {
  b.stride = b.act_q8_0 ? static_cast<size_t>(b.cols / 32) * sizeof(kernels::ActQ8_0) : row_bytes(b.type, b.cols);
  b.bytes.resize(b.stride * static_cast<size_t>(n_tokens));
}

// Converts rows [t0, t1) of X into b.
void convert_rows(ActBuffer& b, const float* X, int64_t ldx, int64_t t0, int64_t t1) {
  const TypeTraits& at = traits(b.act_q8_0 ? DType::Q8_0 : b.type);
  uint8_t* dst = b.bytes.data();
  if (b.act_q8_0) {
    kernels::quantize_act_q8_0(at.from_float, X + t0 * ldx, ldx, b.cols, t1 - t0,
                               reinterpret_cast<kernels::ActQ8_0*>(dst + t0 * b.stride));
  } else {
    for (int64_t t = t0; t < t1; ++t) at.from_float(X + t * ldx, dst + t * b.stride, b.cols);
  }
}

// True where matmul_ggml_order() takes the product (it reads X as floats).
bool takes_ggml_order(const WeightView& W) {
  return W.layout == WeightLayout::kRows && active_isa() == Isa::kAvx2 &&
         (W.type == DType::F32 || W.type == DType::F16);
}

}  // namespace

namespace kernels {
RowsGemmFn rows_gemm_for(DType type) {
  if (active_isa() != Isa::kAvx2) return nullptr;
  const bool wide = avx512_active();
  if (type == DType::Q8_0) return wide ? gemm_q8_0_rows_avx512 : gemm_q8_0_rows_avx2;
  if (type == DType::Q6_K) return wide ? gemm_q6_k_rows_avx512 : gemm_q6_k_rows_avx2;
  switch (type) {
    case DType::IQ2_XXS: return gemm_iq2_xxs_rows_avx2;
    case DType::IQ2_XS: return gemm_iq2_xs_rows_avx2;
    case DType::IQ2_S: return gemm_iq2_s_rows_avx2;
    case DType::IQ3_XXS: return gemm_iq3_xxs_rows_avx2;
    case DType::IQ3_S: return gemm_iq3_s_rows_avx2;
    case DType::IQ4_XS: return gemm_iq4_xs_rows_avx2;
    case DType::IQ1_S: return gemm_iq1_s_rows_avx2;
    case DType::IQ1_M: return gemm_iq1_m_rows_avx2;
    default: return nullptr;
  }
}
}  // namespace kernels

namespace {

// Computes the jobs that take llama.cpp's F32 / F16 path at once and prepares the rest:
// their entries in `prep` and their activations converted into `acts` (one buffer per
// format, shared by the jobs that need it).
void prepare_jobs(const MatmulJob* jobs, int n_jobs, const float* X, int64_t ldx, int64_t n_tokens, ThreadPool& pool,
                  const RowPrologue& prologue, std::vector<Prepared>& prep, std::vector<ActBuffer>& acts) {
  bool input_ready = !prologue;
  for (int i = 0; i < n_jobs && !input_ready; ++i)
    if (jobs[i].W->rows > 0 && takes_ggml_order(*jobs[i].W)) {
      pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1, int) { prologue(t0, t1); });
      input_ready = true;
    }
  acts.reserve(static_cast<size_t>(n_jobs));  // pointers into it stay valid
  for (int i = 0; i < n_jobs; ++i) {
    const WeightView& W = *jobs[i].W;
    const TypeTraits& wt = weight_traits(W, find_traits(W.type));
    if (W.rows <= 0) continue;
    const TypeTraits& at = traits(wt.vec_dot_type);
    if (W.layout == WeightLayout::kRows &&
        matmul_ggml_order(W, X, ldx, n_tokens, jobs[i].Y, jobs[i].ldy, pool, at))
      continue;
    const bool act_q8_0 = kernels::layout_takes_act_q8_0(W.layout);
    const DType vt = wt.vec_dot_type;
    const ActBuffer* buf = nullptr;
    for (const ActBuffer& b : acts)
      if (b.act_q8_0 == act_q8_0 && (act_q8_0 || b.type == vt) && b.cols == W.cols) buf = &b;
    if (!buf) {
      acts.push_back(ActBuffer{.act_q8_0 = act_q8_0, .type = vt, .cols = W.cols, .stride = 0, .bytes = {}});
      buf = &acts.back();
    }
    const int64_t grain = W.layout != WeightLayout::kRows ? kernels::layout_rows(W.layout) : 4;
    prep.push_back({&W, &wt, jobs[i].Y, jobs[i].ldy, buf, grain, static_cast<double>(row_bytes(W.type, W.cols))});
  }
  // Each thread writes (prologue) and converts its own token rows, in one pass.
  for (ActBuffer& b : acts) size_buffer(b, n_tokens);
  if (acts.empty() && input_ready) return;
  pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1, int) {
    if (!input_ready) prologue(t0, t1);
    for (ActBuffer& b : acts) convert_rows(b, X, ldx, t0, t1);
  });
}

void multi_products(const MatmulJob* jobs, int n_jobs, const float* X, int64_t ldx, int64_t n_tokens,
                    ThreadPool& pool, const RowPrologue& prologue) {
  // F32 / F16 weights keep their own llama.cpp-order path; the rest share one pass.
  std::vector<Prepared> prep;
  std::vector<ActBuffer> acts;
  prepare_jobs(jobs, n_jobs, X, ldx, n_tokens, pool, prologue, prep, acts);
  if (prep.empty()) return;

  // One pass over all jobs' rows, cut by weight bytes (row_split.hpp).
  std::vector<kernels::RowJob> rows;
  for (const Prepared& p : prep) rows.push_back({p.W->rows, p.grain, p.cost_per_row});
  const int64_t n_chunks = pool.size() == 1 ? 1 : kChunksPerThread * pool.size();
  pool.run_chunks(n_chunks, [&](int64_t c) {
    kernels::for_chunk_rows(rows, c, n_chunks,
                            [&](size_t i, int64_t r0, int64_t r1) { run_rows(prep[i], r0, r1, n_tokens); });
  });
}

}  // namespace

void matmul_multi(const MatmulJob* jobs, int n_jobs, const float* X, int64_t ldx, int64_t n_tokens,
                  ThreadPool& pool, const RowPrologue& prologue) {
  if (n_tokens <= 0) return;
  multi_products(jobs, n_jobs, X, ldx, n_tokens, pool, prologue);
  for (int i = 0; i < n_jobs; ++i) kernels::report_activations(*jobs[i].W, MatOrder::mul_mat, X, ldx, n_tokens);
}

void matmul_swiglu(const WeightView& gate, const WeightView& up, const float* X, int64_t ldx, int64_t n_tokens,
                   float* Y, int64_t ldy, float* U, int64_t ldu, ThreadPool& pool, const RowPrologue& prologue) {
  if (n_tokens <= 0) return;
  const MatmulJob jobs[] = {{&gate, Y, ldy}, {&up, U, ldu}};
  const int lanes = ggml_lanes();
  // Fused when both products take the quantized path in row units that keep every
  // slice aligned to the SwiGLU kernel's vectors (so it rounds exactly as one call per row).
  constexpr int64_t kUnit = 16;
  const bool fusable = gate.rows == up.rows && gate.cols == up.cols && gate.rows % kUnit == 0 &&
                       kUnit % lanes == 0 && !takes_ggml_order(gate) && !takes_ggml_order(up);
  if (!fusable) {
    matmul_multi(jobs, 2, X, ldx, n_tokens, pool, prologue);  // reports both products
    for (int64_t t = 0; t < n_tokens; ++t) ggml_swiglu(Y + t * ldy, U + t * ldu, gate.rows, Y + t * ldy, lanes);
    return;
  }
  std::vector<Prepared> prep;
  std::vector<ActBuffer> acts;
  prepare_jobs(jobs, 2, X, ldx, n_tokens, pool, prologue, prep, acts);
  assert(prep.size() == 2);
  const int64_t units = gate.rows / kUnit;
  const int64_t n_chunks = pool.size() == 1 ? 1 : kChunksPerThread * pool.size();
  pool.run_chunks(n_chunks, [&](int64_t c) {
    const int64_t r0 = units * c / n_chunks * kUnit, r1 = units * (c + 1) / n_chunks * kUnit;
    if (r0 >= r1) return;
    run_rows(prep[0], r0, r1, n_tokens);
    run_rows(prep[1], r0, r1, n_tokens);
    for (int64_t t = 0; t < n_tokens; ++t) ggml_swiglu(Y + t * ldy + r0, U + t * ldu + r0, r1 - r0, Y + t * ldy + r0, lanes);
  });
  kernels::report_activations(gate, MatOrder::mul_mat, X, ldx, n_tokens);
  kernels::report_activations(up, MatOrder::mul_mat, X, ldx, n_tokens);
}

void matmul(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y, int64_t ldy,
            ThreadPool& pool) {
  const MatmulJob job{&W, Y, ldy};
  matmul_multi(&job, 1, X, ldx, n_tokens, pool);
}

bool pack_weight_in_place(WeightView& W, ThreadPool* pool) {
  if (W.layout != WeightLayout::kRows) return false;
  const WeightLayout layout = kernels::packed_layout_for(W.type, W.rows, W.cols);
  if (layout == WeightLayout::kRows || W.row_stride != row_bytes(W.type, W.cols)) return false;
  // The weights usually live in a read-only private file mapping: make its pages
  // writable (copy-on-write; the file is never changed). They stay writable: the range
  // may share pages with other memory whose protection we do not know (heap).
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(W.data);
  const size_t bytes = static_cast<size_t>(W.rows) * W.row_stride;
  const uintptr_t p0 = begin & ~(page - 1), p1 = (begin + bytes + page - 1) & ~(page - 1);
  if (mprotect(reinterpret_cast<void*>(p0), p1 - p0, PROT_READ | PROT_WRITE) != 0) return false;
  auto* data = const_cast<void*>(W.data);
  const int64_t G = kernels::layout_rows(layout), groups = W.rows / G;
  auto pack = [&](int64_t g0, int64_t g1, int) {
    kernels::pack_rows(layout, static_cast<uint8_t*>(data) + static_cast<size_t>(g0 * G) * W.row_stride, g1 - g0,
                       W.cols);
  };
  if (pool)
    pool->parallel_for(groups, pack);
  else
    pack(0, groups, 0);
  W.layout = layout;
  return true;
}

void matmul_reference(const WeightView& W, const float* X, int64_t ldx, int64_t n_tokens, float* Y,
                      int64_t ldy) {
  const TypeTraits& wt = weight_traits(W, find_reference_traits(W.type));
  if (W.rows <= 0 || n_tokens <= 0) return;
  const TypeTraits* at = find_reference_traits(wt.vec_dot_type);
  const size_t act_stride = row_bytes(wt.vec_dot_type, W.cols);
  std::vector<uint8_t> converted(act_stride * static_cast<size_t>(n_tokens));
  for (int64_t t = 0; t < n_tokens; ++t) at->from_float(X + t * ldx, converted.data() + t * act_stride, W.cols);
  std::vector<uint8_t> row(row_bytes(W.type, W.cols));
  const auto* base = static_cast<const uint8_t*>(W.data);
  for (int64_t r = 0; r < W.rows; ++r) {
    const void* w = base + r * W.row_stride;
    if (W.layout != WeightLayout::kRows) {
      kernels::packed_row(W.layout, W.data, W.cols, r, row.data());
      w = row.data();
    }
    for (int64_t t = 0; t < n_tokens; ++t)
      Y[t * ldy + r] = wt.vec_dot(W.cols, w, converted.data() + t * act_stride);
  }
}

void dequantize_row(const WeightView& W, int64_t row, float* dst) {
  const TypeTraits* t = find_traits(W.type);
  if (!t || !t->to_float) fail("tensor '{}': type {} is not supported by this build", W.name, dtype_name(W.type));
  if (W.cols % t->block_size != 0)
    fail("tensor '{}': {} columns is not a multiple of the {} block size {}", W.name, W.cols, t->name,
         t->block_size);
  if (row < 0 || row >= W.rows) fail("tensor '{}': row {} out of range [0, {})", W.name, row, W.rows);
  if (W.layout != WeightLayout::kRows) {
    std::vector<uint8_t> tmp(row_bytes(W.type, W.cols));
    kernels::packed_row(W.layout, W.data, W.cols, row, tmp.data());
    t->to_float(tmp.data(), dst, W.cols);
    return;
  }
  t->to_float(static_cast<const uint8_t*>(W.data) + row * W.row_stride, dst, W.cols);
}

}  // namespace r1
