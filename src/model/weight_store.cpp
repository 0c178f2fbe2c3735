#include "model/weight_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"

namespace r1 {

namespace {

constexpr size_t kAlign = 64;

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

bool copying_disabled() {
  const char* e = std::getenv("R1_MMAP_WEIGHTS");
  return e && std::strcmp(e, "1") == 0;
}

// Reads exactly n bytes at `offset` (pread may return short counts).
void read_fully(int fd, const std::string& path, uint8_t* dst, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, dst, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail("cannot read '{}' at offset {}: {}", path, offset, got < 0 ? std::strerror(errno) : "end of file");
    dst += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

}  // namespace

WeightStore::~WeightStore() {
  if (mem_) ::munmap(mem_, size_);
  for (auto [p, n] : extra_) ::munmap(p, n);
}

uint8_t* WeightStore::allocate(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t size = round_up(std::max<size_t>(bytes, 1), kHuge);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("cannot allocate {} bytes for weights computed at load: {}", bytes, std::strerror(errno));
  ::madvise(p, size, MADV_HUGEPAGE);
  extra_.emplace_back(p, size);
  derived_ += bytes;
  return static_cast<uint8_t*>(p);
}

std::vector<uint8_t*> WeightStore::load(const std::string& path, std::span<const Region> regions, ThreadPool& pool) {
  if (regions.empty() || copying_disabled()) return {};
  std::vector<size_t> at(regions.size());
  size_t total = 0;
  for (size_t i = 0; i < regions.size(); ++i) {
    at[i] = total;
    total += round_up(regions[i].bytes * regions[i].pieces, kAlign);
  }
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t size = round_up(total, kHuge);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return {};  // keep computing from the memory map
  ::madvise(p, size, MADV_HUGEPAGE);
  if (mem_) ::munmap(mem_, size_);
  mem_ = static_cast<uint8_t*>(p);
  size_ = size;

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open '{}': {}", path, std::strerror(errno));
  // Threads take whole regions in turn; the first error is rethrown after the join.
  std::vector<std::string> errors(static_cast<size_t>(pool.size()));
  pool.run([&](int t) {
    try {
      for (size_t i = static_cast<size_t>(t); i < regions.size(); i += static_cast<size_t>(pool.size())) {
        const Region& r = regions[i];
        for (size_t k = 0; k < r.pieces; ++k)
          read_fully(fd, path, mem_ + at[i] + k * r.bytes, r.bytes, r.file_offset + k * r.file_stride);
      }
    } catch (const Error& e) {
      errors[static_cast<size_t>(t)] = e.what();
    }
  });
  ::close(fd);
  for (const std::string& e : errors)
    if (!e.empty()) fail("{}", e);
  std::vector<uint8_t*> out(regions.size());
  for (size_t i = 0; i < regions.size(); ++i) out[i] = mem_ + at[i];
  return out;
}

}  // namespace r1
