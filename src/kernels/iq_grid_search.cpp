// The grid searches of iq_grid_search.hpp, built from the packed codebooks.
#include "kernels/iq_grid_search.hpp"

#include <algorithm>
#include <cassert>
#include <cfloat>
#include <mutex>

#include "kernels/iq_grids.hpp"

namespace r1::kernels {

IqGridSearch::IqGridSearch(const uint16_t* codes, int n, int nwant, int group, int bits, int max_level)
    : group_(group),
      values_(static_cast<size_t>(n) * static_cast<size_t>(group)),
      map_(size_t{1} << (group * bits), -1),
      offset_(size_t{1} << (group * bits), 0) {
  const int keys = 1 << (group * bits), mask = (1 << bits) - 1;
  auto level = [&](int key, int i) { return (key >> (bits * i)) & mask; };
  for (int e = 0; e < n; ++e) {
    for (int i = 0; i < group; ++i)
      values_[static_cast<size_t>(e * group + i)] = static_cast<int8_t>(2 * level(codes[e], i) + 1);
    map_[codes[e]] = e;
  }
  std::vector<std::pair<int, int>> dist(static_cast<size_t>(n));
  for (int key = 0; key < keys; ++key) {
    bool formable = map_[key] < 0;
    for (int i = 0; i < group && formable; ++i) formable = level(key, i) <= max_level;
    if (!formable) continue;
    for (int e = 0; e < n; ++e) {
      int d2 = 0;
      for (int i = 0; i < group; ++i) {
        const int d = values_[static_cast<size_t>(e * group + i)] - (2 * level(key, i) + 1);
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
      static const IqGridSearch s(iq_data::kIq2xxsCodes, 256, 2, 8, 2, 2);
      return s;
    }
    case DType::IQ2_XS: {
      static const IqGridSearch s(iq_data::kIq2xsCodes, 512, 2, 8, 2, 2);
      return s;
    }
    case DType::IQ2_S: {
      static const IqGridSearch s(iq_data::kIq2sCodes, 1024, 1, 8, 2, 2);
      return s;
    }
    case DType::IQ3_XXS: {
      static const IqGridSearch s(iq_data::kIq3xxsCodes, 256, 2, 4, 3, 7);
      return s;
    }
    case DType::IQ3_S: {
      static const IqGridSearch s(iq_data::kIq3sCodes, 512, 3, 4, 3, 7);
      return s;
    }
    default: {
      assert(type == DType::IQ1_S || type == DType::IQ1_M);
      static const IqGridSearch s(iq_data::kIq1sCodes, 2048, 3, 8, 2, 2);
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
    for (int i = 0; i < group_; ++i) {
      const float q = value(nb[j], i);
      const float diff = scale * q - x[i];
      d2 += w[i] * diff * diff;
    }
    if (d2 < best) {
      best = d2;
      best_entry = nb[j];
    }
  }
  for (int i = 0; i < group_; ++i) L[i] = static_cast<int8_t>((value(best_entry, i) - 1) / 2);
  return best_entry;
}

}  // namespace r1::kernels
