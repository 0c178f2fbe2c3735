// GGUF v3 writer. Contract: write() produces the whole file under a temporary
// name in the destination directory, fsyncs it and renames it over `path`, so a
// crash or an error never leaves a half-written file at `path`. Tensor data is
// produced lazily by a callback, so files larger than memory can be written.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/gguf.hpp"

namespace r1::gguf {

class Writer {
 public:
  // Fills `dst` (exactly the tensor's byte size) with the tensor's data.
  using FillFn = std::function<void(uint8_t* dst, size_t nbytes)>;

  explicit Writer(uint64_t alignment = 32) : alignment_(alignment) {}
  Metadata& metadata() { return metadata_; }
  void set(std::string key, Value v) { metadata_.set(std::move(key), std::move(v)); }

  // shape in GGML order (shape[0] = row length). Throws r1::Error for a duplicate
  // name or a shape whose row length is not a multiple of the type's block size.
  void add_tensor(std::string name, DType type, std::vector<int64_t> shape, FillFn fill);
  // Returns a pointer to exactly the tensor's byte size, valid until the next call of any
  // callback of this writer: written from there without a copy (a tensor that is already in
  // memory or in a mapping, in its final type).
  using ViewFn = std::function<const uint8_t*()>;
  void add_tensor_view(std::string name, DType type, std::vector<int64_t> shape, ViewFn view);
  // Convenience: the bytes are copied now.
  void add_tensor(std::string name, DType type, std::vector<int64_t> shape, const void* data, size_t nbytes);

  void write(const std::string& path) const;

 private:
  struct Pending {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    uint64_t nbytes;
    FillFn fill;  // exactly one of fill and view is set
    ViewFn view;
  };
  uint64_t alignment_;
  Metadata metadata_;
  std::vector<Pending> tensors_;
};

}  // namespace r1::gguf
