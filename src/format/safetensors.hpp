// safetensors reader: single files and sharded checkpoints (model.safetensors.index.json).
// Format: https://github.com/huggingface/safetensors (README "Format"); docs/formats.md.
//
//   u64 little-endian N | N bytes of UTF-8 JSON header | data buffer
//   header = { "__metadata__": {string: string}?,
//              NAME: {"dtype": "F16", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ... }
//
// Contract: File::open / File::parse validate everything before returning, following
// the reference implementation's rules: N <= 100,000,000 and inside the file; the header
// begins with '{' (trailing spaces allowed); valid JSON without duplicate keys at any
// level; every entry an object of exactly dtype / shape / data_offsets; a known dtype;
// shape entries non-negative integers whose product, and the byte size, do not
// overflow; data_offsets two integers with begin <= end and end - begin = the byte
// size; and, sorted by offset, the tensors tile the data buffer exactly (the first at
// 0, each where the previous ends, the last at the end of the file): no overlap, no
// hole, no unindexed tail. Any violation throws r1::Error naming the file, the tensor
// and the problem. After a successful open every TensorInfo::data[0, nbytes) lies in
// the mapping (or the parsed buffer).
//
// Shapes are in the file's order (row-major, the last dimension contiguous): the
// reverse of GGUF's. Tensor data carries no alignment guarantee; the conversions
// below read it bytewise.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mmap.hpp"

namespace r1::safetensors {

inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference's MAX_HEADER_SIZE
inline constexpr uint64_t kMaxIndexBytes = 100'000'000;   // model.safetensors.index.json
inline constexpr int64_t kFp8BlockSize = 128;              // DeepSeek V3 weight_block_size

// Every dtype the reference implementation knows (its names, as written in headers).
enum class Dtype : uint8_t {
  BOOL, U8, I8, I16, U16, I32, U32, I64, U64,
  F16, BF16, F32, F64, C64,
  F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0,
  F4, F6_E2M3, F6_E3M2,
  count
};

struct DtypeInfo {
  Dtype dtype;
  const char* name;  // as in the header: "BF16", "F8_E4M3"
  int bits;          // per element (F4: 4, F6_*: 6)
  bool to_float;     // convertible with to_float() (F32, F16, BF16, F64, F8_E4M3, F8_E5M2)
};
const DtypeInfo& dtype_info(Dtype d);
std::string_view dtype_name(Dtype d);
// Parses a header dtype name (exact, case-sensitive as the reference is); false if unknown.
bool parse_dtype(std::string_view name, Dtype* out);

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;      // row-major: shape.back() is contiguous; [] is a scalar
  uint64_t begin = 0, end = 0;     // data_offsets, relative to the data buffer
  uint64_t nbytes = 0;             // end - begin
  const uint8_t* data = nullptr;   // into the mapping; valid while the File lives
  size_t shard = 0;                // index into Model::shards() (0 for a lone File)

  int64_t n_elements() const;      // product of shape (1 for a scalar, 0 if any dim is 0)
};

// The header's __metadata__, sorted by key.
using Metadata = std::vector<std::pair<std::string, std::string>>;

class File {
 public:
  // Maps and validates `path`. Throws r1::Error on any problem.
  static std::unique_ptr<File> open(const std::string& path);
  // Validates an in-memory image (not copied: `data` must outlive the File). `name` is
  // used in error messages. The fuzzing entry point.
  static std::unique_ptr<File> parse(const uint8_t* data, size_t size, std::string name);

  const std::string& name() const { return name_; }
  size_t file_size() const { return size_; }
  uint64_t header_bytes() const { return header_bytes_; }  // N
  const Metadata& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in data-offset order
  const TensorInfo* find(std::string_view name) const;

 private:
  File() = default;
  void build(const uint8_t* data, size_t size);
  MappedFile map_;
  std::string name_;
  size_t size_ = 0;
  uint64_t header_bytes_ = 0;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

// A parsed model.safetensors.index.json: tensor name -> shard file name.
struct Index {
  std::vector<std::string> shards;                      // distinct shard names, sorted
  std::vector<std::pair<std::string, size_t>> weights;  // tensor -> position in shards, sorted by tensor
  std::string metadata_json;                            // the "metadata" object as JSON ("" if absent)
};
// Validates an index: a JSON object without duplicate keys whose "weight_map" is an
// object of tensor name -> shard file name, each a plain file name (no '/', '\\', NUL,
// not "." or ".."), and whose optional "metadata" is an object. `name` is used in errors.
Index parse_index(std::string_view text, const std::string& name);

// One tensor table over a single file or all the shards of an index.
class Model {
 public:
  // `path`: a .safetensors file, an *.index.json, or a directory holding one of them
  // (model.safetensors.index.json, else the only *.safetensors.index.json, else
  // model.safetensors, else the only *.safetensors). With an index, each shard is
  // mapped once, and the index and the shards must agree exactly: every tensor the
  // index names is in the shard it names, and every tensor of a shard is named in the
  // index with that shard (so no name is in two shards).
  static std::unique_ptr<Model> open(const std::string& path);

  const std::string& path() const { return path_; }          // what open() resolved to
  const std::string& index_path() const { return index_path_; }  // "" without an index
  const std::string& index_metadata_json() const { return index_metadata_; }
  const std::vector<std::unique_ptr<File>>& shards() const { return shards_; }
  // All tensors: shards in index order (sorted names), each in data-offset order;
  // TensorInfo::shard says which.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;

  // Converts a tensor to F32 (n_elements floats). F8_E4M3 with a companion
  // "<name>_scale_inv" tensor is dequantized by blocks (dequantize_fp8_blocks);
  // otherwise as to_float(). Throws r1::Error naming the tensor if it cannot be.
  std::vector<float> read_float(std::string_view name) const;

 private:
  Model() = default;
  std::string path_, index_path_, index_metadata_;
  std::vector<std::unique_ptr<File>> shards_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

// Element-wise conversion of F32, F16, BF16, F64, F8_E4M3 (no scale) and F8_E5M2 to
// float: `out` holds t.n_elements() floats. Throws r1::Error for other dtypes.
void to_float(const TensorInfo& t, float* out);

// The companion scale tensor of a block-scaled FP8 weight: name + "_scale_inv".
std::string scale_inv_name(std::string_view weight_name);
// DeepSeek V3 FP8 weights: `weight` is F8_E4M3 [rows, cols], `scale_inv` is F32
// [ceil(rows/block), ceil(cols/block)] (the edge blocks are partial), and
//   out[r * cols + c] = fp8_e4m3_to_float(weight[r, c]) * scale_inv[r / block, c / block].
// `out` holds rows * cols floats. Throws r1::Error naming both tensors on any dtype
// or shape mismatch.
void dequantize_fp8_blocks(const TensorInfo& weight, const TensorInfo& scale_inv, float* out,
                           int64_t block = kFp8BlockSize);

}  // namespace r1::safetensors
