// GGUF v2/v3 reader: parses and validates a whole image before handing it out.
//
// Layout (all little-endian; docs/formats.md has the details):
//   "GGUF" u32:version u64:n_tensors u64:n_kv
//   n_kv      x { string:key u32:type value }
//   n_tensors x { string:name u32:n_dims u64[n_dims]:shape u32:dtype u64:offset }
//   padding to `alignment`, then the data section (tensor offsets are relative to it)
// string = u64 length + bytes; array = u32 elem_type + u64 count + elements.
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "base/error.hpp"
#include "format/gguf.hpp"

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

namespace r1::gguf {

namespace {

constexpr uint32_t kMaxValueType = static_cast<uint32_t>(ValueType::FLOAT64);
constexpr uint64_t kMaxKeyLength = 65535;             // GGUF spec: keys are at most 2^16-1 bytes
constexpr uint64_t kMaxTensorNameLength = 64;         // GGUF spec: names are at most 64 bytes
constexpr uint32_t kMaxDims = 4;
// Smallest possible encodings, used to reject counts that cannot fit in the file
// before anything is allocated for them.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;             // empty key, type, one-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, one dim, type, offset

// Encoded size of the smallest possible element of type `t` (arrays: type + count).
uint64_t min_encoded_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL: return 1;
    case ValueType::UINT16:
    case ValueType::INT16: return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32: return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
    case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 12;
  }
  return 1;
}

std::string printable_magic(const uint8_t* p) {
  std::string s;
  for (int k = 0; k < 4; ++k) {
    if (p[k] >= 0x20 && p[k] < 0x7f) s += static_cast<char>(p[k]);
    else s += fmt::format("\\x{:02x}", p[k]);
  }
  return s;
}

}  // namespace

// Reads one image into a File. Every read is bounds-checked against the image
// size; every error names the file and the item being parsed (ctx_).
class Parser {
 public:
  explicit Parser(File& f) : f_(f) {}

  void run() {
    read_header();
    read_metadata();
    read_alignment();
    read_tensor_infos();
    place_tensors();
  }

 private:
  template <class... A>
  [[noreturn]] void error(fmt::format_string<A...> f, A&&... a) {
    fail("{}: {}{}", f_.name_, ctx_, fmt::format(f, std::forward<A>(a)...));
  }

  uint64_t remaining() const { return f_.size_ - pos_; }

  void need(uint64_t n, std::string_view what) {
    if (n > remaining())
      error("truncated: {} needs {} bytes at offset {} but the file is {} bytes", what, n, pos_, f_.size_);
  }

  template <class T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, f_.base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(std::string_view what, uint64_t max_len) {
    const uint64_t len = read<uint64_t>(what);
    if (len > max_len) error("{} length {} exceeds the limit of {} bytes", what, len, max_len);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(f_.base_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

  ValueType read_type(std::string_view what) {
    const uint32_t raw = read<uint32_t>(what);
    if (raw > kMaxValueType) error("unknown value type {} ({})", raw, what);
    return static_cast<ValueType>(raw);
  }

  void read_header() {
    need(4, "magic");
    if (std::memcmp(f_.base_, "GGUF", 4) != 0)
      error("not a GGUF file (magic '{}', expected 'GGUF')", printable_magic(f_.base_));
    pos_ = 4;
    const uint32_t version = read<uint32_t>("version");
    if (version != 2 && version != 3) {
      if (version == 1) error("GGUF version 1 is not supported (only 2 and 3)");
      if ((version & 0xFFFFu) == 0 && version != 0)
        error("GGUF version {:#x} looks byte-swapped: big-endian files are not supported", version);
      error("unsupported GGUF version {} (only 2 and 3)", version);
    }
    f_.version_ = version;
    n_tensors_ = read<uint64_t>("tensor count");
    n_kv_ = read<uint64_t>("metadata count");
    // Reject counts whose minimal encodings cannot fit in what is left of the file.
    uint64_t kv_bytes = 0, tensor_bytes = 0, total = 0;
    if (mul_overflows(n_kv_, kMinKvBytes, &kv_bytes) || kv_bytes > remaining())
      error("metadata count {} cannot fit in the remaining {} bytes", n_kv_, remaining());
    if (mul_overflows(n_tensors_, kMinTensorInfoBytes, &tensor_bytes) || tensor_bytes > remaining())
      error("tensor count {} cannot fit in the remaining {} bytes", n_tensors_, remaining());
    if (add_overflows(kv_bytes, tensor_bytes, &total) || total > remaining())
      error("tensor count {} and metadata count {} cannot fit in the remaining {} bytes", n_tensors_, n_kv_,
            remaining());
  }

  void read_metadata() {
    for (uint64_t k = 0; k < n_kv_; ++k) {
      ctx_ = fmt::format("metadata entry #{}: ", k);
      std::string key = read_string("key", kMaxKeyLength);
      if (key.empty()) error("empty key");
      ctx_ = fmt::format("metadata key '{}': ", key);
      if (f_.metadata_.has(key)) error("duplicate key");
      Value v;
      v.type = read_type("value type");
      read_value(v, 0);
      f_.metadata_.set(std::move(key), std::move(v));
    }
    ctx_.clear();
  }

  // Reads the payload of `v` (whose type is already set). `depth` = enclosing arrays.
  void read_value(Value& v, int depth) {
    switch (v.type) {
      case ValueType::UINT8: v.u = read<uint8_t>("uint8 value"); break;
      case ValueType::INT8: v.i = read<int8_t>("int8 value"); break;
      case ValueType::UINT16: v.u = read<uint16_t>("uint16 value"); break;
      case ValueType::INT16: v.i = read<int16_t>("int16 value"); break;
      case ValueType::UINT32: v.u = read<uint32_t>("uint32 value"); break;
      case ValueType::INT32: v.i = read<int32_t>("int32 value"); break;
      case ValueType::UINT64: v.u = read<uint64_t>("uint64 value"); break;
      case ValueType::INT64: v.i = read<int64_t>("int64 value"); break;
      case ValueType::FLOAT32: v.f = read<float>("float32 value"); break;
      case ValueType::FLOAT64: v.f = read<double>("float64 value"); break;
      case ValueType::BOOL:
        v.u = read<uint8_t>("bool value");
        if (v.u > 1) error("bool value {} is neither 0 nor 1", v.u);
        break;
      case ValueType::STRING: v.s = read_string("string value", std::numeric_limits<uint64_t>::max()); break;
      case ValueType::ARRAY: read_array(v, depth + 1); break;
    }
  }

  void read_array(Value& v, int depth) {
    if (depth > kMaxArrayDepth) error("arrays nested deeper than {} levels", kMaxArrayDepth);
    v.elem_type = read_type("array element type");
    const uint64_t count = read<uint64_t>("array length");
    const uint64_t min_size = min_encoded_size(v.elem_type);
    if (count > remaining() / min_size)
      error("array of {} {} elements cannot fit in the remaining {} bytes", count, value_type_name(v.elem_type),
            remaining());
    n_elements_ += count;  // cannot overflow: every element takes at least one byte of the file
    if (n_elements_ > kMaxMetadataElements)
      error("more than {} array elements in the metadata", kMaxMetadataElements);
    v.arr.resize(static_cast<size_t>(count));
    for (Value& e : v.arr) {
      e.type = v.elem_type;
      read_value(e, depth);
    }
  }

  void read_alignment() {
    const Value* v = f_.metadata_.find("general.alignment");
    if (!v) return;
    ctx_ = "metadata key 'general.alignment': ";
    if (v->type != ValueType::UINT32) error("must be uint32, found {}", value_type_name(v->type));
    if (v->u == 0 || (v->u & (v->u - 1)) != 0) error("alignment {} is not a power of two", v->u);
    f_.alignment_ = v->u;
    ctx_.clear();
  }

  void read_tensor_infos() {
    f_.tensors_.reserve(static_cast<size_t>(n_tensors_));  // bounded by the file size (read_header)
    for (uint64_t k = 0; k < n_tensors_; ++k) {
      ctx_ = fmt::format("tensor #{}: ", k);
      TensorInfo t;
      t.name = read_string("tensor name", std::numeric_limits<uint64_t>::max());
      if (t.name.empty()) error("empty tensor name");
      if (t.name.size() > kMaxTensorNameLength)
        error("tensor name '{}' is {} bytes long (at most {})", t.name, t.name.size(), kMaxTensorNameLength);
      ctx_ = fmt::format("tensor '{}': ", t.name);
      if (f_.tensor_index_.count(t.name)) error("duplicate tensor name");

      const uint32_t n_dims = read<uint32_t>("n_dims");
      if (n_dims < 1 || n_dims > kMaxDims) error("n_dims {} is outside 1..{}", n_dims, kMaxDims);
      uint64_t n_elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const uint64_t dim = read<uint64_t>("dimension");
        if (dim == 0) error("dimension {} is zero", d);
        if (mul_overflows(n_elements, dim, &n_elements) ||
            n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          error("dimension {} ({}) makes the element count overflow int64", d, dim);
        t.shape.push_back(static_cast<int64_t>(dim));
      }

      const uint32_t raw_type = read<uint32_t>("tensor type");
      if (!is_known_dtype(raw_type)) error("unknown tensor type id {}", raw_type);
      t.type = static_cast<DType>(raw_type);
      const auto block = static_cast<uint64_t>(dtype_block_size(t.type));
      if (t.shape[0] % static_cast<int64_t>(block) != 0)
        error("row length {} is not a multiple of the {} block size {}", t.shape[0], dtype_name(t.type), block);
      if (mul_overflows(n_elements / block, dtype_block_bytes(t.type), &t.nbytes))
        error("byte size of shape [{}] overflows", fmt::join(t.shape, ", "));
      t.offset = read<uint64_t>("tensor data offset");

      f_.tensor_index_.emplace(t.name, f_.tensors_.size());
      f_.tensors_.push_back(std::move(t));
    }
    ctx_.clear();
  }

  // Data section start, then every tensor's range: aligned, inside the file, disjoint.
  void place_tensors() {
    const uint64_t a = f_.alignment_;
    uint64_t start = 0;
    if (add_overflows(pos_, a - 1, &start)) error("data section offset overflows");
    start -= start % a;
    if (f_.tensors_.empty()) {
      f_.data_offset_ = start <= f_.size_ ? start : pos_;
      return;
    }
    if (start > f_.size_)
      error("data section would start at offset {} (alignment {}), past the end of the file (size {})", start, a,
            f_.size_);
    f_.data_offset_ = start;

    for (TensorInfo& t : f_.tensors_) {
      ctx_ = fmt::format("tensor '{}': ", t.name);
      if (t.offset % a != 0) error("data offset {} is not a multiple of the alignment {}", t.offset, a);
      uint64_t begin = 0, end = 0;
      if (add_overflows(start, t.offset, &begin) || add_overflows(begin, t.nbytes, &end))
        error("data offset {} + {} bytes overflows", t.offset, t.nbytes);
      if (end > f_.size_) error("data [{}, {}) extends past end of file (size {})", begin, end, f_.size_);
      t.data = f_.base_ + begin;
    }
    ctx_.clear();

    std::vector<const TensorInfo*> order;
    order.reserve(f_.tensors_.size());
    for (const TensorInfo& t : f_.tensors_) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const TensorInfo* x, const TensorInfo* y) { return x->offset < y->offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const TensorInfo& p = *order[k - 1];
      const TensorInfo& q = *order[k];
      if (p.offset + p.nbytes > q.offset)  // no overflow: checked against the file size above
        error("tensor '{}' data [{}, {}) overlaps tensor '{}' data [{}, {}) (offsets in the data section)", p.name,
              p.offset, p.offset + p.nbytes, q.name, q.offset, q.offset + q.nbytes);
    }
  }

  File& f_;
  size_t pos_ = 0;            // read position in the image
  std::string ctx_;           // "what is being parsed: " prefix for error messages
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  uint64_t n_elements_ = 0;   // metadata array elements read so far
};

// ---- File / TensorInfo ------------------------------------------------------

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t TensorInfo::n_rows() const {
  int64_t n = 1;
  for (size_t k = 1; k < shape.size(); ++k) n *= shape[k];
  return n;
}

std::unique_ptr<File> File::open(const std::string& path) {
  MappedFile map(path);
  std::unique_ptr<File> f(new File());
  f->map_ = std::move(map);
  f->base_ = f->map_.data();
  f->size_ = f->map_.size();
  f->name_ = path;
  Parser(*f).run();
  return f;
}

std::unique_ptr<File> File::parse(const uint8_t* data, size_t size, std::string name) {
  std::unique_ptr<File> f(new File());
  f->base_ = data;
  f->size_ = size;
  f->name_ = std::move(name);
  Parser(*f).run();
  return f;
}

std::unique_ptr<File> File::assemble(std::string name, Metadata metadata, std::vector<TensorInfo> tensors,
                                     std::shared_ptr<const void> keep_alive) {
  std::unique_ptr<File> f(new File());
  f->name_ = std::move(name);
  f->metadata_ = std::move(metadata);
  f->keep_alive_ = std::move(keep_alive);
  for (TensorInfo& t : tensors) {
    const auto bad = [&](std::string_view what) { fail("{}: tensor '{}': {}", f->name_, t.name, what); };
    if (t.name.empty() || t.name.size() > kMaxTensorNameLength) bad("empty or too long name");
    if (f->tensor_index_.count(t.name)) bad("duplicate tensor name");
    if (t.shape.empty() || t.shape.size() > kMaxDims) bad("needs 1..4 dimensions");
    uint64_t n = 1;
    for (int64_t d : t.shape)
      if (d < 1 || mul_overflows(n, static_cast<uint64_t>(d), &n) ||
          n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        bad("invalid dimensions");
    if (!is_known_dtype(static_cast<uint32_t>(t.type))) bad("unknown type");
    const auto block = static_cast<uint64_t>(dtype_block_size(t.type));
    uint64_t nbytes = 0;
    if (static_cast<uint64_t>(t.shape[0]) % block != 0 || mul_overflows(n / block, dtype_block_bytes(t.type), &nbytes))
      bad("row length is not a multiple of the block size");
    if (t.nbytes != nbytes || !t.data) bad("data does not match the shape and type");
    t.offset = 0;
    f->tensor_index_.emplace(t.name, f->tensors_.size());
    f->tensors_.push_back(std::move(t));
  }
  return f;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace r1::gguf
