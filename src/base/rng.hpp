// Deterministic random numbers for weights: SplitMix64 streams seeded per tensor name, so
// the values of a tensor do not depend on the order tensors are made in or on threads.
#pragma once
#include <cstdint>
#include <string_view>

namespace r1 {

struct SplitMix64 {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform_float() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
  double uniform_open() {  // (0, 1)
    return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  }
};

// FNV-1a of `name`, started from the offset basis xor `salt`.
inline uint64_t name_hash(std::string_view name, uint64_t salt) {
  uint64_t h = 1469598103934665603ull ^ salt;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace r1
