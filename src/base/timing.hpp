// Monotonic wall-clock helpers.
#pragma once
#include <chrono>

namespace r1 {

inline double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace r1
