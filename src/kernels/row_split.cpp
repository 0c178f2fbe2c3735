#include "kernels/row_split.hpp"

#include <algorithm>

namespace r1::kernels {

void for_chunk_rows(std::span<const RowJob> jobs, int64_t c, int64_t n_chunks,
                    const std::function<void(size_t, int64_t, int64_t)>& rows_fn) {
  double total = 0;
  for (const RowJob& j : jobs) total += j.cost_per_row * static_cast<double>(j.rows);
  const double lo = total * static_cast<double>(c) / static_cast<double>(n_chunks);
  const double hi = total * static_cast<double>(c + 1) / static_cast<double>(n_chunks);
  double at = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const RowJob& j = jobs[i];
    const double job_cost = j.cost_per_row * static_cast<double>(j.rows);
    if (at + job_cost > lo && at < hi) {
      const int64_t units = (j.rows + j.grain - 1) / j.grain;
      const double unit_cost = j.cost_per_row * static_cast<double>(j.grain);
      // First unit whose start is >= x: ceil((x - at) / unit_cost).
      auto first_at = [&](double x) {
        if (x <= at) return int64_t{0};
        const auto u = static_cast<int64_t>((x - at) / unit_cost);
        return std::min(units, at + static_cast<double>(u) * unit_cost < x ? u + 1 : u);
      };
      const int64_t u0 = c == 0 ? 0 : first_at(lo), u1 = c == n_chunks - 1 ? units : first_at(hi);
      if (u0 < u1) rows_fn(i, u0 * j.grain, std::min(j.rows, u1 * j.grain));
    }
    at += job_cost;
  }
}

}  // namespace r1::kernels
