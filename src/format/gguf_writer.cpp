// GGUF v3 writer (see gguf_writer.hpp): validate everything, then stream the file
// to a temporary sibling of the destination, fsync, rename.
#include "format/gguf_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

#include "base/atomic_file.hpp"
#include "base/error.hpp"

static_assert(std::endian::native == std::endian::little, "the GGUF writer assumes a little-endian host");

namespace r1::gguf {

namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr size_t kMaxTensorNameLength = 63;  // llama.cpp's limit (GGML_MAX_NAME - 1); the spec allows 64
constexpr size_t kMaxKeyLength = 65535;
constexpr size_t kSinkBuffer = 1 << 20;

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// ---- validation (before any file is touched) ----------------------------

bool valid_type(ValueType t) { return static_cast<uint32_t>(t) <= static_cast<uint32_t>(ValueType::FLOAT64); }

// Checks ranges, array homogeneity and nesting; counts array elements into *n_elems.
void check_value(const Value& v, std::string_view key, int depth, uint64_t* n_elems) {
  auto range = [&](bool ok, auto x) {
    if (!ok) fail("metadata key '{}': value {} does not fit in {}", key, x, value_type_name(v.type));
  };
  switch (v.type) {
    case ValueType::UINT8: range(v.u <= 0xFF, v.u); break;
    case ValueType::UINT16: range(v.u <= 0xFFFF, v.u); break;
    case ValueType::UINT32: range(v.u <= 0xFFFFFFFFu, v.u); break;
    case ValueType::INT8: range(v.i >= -128 && v.i <= 127, v.i); break;
    case ValueType::INT16: range(v.i >= -32768 && v.i <= 32767, v.i); break;
    case ValueType::INT32:
      range(v.i >= std::numeric_limits<int32_t>::min() && v.i <= std::numeric_limits<int32_t>::max(), v.i);
      break;
    case ValueType::BOOL: range(v.u <= 1, v.u); break;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT32:
    case ValueType::FLOAT64:
    case ValueType::STRING: break;
    case ValueType::ARRAY:
      if (depth + 1 > kMaxArrayDepth) fail("metadata key '{}': arrays nested deeper than {} levels", key, kMaxArrayDepth);
      if (!valid_type(v.elem_type))
        fail("metadata key '{}': invalid array element type {}", key, static_cast<uint32_t>(v.elem_type));
      *n_elems += v.arr.size();
      for (size_t k = 0; k < v.arr.size(); ++k) {
        if (v.arr[k].type != v.elem_type)
          fail("metadata key '{}': array element {} has type {} but the array holds {}", key, k,
               value_type_name(v.arr[k].type), value_type_name(v.elem_type));
        check_value(v.arr[k], key, depth + 1, n_elems);
      }
      break;
    default: fail("metadata key '{}': invalid value type {}", key, static_cast<uint32_t>(v.type));
  }
}

// ---- output ---------------------------------------------------------------

// Buffered little-endian writer over a file descriptor; counts bytes written.
class Sink {
 public:
  Sink(int fd, const std::string& path) : fd_(fd), path_(path) { buf_.reserve(kSinkBuffer); }

  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    if (buf_.size() + n > kSinkBuffer) {
      flush();
      if (n > kSinkBuffer) {
        write_all(b, n);
        written_ += n;
        return;
      }
    }
    buf_.insert(buf_.end(), b, b + n);
    written_ += n;
  }
  template <class T>
  void pod(T v) {
    bytes(&v, sizeof(T));
  }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to(uint64_t alignment) {
    static const uint8_t zeros[256] = {};
    while (written_ % alignment != 0) bytes(zeros, std::min<uint64_t>(alignment - written_ % alignment, sizeof zeros));
  }
  void flush() {
    write_all(buf_.data(), buf_.size());
    buf_.clear();
  }
  uint64_t written() const { return written_; }

 private:
  void write_all(const uint8_t* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("{}: write failed: {}", path_, std::strerror(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  int fd_;
  const std::string& path_;
  std::vector<uint8_t> buf_;
  uint64_t written_ = 0;
};

// Payload of a value already checked by check_value.
void write_value(Sink& s, const Value& v) {
  switch (v.type) {
    case ValueType::UINT8: s.pod(static_cast<uint8_t>(v.u)); break;
    case ValueType::INT8: s.pod(static_cast<int8_t>(v.i)); break;
    case ValueType::UINT16: s.pod(static_cast<uint16_t>(v.u)); break;
    case ValueType::INT16: s.pod(static_cast<int16_t>(v.i)); break;
    case ValueType::UINT32: s.pod(static_cast<uint32_t>(v.u)); break;
    case ValueType::INT32: s.pod(static_cast<int32_t>(v.i)); break;
    case ValueType::UINT64: s.pod(v.u); break;
    case ValueType::INT64: s.pod(v.i); break;
    case ValueType::FLOAT32: s.pod(static_cast<float>(v.f)); break;
    case ValueType::FLOAT64: s.pod(v.f); break;
    case ValueType::BOOL: s.pod(static_cast<uint8_t>(v.u)); break;
    case ValueType::STRING: s.str(v.s); break;
    case ValueType::ARRAY:
      s.pod(static_cast<uint32_t>(v.elem_type));
      s.pod<uint64_t>(v.arr.size());
      for (const Value& e : v.arr) write_value(s, e);
      break;
  }
}

}  // namespace

void Writer::add_tensor(std::string name, DType type, std::vector<int64_t> shape, FillFn fill) {
  if (name.empty()) fail("gguf writer: empty tensor name");
  if (name.size() > kMaxTensorNameLength)
    fail("gguf writer: tensor name '{}' is {} bytes long (at most {})", name, name.size(), kMaxTensorNameLength);
  for (const Pending& p : tensors_)
    if (p.name == name) fail("gguf writer: duplicate tensor name '{}'", name);
  if (!is_known_dtype(static_cast<uint32_t>(type)))
    fail("gguf writer: tensor '{}': unknown type id {}", name, static_cast<uint32_t>(type));
  if (shape.empty() || shape.size() > 4)
    fail("gguf writer: tensor '{}': {} dimensions (must be 1..4)", name, shape.size());
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 1) fail("gguf writer: tensor '{}': dimension {} is not positive", name, d);
    if (mul_overflows(n, static_cast<uint64_t>(d), &n) || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail("gguf writer: tensor '{}': element count overflows int64", name);
  }
  const int64_t block = dtype_block_size(type);
  if (shape[0] % block != 0)
    fail("gguf writer: tensor '{}': row length {} is not a multiple of the {} block size {}", name, shape[0],
         dtype_name(type), block);
  uint64_t nbytes = 0;
  if (mul_overflows(n / static_cast<uint64_t>(block), dtype_block_bytes(type), &nbytes))
    fail("gguf writer: tensor '{}': byte size overflows", name);
  if (!fill) fail("gguf writer: tensor '{}': no fill function", name);
  tensors_.push_back(Pending{std::move(name), type, std::move(shape), nbytes, std::move(fill), nullptr});
}

void Writer::add_tensor_view(std::string name, DType type, std::vector<int64_t> shape, ViewFn view) {
  if (!view) fail("gguf writer: tensor '{}': no view function", name);
  add_tensor(std::move(name), type, std::move(shape), [](uint8_t*, size_t) {});  // validates
  tensors_.back().fill = nullptr;
  tensors_.back().view = std::move(view);
}

void Writer::add_tensor(std::string name, DType type, std::vector<int64_t> shape, const void* data, size_t nbytes) {
  auto copy = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(data),
                                                     static_cast<const uint8_t*>(data) + nbytes);
  const std::string label = name;
  add_tensor(std::move(name), type, std::move(shape), [copy](uint8_t* dst, size_t n) {
    std::memcpy(dst, copy->data(), n);  // n == copy->size(), checked below
  });
  if (tensors_.back().nbytes != nbytes) {
    const uint64_t want = tensors_.back().nbytes;
    tensors_.pop_back();
    fail("gguf writer: tensor '{}': {} bytes given, its shape and type need {}", label, nbytes, want);
  }
}

void Writer::write(const std::string& path) const {
  // 1. Validate everything before touching the file system.
  const uint64_t a = alignment_;
  if (a == 0 || (a & (a - 1)) != 0 || a > 0xFFFFFFFFu)
    fail("{}: alignment {} is not a power of two that fits in uint32", path, a);
  bool emit_alignment = a != kDefaultAlignment;
  if (const Value* v = metadata_.find("general.alignment")) {
    if (v->type != ValueType::UINT32 || v->u != a)
      fail("{}: metadata key 'general.alignment' must be uint32 {} (the writer's alignment)", path, a);
    emit_alignment = false;
  }
  uint64_t n_elems = 0;
  for (const auto& [key, v] : metadata_.entries()) {
    if (key.empty() || key.size() > kMaxKeyLength) fail("{}: metadata key of length {} (must be 1..{})", path, key.size(), kMaxKeyLength);
    check_value(v, key, 0, &n_elems);
  }
  if (n_elems > kMaxMetadataElements)
    fail("{}: {} metadata array elements (at most {} can be read back)", path, n_elems, kMaxMetadataElements);
  std::vector<uint64_t> offsets;  // (tensor) relative to the data section
  uint64_t data_size = 0, max_nbytes = 0;
  for (const Pending& t : tensors_) {
    offsets.push_back(data_size);
    if (add_overflows(data_size, align_up(t.nbytes, a), &data_size)) fail("{}: total tensor data size overflows", path);
    if (t.fill) max_nbytes = std::max(max_nbytes, t.nbytes);
  }

  // 2. Stream the file to a temporary sibling.
  AtomicFile tmp(path);
  Sink s(tmp.fd(), tmp.temp_path());
  s.bytes("GGUF", 4);
  s.pod<uint32_t>(3);
  s.pod<uint64_t>(tensors_.size());
  s.pod<uint64_t>(metadata_.entries().size() + (emit_alignment ? 1 : 0));
  for (const auto& [key, v] : metadata_.entries()) {
    s.str(key);
    s.pod(static_cast<uint32_t>(v.type));
    write_value(s, v);
  }
  if (emit_alignment) {
    s.str("general.alignment");
    s.pod(static_cast<uint32_t>(ValueType::UINT32));
    s.pod(static_cast<uint32_t>(a));
  }
  for (size_t k = 0; k < tensors_.size(); ++k) {
    const Pending& t = tensors_[k];
    s.str(t.name);
    s.pod(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) s.pod(static_cast<uint64_t>(d));
    s.pod(static_cast<uint32_t>(t.type));
    s.pod(offsets[k]);
  }
  s.pad_to(a);
  std::vector<uint8_t> buf(static_cast<size_t>(max_nbytes));
  for (const Pending& t : tensors_) {
    if (t.view) {
      s.bytes(t.view(), static_cast<size_t>(t.nbytes));
      s.pad_to(a);
      continue;
    }
    std::fill(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(t.nbytes), uint8_t{0});
    t.fill(buf.data(), static_cast<size_t>(t.nbytes));
    s.bytes(buf.data(), static_cast<size_t>(t.nbytes));
    s.pad_to(a);
  }
  s.flush();

  // 3. Make it durable and visible atomically.
  tmp.commit();
}

}  // namespace r1::gguf
