// The KV cache of every family: per layer and position one K row and one V row of F16
// values (llama.cpp's default cache type). The row sizes come from the config, per layer:
//   dense (GQA):     K and V rows of n_head_kv * head_dim halves
//   deepseek2 (MLA): a K row of kv_lora_rank + qk_rope halves (the normalised latent, then
//                    the RoPE'd shared key part) and no V row: V is the latent part of K.
// kv_layout() is the one formula for its size (Model::kv_bytes_per_token, r1 inspect).
// Layout: layer l's K rows at k(l, pos) = base + off_k[l] + pos * k_elems[l], likewise V.
// Memory is allocated uninitialised, so pages are touched only as positions fill.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "model/config.hpp"
#include "model/model.hpp"

namespace r1 {

struct KvRowShape {
  int64_t k = 0;  // halves of K per token
  int64_t v = 0;  // halves of V per token (0: V is part of K)
  bool operator==(const KvRowShape&) const = default;
};
std::vector<KvRowShape> kv_layout(const ModelConfig& c);  // one entry per layer
uint64_t kv_bytes_per_token(const ModelConfig& c);       // sum over layers of (k + v) * 2

class LayerKvCache final : public KvCache {
 public:
  // Throws r1::Error when n_ctx < 1 or the cache cannot be allocated.
  LayerKvCache(std::vector<KvRowShape> layout, int64_t n_ctx);
  int64_t n_ctx() const override { return n_ctx_; }
  int64_t n_past() const override { return n_past_; }
  void truncate(int64_t pos) override;
  size_t bytes() const override { return static_cast<size_t>(elems_) * sizeof(uint16_t); }
  std::vector<uint8_t> save(int64_t n) const override;
  void restore(std::span<const uint8_t> blob, int64_t n) override;
  size_t bytes_per_token() const override;

  const std::vector<KvRowShape>& layout() const { return layout_; }
  uint16_t* k_row(int64_t layer, int64_t pos) { return data_.get() + off_[layer].k + pos * layout_[layer].k; }
  uint16_t* v_row(int64_t layer, int64_t pos) { return data_.get() + off_[layer].v + pos * layout_[layer].v; }
  void advance(int64_t n) { n_past_ += n; }

 private:
  struct Offsets {
    uint64_t k = 0, v = 0;
  };
  std::vector<KvRowShape> layout_;
  std::vector<Offsets> off_;
  int64_t n_ctx_;
  int64_t n_past_ = 0;
  uint64_t elems_ = 0;
  std::unique_ptr<uint16_t[]> data_;
};

}  // namespace r1
