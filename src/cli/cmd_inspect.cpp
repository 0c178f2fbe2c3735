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
#include "model/kv_cache.hpp"
#include "model/registry/registry.hpp"

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

// What running the file takes, from the registry's view of it: the KV cache formula of
// the family (model/kv_cache.hpp), and for MoE models the weights one token reads (the
// selected routed experts only, one embedding row) and the multi-token-prediction layers
// (kept in the file, not run).
struct Needs {
  uint64_t kv_bytes_per_token = 0;
  std::string kv_layout;
  uint64_t active_weight_bytes = 0;  // MoE only
  uint64_t mtp_bytes = 0;
};

std::string kv_layout_text(const ModelConfig& c) {
  if (c.arch == Arch::deepseek2)
    return fmt::format("MLA: {} layers x (latent {} + rope key {}) halves", c.n_layer, c.mla.kv_lora_rank, c.qk_rope());
  return fmt::format("GQA: {} layers x {} kv heads x {} halves, K and V", c.n_layer, c.n_head_kv, c.head_dim);
}

Needs needs_of(const gguf::File& file, const ModelConfig& c) {
  Needs d;
  d.kv_bytes_per_token = kv_bytes_per_token(c);
  d.kv_layout = kv_layout_text(c);
  if (c.arch != Arch::deepseek2) return d;
  const bool tied = file.find_tensor(tensor_name(TensorKind::output)) == nullptr;
  for (const auto& t : file.tensors()) {
    TensorKind kind = TensorKind::count;
    int64_t layer = tensor_layer(t.name);
    if (layer >= c.n_layer) {
      d.mtp_bytes += t.nbytes;
      continue;
    }
    parse_tensor_name(t.name, &kind, &layer);
    if (kind == TensorKind::token_embd && !tied && t.shape.size() == 2) {
      d.active_weight_bytes += t.nbytes / static_cast<uint64_t>(t.shape[1]);  // one row per token
      continue;
    }
    const bool routed = kind == TensorKind::ffn_gate_exps || kind == TensorKind::ffn_up_exps ||
                        kind == TensorKind::ffn_gate_up_exps || kind == TensorKind::ffn_down_exps;
    d.active_weight_bytes += routed && c.moe.n_expert > 0 ? t.nbytes / static_cast<uint64_t>(c.moe.n_expert) *
                                                                 static_cast<uint64_t>(c.moe.n_expert_used)
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
  std::optional<Needs> needs;
  try {
    needs = needs_of(*file, ModelConfig::from_gguf(md));
  } catch (const Error& e) {
    runnable = fmt::format("no: {}", e.what());
  }
  const bool moe = needs && arch == "deepseek2";
  const int64_t n_ctx_train = arch.empty() ? 0 : md.get_int_or(arch + ".context_length", 0);
  const int64_t n_ctx = o.ctx > 0 ? o.ctx : n_ctx_train;
  if (!needs)  // not runnable: the cache size from what the metadata says of the attention
    if (const auto shape = attention_shape_of(md)) {
      needs = Needs{};
      needs->kv_bytes_per_token = kv_bytes_per_token(*shape);
      needs->kv_layout = kv_layout_text(*shape);
    }
  const uint64_t kv_tok = needs ? needs->kv_bytes_per_token : 0;
  const double bits_per_weight = n_params > 0 ? 8.0 * static_cast<double>(weight_bytes) / static_cast<double>(n_params) : 0;
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
    j["bits_per_weight"] = bits_per_weight;
    j["n_ctx"] = n_ctx;
    j["kv_bytes_per_token"] = kv_tok;
    j["kv_bytes"] = kv_total;
    j["memory_bytes"] = weight_bytes + kv_total;
    if (needs) j["kv_layout"] = needs->kv_layout;
    if (moe) {
      j["active_weight_bytes_per_token"] = needs->active_weight_bytes;
      j["mtp_weight_bytes"] = needs->mtp_bytes;
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
  line(fmt::format("bits per weight: {:.2f}", bits_per_weight));
  if (kv_tok > 0) {
    line(fmt::format("kv cache (f16): {} per token; {} for a context of {}", human_bytes(double(kv_tok)),
                     human_bytes(double(kv_total)), n_ctx));
    line(fmt::format("kv cache layout: {}", needs->kv_layout));
    line(fmt::format("memory needed: {} (weights + kv cache, plus scratch buffers)",
                     human_bytes(double(weight_bytes + kv_total))));
    if (moe) {
      line(fmt::format("weights read per token: {} (selected routed experts only)",
                       human_bytes(double(needs->active_weight_bytes))));
      if (needs->mtp_bytes > 0)
        line(fmt::format("multi-token-prediction layers: {} (not loaded)", human_bytes(double(needs->mtp_bytes))));
    }
  } else {
    line("kv cache: unknown (the architecture is not one r1 runs)");
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
