// MLA KV cache: per layer and position one row of kv_lora_rank + qk_rope halves —
// the RMS-normalised latent followed by the RoPE'd shared key part — as llama.cpp's
// F16 K-only cache for deepseek2 (V is a view of the latent). Nothing per head.
// Layout: row(layer, pos) = data + (layer * n_ctx + pos) * row_elems.
// Memory is allocated uninitialised, so pages are touched only as positions fill.
#pragma once
#include <cstdint>
#include <memory>

#include "model/model.hpp"

namespace r1 {

class MlaKvCache final : public KvCache {
 public:
  MlaKvCache(int64_t n_layer, int64_t n_ctx, int64_t row_elems);
  int64_t n_ctx() const override { return n_ctx_; }
  int64_t n_past() const override { return n_past_; }
  void truncate(int64_t pos) override;
  size_t bytes() const override;

  uint16_t* row(int64_t layer, int64_t pos) { return data_.get() + (layer * n_ctx_ + pos) * row_; }
  const uint16_t* row(int64_t layer, int64_t pos) const { return data_.get() + (layer * n_ctx_ + pos) * row_; }
  void advance(int64_t n) { n_past_ += n; }
  int64_t row_elems() const { return row_; }

 private:
  int64_t n_layer_, n_ctx_, row_;
  int64_t n_past_ = 0;
  std::unique_ptr<uint16_t[]> data_;
};

}  // namespace r1
