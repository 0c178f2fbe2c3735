// A model's weights bound by the registry (registry/registry.hpp): one BoundTensor per
// TensorSpec, matrices as views (into the file's memory map, the planner's resident copy,
// or the trainer's live float buffers), vectors as F32 values. Recipes look weights up by
// kind and layer; no code outside the registry spells a tensor name.
// Shapes in comments are (rows, cols) with cols contiguous (GGML ne[0] = cols).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "kernels/matmul.hpp"
#include "model/registry/registry.hpp"

namespace r1 {

class ThreadPool;
namespace gguf {
class File;
}

// One matrix per expert (or head) inside a 3-D tensor: matrix i starts i * stride bytes
// after w.data and has w.rows rows.
struct StackedWeight {
  WeightView w;
  size_t stride = 0;
  WeightView at(int64_t i) const {
    WeightView v = w;
    v.data = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(i) * stride;
    v.slice = static_cast<int32_t>(i);
    return v;
  }
};

struct BoundTensor {
  TensorSpec spec;
  WeightView view;              // every tensor: the whole tensor as (rows(), shape[0])
  const float* values = nullptr;// vectors: shape[0] floats
  std::vector<float> owned;     // vectors converted from F16 / BF16
  uint64_t file_offset = 0;     // absolute offset of the data in the file (0: not from a file)
  size_t nbytes = 0;            // what it takes in memory once planned
  // 3-D tensors that are a strided view of another one (legacy MLA attn_v_b): bytes from
  // one stacked matrix to the next; the rows of one matrix are contiguous, the matrices
  // are not (use ModelWeights::stacked). 0: contiguous.
  size_t matrix_stride = 0;
  // Derived at load from another bound tensor (legacy MLA: attn_k_b and attn_v_b of
  // attn_kv_b; see bind_file_weights). A derived tensor with no data yet (view.data
  // null) is computed by plan_weights.
  const BoundTensor* source = nullptr;
};

class ModelWeights {
 public:
  // Bound tensors in registry order; the planner repoints their views.
  std::deque<BoundTensor>& tensors() { return tensors_; }
  const std::deque<BoundTensor>& tensors() const { return tensors_; }
  void add(BoundTensor t);

  const BoundTensor* find(TensorKind k, int64_t layer = -1) const;
  BoundTensor* find(TensorKind k, int64_t layer = -1);
  // A matrix that must be bound (an internal error otherwise: the registry lists it).
  const WeightView& matrix(TensorKind k, int64_t layer = -1) const;
  // A vector, or null when the file does not have it.
  const float* vector(TensorKind k, int64_t layer = -1) const;
  // A 3-D tensor (n matrices of rows_each rows) as stacked matrices of `rows` rows
  // starting `row0` rows into each (fused gate/up experts: gate = rows [0, F), up = [F, 2F)).
  StackedWeight stacked(TensorKind k, int64_t layer, int64_t rows_each, int64_t rows, int64_t row0 = 0) const;
  size_t bytes() const { return bytes_; }  // of the bound (run) tensors

 private:
  static uint64_t key(TensorKind k, int64_t layer) {
    return static_cast<uint64_t>(layer + 1) * static_cast<uint64_t>(TensorKind::count) + static_cast<uint64_t>(k);
  }
  std::deque<BoundTensor> tensors_;  // stable addresses: views point at their spec names
  std::unordered_map<uint64_t, size_t> index_;
  size_t bytes_ = 0;
};

// Binds every tensor the registry lists for the file's config and checks its shape and
// type. Sets cfg.n_vocab (rows of the embedding) and cfg.tied_output. Throws r1::Error
// naming the file and tensor (missing, wrong shape, a type that cannot be computed with,
// tensors of the other MLA layout than the metadata describes). Tensors of skipped
// layers (multi-token prediction) are accepted unread; other unknown tensors are
// reported as warnings.
//
// Legacy MLA layout (cfg.mla.legacy_kv_b): each attn_kv_b is bound (nbytes 0: it is not
// read by any product) together with the two tensors the split layout stores, so that
// both layouts run the same code:
//   attn_v_b  a strided view of its V rows (matrix_stride = (nope + v) rows per head);
//             the planner copies just those rows into the resident store, contiguous
//   attn_k_b  the transpose of its K rows, computed by plan_weights (no data until then)
//             in legacy_k_b_type(kv_b's type)
ModelWeights bind_file_weights(const gguf::File& file, ModelConfig& cfg);

// The type r1 stores the derived attn_k_b of a legacy MLA file in: the file's type for
// F32 / F16 / BF16 (exact), F16 for quantized kv_b (see docs/deepseek2.md for why and
// what it costs).
DType legacy_k_b_type(DType kv_b_type);

// attn_k_b of a legacy attn_kv_b (per head: qk_nope K rows, then the V rows; rows of
// kv_lora_rank): matrix h (kv_lora_rank rows of qk_nope) is the transpose of head h's K
// rows, dequantized and stored as `type` at dst (n_head * kv_lora_rank rows of
// row_bytes(type, qk_nope)). Used at load (planner) and by gen-model. Throws r1::Error
// naming kv_b for a value outside the type's range.
void derive_legacy_k_b(const WeightView& kv_b, int64_t n_head, int64_t qk_nope, DType type, uint8_t* dst,
                       ThreadPool& pool);

// Binds `specs` to float32 buffers: tensor i at base + offsets[i] (the trainer's live
// parameters; nothing is copied, so later updates of the buffer are seen).
ModelWeights bind_float_weights(const std::vector<TensorSpec>& specs, const std::vector<size_t>& offsets,
                                const float* base);

}  // namespace r1
