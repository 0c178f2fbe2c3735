#include "model/deepseek2_matmul.hpp"

namespace r1 {

void grouped_matmul(std::span<const MatJob> jobs, ThreadPool& pool) {
  for (const MatJob& j : jobs)
    if (j.n > 0) matmul(j.w, j.x, j.ldx, j.n, j.y, j.ldy, pool);
}

}  // namespace r1
