#include "model/kv_cache.hpp"

#include <cstring>

#include <new>

#include "base/error.hpp"

namespace r1 {

std::vector<KvRowShape> kv_layout(const ModelConfig& c) {
  const KvRowShape row = c.arch == Arch::deepseek2
                             ? KvRowShape{c.mla.kv_lora_rank + c.qk_rope(), 0}  // MLA: latent + rope key
                             : KvRowShape{c.n_head_kv * c.head_dim, c.n_head_kv * c.head_dim};
  return std::vector<KvRowShape>(static_cast<size_t>(c.n_layer), row);
}

uint64_t kv_bytes_per_token(const ModelConfig& c) {
  uint64_t halves = 0;
  for (const KvRowShape& r : kv_layout(c)) halves += static_cast<uint64_t>(r.k + r.v);
  return halves * sizeof(uint16_t);
}

LayerKvCache::LayerKvCache(std::vector<KvRowShape> layout, int64_t n_ctx)
    : layout_(std::move(layout)), off_(layout_.size()), n_ctx_(n_ctx) {
  if (n_ctx < 1) fail("context size {} is too large for the KV cache", n_ctx);
  uint64_t at = 0;
  for (size_t l = 0; l < layout_.size(); ++l) {
    uint64_t k = 0, v = 0;
    if (mul_overflows(static_cast<uint64_t>(layout_[l].k), static_cast<uint64_t>(n_ctx), &k) ||
        mul_overflows(static_cast<uint64_t>(layout_[l].v), static_cast<uint64_t>(n_ctx), &v) ||
        at + k + v > (uint64_t{1} << 40))
      fail("context size {} is too large for the KV cache", n_ctx);
    off_[l] = {at, at + k};
    at += k + v;
  }
  elems_ = at;
  try {
    data_ = std::make_unique_for_overwrite<uint16_t[]>(elems_);
  } catch (const std::bad_alloc&) {
    fail("cannot allocate a KV cache of {:.1f} MiB for a context of {} tokens", 2.0 * static_cast<double>(elems_) / (1 << 20),
         n_ctx);
  }
}

size_t LayerKvCache::bytes_per_token() const {
  size_t n = 0;
  for (const KvRowShape& r : layout_) n += static_cast<size_t>(r.k + r.v) * sizeof(uint16_t);
  return n;
}

// Blob layout: per layer, the K rows of positions [0, n), then its V rows.
std::vector<uint8_t> LayerKvCache::save(int64_t n) const {
  if (n < 0 || n > n_past_) fail("cannot save {} KV positions (the cache holds {})", n, n_past_);
  std::vector<uint8_t> blob(bytes_per_token() * static_cast<size_t>(n));
  uint8_t* out = blob.data();
  for (size_t l = 0; l < layout_.size(); ++l)
    for (auto [off, width] : {std::pair{off_[l].k, layout_[l].k}, std::pair{off_[l].v, layout_[l].v}}) {
      const size_t bytes = static_cast<size_t>(width * n) * sizeof(uint16_t);
      std::memcpy(out, data_.get() + off, bytes);
      out += bytes;
    }
  return blob;
}

void LayerKvCache::restore(std::span<const uint8_t> blob, int64_t n) {
  if (n < 0 || n > n_ctx_) fail("cannot restore {} KV positions into a context of {}", n, n_ctx_);
  if (blob.size() != bytes_per_token() * static_cast<size_t>(n))
    fail("KV data of {} bytes is not {} positions of this model's cache ({} bytes each)", blob.size(), n, bytes_per_token());
  const uint8_t* in = blob.data();
  for (size_t l = 0; l < layout_.size(); ++l)
    for (auto [off, width] : {std::pair{off_[l].k, layout_[l].k}, std::pair{off_[l].v, layout_[l].v}}) {
      const size_t bytes = static_cast<size_t>(width * n) * sizeof(uint16_t);
      std::memcpy(data_.get() + off, in, bytes);
      in += bytes;
    }
  n_past_ = n;
}

void LayerKvCache::truncate(int64_t pos) {
  if (pos < 0 || pos > n_past_) fail("cannot truncate the KV cache to {} (it holds {})", pos, n_past_);
  n_past_ = pos;
}

}  // namespace r1
