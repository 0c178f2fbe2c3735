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
    return v;
  }
};

struct BoundTensor {
  TensorSpec spec;
  WeightView view;              // every tensor: the whole tensor as (rows(), shape[0])
  const float* values = nullptr;// vectors: shape[0] floats
  std::vector<float> owned;     // vectors converted from F16 / BF16
  uint64_t file_offset = 0;     // absolute offset of the data in the file (0: not from a file)
  size_t nbytes = 0;
};

class ModelWeights {
 public:
  // Bound tensors in registry order; the planner repoints their views.
  std::deque<BoundTensor>& tensors() { return tensors_; }
  const std::deque<BoundTensor>& tensors() const { return tensors_; }
  void add(BoundTensor t);

  const BoundTensor* find(TensorKind k, int64_t layer = -1) const;
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
// a legacy MLA layout). Tensors of skipped layers (multi-token prediction) are accepted
// unread; other unknown tensors are reported as warnings.
ModelWeights bind_file_weights(const gguf::File& file, ModelConfig& cfg);

// Binds `specs` to float32 buffers: tensor i at base + offsets[i] (the trainer's live
// parameters; nothing is copied, so later updates of the buffer are seen).
ModelWeights bind_float_weights(const std::vector<TensorSpec>& specs, const std::vector<size_t>& offsets,
                                const float* base);

}  // namespace r1
