// KV cache of the dense families: per layer, K and V rows of n_head_kv * head_dim
// values stored as IEEE half (as llama.cpp's default F16 cache).
// Layout: k[(layer * n_ctx + pos) * kv_dim + h * head_dim + d], same for v.
// Memory is allocated uninitialised, so pages are touched only as positions fill.
#pragma once
#include <cstdint>
#include <memory>

#include "model/model.hpp"

namespace r1 {

class DenseKvCache final : public KvCache {
 public:
  DenseKvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim);
  int64_t n_ctx() const override { return n_ctx_; }
  int64_t n_past() const override { return n_past_; }
  void truncate(int64_t pos) override;
  size_t bytes() const override;

  uint16_t* k_row(int64_t layer, int64_t pos) { return k_.get() + (layer * n_ctx_ + pos) * kv_dim_; }
  uint16_t* v_row(int64_t layer, int64_t pos) { return v_.get() + (layer * n_ctx_ + pos) * kv_dim_; }
  void advance(int64_t n) { n_past_ += n; }
  int64_t kv_dim() const { return kv_dim_; }

 private:
  int64_t n_layer_, n_ctx_, kv_dim_;
  int64_t n_past_ = 0;
  std::unique_ptr<uint16_t[]> k_, v_;
};

}  // namespace r1
