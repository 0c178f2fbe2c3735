#include "base/file_text.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "base/error.hpp"

namespace r1 {

std::string read_file_text(const std::string& path, uint64_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("'{}' is not a readable file", path);
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) fail("cannot read '{}': {}", path, ec.message());
  if (size > max_bytes) fail("'{}' has {} bytes (at most {})", path, size, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}'", path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("cannot read '{}'", path);
  if (text.size() > max_bytes) fail("'{}' has more than {} bytes", path, max_bytes);
  return text;
}

}  // namespace r1
