// Content digests for downloaded files (OpenSSL's EVP interface, libcrypto).
//
// Hasher contract: update() feeds bytes in order; hex() returns the lowercase hex
// digest of everything fed so far and may be called once. Failures of libcrypto
// itself throw r1::Error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace r1::pull {

enum class DigestKind { sha256, git_blob_sha1 };

class Hasher {
 public:
  // git_blob_sha1: the git object id of a blob of `size` bytes (sha1 over
  // "blob <size>\0" + content), which is the ETag Hugging Face gives non-LFS files.
  explicit Hasher(DigestKind kind = DigestKind::sha256, uint64_t size = 0);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* data, size_t n);
  std::string hex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// The digest of a whole file; throws r1::Error naming
// the path when it cannot be read.
std::string file_digest(const std::string& path, DigestKind kind = DigestKind::sha256);
// Feeds the first `n` bytes of `path` into `h` (resuming a hash over a partial download).
void hash_file_prefix(Hasher& h, const std::string& path, uint64_t n);

}  // namespace r1::pull
