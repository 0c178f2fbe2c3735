#include "model/deepseek2_cache.hpp"

#include <new>

#include "base/error.hpp"

namespace r1 {

MlaKvCache::MlaKvCache(int64_t n_layer, int64_t n_ctx, int64_t row_elems)
    : n_layer_(n_layer), n_ctx_(n_ctx), row_(row_elems) {
  uint64_t elems = 0;
  if (n_ctx < 1 || mul_overflows(static_cast<uint64_t>(n_layer) * static_cast<uint64_t>(row_elems),
                                 static_cast<uint64_t>(n_ctx), &elems) ||
      elems > (uint64_t{1} << 40))
    fail("context size {} is too large for the KV cache", n_ctx);
  try {
    data_ = std::make_unique_for_overwrite<uint16_t[]>(elems);
  } catch (const std::bad_alloc&) {
    fail("cannot allocate an MLA KV cache of {:.1f} MiB for a context of {} tokens", 2.0 * elems / (1 << 20), n_ctx);
  }
}

void MlaKvCache::truncate(int64_t pos) {
  if (pos < 0 || pos > n_past_) fail("cannot truncate the KV cache to {} (it holds {})", pos, n_past_);
  n_past_ = pos;
}

size_t MlaKvCache::bytes() const { return static_cast<size_t>(n_layer_ * n_ctx_ * row_) * sizeof(uint16_t); }

}  // namespace r1
