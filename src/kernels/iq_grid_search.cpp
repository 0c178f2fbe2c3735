// The grid searches of iq_grid_search.hpp, built from the packed codebooks.
#include "kernels/iq_grid_search.hpp"

#include <algorithm>
#include <cassert>
#include <cfloat>
#include <mutex>

#include "kernels/iq_grids.hpp"

namespace r1::kernels {

namespace {
constexpr int kKeys = 1 << 16;

bool levels_below_3(int key) {
  for (int i = 0; i < 8; ++i)
    if (((key >> (2 * i)) & 3) == 3) return false;
  return true;
}
}  // namespace

IqGridSearch::IqGridSearch(const uint16_t* codes, int n, int nwant)
    : values_(static_cast<size_t>(n) * 8), map_(kKeys, -1), offset_(kKeys, 0) {
  for (int e = 0; e < n; ++e) {
    for (int i = 0; i < 8; ++i) values_[static_cast<size_t>(e) * 8 + i] = static_cast<int8_t>(2 * ((codes[e] >> (2 * i)) & 3) + 1);
    map_[codes[e]] = e;
  }
  // Quantizers clamp levels to 0..2, so only those keys are ever looked up.
  std::vector<std::pair<int, int>> dist(static_cast<size_t>(n));
  for (int key = 0; key < kKeys; ++key) {
    if (map_[key] >= 0 || !levels_below_3(key)) continue;
    for (int e = 0; e < n; ++e) {
      int d2 = 0;
      for (int i = 0; i < 8; ++i) {
        const int d = values_[static_cast<size_t>(e) * 8 + i] - (2 * ((key >> (2 * i)) & 3) + 1);
        d2 += d * d;
      }
      dist[static_cast<size_t>(e)] = {d2, e};
    }
    std::sort(dist.begin(), dist.end());
    offset_[key] = static_cast<int>(neighbours_.size());
    neighbours_.push_back(0);
    int have = 1, d2 = dist[0].first;
    for (const auto& [d, e] : dist) {
      if (d > d2) {
        if (have == nwant) break;
        d2 = d;
        ++have;
      }
      neighbours_.push_back(static_cast<uint16_t>(e));
    }
    neighbours_[static_cast<size_t>(offset_[key])] = static_cast<uint16_t>(neighbours_.size() - offset_[key] - 1);
  }
}

const IqGridSearch& IqGridSearch::for_type(DType type) {
  switch (type) {
    case DType::IQ2_XXS: {
      static const IqGridSearch s(iq_data::kIq2xxsCodes, 256, 2);
      return s;
    }
    case DType::IQ2_XS: {
      static const IqGridSearch s(iq_data::kIq2xsCodes, 512, 2);
      return s;
    }
    case DType::IQ2_S: {
      static const IqGridSearch s(iq_data::kIq2sCodes, 1024, 1);
      return s;
    }
    default: {
      assert(type == DType::IQ1_S || type == DType::IQ1_M);
      static const IqGridSearch s(iq_data::kIq1sCodes, 2048, 3);
      return s;
    }
  }
}

int IqGridSearch::best_neighbour(uint16_t key, const float* x, const float* w, float scale, int8_t* L) const {
  const uint16_t* nb = neighbours(key);
  assert(map_[key] < 0 && nb[0] > 0);
  float best = FLT_MAX;
  int best_entry = -1;
  for (int j = 1; j <= nb[0]; ++j) {
    float d2 = 0;
    for (int i = 0; i < 8; ++i) {
      const float q = value(nb[j], i);
      const float diff = scale * q - x[i];
      d2 += w[i] * diff * diff;
    }
    if (d2 < best) {
      best = d2;
      best_entry = nb[j];
    }
  }
  for (int i = 0; i < 8; ++i) L[i] = static_cast<int8_t>((value(best_entry, i) - 1) / 2);
  return best_entry;
}

}  // namespace r1::kernels
