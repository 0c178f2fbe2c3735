// r1 inspect: what a GGUF file holds (metadata, tensors) and what running it
// would take (parameters, weight bytes, KV cache for a context). Reads the
// metadata and tensor table only, so it works for any architecture, runnable or not.
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "format/gguf.hpp"
#include "kernels/types.hpp"
#include "model/config.hpp"
#include "model/deepseek2_config.hpp"

namespace r1::cli {
namespace {

using gguf::Value;
using gguf::ValueType;
using ojson = nlohmann::ordered_json;

struct InspectOptions {
  std::string path;
  int64_t ctx = 0;
  bool json = false;
};

constexpr size_t kArrayHead = 8;      // array items shown when an array is abbreviated
constexpr size_t kArrayFull = 16;     // arrays up to this length are shown whole
constexpr size_t kTextStringMax = 72; // string values longer than this are cut in the text output

// ---- values ------------------------------------------------------------------

ojson scalar_json(const Value& v) {
  switch (v.type) {
    case ValueType::INT8:
    case ValueType::INT16:
    case ValueType::INT32:
    case ValueType::INT64: return v.i;
    case ValueType::BOOL: return v.u != 0;
    case ValueType::FLOAT32:  // shortest decimal that reads back as the same float: 1e-06, not 9.99e-07
      return std::isfinite(v.f) ? ojson(std::stod(fmt::format("{}", static_cast<float>(v.f))))
                                : ojson(fmt::format("{}", v.f));
    case ValueType::FLOAT64: return std::isfinite(v.f) ? ojson(v.f) : ojson(fmt::format("{}", v.f));
    case ValueType::STRING: return v.s;
    case ValueType::ARRAY: return nullptr;  // handled by value_json
    default: return v.u;
  }
}

// Long arrays become {"type", "count", "head": [first items]}.
ojson value_json(const Value& v) {
  if (v.type != ValueType::ARRAY) return scalar_json(v);
  auto items = [&](size_t n) {
    ojson a = ojson::array();
    for (size_t i = 0; i < n && i < v.arr.size(); ++i) a.push_back(value_json(v.arr[i]));
    return a;
  };
  if (v.arr.size() <= kArrayFull) return items(v.arr.size());
  return ojson{{"type", fmt::format("array[{}]", gguf::value_type_name(v.elem_type))},
               {"count", v.arr.size()},
               {"head", items(kArrayHead)}};
}

std::string quoted(const std::string& s, size_t max) {
  std::string shown = s.size() > max ? s.substr(0, max) : s;
  std::string q = ojson(shown).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > max) q += fmt::format("... ({} bytes)", s.size());
  return q;
}

std::string scalar_text(const Value& v) {
  switch (v.type) {
    case ValueType::STRING: return quoted(v.s, kTextStringMax);
    case ValueType::BOOL: return v.u ? "true" : "false";
    case ValueType::FLOAT32:
    case ValueType::FLOAT64: return fmt::format("{:g}", v.f);
    case ValueType::INT8:
    case ValueType::INT16:
    case ValueType::INT32:
    case ValueType::INT64: return fmt::format("{}", v.i);
    case ValueType::ARRAY: return fmt::format("[array x {}]", v.arr.size());
    default: return fmt::format("{}", v.u);
  }
}

std::string value_text(const Value& v) {
  if (v.type != ValueType::ARRAY) return scalar_text(v);
  const size_t n = v.arr.size() <= kArrayFull ? v.arr.size() : kArrayHead;
  std::string out = fmt::format("[{} x {}] [", gguf::value_type_name(v.elem_type), v.arr.size());
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += v.arr[i].type == ValueType::STRING ? quoted(v.arr[i].s, 24) : scalar_text(v.arr[i]);
  }
  if (n < v.arr.size()) out += ", ...";
  return out + "]";
}

// ---- sizes -------------------------------------------------------------------

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[u]);
}

std::string human_count(double n) {
  if (n >= 1e9) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.2f} K", n / 1e3);
  return fmt::format("{:.0f}", n);
}

// Sum over layers of a hyper-parameter stored as one number or one per layer.
int64_t per_layer_sum(const gguf::Metadata& md, const std::string& key, int64_t n_layer, int64_t fallback) {
  const Value* v = md.find(key);
  if (!v) return fallback * n_layer;
  if (v->type != ValueType::ARRAY) return v->as_i64(key) * n_layer;
  int64_t s = 0;
  for (const auto& e : v->arr) s += e.as_i64(key);
  return s;
}

// Bytes of one token's keys and values over all layers at F16, from the
// <arch>.* metadata as llama.cpp sizes its cache (MLA files: the compressed
// latent only). 0 when the metadata does not say enough.
uint64_t kv_bytes_per_token(const gguf::Metadata& md) {
  const std::string arch = md.get_string_or("general.architecture", "");
  if (arch.empty()) return 0;
  const std::string p = arch + ".";
  const int64_t n_layer = md.get_int_or(p + "block_count", 0);
  const int64_t n_embd = md.get_int_or(p + "embedding_length", 0);
  if (n_layer <= 0 || n_embd <= 0) return 0;
  const Value* hv = md.find(p + "attention.head_count");
  if (!hv) return 0;
  const int64_t n_head = hv->type == ValueType::ARRAY ? (hv->arr.empty() ? 0 : hv->arr[0].as_i64("head_count"))
                                                      : hv->as_i64("head_count");
  if (n_head <= 0) return 0;
  const int64_t head_k = md.get_int_or(p + "attention.key_length", n_embd / n_head);
  const int64_t head_v = md.get_int_or(p + "attention.value_length", head_k);
  const int64_t kv_heads = per_layer_sum(md, p + "attention.head_count_kv", n_layer, n_head);  // summed over layers
  int64_t elems = md.has(p + "attention.key_length_mla") ? kv_heads * head_k  // MLA: V is a view of K
                                                         : kv_heads * (head_k + head_v);
  return elems > 0 ? static_cast<uint64_t>(elems) * 2 : 0;
}

// deepseek2 (MLA + MoE): the cache holds kv_lora_rank + rope dims per token per layer;
// per token only the selected routed experts' weights are read.
struct Deepseek2Needs {
  uint64_t kv_bytes_per_token = 0;
  uint64_t active_weight_bytes = 0;  // weights read per token: selected experts, one embedding row, no MTP
  uint64_t mtp_bytes = 0;            // multi-token-prediction layers (not run)
  std::string kv_layout;
};

Deepseek2Needs deepseek2_needs(const gguf::File& file, const DeepSeek2Config& c) {
  Deepseek2Needs d;
  d.kv_bytes_per_token = c.kv_bytes_per_token();
  d.kv_layout = fmt::format("MLA: {} layers x (latent {} + rope key {}) halves", c.n_layer, c.kv_lora_rank, c.qk_rope);
  for (const auto& t : file.tensors()) {
    int layer = -1;
    if (std::sscanf(t.name.c_str(), "blk.%d.", &layer) == 1 && layer >= c.n_layer) {
      d.mtp_bytes += t.nbytes;
      continue;
    }
    if (t.name == "token_embd.weight" && file.find_tensor("output.weight") && t.shape.size() == 2) {
      d.active_weight_bytes += t.nbytes / static_cast<uint64_t>(t.shape[1]);  // one row per token
      continue;
    }
    const bool routed = t.name.find("_exps.") != std::string::npos;
    d.active_weight_bytes += routed && c.n_expert > 0 ? t.nbytes / static_cast<uint64_t>(c.n_expert) *
                                                            static_cast<uint64_t>(c.n_expert_used)
                                                      : t.nbytes;
  }
  return d;
}

// ---- the command ---------------------------------------------------------------

int run_inspect(const InspectOptions& o) {
  if (o.ctx < 0) fail("-c/--ctx must be >= 0, got {}", o.ctx);
  auto file = gguf::File::open(o.path);
  const gguf::Metadata& md = file->metadata();

  uint64_t n_params = 0, weight_bytes = 0;
  for (const auto& t : file->tensors()) {
    n_params += static_cast<uint64_t>(t.n_elements());
    weight_bytes += t.nbytes;
  }
  const std::string arch = md.get_string_or("general.architecture", "");
  std::string runnable = "yes";
  std::optional<Deepseek2Needs> ds2;
  try {
    if (arch == "deepseek2") ds2 = deepseek2_needs(*file, DeepSeek2Config::from_gguf(md));
    else ModelConfig::from_gguf(md);
  } catch (const Error& e) {
    runnable = fmt::format("no: {}", e.what());
  }
  const int64_t n_ctx_train = arch.empty() ? 0 : md.get_int_or(arch + ".context_length", 0);
  const int64_t n_ctx = o.ctx > 0 ? o.ctx : n_ctx_train;
  const uint64_t kv_tok = ds2 ? ds2->kv_bytes_per_token : kv_bytes_per_token(md);
  const uint64_t kv_total = kv_tok * static_cast<uint64_t>(std::max<int64_t>(n_ctx, 0));

  if (o.json) {
    ojson j;
    j["file"] = o.path;
    j["file_bytes"] = file->file_size();
    j["version"] = file->version();
    j["alignment"] = file->alignment();
    j["architecture"] = arch;
    j["runnable"] = runnable == "yes";
    if (runnable != "yes") j["not_runnable_reason"] = runnable.substr(4);
    ojson meta = ojson::object();
    for (const auto& [k, v] : md.entries()) meta[k] = value_json(v);
    j["metadata"] = std::move(meta);
    ojson tensors = ojson::array();
    for (const auto& t : file->tensors())
      tensors.push_back({{"name", t.name}, {"type", dtype_name(t.type)}, {"shape", t.shape}, {"bytes", t.nbytes}});
    j["tensors"] = std::move(tensors);
    j["n_params"] = n_params;
    j["weight_bytes"] = weight_bytes;
    j["n_ctx"] = n_ctx;
    j["kv_bytes_per_token"] = kv_tok;
    j["kv_bytes"] = kv_total;
    j["memory_bytes"] = weight_bytes + kv_total;
    if (ds2) {
      j["kv_layout"] = ds2->kv_layout;
      j["active_weight_bytes_per_token"] = ds2->active_weight_bytes;
      j["mtp_weight_bytes"] = ds2->mtp_bytes;
    }
    std::string out = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }

  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  line(fmt::format("file: {} ({}, GGUF v{}, alignment {})", o.path, human_bytes(double(file->file_size())),
                   file->version(), file->alignment()));
  line(fmt::format("architecture: {} (runnable: {})", arch.empty() ? "?" : arch, runnable));
  line("");
  line(fmt::format("metadata ({} keys):", md.entries().size()));
  size_t key_w = 0;
  for (const auto& [k, v] : md.entries()) key_w = std::max(key_w, k.size());
  for (const auto& [k, v] : md.entries())
    line(fmt::format("  {:<{}}  {:<8} {}", k, key_w, v.type == ValueType::ARRAY ? "array" : gguf::value_type_name(v.type),
                     value_text(v)));
  line("");
  line(fmt::format("tensors ({}):", file->tensors().size()));
  size_t name_w = 4;
  for (const auto& t : file->tensors()) name_w = std::max(name_w, t.name.size());
  line(fmt::format("  {:<{}}  {:<6} {:<24} {:>14}", "name", name_w, "type", "shape", "bytes"));
  for (const auto& t : file->tensors())
    line(fmt::format("  {:<{}}  {:<6} {:<24} {:>14}", t.name, name_w, dtype_name(t.type),
                     fmt::format("[{}]", fmt::join(t.shape, ", ")), t.nbytes));
  line("");
  line(fmt::format("parameters: {} ({})", human_count(double(n_params)), n_params));
  line(fmt::format("weights: {} ({} bytes)", human_bytes(double(weight_bytes)), weight_bytes));
  if (kv_tok > 0) {
    line(fmt::format("kv cache (f16): {} per token; {} for a context of {}", human_bytes(double(kv_tok)),
                     human_bytes(double(kv_total)), n_ctx));
    if (ds2) line(fmt::format("kv cache layout: {}", ds2->kv_layout));
    line(fmt::format("memory needed: {} (weights + kv cache, plus scratch buffers)",
                     human_bytes(double(weight_bytes + kv_total))));
    if (ds2) {
      line(fmt::format("weights read per token: {} (selected routed experts only)",
                       human_bytes(double(ds2->active_weight_bytes))));
      if (ds2->mtp_bytes > 0)
        line(fmt::format("multi-token-prediction layers: {} (not loaded)", human_bytes(double(ds2->mtp_bytes))));
    }
  } else {
    line("kv cache: unknown (the metadata does not give the attention shape)");
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

const bool registered = register_command({
    .name = "inspect",
    .help = "print a GGUF file's metadata, tensors, parameter count and memory needs",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<InspectOptions>();
      sub.add_option("file", o->path, "GGUF file")->required();
      sub.add_option("-c,--ctx", o->ctx, "context length for the KV cache estimate (default: the model's)");
      sub.add_flag("--json", o->json, "print one JSON object");
      return [o] { return run_inspect(*o); };
    }});

}  // namespace
}  // namespace r1::cli
