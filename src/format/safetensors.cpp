// safetensors reader: header validation (File), index + shards (Model), conversions.
// The validation rules are listed in safetensors.hpp and docs/formats.md.
#include "format/safetensors.hpp"

#include <fmt/ranges.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "format/fp8.hpp"
#include "kernels/types.hpp"

static_assert(std::endian::native == std::endian::little, "the safetensors reader assumes a little-endian host");

namespace r1::safetensors {

namespace {

// nlohmann::json (std::map objects), not ordered_json: ordered_json's objects find keys
// by linear search, so parsing an object of n keys takes O(n^2) (91,000 weight_map
// entries took 35 s). Key order is not needed: tensors are sorted by offset.
using ojson = nlohmann::json;

// One row per dtype, in enum order (checked by dtype_info).
constexpr std::array<DtypeInfo, static_cast<size_t>(Dtype::count)> kDtypes = {{
    {Dtype::BOOL, "BOOL", 8, false},       {Dtype::U8, "U8", 8, false},
    {Dtype::I8, "I8", 8, false},           {Dtype::I16, "I16", 16, false},
    {Dtype::U16, "U16", 16, false},        {Dtype::I32, "I32", 32, false},
    {Dtype::U32, "U32", 32, false},        {Dtype::I64, "I64", 64, false},
    {Dtype::U64, "U64", 64, false},        {Dtype::F16, "F16", 16, true},
    {Dtype::BF16, "BF16", 16, true},       {Dtype::F32, "F32", 32, true},
    {Dtype::F64, "F64", 64, true},         {Dtype::C64, "C64", 64, false},
    {Dtype::F8_E4M3, "F8_E4M3", 8, true},  {Dtype::F8_E5M2, "F8_E5M2", 8, true},
    {Dtype::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8, false}, {Dtype::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8, false},
    {Dtype::F8_E8M0, "F8_E8M0", 8, false}, {Dtype::F4, "F4", 4, false},
    {Dtype::F6_E2M3, "F6_E2M3", 6, false}, {Dtype::F6_E3M2, "F6_E3M2", 6, false},
}};

std::string type_of(const ojson& v) { return v.type_name(); }

// A name from the file as a JSON string literal: quoted, control characters escaped,
// so an error stays one line whatever the file holds.
std::string quote(std::string_view s) { return ojson(std::string(s)).dump(); }

// Parses JSON text refusing duplicate keys in any object and nesting deeper than
// `max_depth` (objects and arrays; the root is depth 1). Errors start with `name`.
ojson parse_json(std::string_view text, const std::string& name, int max_depth) {
  std::vector<std::set<std::string>> keys;  // one per open object
  std::vector<bool> is_object;              // one per open container
  // A raw NUL is never valid JSON, but nlohmann's lexer takes it for the end of the input.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    fail("{} holds a NUL byte at offset {} (not valid JSON)", name, nul);
  auto cb = [&](int, ojson::parse_event_t ev, ojson& v) {
    switch (ev) {
      case ojson::parse_event_t::object_start:
      case ojson::parse_event_t::array_start:
        if (static_cast<int>(is_object.size()) >= max_depth)
          fail("{}: JSON nested deeper than {} levels", name, max_depth);
        is_object.push_back(ev == ojson::parse_event_t::object_start);
        if (is_object.back()) keys.emplace_back();
        break;
      case ojson::parse_event_t::object_end:
      case ojson::parse_event_t::array_end:
        if (is_object.back()) keys.pop_back();
        is_object.pop_back();
        break;
      case ojson::parse_event_t::key:
        if (!keys.back().insert(v.get<std::string>()).second)
          fail("{}: duplicate key {} in the JSON", name, quote(v.get<std::string>()));
        break;
      case ojson::parse_event_t::value: break;
    }
    return true;
  };
  try {
    return ojson::parse(text.begin(), text.end(), cb);
  } catch (const ojson::exception& e) {
    fail("{}: not valid JSON: {}", name, e.what());
  }
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// A non-negative JSON integer (nlohmann parses those as number_unsigned).
bool as_u64(const ojson& v, uint64_t* out) {
  if (!v.is_number_unsigned()) return false;
  *out = v.get<uint64_t>();
  return true;
}

template <class... A>
[[noreturn]] void tensor_fail(const std::string& file, const std::string& tensor, fmt::format_string<A...> f,
                              A&&... a) {
  fail("{}: tensor {}: {}", file, quote(tensor), fmt::format(f, std::forward<A>(a)...));
}

// Reads one tensor entry of a header (everything but its place in the buffer).
TensorInfo parse_entry(const std::string& file, const std::string& name, const ojson& e) {
  TensorInfo t;
  t.name = name;
  if (!e.is_object()) tensor_fail(file, name, "the entry is a JSON {}, not an object", type_of(e));
  for (const auto& [k, v] : e.items())
    if (k != "dtype" && k != "shape" && k != "data_offsets") tensor_fail(file, name, "unknown field {}", quote(k));
  for (const char* k : {"dtype", "shape", "data_offsets"})
    if (!e.contains(k)) tensor_fail(file, name, "missing field '{}'", k);
  const ojson& dt = e["dtype"];
  if (!dt.is_string()) tensor_fail(file, name, "dtype is a JSON {}, not a string", type_of(dt));
  if (!parse_dtype(dt.get<std::string>(), &t.dtype)) tensor_fail(file, name, "unknown dtype {}", quote(dt.get<std::string>()));
  const ojson& shape = e["shape"];
  if (!shape.is_array()) tensor_fail(file, name, "shape is a JSON {}, not an array", type_of(shape));
  uint64_t n = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    uint64_t d = 0;
    if (!as_u64(shape[k], &d)) tensor_fail(file, name, "shape[{}] = {} is not a non-negative integer", k, shape[k].dump());
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      tensor_fail(file, name, "shape[{}] = {} is too large", k, d);
    t.shape.push_back(static_cast<int64_t>(d));
    if (mul_overflows(n, d, &n) || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      tensor_fail(file, name, "the element count of shape {} overflows", shape.dump());
  }
  const int bits = dtype_info(t.dtype).bits;
  uint64_t total_bits = 0;
  if (mul_overflows(n, static_cast<uint64_t>(bits), &total_bits))
    tensor_fail(file, name, "the byte size of {} x {} overflows", n, dtype_name(t.dtype));
  if (total_bits % 8 != 0) tensor_fail(file, name, "{} elements of {} are not a whole number of bytes", n, dtype_name(t.dtype));
  const uint64_t bytes = total_bits / 8;
  const ojson& off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !as_u64(off[0], &t.begin) || !as_u64(off[1], &t.end))
    tensor_fail(file, name, "data_offsets {} is not two non-negative integers [begin, end]", off.dump());
  if (t.begin > t.end) tensor_fail(file, name, "data_offsets [{}, {}] end before they begin", t.begin, t.end);
  t.nbytes = t.end - t.begin;
  if (t.nbytes != bytes)
    tensor_fail(file, name, "data_offsets [{}, {}] hold {} bytes but shape [{}] of {} needs {}", t.begin, t.end, t.nbytes,
        fmt::join(t.shape, ", "), dtype_name(t.dtype), bytes);
  return t;
}

// Non-empty, not "." or "..", no '/', '\\' or control character: a file in the index's directory.
bool is_plain_file_name(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string read_small_file(const std::string& path, uint64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail("cannot open '{}': {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("'{}' is not a regular file", path);
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    fail("{}: {} bytes exceeds the limit of {} bytes for an index", path, st.st_size, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}'", path);
  std::string text(static_cast<size_t>(st.st_size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.gcount() != static_cast<std::streamsize>(text.size())) fail("cannot read '{}'", path);
  return text;
}

// What a directory holds: an index (preferred) or a single file; see Model::open.
std::string resolve_directory(const std::filesystem::path& dir) {
  std::vector<std::string> indexes, files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (ends_with(n, ".safetensors.index.json")) indexes.push_back(n);
    else if (ends_with(n, ".safetensors")) files.push_back(n);
  }
  if (ec) fail("cannot list directory '{}': {}", dir.string(), ec.message());
  std::sort(indexes.begin(), indexes.end());
  std::sort(files.begin(), files.end());
  auto pick = [&](const std::vector<std::string>& v, const char* preferred) -> std::string {
    if (std::find(v.begin(), v.end(), preferred) != v.end()) return (dir / preferred).string();
    if (v.size() == 1) return (dir / v[0]).string();
    return "";
  };
  if (!indexes.empty()) {
    std::string p = pick(indexes, "model.safetensors.index.json");
    if (p.empty())
      fail("directory '{}' holds {} safetensors indexes ({}) and no model.safetensors.index.json: give one",
           dir.string(), indexes.size(), fmt::join(indexes, ", "));
    return p;
  }
  std::string p = pick(files, "model.safetensors");
  if (!p.empty()) return p;
  if (files.empty()) fail("directory '{}' holds no .safetensors file and no safetensors index", dir.string());
  fail("directory '{}' holds {} .safetensors files ({}) but no index naming their tensors", dir.string(),
       files.size(), fmt::join(files, ", "));
}

}  // namespace

// ---- dtypes ----------------------------------------------------------------------

const DtypeInfo& dtype_info(Dtype d) {
  const auto& info = kDtypes.at(static_cast<size_t>(d));
  static_assert(kDtypes.back().dtype == Dtype::F6_E3M2);
  return info;
}

std::string_view dtype_name(Dtype d) { return dtype_info(d).name; }

bool parse_dtype(std::string_view name, Dtype* out) {
  for (const DtypeInfo& i : kDtypes)
    if (name == i.name) {
      *out = i.dtype;
      return true;
    }
  return false;
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // checked at parse time
  return n;
}

// ---- one file --------------------------------------------------------------------

std::unique_ptr<File> File::open(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->map_ = MappedFile(path);
  f->name_ = path;
  f->build(f->map_.data(), f->map_.size());
  return f;
}

std::unique_ptr<File> File::parse(const uint8_t* data, size_t size, std::string name) {
  std::unique_ptr<File> f(new File());
  f->name_ = std::move(name);
  f->build(data, size);
  return f;
}

void File::build(const uint8_t* data, size_t size) {
  size_ = size;
  if (size < 8) fail("{}: {} bytes is too short for a safetensors file (the header length takes 8)", name_, size);
  const uint64_t n = read_u64_le(data);
  if (n > kMaxHeaderBytes) fail("{}: header length {} exceeds the limit of {} bytes", name_, n, kMaxHeaderBytes);
  if (n > size - 8)
    fail("{}: header length {} runs past the end of the file ({} bytes follow the length)", name_, n, size - 8);
  header_bytes_ = n;
  const std::string_view text(reinterpret_cast<const char*>(data + 8), static_cast<size_t>(n));
  if (text.empty() || text[0] != '{') fail("{}: the header does not begin with '{{' (not a safetensors file?)", name_);
  // Depth 3: root object > tensor entry > shape / data_offsets array.
  const ojson j = parse_json(text, name_ + ": header", 3);
  if (!j.is_object()) fail("{}: the header is a JSON {}, not an object", name_, type_of(j));
  const uint64_t data_size = size - 8 - n;
  const uint8_t* buffer = data + 8 + n;
  for (const auto& [key, v] : j.items()) {
    if (key == "__metadata__") {
      if (!v.is_object()) fail("{}: __metadata__ is a JSON {}, not an object", name_, type_of(v));
      for (const auto& [mk, mv] : v.items()) {
        if (!mv.is_string())
          fail("{}: __metadata__ {} is a JSON {}; the format allows only strings", name_, quote(mk), type_of(mv));
        metadata_.emplace_back(mk, mv.get<std::string>());
      }
      continue;
    }
    TensorInfo t = parse_entry(name_, key, v);
    if (t.end > data_size)
      fail("{}: tensor {}: data_offsets [{}, {}] run past the end of the {}-byte data buffer", name_, quote(key), t.begin,
           t.end, data_size);
    t.data = buffer + t.begin;
    tensors_.push_back(std::move(t));
  }
  // The tensors must tile the buffer: sorted by offset, each starts where the previous ends.
  std::stable_sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  for (size_t k = 0; k < tensors_.size(); ++k) {
    const TensorInfo& t = tensors_[k];
    if (t.begin < pos)
      fail("{}: tensor {} [{}, {}] overlaps tensor {} [{}, {}]", name_, quote(t.name), t.begin, t.end,
           quote(tensors_[k - 1].name), tensors_[k - 1].begin, tensors_[k - 1].end);
    if (t.begin > pos)
      fail("{}: tensor {} starts at {} leaving a hole of {} bytes after {} (the format requires the data "
           "buffer to be fully indexed)",
           name_, quote(t.name), t.begin, t.begin - pos, k ? fmt::format("tensor {}", quote(tensors_[k - 1].name)) : "the header");
    pos = t.end;
  }
  if (pos != data_size)
    fail("{}: {} bytes at the end of the data buffer belong to no tensor (the format requires the data buffer "
         "to be fully indexed)",
         name_, data_size - pos);
  for (size_t k = 0; k < tensors_.size(); ++k) index_.emplace(tensors_[k].name, k);
}

const TensorInfo* File::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

// ---- index and model ---------------------------------------------------------------

Index parse_index(std::string_view text, const std::string& name) {
  // Depth 16: the root, weight_map, and whatever "metadata" holds.
  const ojson j = parse_json(text, name, 16);
  if (!j.is_object()) fail("{}: the index is a JSON {}, not an object", name, type_of(j));
  if (!j.contains("weight_map")) fail("{}: the index has no \"weight_map\"", name);
  const ojson& wm = j["weight_map"];
  if (!wm.is_object()) fail("{}: weight_map is a JSON {}, not an object", name, type_of(wm));
  Index idx;
  if (j.contains("metadata")) {
    if (!j["metadata"].is_object()) fail("{}: metadata is a JSON {}, not an object", name, type_of(j["metadata"]));
    idx.metadata_json = j["metadata"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : wm.items()) {
    if (!shard.is_string())
      fail("{}: weight_map {} is a JSON {}, not a shard file name", name, quote(tensor), type_of(shard));
    if (!is_plain_file_name(shard.get<std::string>()))
      fail("{}: weight_map {} names shard {}, which is not a plain file name in the index's directory", name,
           quote(tensor), shard.dump());
    shards.insert(shard.get<std::string>());
  }
  idx.shards.assign(shards.begin(), shards.end());
  for (const auto& [tensor, shard] : wm.items()) {
    const auto pos = std::lower_bound(idx.shards.begin(), idx.shards.end(), shard.get<std::string>());
    idx.weights.emplace_back(tensor, static_cast<size_t>(pos - idx.shards.begin()));
  }
  return idx;
}

std::unique_ptr<Model> Model::open(const std::string& path) {
  namespace fs = std::filesystem;
  std::unique_ptr<Model> m(new Model());
  std::error_code ec;
  std::string resolved = path;
  if (fs::is_directory(path, ec)) resolved = resolve_directory(path);
  m->path_ = resolved;
  if (!ends_with(resolved, ".json")) {
    m->shards_.push_back(File::open(resolved));
  } else {
    m->index_path_ = resolved;
    const Index idx = parse_index(read_small_file(resolved, kMaxIndexBytes), resolved);
    m->index_metadata_ = idx.metadata_json;
    const fs::path dir = fs::path(resolved).parent_path();
    std::unordered_map<std::string, size_t> shard_of;
    for (const auto& [tensor, shard] : idx.weights) shard_of.emplace(tensor, shard);
    for (size_t s = 0; s < idx.shards.size(); ++s) {
      auto f = File::open((dir / idx.shards[s]).string());
      for (const TensorInfo& t : f->tensors()) {
        auto it = shard_of.find(t.name);
        if (it == shard_of.end())
          fail("{}: tensor {} is not in the index {}", f->name(), quote(t.name), resolved);
        if (it->second != s)
          fail("{}: tensor {} is in shard {} in the index {}", f->name(), quote(t.name),
               quote(idx.shards[it->second]), resolved);
      }
      m->shards_.push_back(std::move(f));
    }
    for (const auto& [tensor, shard] : idx.weights)
      if (!m->shards_[shard]->find(tensor))
        fail("{}: the index places tensor {} in shard {}, which does not hold it", resolved, quote(tensor),
             quote(idx.shards[shard]));
  }
  for (size_t s = 0; s < m->shards_.size(); ++s)
    for (TensorInfo t : m->shards_[s]->tensors()) {
      t.shard = s;
      m->index_.emplace(t.name, m->tensors_.size());
      m->tensors_.push_back(std::move(t));
    }
  return m;
}

const TensorInfo* Model::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<float> Model::read_float(std::string_view name) const {
  const TensorInfo* t = find(name);
  if (!t) fail("{}: no tensor {}", path_, quote(name));
  std::vector<float> out(static_cast<size_t>(t->n_elements()));
  const TensorInfo* scale = t->dtype == Dtype::F8_E4M3 ? find(scale_inv_name(name)) : nullptr;
  if (scale) dequantize_fp8_blocks(*t, *scale, out.data());
  else to_float(*t, out.data());
  return out;
}

// ---- conversions -------------------------------------------------------------------

namespace {

template <class T>
T load(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

}  // namespace

void to_float(const TensorInfo& t, float* out) {
  const int64_t n = t.n_elements();
  const uint8_t* p = t.data;
  if (n == 0 && dtype_info(t.dtype).to_float) return;  // `out` may be null (an empty vector's data())
  switch (t.dtype) {
    case Dtype::F32: std::memcpy(out, p, static_cast<size_t>(n) * 4); return;
    case Dtype::F16: for (int64_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(load<uint16_t>(p, i)); return;
    case Dtype::BF16: for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(load<uint16_t>(p, i)); return;
    case Dtype::F64: for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<double>(p, i)); return;
    case Dtype::F8_E4M3: for (int64_t i = 0; i < n; ++i) out[i] = fp8_e4m3_to_float(p[i]); return;
    case Dtype::F8_E5M2: for (int64_t i = 0; i < n; ++i) out[i] = fp8_e5m2_to_float(p[i]); return;
    default: fail("tensor {}: dtype {} cannot be converted to float", quote(t.name), dtype_name(t.dtype));
  }
}

std::string scale_inv_name(std::string_view weight_name) { return std::string(weight_name) + "_scale_inv"; }

void dequantize_fp8_blocks(const TensorInfo& w, const TensorInfo& s, float* out, int64_t block) {
  if (block <= 0) fail("tensor {}: block size {} must be positive", quote(w.name), block);
  if (w.dtype != Dtype::F8_E4M3 || w.shape.size() != 2)
    fail("tensor {}: a block-scaled FP8 weight must be a 2-D F8_E4M3 tensor, not {} [{}]", quote(w.name),
         dtype_name(w.dtype), fmt::join(w.shape, ", "));
  const int64_t rows = w.shape[0], cols = w.shape[1];
  const int64_t br = rows / block + (rows % block != 0), bc = cols / block + (cols % block != 0);  // no overflow
  if (s.dtype != Dtype::F32 || s.shape != std::vector<int64_t>{br, bc})
    fail("tensor {}: the scales of {} [{}, {}] in {}x{} blocks must be F32 [{}, {}], not {} [{}]", quote(s.name),
         quote(w.name), rows, cols, block, block, br, bc, dtype_name(s.dtype), fmt::join(s.shape, ", "));
  if (rows == 0 || cols == 0) return;  // nothing to write (and no row loop over 2^63 empty rows)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t srow = (r / block) * bc;
    for (int64_t c = 0; c < cols; ++c)
      out[r * cols + c] = fp8_e4m3_to_float(w.data[r * cols + c]) * load<float>(s.data, srow + c / block);
  }
}

}  // namespace r1::safetensors
