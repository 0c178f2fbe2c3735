// Test helper: builds GGUF byte images by hand (little-endian), independently of
// the writer, so reader tests do not trust the code they check.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "format/gguf.hpp"

namespace r1::gguf::test {

// GGUF value type ids, spelled out from the spec (not taken from ValueType).
enum : uint32_t { T_U8 = 0, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 };
// GGML type ids.
enum : uint32_t { G_F32 = 0, G_F16 = 1, G_Q4_0 = 2, G_Q8_0 = 8, G_Q4_K = 12, G_Q6_K = 14, G_BF16 = 30 };

struct Image {
  std::vector<uint8_t> b;

  template <class T>
  Image& le(T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));  // host is little-endian (asserted by the reader)
    b.insert(b.end(), tmp, tmp + sizeof(T));
    return *this;
  }
  Image& u8(uint8_t v) { return le(v); }
  Image& u32(uint32_t v) { return le(v); }
  Image& u64(uint64_t v) { return le(v); }
  Image& str(std::string_view s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Image& raw(std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Image& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  Image& pad(size_t a) {
    while (b.size() % a) b.push_back(0);
    return *this;
  }
  Image& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    raw("GGUF");
    u32(version);
    u64(n_tensors);
    return u64(n_kv);
  }
  Image& kv_u32(std::string_view key, uint32_t v) {
    str(key);
    u32(T_U32);
    return u32(v);
  }
  Image& kv_str(std::string_view key, std::string_view v) {
    str(key);
    u32(T_STR);
    return str(v);
  }
  Image& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name);
    u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    u32(type);
    return u64(offset);
  }
  size_t size() const { return b.size(); }

  std::unique_ptr<File> parse(const std::string& name = "t.gguf") const {
    // An exactly-sized heap copy, so a sanitizer build catches any over-read.
    auto* copy = new std::vector<uint8_t>(b);
    keep_.reset(copy);
    return File::parse(copy->data(), copy->size(), name);
  }
  mutable std::shared_ptr<std::vector<uint8_t>> keep_;
};

// Expects parsing to throw r1::Error whose message contains every fragment.
inline void expect_parse_error(const Image& img, std::vector<std::string> fragments,
                               const std::string& name = "bad.gguf") {
  try {
    img.parse(name);
    ADD_FAILURE() << "no error; expected one containing '" << fragments.at(0) << "'";
  } catch (const r1::Error& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "message: " << msg << "\nmissing: " << f;
  }
}

// A fresh empty directory for one test, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "r1_format_XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace r1::gguf::test
