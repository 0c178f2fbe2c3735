// Importance-matrix reader; see imatrix.hpp for the formats and the contract.
#include "format/imatrix.hpp"

#include <cmath>
#include <cstring>
#include <string_view>

#include "base/error.hpp"
#include "base/mmap.hpp"
#include "format/gguf.hpp"

namespace r1 {

namespace {

constexpr std::string_view kSumsSuffix = ".in_sum2";
constexpr std::string_view kCountsSuffix = ".counts";
constexpr int32_t kMaxNameLength = 1 << 16;

bool strip_suffix(std::string* s, std::string_view suffix) {
  if (s->size() <= suffix.size() || s->compare(s->size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  s->resize(s->size() - suffix.size());
  return true;
}

std::vector<float> read_f32(const gguf::TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  std::memcpy(v.data(), t.data, v.size() * sizeof(float));
  return v;
}

void check_finite(const std::string& path, const std::string& name, const std::vector<float>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) fail("{}: imatrix entry '{}' has a non-finite value ({}) at {}", path, name, v[i], i);
}

Imatrix load_gguf(const std::string& path) {
  const auto file = gguf::File::open(path);
  const gguf::Metadata& md = file->metadata();
  for (const char* key : {"imatrix.datasets", "imatrix.chunk_count", "imatrix.chunk_size"})
    if (!md.has(key)) fail("{}: missing imatrix metadata key '{}' (not an imatrix file?)", path, key);
  Imatrix im;
  im.datasets = md.get_strings("imatrix.datasets");
  im.chunk_count = md.get_int("imatrix.chunk_count");
  if (im.chunk_count < 0) fail("{}: imatrix.chunk_count is negative", path);
  if (file->tensors().empty()) fail("{}: the imatrix has no entries", path);

  std::map<std::string, std::pair<const gguf::TensorInfo*, const gguf::TensorInfo*>> pairs;
  for (const auto& t : file->tensors()) {
    std::string name = t.name;
    if (strip_suffix(&name, kSumsSuffix)) pairs[name].first = &t;
    else if (strip_suffix(&name, kCountsSuffix)) pairs[name].second = &t;
  }
  if (pairs.empty()) fail("{}: no '<weight>{}' / '<weight>{}' tensors", path, kSumsSuffix, kCountsSuffix);
  for (const auto& [name, st] : pairs) {
    const auto* sums = st.first;
    const auto* counts = st.second;
    if (!sums || !counts)
      fail("{}: imatrix entry '{}' has {} but no {}", path, name, sums ? kSumsSuffix : kCountsSuffix,
           sums ? kCountsSuffix : kSumsSuffix);
    if (sums->type != DType::F32 || counts->type != DType::F32)
      fail("{}: imatrix entry '{}': sums and counts must be F32 (got {} and {})", path, name, dtype_name(sums->type),
           dtype_name(counts->type));
    const int64_t nval = sums->n_elements(), ncounts = counts->n_elements();
    if (ncounts < 1 || nval < ncounts || nval % ncounts != 0)
      fail("{}: imatrix entry '{}': {} sums do not split evenly over {} counts", path, name, nval, ncounts);
    const auto raw = read_f32(*sums);
    check_finite(path, name, raw);
    const auto cnt = read_f32(*counts);
    const int64_t ne0 = nval / ncounts;
    std::vector<float> e(static_cast<size_t>(nval));
    for (int64_t j = 0; j < ncounts; ++j) {
      const float c = cnt[static_cast<size_t>(j)];
      if (!std::isfinite(c) || c < 0 || c > 9.0e15f)
        fail("{}: imatrix entry '{}': count {} of expert {} is not a token count", path, name, c, j);
      const float count = static_cast<float>(std::lround(c));
      for (int64_t i = 0; i < ne0; ++i) {
        const size_t k = static_cast<size_t>(j * ne0 + i);
        e[k] = count > 0.0f ? raw[k] / count : 1;
      }
    }
    im.entries.emplace(name, std::move(e));
  }
  return im;
}

// Bounds-checked little-endian reader over the legacy file.
class LegacyReader {
 public:
  LegacyReader(const std::string& path, const uint8_t* data, size_t size) : path_(path), p_(data), end_(data + size) {}
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  int32_t i32(const char* what) {
    int32_t v;
    bytes(&v, 4, what);
    return v;
  }
  void bytes(void* dst, size_t n, const char* what) {
    if (n > left()) fail("{}: legacy imatrix truncated while reading {} ({} bytes needed, {} left)", path_, what, n, left());
    std::memcpy(dst, p_, n);
    p_ += n;
  }

 private:
  const std::string& path_;
  const uint8_t* p_;
  const uint8_t* end_;
};

Imatrix load_legacy(const std::string& path, const MappedFile& map) {
  LegacyReader in(path, map.data(), map.size());
  const int32_t n_entries = in.i32("the entry count");
  if (n_entries < 1) fail("{}: not an imatrix file (neither GGUF nor a legacy imatrix with entries)", path);
  if (static_cast<size_t>(n_entries) > map.size() / 16)
    fail("{}: legacy imatrix claims {} entries, more than a file of {} bytes can hold", path, n_entries, map.size());
  Imatrix im;
  im.legacy = true;
  for (int32_t i = 0; i < n_entries; ++i) {
    const int32_t len = in.i32("an entry name length");
    if (len < 1 || len > kMaxNameLength) fail("{}: legacy imatrix entry {} has a name length of {}", path, i + 1, len);
    std::string name(static_cast<size_t>(len), '\0');
    in.bytes(name.data(), name.size(), "an entry name");
    if (name.find('\0') != std::string::npos) fail("{}: legacy imatrix entry {} has a NUL in its name", path, i + 1);
    const int32_t ncall = in.i32("a call count");
    const int32_t nval = in.i32("a value count");
    if (ncall < 0) fail("{}: legacy imatrix entry '{}' has a negative call count ({})", path, name, ncall);
    if (nval < 1 || static_cast<size_t>(nval) > in.left() / 4)
      fail("{}: legacy imatrix entry '{}' has {} values, the file has room for {}", path, name, nval, in.left() / 4);
    std::vector<float> v(static_cast<size_t>(nval));
    in.bytes(v.data(), v.size() * 4, "entry values");
    check_finite(path, name, v);
    if (ncall > 0)
      for (float& x : v) x = x / static_cast<float>(ncall);
    if (!im.entries.emplace(name, std::move(v)).second) fail("{}: legacy imatrix has entry '{}' twice", path, name);
  }
  if (in.left() >= 4) {
    im.chunk_count = in.i32("the chunk count");
    if (im.chunk_count < 0) im.chunk_count = 0;
    if (in.left() >= 4) {
      const int32_t len = in.i32("the dataset name length");
      if (len > 0 && static_cast<size_t>(len) <= in.left()) {
        std::string dataset(static_cast<size_t>(len), '\0');
        in.bytes(dataset.data(), dataset.size(), "the dataset name");
        im.datasets.push_back(dataset.substr(0, dataset.find('\0')));
      }
    }
  }
  return im;
}

}  // namespace

Imatrix load_imatrix(const std::string& path) {
  MappedFile map(path);
  if (map.size() >= 4 && std::memcmp(map.data(), "GGUF", 4) == 0) return load_gguf(path);
  return load_legacy(path, map);
}

}  // namespace r1
