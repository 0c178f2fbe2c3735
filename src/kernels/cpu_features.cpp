// avx512_active() and kernels_name() (dispatch.hpp). Baseline code: only asks the CPU.
#include <cstdlib>
#include <cstring>

#include "kernels/dispatch.hpp"

namespace r1 {

namespace {
bool detect_avx512() {
  if (active_isa() != Isa::kAvx2) return false;
  const char* env = std::getenv("R1_KERNELS");
  if (env && std::strcmp(env, "avx2") == 0) return false;
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}
}  // namespace

bool avx512_active() {
  static const bool yes = detect_avx512();
  return yes;
}

const char* kernels_name() {
  if (avx512_active()) return "avx2+avx512";
  return isa_name(active_isa());
}

}  // namespace r1
