// Memory planning for large (MoE) models: refuse early, with a clear message, to run
// a model whose weights do not fit in the memory the system has available, unless
// the user opts into running from the memory map with weights paged in from disk
// (ModelOptions::allow_paging) — the way people run R1 671B on smaller machines.
#pragma once
#include <cstdint>
#include <string>

namespace r1 {

// MemAvailable from /proc/meminfo in bytes; 0 when it cannot be read.
uint64_t mem_available_bytes();

// Throws r1::Error naming `file` when weight_bytes > available (available > 0) and
// paging was not allowed; logs a warning when it was. available == 0: no check.
void check_weights_fit(const std::string& file, uint64_t weight_bytes, uint64_t available, bool allow_paging);

}  // namespace r1
