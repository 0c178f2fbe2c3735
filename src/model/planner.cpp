#include "model/planner.hpp"

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

}  // namespace

WeightPlan plan_weights(ModelWeights& w, const ModelConfig& cfg, const std::string& path, bool resident,
                        ThreadPool& pool, WeightStore& store) {
  WeightPlan plan;
  if (!resident) return plan;
  std::vector<BoundTensor*> mats;
  std::vector<WeightStore::Region> regions;
  for (BoundTensor& t : w.tensors())
    if (read_by_products(t) && t.file_offset > 0) {
      mats.push_back(&t);
      regions.push_back({t.file_offset, static_cast<size_t>(t.view.rows) * t.view.row_stride});
    }
  const std::vector<uint8_t*> at = store.load(path, regions, pool);
  if (at.empty()) return plan;
  plan.resident = true;
  for (size_t i = 0; i < mats.size(); ++i) {
    BoundTensor& t = *mats[i];
    t.view.data = at[i];
    if (!repackable(cfg.arch, t.spec, t.view.type)) continue;
    const WeightLayout layout = kernels::packed_layout_for(t.view.type, t.view.rows, t.view.cols);
    if (layout == WeightLayout::kRows || packing_unit(t) % kernels::layout_rows(layout) != 0) continue;
    if (pack_weight_in_place(t.view, &pool)) plan.packed_bytes += static_cast<size_t>(t.view.rows) * t.view.row_stride;
  }
  return plan;
}

}  // namespace r1
