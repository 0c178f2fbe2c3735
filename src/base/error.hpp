// Error reporting for bad user input (broken files, bad requests, bad flags).
// Contract: anything caused by input the user controls throws r1::Error with a
// one-line message that names the problem (file, tensor, key, value). Internal
// invariants use assert(). Front ends catch r1::Error, print it and exit non-zero.
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>
#include <utility>

namespace r1 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// Overflow-checked arithmetic for sizes computed from untrusted files.
bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out);
bool add_overflows(uint64_t a, uint64_t b, uint64_t* out);

}  // namespace r1
