// The block fit every grid i-quant quantizer runs (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S),
// in the float order of ggml-quants.c (internal to the kernels layer).
//
// For trial k in -trials..trials the inverse scale id = (2 kMaxQ - 1 + k step) / base maps
// every group of the block to its levels (off-grid keys to their best neighbour at scale
// 1 / id, iq_grid_search.hpp); the candidate with the largest (sum w x q)^2 / sum w q^2 wins
// (ties keep the earlier one) and gives scale = sum w x q / sum w q^2. Then, when scale > 0
// and (refit_always, or some group of the winner was off the grid), the groups (all when
// refit_all, else those that were off) are mapped again at that scale and the scale is
// re-fitted. If no trial wins, scale stays `scale0` and the groups count as `on_grid0`.
// Returns the scale; L holds on-grid levels of every group that was mapped.
#pragma once
#include <cstdint>

#include "kernels/iq_grid_search.hpp"

namespace r1::kernels {

struct GridFit {
  int n;          // block length (16 or 32)
  int group;      // elements per grid entry (8 or 4)
  int bits;       // bits per level in a key (2 or 3)
  int max_q;      // kMaxQ: levels 0 .. max_q - 1
  int trials;     // k in -trials .. trials
  float step;     // 0.1 or 0.2
  bool on_grid0;  // the groups' state when no trial wins
  bool refit_always;
  bool refit_all;
};

float fit_grid_block(const IqGridSearch& g, const GridFit& f, const float* xval, const float* weight,
                     const float* waux, float base, float scale0, int8_t* L);

// The levels of one group at inverse scale id (clamped to 0 .. max_q - 1) and their key.
uint16_t grid_group_levels(const float* xval, float id, int group, int bits, int max_q, int8_t* L);
uint16_t grid_key(const int8_t* L, int group, int bits);

}  // namespace r1::kernels
