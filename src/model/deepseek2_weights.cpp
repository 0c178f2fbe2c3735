#include "model/deepseek2_weights.hpp"

#include <fmt/format.h>

#include <set>

#include "base/error.hpp"
#include "base/log.hpp"
#include "format/gguf.hpp"
#include "kernels/repack.hpp"

namespace r1 {

namespace {

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// Looks tensors up by name, checks shapes (GGML order) and types, and remembers
// which tensors were used.
class Ds2Binder {
 public:
  explicit Ds2Binder(const gguf::File& f) : file_(f) {}

  // A weight of GGML shape `shape` (ne0 = row length); rows = product of the rest.
  WeightView matrix(const std::string& name, const std::vector<int64_t>& shape, bool required = true) {
    const gguf::TensorInfo* t = find(name, required);
    if (!t) return {};
    check_shape(*t, shape);
    const TypeTraits* tr = find_traits(t->type);
    if (!tr || !tr->vec_dot)
      fail("{}: tensor '{}' has type {}, which cannot be used as a weight matrix", file_.name(), name,
           dtype_name(t->type));
    WeightView w;
    w.type = t->type;
    w.cols = shape[0];
    w.rows = 1;
    for (size_t i = 1; i < shape.size(); ++i) w.rows *= shape[i];
    w.row_stride = row_bytes(t->type, w.cols);
    w.data = t->data;
    w.name = t->name.c_str();
    bytes_ += t->nbytes;
    return w;
  }

  // A 3-D weight [cols, rows, n]: n stacked (rows, cols) matrices.
  StackedWeight stacked(const std::string& name, int64_t cols, int64_t rows, int64_t n, bool required = true) {
    StackedWeight s;
    s.w = matrix(name, {cols, rows, n}, required);
    if (!s.w.data) return s;
    s.w.rows = rows;
    s.stride = static_cast<size_t>(rows) * s.w.row_stride;
    return s;
  }

  std::vector<float> vector(const std::string& name, int64_t n, bool required = true) {
    const gguf::TensorInfo* t = find(name, required);
    if (!t) return {};
    check_shape(*t, {n});
    const TypeTraits* tr = find_traits(t->type);
    if (!tr || !tr->to_float || tr->quantized)
      fail("{}: tensor '{}' has type {}; expected f32, f16 or bf16", file_.name(), name, dtype_name(t->type));
    std::vector<float> out(static_cast<size_t>(n));
    tr->to_float(t->data, out.data(), n);
    bytes_ += t->nbytes;
    return out;
  }

  // Marks every tensor whose name starts with `prefix` as used (not bound). Returns the count.
  size_t skip_prefix(const std::string& prefix) {
    size_t n = 0;
    for (const auto& t : file_.tensors())
      if (t.name.compare(0, prefix.size(), prefix) == 0 && used_.insert(t.name).second) ++n;
    return n;
  }

  void warn_unused() const {
    for (const auto& t : file_.tensors())
      if (!used_.count(t.name)) log(LogLevel::warn, "{}: ignoring unused tensor '{}'", file_.name(), t.name);
  }
  size_t bytes() const { return bytes_; }
  bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }

 private:
  const gguf::TensorInfo* find(const std::string& name, bool required) {
    const gguf::TensorInfo* t = file_.find_tensor(name);
    if (!t) {
      if (required) fail("{}: missing tensor '{}'", file_.name(), name);
      return nullptr;
    }
    used_.insert(name);
    return t;
  }

  void check_shape(const gguf::TensorInfo& t, const std::vector<int64_t>& want) {
    if (t.shape != want)
      fail("{}: tensor '{}' has shape {}, expected {}", file_.name(), t.name, shape_str(t.shape), shape_str(want));
  }

  const gguf::File& file_;
  std::set<std::string> used_;
  size_t bytes_ = 0;
};

}  // namespace

Ds2Weights bind_deepseek2_weights(const gguf::File& file, DeepSeek2Config& c) {
  Ds2Binder b(file);
  Ds2Weights w;
  const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight");
  if (!embd) fail("{}: missing tensor 'token_embd.weight'", file.name());
  if (embd->shape.size() != 2)
    fail("{}: tensor 'token_embd.weight' has shape {}, expected 2 dimensions", file.name(), shape_str(embd->shape));
  c.n_vocab = embd->shape[1];
  const int64_t E = c.n_embd, V = c.n_vocab, H = c.n_head;

  w.tok_embd = b.matrix("token_embd.weight", {E, V});
  w.output_norm = b.vector("output_norm.weight", E);
  w.output = b.matrix("output.weight", {E, V}, /*required=*/false);
  if (!w.output.data) w.output = w.tok_embd;

  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    Ds2LayerWeights& L = w.layers[static_cast<size_t>(i)];
    auto n = [i](const char* suffix) { return fmt::format("blk.{}.{}", i, suffix); };
    L.attn_norm = b.vector(n("attn_norm.weight"), E);
    if (c.q_lora_rank > 0) {
      L.wq_a = b.matrix(n("attn_q_a.weight"), {E, c.q_lora_rank});
      L.q_a_norm = b.vector(n("attn_q_a_norm.weight"), c.q_lora_rank);
      L.wq_b = b.matrix(n("attn_q_b.weight"), {c.q_lora_rank, H * c.head_k()});
    } else {
      L.wq = b.matrix(n("attn_q.weight"), {E, H * c.head_k()});
    }
    L.wkv_a = b.matrix(n("attn_kv_a_mqa.weight"), {E, c.kv_row()});
    L.kv_a_norm = b.vector(n("attn_kv_a_norm.weight"), c.kv_lora_rank);
    if (b.has(n("attn_kv_b.weight")) && !b.has(n("attn_k_b.weight")))
      fail("{}: layer {} has the legacy 'attn_kv_b' tensor but the metadata describes the split MLA layout "
           "(attn_k_b / attn_v_b); re-convert the model with a current llama.cpp",
           file.name(), i);
    L.wk_b = b.stacked(n("attn_k_b.weight"), c.qk_nope, c.kv_lora_rank, H);
    L.wv_b = b.stacked(n("attn_v_b.weight"), c.kv_lora_rank, c.v_head, H);
    L.wo = b.matrix(n("attn_output.weight"), {H * c.v_head, E});
    L.ffn_norm = b.vector(n("ffn_norm.weight"), E);
    if (!c.is_moe_layer(i)) {
      L.ffn_gate = b.matrix(n("ffn_gate.weight"), {E, c.n_ff});
      L.ffn_up = b.matrix(n("ffn_up.weight"), {E, c.n_ff});
      L.ffn_down = b.matrix(n("ffn_down.weight"), {c.n_ff, E});
      continue;
    }
    const int64_t F = c.n_ff_exp, X = c.n_expert;
    L.gate_inp = b.matrix(n("ffn_gate_inp.weight"), {E, X});
    L.exp_probs_b = b.vector(n("exp_probs_b.bias"), X, /*required=*/false);
    if (b.has(n("ffn_gate_up_exps.weight"))) {
      // fused: per expert 2F rows, gate first
      StackedWeight gu = b.stacked(n("ffn_gate_up_exps.weight"), E, 2 * F, X);
      L.gate_exps = gu;
      L.gate_exps.w.rows = F;
      L.up_exps = L.gate_exps;
      L.up_exps.w.data = static_cast<const uint8_t*>(gu.w.data) + static_cast<size_t>(F) * gu.w.row_stride;
    } else {
      L.gate_exps = b.stacked(n("ffn_gate_exps.weight"), E, F, X);
      L.up_exps = b.stacked(n("ffn_up_exps.weight"), E, F, X);
    }
    L.down_exps = b.stacked(n("ffn_down_exps.weight"), F, E, X);
    if (c.n_expert_shared > 0) {
      const int64_t FS = F * c.n_expert_shared;
      L.gate_shexp = b.matrix(n("ffn_gate_shexp.weight"), {E, FS});
      L.up_shexp = b.matrix(n("ffn_up_shexp.weight"), {E, FS});
      L.down_shexp = b.matrix(n("ffn_down_shexp.weight"), {FS, E});
    }
  }
  size_t skipped = 0;
  for (int64_t i = c.n_layer; i < c.n_layer + c.n_nextn; ++i) skipped += b.skip_prefix(fmt::format("blk.{}.", i));
  if (skipped > 0)
    log(LogLevel::info, "{}: skipping {} tensors of {} multi-token-prediction layer(s)", file.name(), skipped,
        c.n_nextn);
  b.warn_unused();
  w.bytes = b.bytes();
  return w;
}

size_t pack_deepseek2_weights(Ds2Weights& w, const DeepSeek2Config& c, ThreadPool& pool) {
  size_t bytes = 0;
  // Q8_0 and Q6_K stay row-major in this family: llama.cpp has no packed kernel for them on
  // x86, and the top-k expert routing turns the packed kernels' different float summation
  // order into different experts for near-tied tokens (tiny-v3 Q8_0: mean KL 0.027 against
  // llama.cpp packed, ~1e-6 row-major), which the reference comparison cannot tell
  // from a bug.
  auto packable = [](const WeightView& v) { return v.data && v.type != DType::Q8_0 && v.type != DType::Q6_K; };
  auto pack = [&](WeightView& v) {
    if (packable(v) && pack_weight_in_place(v, &pool)) bytes += static_cast<size_t>(v.rows) * v.row_stride;
  };
  // The experts of one 3-D tensor packed as one matrix; a packed group (8 or 16 rows)
  // must never straddle two experts or two views (gate and up of a fused tensor), so
  // `unit` (the rows of one view of one expert) has to be a multiple of the group size
  // the whole matrix gets. `views` then all get the packed layout.
  auto pack_experts = [&](const WeightView& first, int64_t rows_per_expert, int64_t unit,
                          std::initializer_list<StackedWeight*> views) {
    if (!packable(first)) return;
    WeightView all = first;
    all.rows = rows_per_expert * c.n_expert;
    const WeightLayout whole = kernels::packed_layout_for(first.type, all.rows, first.cols);
    if (whole == WeightLayout::kRows || unit % kernels::layout_rows(whole) != 0) return;
    if (!pack_weight_in_place(all, &pool)) return;
    bytes += static_cast<size_t>(all.rows) * all.row_stride;
    for (StackedWeight* s : views) s->w.layout = all.layout;
  };
  for (size_t il = 0; il < w.layers.size(); ++il) {
    Ds2LayerWeights& L = w.layers[il];
    for (WeightView* v : {&L.wq, &L.wq_a, &L.wq_b, &L.wkv_a, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down, &L.gate_shexp,
                          &L.up_shexp, &L.down_shexp})
      pack(*v);
    if (!c.is_moe_layer(static_cast<int64_t>(il))) continue;
    const int64_t F = c.n_ff_exp;
    const bool fused = L.gate_exps.stride == static_cast<size_t>(2 * F) * L.gate_exps.w.row_stride;
    if (fused) {  // ffn_gate_up_exps: per expert F gate rows, then F up rows
      pack_experts(L.gate_exps.w, 2 * F, F, {&L.gate_exps, &L.up_exps});
    } else {
      pack_experts(L.gate_exps.w, F, F, {&L.gate_exps});
      pack_experts(L.up_exps.w, F, F, {&L.up_exps});
    }
    pack_experts(L.down_exps.w, c.n_embd, c.n_embd, {&L.down_exps});
  }
  if (w.output.data != w.tok_embd.data) pack(w.output);
  return bytes;
}

}  // namespace r1
