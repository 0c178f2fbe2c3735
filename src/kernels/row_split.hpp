// How the rows of several products are split among the pool's threads: the rows of all
// jobs laid end to end in units of `grain` rows, cut into n_chunks chunks of equal cost;
// chunk c takes the units whose start falls in its share. Several chunks per thread,
// claimed dynamically, so a descheduled thread (shared machine) holds up at most one.
#pragma once
#include <cstdint>
#include <functional>
#include <span>

namespace r1::kernels {

struct RowJob {
  int64_t rows = 0;
  int64_t grain = 1;        // rows per indivisible unit (a packed group)
  double cost_per_row = 0;  // e.g. weight bytes per row
};

// Calls rows_fn(job, r0, r1) for each job's share of chunk c (r0 < r1, multiples of the
// grain except at a job's end). Every row of every job is in exactly one chunk.
void for_chunk_rows(std::span<const RowJob> jobs, int64_t c, int64_t n_chunks,
                    const std::function<void(size_t job, int64_t r0, int64_t r1)>& rows_fn);

}  // namespace r1::kernels
