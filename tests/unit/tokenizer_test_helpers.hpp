// Helpers shared by the tokenizer layer's tests of error messages.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "base/error.hpp"
#include "tokenizer/jinja.hpp"

namespace r1::test {

inline std::string repeat(const std::string& s, int n) {
  std::string out;
  out.reserve(s.size() * size_t(n));
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// The r1::Error message of parsing + rendering a Jinja template ("" if it rendered).
inline std::string jinja_error_of(const std::string& src,
                                  const nlohmann::ordered_json& vars = nlohmann::ordered_json::object()) {
  try {
    jinja::Template(src).render(vars);
  } catch (const r1::Error& e) {
    return e.what();
  }
  return "";
}

// Fails unless `msg` (the error of `what`) is non-empty and contains every part.
inline void expect_message(const std::string& msg, std::initializer_list<const char*> parts, const std::string& what) {
  ASSERT_FALSE(msg.empty()) << "no error for: " << what.substr(0, 300);
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

}  // namespace r1::test
