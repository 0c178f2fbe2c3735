// r1 inspect: what a GGUF file holds (metadata, tensors; bits per weight per tensor
// group for mixed-quantization files) and what running it would take (parameters, weight
// bytes, KV cache for a context, where the weights would live once loaded). Reads the
// metadata and tensor table only (the load plan binds the weights as Model::load does,
// which touches the vectors only), so it works for any architecture, runnable or not.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/log.hpp"
#include "cli/command.hpp"
#include "cli/terminal_flags.hpp"
#include "base/thread_pool.hpp"
#include "cli/inspect_safetensors.hpp"
#include "model/hf/hf_checkpoint.hpp"
#include "format/gguf.hpp"
#include "kernels/repack.hpp"
#include "kernels/types.hpp"
#include "model/config.hpp"
#include "model/kv_cache.hpp"
#include "model/memory.hpp"
#include "model/registry/registry.hpp"
#include "model/tensor_groups.hpp"
#include "model/weights.hpp"

namespace r1::cli {
namespace {

using gguf::Value;
using gguf::ValueType;
using ojson = nlohmann::ordered_json;

struct InspectOptions {
  std::string path;
  std::string model;  // -m: the same as the positional file
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

// ---- tensor groups ---------------------------------------------------------------
// Bits per weight per part of the model (model/tensor_groups.hpp), with the stored
// types of each part: a mixed-quantization file (DeepSeek-R1 "dynamic quants": IQ1_S
// routed experts, Q4_K attention, Q6_K output) reads as one figure per part.

double bits_per_weight_of(uint64_t bytes, uint64_t n_elements) {
  return n_elements > 0 ? 8.0 * static_cast<double>(bytes) / static_cast<double>(n_elements) : 0;
}

struct TypeShare {
  DType type = DType::F32;
  size_t tensors = 0;
  uint64_t n_elements = 0, bytes = 0;
};

struct GroupStats {
  size_t tensors = 0;
  uint64_t n_elements = 0, bytes = 0;
  std::vector<TypeShare> types;  // most elements first
};

using Groups = std::array<GroupStats, static_cast<size_t>(TensorGroup::count)>;

Groups groups_of(const gguf::File& file) {
  Groups g;
  for (const auto& t : file.tensors()) {
    GroupStats& s = g[static_cast<size_t>(tensor_group_of(t.name))];
    const auto n = static_cast<uint64_t>(t.n_elements());
    s.tensors += 1;
    s.n_elements += n;
    s.bytes += t.nbytes;
    auto it = std::find_if(s.types.begin(), s.types.end(), [&](const TypeShare& x) { return x.type == t.type; });
    if (it == s.types.end()) it = s.types.insert(s.types.end(), TypeShare{t.type});
    it->tensors += 1;
    it->n_elements += n;
    it->bytes += t.nbytes;
  }
  for (GroupStats& s : g)
    std::stable_sort(s.types.begin(), s.types.end(),
                     [](const TypeShare& a, const TypeShare& b) { return a.n_elements > b.n_elements; });
  return g;
}

double share_of(const TypeShare& t, const GroupStats& s) {
  return s.n_elements > 0 ? static_cast<double>(t.n_elements) / static_cast<double>(s.n_elements) : 0;
}

// "iq1_s 100%" or "q4_k 66.7%, q6_k 33.3%" (shares of the group's elements).
std::string types_text(const GroupStats& s) {
  std::string out;
  for (const TypeShare& t : s.types) {
    if (!out.empty()) out += ", ";
    const double pct = 100.0 * share_of(t, s);
    out += pct == 100.0 ? fmt::format("{} 100%", dtype_name(t.type)) : fmt::format("{} {:.1f}%", dtype_name(t.type), pct);
  }
  return out;
}

// ---- load plan -------------------------------------------------------------------
// Where the weights would live once loaded, from the weights bound as Model::load binds
// them and the planner's rules (model/planner.hpp): the matrices the products read are
// copied into the resident store (and repacked where the CPU's kernels have a layout for
// them); the embedding and the vectors are used from the file map; legacy MLA files'
// attn_k_b is computed at load from attn_kv_b, whose V rows are copied and whose K rows
// are read once; tensors not bound (multi-token-prediction layers, unknown names) are
// never read. With --allow-paging (or R1_MMAP_WEIGHTS=1, or no memory for the copy)
// everything but the computed tensors is used from the map.
struct LoadPlan {
  uint64_t resident = 0;   // copied into the resident store
  uint64_t packed = 0;     // of which repacked for this CPU's kernels
  uint64_t derived = 0;    // computed at load (in either mode)
  uint64_t mapped = 0;     // used from the file map (the embedding, vectors)
  uint64_t load_only = 0;  // read once at load (legacy attn_kv_b's K rows)
  uint64_t skipped = 0;    // in the file, never read
  uint64_t available = 0;  // MemAvailable (0: unknown)
  bool mmap_env = false;   // R1_MMAP_WEIGHTS=1
  uint64_t bound = 0;      // ModelWeights::bytes(): what Model::load checks against the available memory
  // In memory once loaded (= bound: every bound tensor is in exactly one of the three).
  uint64_t loaded() const { return resident + derived + mapped; }
  bool fits() const { return available == 0 || bound <= available; }
  std::string mode() const { return mmap_env ? "paged" : fits() ? "resident" : "refused"; }
};

bool read_by_products(Op op) { return op == Op::mul_mat || op == Op::mul_mat_id || op == Op::mul_mat_3d; }

// Rows of one matrix of a stacked tensor (a packed group must not straddle two).
int64_t packing_unit(const BoundTensor& t) {
  if (t.spec.op != Op::mul_mat_id) return t.view.rows;
  return t.spec.kind == TensorKind::ffn_gate_up_exps ? t.spec.shape[1] / 2 : t.spec.shape[1];
}

LoadPlan load_plan_of(const gguf::File& file, ModelConfig cfg) {
  ModelWeights w;
  {
    const LogLevel level = log_level();  // binding logs the skipped and unused tensors; they are counted here
    set_log_level(std::max(level, LogLevel::error));
    try {
      w = bind_file_weights(file, cfg);
    } catch (...) {
      set_log_level(level);
      throw;
    }
    set_log_level(level);
  }
  LoadPlan p;
  std::set<std::string> bound;
  for (const BoundTensor& t : w.tensors()) {
    bound.insert(t.spec.name);
    if (t.source && !t.view.data) {
      p.derived += t.nbytes;
    } else if (read_by_products(t.spec.op) && t.file_offset > 0) {
      p.resident += t.nbytes;
      if (t.source) p.load_only -= t.nbytes;  // the V rows of a legacy attn_kv_b: copied, not read once
      if (repackable(cfg.arch, t.spec, t.view.type)) {
        const WeightLayout layout = kernels::packed_layout_for(t.view.type, t.view.rows, t.view.cols);
        if (layout != WeightLayout::kRows && packing_unit(t) % kernels::layout_rows(layout) == 0) p.packed += t.nbytes;
      }
    } else if (t.spec.kind == TensorKind::attn_kv_b) {
      p.load_only += file.find_tensor(t.spec.name)->nbytes;
    } else {
      p.mapped += t.nbytes;
    }
  }
  for (const auto& t : file.tensors())
    if (!bound.count(t.name)) p.skipped += t.nbytes;
  p.bound = w.bytes();
  if (p.bound != p.loaded()) fail("internal: load plan of {} bytes for {} bound", p.loaded(), p.bound);
  p.available = mem_available_bytes();
  const char* env = std::getenv("R1_MMAP_WEIGHTS");
  p.mmap_env = env && std::string(env) == "1";
  return p;
}

// Context lengths the cache is shown for: a few usual ones up to the longer of the
// model's and the requested context, and both of those.
std::vector<int64_t> kv_contexts(int64_t n_ctx_train, int64_t n_ctx) {
  const int64_t top = std::max(n_ctx_train, n_ctx);
  std::set<int64_t> s;
  for (int64_t c : {int64_t{4096}, int64_t{32768}, int64_t{131072}})
    if (top <= 0 || c <= top) s.insert(c);
  for (int64_t c : {n_ctx_train, n_ctx})
    if (c > 0) s.insert(c);
  return {s.begin(), s.end()};
}

// ---- the command ---------------------------------------------------------------

int run_inspect(const InspectOptions& o) {
  if (o.ctx < 0) fail("-c/--ctx must be >= 0, got {}", o.ctx);
  if (!o.path.empty() && !o.model.empty()) fail("give the GGUF file either as an argument or with -m, not both");
  const std::string path = resolve_model_name(o.path.empty() ? o.model : o.path);
  if (path.empty()) fail("a GGUF file is required: r1 inspect FILE (or -m FILE)");
  std::unique_ptr<gguf::File> file;
  std::vector<std::string> hf_warnings;
  if (is_hf_model_dir(path)) {  // the model r1 runs from it: its GGUF conversion in the source types
    std::shared_ptr<const HfCheckpoint> ckpt = HfCheckpoint::open(path);
    hf_warnings = ckpt->warnings();
    ThreadPool pool(1);
    file = hf_checkpoint_as_gguf(ckpt, pool, /*materialize=*/false);
  } else if (is_safetensors_path(path)) {
    return inspect_safetensors(path, o.json);
  } else {
    file = gguf::File::open(path);
  }
  const gguf::Metadata& md = file->metadata();

  uint64_t n_params = 0, weight_bytes = 0;
  for (const auto& t : file->tensors()) {
    n_params += static_cast<uint64_t>(t.n_elements());
    weight_bytes += t.nbytes;
  }
  const std::string arch = md.get_string_or("general.architecture", "");
  std::string runnable = "yes";
  std::optional<Needs> needs;
  std::optional<LoadPlan> plan;
  std::string plan_error;  // why there is no load plan for a runnable architecture
  try {
    const ModelConfig cfg = ModelConfig::from_gguf(md);
    needs = needs_of(*file, cfg);
    if (file->tensors().empty()) {
      plan_error = "the file has no tensors";
    } else {
      try {
        plan = load_plan_of(*file, cfg);
      } catch (const Error& e) {
        plan_error = e.what();
      }
    }
  } catch (const Error& e) {
    runnable = fmt::format("no: {}", e.what());
  }
  const Groups groups = groups_of(*file);
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
  // Memory at a context: the weights as loaded (the file's weights without a plan) plus the cache.
  const uint64_t weights_in_memory = plan ? plan->loaded() : weight_bytes;
  const std::vector<int64_t> contexts = kv_tok > 0 ? kv_contexts(n_ctx_train, n_ctx) : std::vector<int64_t>{};

  if (o.json) {
    ojson j;
    j["file"] = path;
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
    ojson gj = ojson::object();
    for (size_t g = 0; g < groups.size(); ++g) {
      const GroupStats& s = groups[g];
      if (s.tensors == 0) continue;
      ojson types = ojson::array();
      for (const TypeShare& t : s.types)
        types.push_back({{"type", dtype_name(t.type)}, {"tensors", t.tensors}, {"n_elements", t.n_elements},
                         {"bytes", t.bytes}, {"share", share_of(t, s)},
                         {"bits_per_weight", bits_per_weight_of(t.bytes, t.n_elements)}});
      gj[tensor_group_id(static_cast<TensorGroup>(g))] = {
          {"tensors", s.tensors}, {"n_elements", s.n_elements}, {"bytes", s.bytes},
          {"bits_per_weight", bits_per_weight_of(s.bytes, s.n_elements)}, {"types", std::move(types)}};
    }
    j["tensor_groups"] = std::move(gj);
    if (plan) {
      j["memory_plan"] = {{"mode", plan->mode()},
                          {"resident_bytes", plan->resident},
                          {"packed_bytes", plan->packed},
                          {"derived_bytes", plan->derived},
                          {"mapped_bytes", plan->mapped},
                          {"load_only_bytes", plan->load_only},
                          {"unread_bytes", plan->skipped},
                          {"loaded_bytes", plan->loaded()},
                          {"mem_available_bytes", plan->available}};
    } else if (!plan_error.empty()) {
      j["memory_plan"] = nullptr;
      j["memory_plan_error"] = plan_error;
    }
    ojson at = ojson::array();
    for (int64_t c : contexts)
      at.push_back({{"n_ctx", c},
                    {"kv_bytes", kv_tok * static_cast<uint64_t>(c)},
                    {"memory_bytes", weights_in_memory + kv_tok * static_cast<uint64_t>(c)}});
    j["kv_cache_at"] = std::move(at);
    std::string out = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }

  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  if (file->file_size() == 0) {
    line(fmt::format("file: {} (Hugging Face checkpoint, read as its GGUF conversion in the checkpoint's types)",
                     path));
    for (const std::string& w : hf_warnings) line("warning: " + w);
  } else {
    line(fmt::format("file: {} ({}, GGUF v{}, alignment {})", path, human_bytes(double(file->file_size())),
                     file->version(), file->alignment()));
  }
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
  if (!file->tensors().empty()) {
    line("");
    line("tensor groups:");
    const std::string row = "  {:<22} {:>7} {:>10} {:>11} {:>6}  {}";
    line(fmt::format(fmt::runtime(row), "group", "tensors", "elements", "bytes", "bits/w", "types (share of elements)"));
    for (size_t g = 0; g < groups.size(); ++g) {
      const GroupStats& s = groups[g];
      if (s.tensors == 0) continue;
      line(fmt::format(fmt::runtime(row), tensor_group_label(static_cast<TensorGroup>(g)), s.tensors,
                       human_count(double(s.n_elements)), human_bytes(double(s.bytes)),
                       fmt::format("{:.2f}", bits_per_weight_of(s.bytes, s.n_elements)), types_text(s)));
    }
    std::string all = fmt::format(fmt::runtime(row), "all", file->tensors().size(), human_count(double(n_params)),
                                  human_bytes(double(weight_bytes)), fmt::format("{:.2f}", bits_per_weight), "");
    line(all.substr(0, all.find_last_not_of(' ') + 1));
    line("");
  }
  if (kv_tok > 0) {
    line(fmt::format("kv cache (f16): {} per token; {} for a context of {}", human_bytes(double(kv_tok)),
                     human_bytes(double(kv_total)), n_ctx));
    line(fmt::format("kv cache layout: {}", needs->kv_layout));
    line(fmt::format("memory needed: {} (weights + kv cache, plus scratch buffers)",
                     human_bytes(double(weight_bytes + kv_total))));
    if (moe) {
      line(fmt::format("weights read per token: {} (selected routed experts only)",
                       human_bytes(double(needs->active_weight_bytes))));
      if (needs->mtp_bytes > 0 && !plan)  // else in the memory plan's "never read"
        line(fmt::format("multi-token-prediction layers: {} (not loaded)", human_bytes(double(needs->mtp_bytes))));
    }
  } else {
    line("kv cache: unknown (the architecture is not one r1 runs)");
  }
  if (plan) {
    const LoadPlan& p = *plan;
    auto part = [&](const std::string& what, uint64_t bytes) {
      line(fmt::format("  {:<54} {:>11}", what + ":", bytes ? human_bytes(double(bytes)) : "-"));
    };
    line("");
    line("memory plan (weights as r1 run / chat / serve load them):");
    part(p.packed ? fmt::format("copied to resident memory ({} repacked)", human_bytes(double(p.packed)))
                  : "copied to resident memory",
         p.resident);
    part("used from the file map (embedding, vectors)", p.mapped);
    if (p.derived) part(fmt::format("computed at load (legacy MLA {})", tensor_suffix(TensorKind::attn_k_b)), p.derived);
    if (p.load_only) part(fmt::format("read once at load ({} K rows)", tensor_suffix(TensorKind::attn_kv_b)), p.load_only);
    if (p.skipped) part("in the file, never read (MTP layers, unused tensors)", p.skipped);
    part("in memory once loaded", p.loaded());
    const std::string avail = p.available ? human_bytes(double(p.available)) : "unknown";
    if (p.mmap_env)
      line("  mode: paged (R1_MMAP_WEIGHTS=1): everything but the computed tensors is read from the file map");
    else if (p.fits())
      line(fmt::format("  mode: resident (available memory {});\n"
                       "        with --allow-paging the copied weights are read from the file map instead", avail));
    else
      line(fmt::format("  mode: refused, more than the available memory ({});\n"
                       "        --allow-paging runs from the file map, paging the weights in from disk", avail));
  } else if (!plan_error.empty()) {
    line("");
    line(fmt::format("memory plan: none, the weights would not load: {}", plan_error));
  }
  if (!contexts.empty()) {
    line("");
    line(fmt::format("{:>9} {:>14} {:>26}", "context", "kv cache", plan ? "weights in memory + kv" : "weights + kv"));
    for (int64_t c : contexts)
      line(fmt::format("{:>9} {:>14} {:>26}", c, human_bytes(double(kv_tok * static_cast<uint64_t>(c))),
                       human_bytes(double(weights_in_memory + kv_tok * static_cast<uint64_t>(c)))));
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

const bool registered = register_command({
    .name = "inspect",
    .help = "print a GGUF file's metadata, tensors, bits per weight per tensor group and memory needs "
            "(or a safetensors file's, index's or directory's tensors, shards and metadata)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<InspectOptions>();
      sub.add_option("file", o->path, "GGUF file, or .safetensors file, index or directory");
      sub.add_option("-m,--model", o->model, "GGUF file (instead of the argument)");
      sub.add_option("-c,--ctx", o->ctx, "context length for the KV cache estimate (default: the model's)");
      sub.add_flag("--json", o->json, "print one JSON object");
      return [o] { return run_inspect(*o); };
    }});

}  // namespace
}  // namespace r1::cli
