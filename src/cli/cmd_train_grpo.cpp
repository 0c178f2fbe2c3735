// r1 train grpo (placeholder while the implementation lands).
#include "base/error.hpp"
#include "cli/cmd_train.hpp"

namespace r1::cli {
Action setup_train_grpo(CLI::App& sub) {
  return [] () -> int { fail("train grpo: not implemented yet"); };
}
}  // namespace r1::cli
