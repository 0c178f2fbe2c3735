#include "model/kv_cache.hpp"

#include <new>

#include "base/error.hpp"

namespace r1 {

DenseKvCache::DenseKvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim)
    : n_layer_(n_layer), n_ctx_(n_ctx), kv_dim_(kv_dim) {
  uint64_t elems = 0;
  if (n_ctx < 1 || mul_overflows(static_cast<uint64_t>(n_layer) * static_cast<uint64_t>(kv_dim),
                                 static_cast<uint64_t>(n_ctx), &elems) ||
      elems > (uint64_t{1} << 40))
    fail("context size {} is too large for the KV cache", n_ctx);
  try {
    k_ = std::make_unique_for_overwrite<uint16_t[]>(elems);
    v_ = std::make_unique_for_overwrite<uint16_t[]>(elems);
  } catch (const std::bad_alloc&) {
    fail("cannot allocate a KV cache of {:.1f} MiB for a context of {} tokens", 4.0 * elems / (1 << 20), n_ctx);
  }
}

void DenseKvCache::truncate(int64_t pos) {
  if (pos < 0 || pos > n_past_) fail("cannot truncate the KV cache to {} (it holds {})", pos, n_past_);
  n_past_ = pos;
}

size_t DenseKvCache::bytes() const {
  return static_cast<size_t>(n_layer_ * n_ctx_ * kv_dim_) * 2 * sizeof(uint16_t);
}

}  // namespace r1
