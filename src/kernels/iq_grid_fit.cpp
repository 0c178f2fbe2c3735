// fit_grid_block; contract in iq_grid_fit.hpp.
#include "kernels/iq_grid_fit.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/quant_util.hpp"
#include "kernels/quantize_iq_common.hpp"

namespace r1::kernels {

uint16_t grid_group_levels(const float* xval, float id, int group, int bits, int max_q, int8_t* L) {
  uint16_t u = 0;
  for (int i = 0; i < group; ++i) {
    const int l = std::max(0, std::min(max_q - 1, nearest_int(0.5f * (id * xval[i] - 1))));
    L[i] = static_cast<int8_t>(l);
    u |= static_cast<uint16_t>(l << (bits * i));
  }
  return u;
}

uint16_t grid_key(const int8_t* L, int group, int bits) {
  uint16_t u = 0;
  for (int i = 0; i < group; ++i) u |= static_cast<uint16_t>(L[i] << (bits * i));
  return u;
}

float fit_grid_block(const IqGridSearch& g, const GridFit& f, const float* xval, const float* weight,
                     const float* waux, float base, float scale0, int8_t* L) {
  int8_t Laux[32];
  bool on_grid[8], on_grid_aux[8];
  const int groups = f.n / f.group;
  std::fill(on_grid, on_grid + groups, f.on_grid0);
  float best = 0;
  float scale = scale0;
  for (int is = -f.trials; is <= f.trials; ++is) {
    const float id = (2 * f.max_q - 1 + static_cast<float>(is) * f.step) / base;
    const float this_scale = 1 / id;
    for (int k = 0; k < groups; ++k) {
      const int o = f.group * k;
      const uint16_t u = grid_group_levels(xval + o, id, f.group, f.bits, f.max_q, Laux + o);
      on_grid_aux[k] = g.index(u) >= 0;
      if (!on_grid_aux[k]) g.best_neighbour(u, xval + o, waux + o, this_scale, Laux + o);
    }
    float sumqx, sumq2;
    iq::fit_sums(weight, xval, Laux, f.n, &sumqx, &sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      std::memcpy(L, Laux, static_cast<size_t>(f.n));
      std::copy(on_grid_aux, on_grid_aux + groups, on_grid);
    }
  }
  const bool any_off = std::find(on_grid, on_grid + groups, false) != on_grid + groups;
  if ((f.refit_always || any_off) && scale > 0) {
    const float id = 1 / scale;
    for (int k = 0; k < groups; ++k) {
      if (!f.refit_all && on_grid[k]) continue;
      const int o = f.group * k;
      const uint16_t u = grid_group_levels(xval + o, id, f.group, f.bits, f.max_q, L + o);
      if (g.index(u) < 0) g.best_neighbour(u, xval + o, waux + o, scale, L + o);
    }
    float sumqx, sumq2;
    iq::fit_sums(weight, xval, L, f.n, &sumqx, &sumq2);
    if (sumq2 > 0) scale = sumqx / sumq2;
  }
  return scale;
}

}  // namespace r1::kernels
