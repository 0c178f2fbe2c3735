// r1 inspect for safetensors checkpoints: see inspect_safetensors.hpp.
#include "cli/inspect_safetensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/safetensors.hpp"

namespace r1::cli {
namespace {

namespace st = r1::safetensors;
using ojson = nlohmann::ordered_json;

bool has_suffix(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && std::string_view(s).substr(s.size() - suffix.size()) == suffix;
}

// "1.50 GiB", "512 B": binary units, two decimals above bytes.
std::string size_text(uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  for (; v >= 1024 && u + 1 < kUnits.size(); ++u) v /= 1024;
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", v, kUnits[u]);
}

// "1.54 B", "7.00 M", "12": decimal units for element counts.
std::string count_text(uint64_t n) {
  static constexpr std::array<std::pair<double, const char*>, 3> kUnits = {{{1e9, "B"}, {1e6, "M"}, {1e3, "K"}}};
  for (const auto& [scale, unit] : kUnits)
    if (static_cast<double>(n) >= scale) return fmt::format("{:.2f} {}", static_cast<double>(n) / scale, unit);
  return fmt::format("{}", n);
}

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

struct DtypeTotals {
  size_t tensors = 0;
  uint64_t n_elements = 0, bytes = 0;
};

struct Totals {
  uint64_t n_params = 0;         // elements of every tensor but the FP8 block scales
  uint64_t n_scales = 0;         // elements of the "<w>_scale_inv" companions of F8_E4M3 weights
  size_t scale_tensors = 0;
  uint64_t bytes = 0;            // tensor data, all shards
  std::map<std::string, DtypeTotals> dtypes;  // by dtype name
};

bool is_block_scale(const st::Model& m, const st::TensorInfo& t) {
  constexpr std::string_view kSuffix = "_scale_inv";
  if (!has_suffix(t.name, kSuffix)) return false;
  const st::TensorInfo* w = m.find(std::string_view(t.name).substr(0, t.name.size() - kSuffix.size()));
  return w && w->dtype == st::Dtype::F8_E4M3;
}

Totals totals_of(const st::Model& m) {
  Totals s;
  for (const st::TensorInfo& t : m.tensors()) {
    const auto n = static_cast<uint64_t>(t.n_elements());
    if (is_block_scale(m, t)) {
      s.n_scales += n;
      s.scale_tensors += 1;
    } else {
      s.n_params += n;
    }
    s.bytes += t.nbytes;
    DtypeTotals& d = s.dtypes[std::string(st::dtype_name(t.dtype))];
    d.tensors += 1;
    d.n_elements += n;
    d.bytes += t.nbytes;
  }
  return s;
}

ojson metadata_json(const st::Metadata& md) {
  ojson j = ojson::object();
  for (const auto& [k, v] : md) j[k] = v;
  return j;
}

void print(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

void print_json(const st::Model& m, const Totals& s) {
  ojson j;
  j["file"] = m.path();
  j["format"] = "safetensors";
  j["index"] = m.index_path().empty() ? ojson(nullptr) : ojson(m.index_path());
  j["index_metadata"] = m.index_metadata_json().empty() ? ojson(nullptr) : ojson::parse(m.index_metadata_json());
  ojson shards = ojson::array();
  for (const auto& f : m.shards())
    shards.push_back({{"file", f->name()}, {"bytes", f->file_size()}, {"header_bytes", f->header_bytes()},
                      {"tensors", f->tensors().size()}, {"metadata", metadata_json(f->metadata())}});
  j["shards"] = std::move(shards);
  ojson tensors = ojson::array();
  for (const st::TensorInfo& t : m.tensors())
    tensors.push_back({{"name", t.name}, {"dtype", st::dtype_name(t.dtype)}, {"shape", t.shape},
                       {"bytes", t.nbytes}, {"shard", file_name(m.shards()[t.shard]->name())}});
  j["tensors"] = std::move(tensors);
  j["n_params"] = s.n_params;
  j["n_block_scales"] = s.n_scales;
  j["weight_bytes"] = s.bytes;
  ojson dt = ojson::object();
  for (const auto& [name, d] : s.dtypes)
    dt[name] = {{"tensors", d.tensors}, {"n_elements", d.n_elements}, {"bytes", d.bytes}};
  j["dtypes"] = std::move(dt);
  print(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

// Names and metadata come from the file: shown as JSON strings where they are not plain.
std::string shown(const std::string& s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  return plain && !s.empty() ? s : ojson(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_text(const st::Model& m, const Totals& s) {
  std::string out;
  auto line = [&](const std::string& l) { out += l + "\n"; };
  uint64_t file_bytes = 0;
  for (const auto& f : m.shards()) file_bytes += f->file_size();
  line(fmt::format("file: {} (safetensors, {} shard{}, {})", m.path(), m.shards().size(),
                   m.shards().size() == 1 ? "" : "s", size_text(file_bytes)));
  if (!m.index_path().empty())
    line(fmt::format("index metadata: {}", m.index_metadata_json().empty() ? "none" : m.index_metadata_json()));
  if (m.shards().size() > 1) {
    line("");
    line(fmt::format("shards ({}):", m.shards().size()));
    for (const auto& f : m.shards())
      line(fmt::format("  {}  {} tensors, {}", shown(file_name(f->name())), f->tensors().size(),
                       size_text(f->file_size())));
  }
  // __metadata__: once when every shard has the same, else per shard.
  const bool same = std::all_of(m.shards().begin(), m.shards().end(),
                                [&](const auto& f) { return f->metadata() == m.shards().front()->metadata(); });
  for (size_t k = 0; k < m.shards().size(); ++k) {
    const st::Metadata& md = m.shards()[k]->metadata();
    if (md.empty() || (same && k > 0)) continue;
    line("");
    line(same ? fmt::format("metadata ({} keys):", md.size())
              : fmt::format("metadata of {} ({} keys):", shown(file_name(m.shards()[k]->name())), md.size()));
    for (const auto& [key, v] : md) line(fmt::format("  {}  {}", shown(key), shown(v)));
  }
  line("");
  line(fmt::format("tensors ({}):", m.tensors().size()));
  size_t name_w = 4, shape_w = 5;
  std::vector<std::string> shapes;
  for (const st::TensorInfo& t : m.tensors()) {
    shapes.push_back(fmt::format("[{}]", fmt::join(t.shape, ", ")));
    name_w = std::max(name_w, shown(t.name).size());
    shape_w = std::max(shape_w, shapes.back().size());
  }
  const bool sharded = m.shards().size() > 1;
  line(fmt::format("  {:<{}}  {:<11} {:<{}} {:>14}{}", "name", name_w, "dtype", "shape", shape_w, "bytes",
                   sharded ? "  shard" : ""));
  for (size_t k = 0; k < m.tensors().size(); ++k) {
    const st::TensorInfo& t = m.tensors()[k];
    line(fmt::format("  {:<{}}  {:<11} {:<{}} {:>14}{}", shown(t.name), name_w, st::dtype_name(t.dtype), shapes[k],
                     shape_w, t.nbytes, sharded ? "  " + shown(file_name(m.shards()[t.shard]->name())) : ""));
  }
  line("");
  line(fmt::format("parameters: {} ({})", count_text(s.n_params), s.n_params));
  if (s.scale_tensors > 0)
    line(fmt::format("fp8 block scales: {} tensors, {} elements (not counted as parameters)", s.scale_tensors,
                     s.n_scales));
  line(fmt::format("weights: {} ({} bytes)", size_text(s.bytes), s.bytes));
  line("by dtype:");
  for (const auto& [name, d] : s.dtypes)
    line(fmt::format("  {:<11} {:>7} tensors {:>16} elements {:>12}", name, d.tensors, d.n_elements,
                     size_text(d.bytes)));
  print(out);
}

}  // namespace

bool is_safetensors_path(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return true;
  if (has_suffix(path, ".safetensors") || has_suffix(path, ".json")) return true;
  std::ifstream in(path, std::ios::binary);
  char head[9] = {};
  if (!in.read(head, sizeof head)) return false;
  return std::memcmp(head, "GGUF", 4) != 0 && head[8] == '{';
}

int inspect_safetensors(const std::string& path, bool json) {
  const auto model = st::Model::open(path);
  const Totals totals = totals_of(*model);
  if (json) print_json(*model, totals);
  else print_text(*model, totals);
  return 0;
}

}  // namespace r1::cli
