// Nearest-grid-point search of the i-quant grids, as llama.cpp's iq2xs_init_impl and
// iq3xs_init_impl prepare it for their quantizers (internal to the kernels layer).
//
// A group (8 elements of 2-bit levels for IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M; 4 elements of
// 3-bit levels for IQ3_XXS, IQ3_S) is quantized to levels l[i] (values 2 l + 1); its key is
// sum l[i] << (bits i). `index(key)` is the grid entry with exactly those levels, or -1. For
// a key not on the grid, `neighbours(key)` lists the grid entries at the `nwant` smallest
// distinct squared distances sum ((2 l + 1) - g)^2, in (distance, index) order: nwant = 2 for
// IQ2_XXS / IQ2_XS / IQ3_XXS, 1 for IQ2_S, 3 for IQ1_S / IQ1_M / IQ3_S. Only the keys the
// quantizers can form are prepared (2-bit levels are clamped to 0..2). Built once per grid,
// thread-safe.
//
// best_neighbour(): of those, the entry minimising sum w[i] (scale g[i] - x[i])^2 (the first
// on ties); writes its levels to L and returns its index (ggml: iq2_find_best_neighbour /
// iq3_find_best_neighbour).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/types.hpp"

namespace r1::kernels {

class IqGridSearch {
 public:
  static const IqGridSearch& for_type(DType type);

  int index(uint16_t key) const { return map_[key]; }
  // entries = {count, e1, e2, ...}
  const uint16_t* neighbours(uint16_t key) const { return &neighbours_[static_cast<size_t>(offset_[key])]; }
  int8_t value(int entry, int i) const {
    return values_[static_cast<size_t>(entry) * static_cast<size_t>(group_) + static_cast<size_t>(i)];
  }
  int best_neighbour(uint16_t key, const float* x, const float* w, float scale, int8_t* L) const;

 private:
  IqGridSearch(const uint16_t* codes, int n, int nwant, int group, int bits, int max_level);
  int group_;
  std::vector<int8_t> values_;     // 2 l + 1 per element of every entry
  std::vector<int> map_, offset_;  // per key
  std::vector<uint16_t> neighbours_;
};

}  // namespace r1::kernels
