#include "model/planner.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "kernels/repack.hpp"

namespace r1 {

namespace {

bool read_by_products(const BoundTensor& t) {
  return t.spec.op == Op::mul_mat || t.spec.op == Op::mul_mat_id || t.spec.op == Op::mul_mat_3d;
}

// Rows of one view of one matrix of a stacked tensor: a packed group must not straddle two.
int64_t packing_unit(const BoundTensor& t) {
  if (t.spec.op != Op::mul_mat_id) return t.view.rows;
  const int64_t per_expert = t.spec.shape[1];
  return t.spec.kind == TensorKind::ffn_gate_up_exps ? per_expert / 2 : per_expert;
}

// Where a tensor's bytes are in the file: one run, or one per stacked matrix for a
// strided view (legacy MLA attn_v_b), copied contiguously.
WeightStore::Region region_of(const BoundTensor& t) {
  if (t.matrix_stride == 0) return {t.file_offset, static_cast<size_t>(t.view.rows) * t.view.row_stride};
  const int64_t rows_each = t.spec.shape[1];
  return {t.file_offset, static_cast<size_t>(rows_each) * t.view.row_stride,
          static_cast<size_t>(t.view.rows / rows_each), t.matrix_stride};
}

// The pages of the memory map under `v` are not needed again (resident: the legacy
// attn_kv_b's K rows, read once to derive attn_k_b; its V rows were copied): drop them
// from this process, so that they do not add to its memory while the rest is derived.
void release_map_pages(const WeightView& v) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(v.data);
  const uintptr_t end = begin + static_cast<uintptr_t>(v.rows) * v.row_stride;
  const uintptr_t b = (begin + page - 1) / page * page, e = end / page * page;
  if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

// Computes every derived tensor that has no data yet into memory of the store.
void derive_tensors(ModelWeights& w, ThreadPool& pool, WeightStore& store, bool resident) {
  size_t total = 0;
  for (const BoundTensor& t : w.tensors())
    if (t.source && !t.view.data) total += (t.nbytes + 63) / 64 * 64;
  if (total == 0) return;
  uint8_t* at = store.allocate(total);
  for (BoundTensor& t : w.tensors()) {
    if (!t.source || t.view.data) continue;
    if (t.spec.kind != TensorKind::attn_k_b) fail("internal: no rule derives '{}'", t.spec.name);
    derive_legacy_k_b(t.source->view, t.spec.shape[2], t.spec.shape[0], t.view.type, at, pool);
    t.view.data = at;
    at += (t.nbytes + 63) / 64 * 64;
    if (resident) release_map_pages(t.source->view);
  }
}

}  // namespace

WeightPlan plan_weights(ModelWeights& w, const ModelConfig& cfg, const std::string& path, bool resident,
                        ThreadPool& pool, WeightStore& store) {
  WeightPlan plan;
  if (resident) {
    std::vector<BoundTensor*> mats;
    std::vector<WeightStore::Region> regions;
    for (BoundTensor& t : w.tensors())
      if (read_by_products(t) && t.file_offset > 0) {
        mats.push_back(&t);
        regions.push_back(region_of(t));
      }
    const std::vector<uint8_t*> at = store.load(path, regions, pool);
    plan.resident = !at.empty();
    for (size_t i = 0; i < at.size(); ++i) {
      BoundTensor& t = *mats[i];
      t.view.data = at[i];
      t.matrix_stride = 0;  // the matrices of a strided view are now contiguous
      if (!repackable(cfg.arch, t.spec, t.view.type)) continue;
      const WeightLayout layout = kernels::packed_layout_for(t.view.type, t.view.rows, t.view.cols);
      if (layout == WeightLayout::kRows || packing_unit(t) % kernels::layout_rows(layout) != 0) continue;
      if (pack_weight_in_place(t.view, &pool)) plan.packed_bytes += static_cast<size_t>(t.view.rows) * t.view.row_stride;
    }
  }
  derive_tensors(w, pool, store, plan.resident);
  return plan;
}

}  // namespace r1
