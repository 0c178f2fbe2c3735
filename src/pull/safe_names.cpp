#include "pull/safe_names.hpp"

#include <string>

#include "base/error.hpp"

namespace r1::pull {

static bool all_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_sha256_hex(std::string_view s) { return s.size() == 64 && all_lower_hex(s); }
bool is_git_sha1_hex(std::string_view s) { return s.size() == 40 && all_lower_hex(s); }

static bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Printable for error messages: control bytes become '?', long values are cut.
static std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 200) out += "...";
  return out;
}

bool is_safe_relative_path(std::string_view s) {
  if (s.empty() || s.size() > 1024 || s.front() == '/') return false;
  size_t start = 0;
  while (true) {
    const size_t end = s.find('/', start);
    const std::string_view part = s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty() || part == "." || part == ".." || part.size() > 255) return false;
    for (char c : part)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

void check_relative_path(std::string_view s, std::string_view what) {
  if (!is_safe_relative_path(s)) fail("{} '{}' is not a safe relative path", what, shown(s));
}

bool is_safe_component(std::string_view s) {
  if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
  for (char c : s)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

void check_component(std::string_view s, std::string_view what) {
  if (!is_safe_component(s)) fail("{} '{}' is not a safe file name", what, shown(s));
}

bool is_valid_hf_repo_id(std::string_view s) {
  if (s.empty() || s.size() > 96) return false;
  if (s.find("--") != std::string_view::npos || s.find("..") != std::string_view::npos) return false;
  const size_t slash = s.find('/');
  if (slash != std::string_view::npos && s.find('/', slash + 1) != std::string_view::npos) return false;
  auto part_ok = [](std::string_view p) {
    if (p.empty() || !is_alnum(p.front()) || !is_alnum(p.back())) return false;
    for (char c : p)
      if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
  };
  if (slash == std::string_view::npos) return part_ok(s);
  return part_ok(s.substr(0, slash)) && part_ok(s.substr(slash + 1));
}

std::string_view check_sha256_digest(std::string_view digest, std::string_view what) {
  constexpr std::string_view prefix = "sha256:";
  if (digest.substr(0, prefix.size()) != prefix || !is_sha256_hex(digest.substr(prefix.size())))
    fail("{} has a bad digest '{}' (expected sha256: and 64 lowercase hex digits)", what, shown(digest));
  return digest.substr(prefix.size());
}

}  // namespace r1::pull
