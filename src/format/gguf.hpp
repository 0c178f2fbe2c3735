// GGUF v2/v3 reader. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
//
// Contract: File::open maps the file and validates everything before returning:
// magic, version, counts against the file size, every string and array length,
// every metadata type (nested arrays included), general.alignment (a power of two),
// tensor names (unique, non-empty), dimensions (1..4, each >= 1, product without
// overflow, multiple of the block size), known tensor types, offsets aligned and
// inside the file, tensor data ranges not overlapping. Any violation throws
// r1::Error naming the file, the key or tensor, and what is wrong. After a
// successful open no accessor can read outside the mapping.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mmap.hpp"
#include "kernels/types.hpp"

namespace r1::gguf {

// Limits shared by the reader and the writer (so whatever is written can be read).
inline constexpr int kMaxArrayDepth = 16;                      // arrays nested in one value
inline constexpr uint64_t kMaxMetadataElements = 1ull << 24;  // array elements in one file

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
std::string_view value_type_name(ValueType t);

// One metadata value. Scalars keep their exact type; numeric accessors convert
// between integer widths when the value fits and throw r1::Error otherwise.
struct Value {
  ValueType type = ValueType::UINT8;
  ValueType elem_type = ValueType::UINT8;  // element type when type == ARRAY
  uint64_t u = 0;                          // UINT8..UINT64, BOOL (0/1)
  int64_t i = 0;                           // INT8..INT64
  double f = 0;                            // FLOAT32, FLOAT64
  std::string s;                           // STRING
  std::vector<Value> arr;                  // ARRAY (elements; nested arrays allowed)

  static Value from_u32(uint32_t v);
  static Value from_i32(int32_t v);
  static Value from_u64(uint64_t v);
  static Value from_f32(float v);
  static Value from_bool(bool v);
  static Value from_string(std::string v);
  static Value from_strings(const std::vector<std::string>& v);
  static Value from_i32s(const std::vector<int32_t>& v);
  static Value from_f32s(const std::vector<float>& v);

  bool is_integer() const;
  bool is_float() const;
  // Conversions; throw r1::Error (mentioning `what`) on a type mismatch or overflow.
  int64_t as_i64(std::string_view what) const;
  uint64_t as_u64(std::string_view what) const;
  double as_f64(std::string_view what) const;
  bool as_bool(std::string_view what) const;
  const std::string& as_string(std::string_view what) const;
};

// Ordered key -> value map (file order is kept for printing and round trips).
class Metadata {
 public:
  void set(std::string key, Value v);  // replaces an existing key in place
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }

  // Typed getters: the *_or forms return `fallback` when the key is absent; the
  // plain forms throw r1::Error("missing metadata key ...") when it is absent. Both
  // throw on a wrong type.
  std::string get_string(std::string_view key) const;
  std::string get_string_or(std::string_view key, std::string fallback) const;
  int64_t get_int(std::string_view key) const;
  int64_t get_int_or(std::string_view key, int64_t fallback) const;
  double get_float(std::string_view key) const;
  double get_float_or(std::string_view key, double fallback) const;
  bool get_bool_or(std::string_view key, bool fallback) const;
  // Arrays: element conversions as above. Absent key -> empty vector.
  std::vector<std::string> get_strings(std::string_view key) const;
  std::vector<int64_t> get_ints(std::string_view key) const;
  std::vector<float> get_floats(std::string_view key) const;

 private:
  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

struct TensorInfo {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> shape;  // GGML order: shape[0] is the contiguous row length
  uint64_t offset = 0;         // relative to the start of the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapping (valid while the File lives)

  int64_t n_elements() const;
  int64_t n_rows() const;  // product of shape[1..]
};

class File {
 public:
  // Maps and validates `path`. Throws r1::Error on any problem.
  static std::unique_ptr<File> open(const std::string& path);
  // Validates an in-memory image (not copied: `data` must outlive the File).
  // `name` is used in error messages. This is the fuzzing entry point.
  static std::unique_ptr<File> parse(const uint8_t* data, size_t size, std::string name);

  // A File over tensors that live elsewhere (a Hugging Face checkpoint's mappings and
  // converted buffers): names, shapes, types and byte sizes are checked as open() checks
  // them; each TensorInfo::data must point at nbytes bytes that stay valid while
  // `keep_alive` is held (the File holds it). There is no file behind it: offsets and
  // data_offset() are 0, file_size() is 0, version() is 3.
  static std::unique_ptr<File> assemble(std::string name, Metadata metadata, std::vector<TensorInfo> tensors,
                                        std::shared_ptr<const void> keep_alive);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute file offset of tensor data
  const std::string& name() const { return name_; }
  size_t file_size() const { return size_; }
  const Metadata& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

 private:
  File() = default;
  MappedFile map_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::string name_;
  uint32_t version_ = 3;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::shared_ptr<const void> keep_alive_;  // assemble(): owner of the tensors' bytes
  friend class Parser;
};

}  // namespace r1::gguf
