// Read-only memory map of a whole file. Owns the mapping; movable, not copyable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace r1 {

class MappedFile {
 public:
  MappedFile() = default;
  // Maps `path` read-only. Throws r1::Error naming the path on any failure.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Hints the kernel to read the whole file ahead (MADV_WILLNEED).
  void prefetch() const;

 private:
  void reset();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace r1
