#include "pull/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/error.hpp"

namespace r1::pull {

struct Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(DigestKind kind, uint64_t size) : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  const EVP_MD* md = kind == DigestKind::sha256 ? EVP_sha256() : EVP_sha1();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, md, nullptr) != 1) fail("libcrypto: cannot start a digest");
  if (kind == DigestKind::git_blob_sha1) {
    const std::string header = "blob " + std::to_string(size);
    update(header.data(), header.size() + 1);  // with the terminating NUL
  }
}

Hasher::~Hasher() = default;

void Hasher::update(const void* data, size_t n) {
  if (n && EVP_DigestUpdate(ctx_->md, data, n) != 1) fail("libcrypto: digest update failed");
}

std::string Hasher::hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out, &len) != 1) fail("libcrypto: digest final failed");
  static const char* digits = "0123456789abcdef";
  std::string s(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    s[2 * i] = digits[out[i] >> 4];
    s[2 * i + 1] = digits[out[i] & 15];
  }
  return s;
}

static void feed(Hasher& h, int fd, const std::string& path, uint64_t limit) {
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  while (done < limit) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), limit - done));
    const ssize_t n = ::read(fd, buf.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read '{}': {}", path, std::strerror(errno));
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  if (limit != UINT64_MAX && done != limit) fail("'{}' is shorter than {} bytes", path, limit);
}

std::string file_digest(const std::string& path, DigestKind kind) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open '{}': {}", path, std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  try {
    Hasher h(kind, static_cast<uint64_t>(st.st_size));
    feed(h, fd, path, UINT64_MAX);
    ::close(fd);
    return h.hex();
  } catch (...) {
    ::close(fd);
    throw;
  }
}

void hash_file_prefix(Hasher& h, const std::string& path, uint64_t n) {
  if (n == 0) return;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open '{}': {}", path, std::strerror(errno));
  try {
    feed(h, fd, path, n);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

}  // namespace r1::pull
