#include "serve/slot_files.hpp"

#include <cstring>
#include <fstream>

#include "base/atomic_file.hpp"
#include "base/error.hpp"

namespace r1::serve {

namespace {

constexpr char kMagic[8] = {'R', '1', 'S', 'L', 'O', 'T', '\0', '\1'};

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

bool valid_slot_file_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name.find("..") != std::string::npos) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

size_t write_slot_file(const std::string& path, const Session::Snapshot& s, uint64_t per_token) {
  std::string head(kMagic, sizeof kMagic);
  put_u64(head, per_token);
  put_u64(head, s.tokens.size());
  std::string ids(s.tokens.size() * 4, '\0');
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    const uint32_t v = static_cast<uint32_t>(s.tokens[i]);
    for (int b = 0; b < 4; ++b) ids[i * 4 + static_cast<size_t>(b)] = static_cast<char>((v >> (8 * b)) & 0xFF);
  }
  AtomicFile f(path);
  f.write(head);
  f.write(ids);
  f.write(std::string_view(reinterpret_cast<const char*>(s.kv.data()), s.kv.size()));
  f.commit();
  return head.size() + ids.size() + s.kv.size();
}

Session::Snapshot read_slot_file(const std::string& path, uint64_t per_token, int64_t max_tokens, int32_t n_vocab) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("slot file '{}' cannot be opened", path);
  char head[24];
  if (!in.read(head, sizeof head) || std::memcmp(head, kMagic, sizeof kMagic) != 0)
    fail("'{}' is not a slot file (bad magic)", path);
  if (get_u64(head + 8) != per_token)
    fail("slot file '{}' holds KV rows of {} bytes per token; this model's are {}", path, get_u64(head + 8), per_token);
  const uint64_t n = get_u64(head + 16);
  if (n > static_cast<uint64_t>(max_tokens)) fail("slot file '{}' holds {} tokens; a slot has room for {}", path, n, max_tokens);
  Session::Snapshot s;
  s.tokens.resize(n);
  std::string ids(n * 4, '\0');
  if (!in.read(ids.data(), static_cast<std::streamsize>(ids.size()))) fail("slot file '{}' is truncated", path);
  for (size_t i = 0; i < n; ++i) {
    uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= static_cast<uint32_t>(static_cast<unsigned char>(ids[i * 4 + static_cast<size_t>(b)])) << (8 * b);
    if (v >= static_cast<uint32_t>(n_vocab)) fail("slot file '{}' has token id {} (the model has {})", path, v, n_vocab);
    s.tokens[i] = static_cast<int32_t>(v);
  }
  s.kv.resize(n * per_token);
  if (!in.read(reinterpret_cast<char*>(s.kv.data()), static_cast<std::streamsize>(s.kv.size())))
    fail("slot file '{}' is truncated", path);
  if (in.peek() != std::char_traits<char>::eof()) fail("slot file '{}' has bytes after its data", path);
  return s;
}

}  // namespace r1::serve
