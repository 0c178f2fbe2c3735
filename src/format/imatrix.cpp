// Importance-matrix reader; see imatrix.hpp for the formats and the contract.
#include "format/imatrix.hpp"

#include <cmath>
#include <cstring>
#include <string_view>

#include "base/error.hpp"
#include "base/mmap.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"

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

ImatrixSums load_gguf_sums(const std::string& path) {
  const auto file = gguf::File::open(path);
  const gguf::Metadata& md = file->metadata();
  for (const char* key : {"imatrix.datasets", "imatrix.chunk_count", "imatrix.chunk_size"})
    if (!md.has(key)) fail("{}: missing imatrix metadata key '{}' (not an imatrix file?)", path, key);
  ImatrixSums im;
  im.datasets = md.get_strings("imatrix.datasets");
  im.chunk_count = md.get_int("imatrix.chunk_count");
  im.chunk_size = md.get_int("imatrix.chunk_size");
  if (im.chunk_count < 0) fail("{}: imatrix.chunk_count is negative", path);
  if (im.chunk_size < 0) fail("{}: imatrix.chunk_size is negative", path);
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
    ImatrixSums::Entry e{read_f32(*sums), read_f32(*counts)};
    check_finite(path, name, e.sums);
    for (size_t j = 0; j < e.counts.size(); ++j) {
      const float c = e.counts[j];
      if (!std::isfinite(c) || c < 0 || c > 9.0e15f)
        fail("{}: imatrix entry '{}': count {} of expert {} is not a token count", path, name, c, j);
    }
    im.entries.emplace(name, std::move(e));
  }
  return im;
}

Imatrix load_gguf(const std::string& path) {
  ImatrixSums raw = load_gguf_sums(path);
  Imatrix im;
  im.datasets = std::move(raw.datasets);
  im.chunk_count = raw.chunk_count;
  for (auto& [name, r] : raw.entries) {
    const size_t ncounts = r.counts.size(), ne0 = r.sums.size() / ncounts;
    std::vector<float> e(r.sums.size());
    for (size_t j = 0; j < ncounts; ++j) {
      const float count = static_cast<float>(std::lround(r.counts[j]));
      for (size_t i = 0; i < ne0; ++i) e[j * ne0 + i] = count > 0.0f ? r.sums[j * ne0 + i] / count : 1;
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

ImatrixSums load_imatrix_sums(const std::string& path) {
  MappedFile map(path);
  if (map.size() < 4 || std::memcmp(map.data(), "GGUF", 4) != 0)
    fail("{}: not a GGUF imatrix (a legacy .dat imatrix cannot be continued: its sums are averaged)", path);
  return load_gguf_sums(path);
}

void merge_imatrix_sums(ImatrixSums& a, const ImatrixSums& b, const std::string& b_path) {
  for (const auto& [name, e] : b.entries) {
    auto it = a.entries.find(name);
    if (it == a.entries.end()) {
      a.entries.emplace(name, e);
      continue;
    }
    ImatrixSums::Entry& d = it->second;
    if (d.sums.size() != e.sums.size() || d.counts.size() != e.counts.size())
      fail("{}: imatrix entry '{}' has {} sums / {} counts, the earlier files {} / {}", b_path, name, e.sums.size(),
           e.counts.size(), d.sums.size(), d.counts.size());
    for (size_t i = 0; i < d.sums.size(); ++i) d.sums[i] += e.sums[i];
    for (size_t i = 0; i < d.counts.size(); ++i) d.counts[i] += e.counts[i];
  }
  a.datasets.insert(a.datasets.end(), b.datasets.begin(), b.datasets.end());
  a.chunk_count += b.chunk_count;
  if (a.chunk_size == 0) a.chunk_size = b.chunk_size;
}

void write_imatrix(const std::string& path, const ImatrixSums& im) {
  gguf::Writer w;
  w.set("general.type", gguf::Value::from_string("imatrix"));
  w.set("imatrix.datasets", gguf::Value::from_strings(im.datasets));
  w.set("imatrix.chunk_count", gguf::Value::from_u32(static_cast<uint32_t>(im.chunk_count)));
  w.set("imatrix.chunk_size", gguf::Value::from_u32(static_cast<uint32_t>(im.chunk_size)));
  for (const auto& [name, e] : im.entries) {  // std::map: name order, as llama-imatrix sorts
    const int64_t nmat = static_cast<int64_t>(e.counts.size()), nval = static_cast<int64_t>(e.sums.size());
    if (nmat < 1 || nval < nmat || nval % nmat != 0)
      fail("imatrix entry '{}': {} sums do not split over {} counts", name, nval, nmat);
    // shapes as ggml stores them: trailing dimensions of 1 dropped
    const std::vector<int64_t> sums_shape = nmat > 1 ? std::vector<int64_t>{nval / nmat, nmat} : std::vector<int64_t>{nval};
    const std::vector<int64_t> counts_shape = nmat > 1 ? std::vector<int64_t>{1, nmat} : std::vector<int64_t>{1};
    w.add_tensor(name + std::string(kSumsSuffix), DType::F32, sums_shape, e.sums.data(), e.sums.size() * 4);
    w.add_tensor(name + std::string(kCountsSuffix), DType::F32, counts_shape, e.counts.data(), e.counts.size() * 4);
  }
  w.write(path);
}

Imatrix load_imatrix(const std::string& path) {
  MappedFile map(path);
  if (map.size() >= 4 && std::memcmp(map.data(), "GGUF", 4) == 0) return load_gguf(path);
  return load_legacy(path, map);
}

}  // namespace r1
