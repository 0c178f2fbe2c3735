#include "model/weights.hpp"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/thread_pool.hpp"
#include "format/gguf.hpp"

namespace r1 {

namespace {

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

WeightView view_of(const TensorSpec& s, DType type, const void* data) {
  WeightView w;
  w.type = type;
  w.cols = s.shape[0];
  w.rows = s.rows();
  w.row_stride = row_bytes(type, w.cols);
  w.data = data;
  w.name = s.name.c_str();
  return w;
}

// Legacy MLA layout: the file must not hold the split tensors as well (a file whose
// metadata lost its *_mla keys), and every attn_kv_b must be a type k_b can be derived from.
void check_legacy_mla_file(const gguf::File& file, const ModelConfig& cfg) {
  for (int64_t i = 0; i < cfg.n_layer; ++i)
    for (TensorKind k : {TensorKind::attn_k_b, TensorKind::attn_v_b})
      if (file.find_tensor(tensor_name(k, i)))
        fail("{}: the metadata describes the legacy MLA layout (no deepseek2.attention.key_length_mla / "
             "value_length_mla: one '{}' per layer) but the file has the split layout's tensor '{}'",
             file.name(), tensor_suffix(TensorKind::attn_kv_b), tensor_name(k, i));
}

// The shape a legacy attn_kv_b must have, spelled out for the error message.
std::string kv_b_shape_hint(const ModelConfig& c) {
  return fmt::format(" (kv_lora_rank {}, head_count {} x (qk_nope {} + v_head {}) rows)", c.mla.kv_lora_rank, c.n_head,
                     c.mla.qk_nope, c.mla.v_head);
}

// The split layout's attn_k_b / attn_v_b of a legacy file, over its bound attn_kv_b
// (bind_file_weights' contract).
void bind_derived_mla(ModelWeights& w, const gguf::File& file, const ModelConfig& cfg, const TensorChoices& choices) {
  ModelConfig split = cfg;
  split.mla.legacy_kv_b = false;
  const int64_t NOPE = cfg.mla.qk_nope, VH = cfg.mla.v_head;
  for (const TensorSpec& s : model_tensors(split, choices)) {
    if (s.presence != Presence::run || (s.kind != TensorKind::attn_k_b && s.kind != TensorKind::attn_v_b)) continue;
    BoundTensor* kv = w.find(TensorKind::attn_kv_b, s.layer);
    if (!kv) fail("internal: '{}' is not bound", tensor_name(TensorKind::attn_kv_b, s.layer));
    const TypeTraits* tr = find_traits(kv->view.type);
    if (!tr || !tr->to_float)
      fail("{}: tensor '{}' has type {}, which r1 cannot derive {} from", file.name(), kv->spec.name,
           dtype_name(kv->view.type), tensor_suffix(TensorKind::attn_k_b));
    const size_t rb = kv->view.row_stride;
    BoundTensor b;
    b.spec = s;
    b.source = kv;
    if (s.kind == TensorKind::attn_v_b) {  // rows [nope, nope + v) of every head
      b.view = kv->view;
      b.view.rows = s.rows();
      b.view.data = static_cast<const uint8_t*>(kv->view.data) + static_cast<size_t>(NOPE) * rb;
      b.matrix_stride = static_cast<size_t>(NOPE + VH) * rb;
      b.file_offset = kv->file_offset + static_cast<uint64_t>(NOPE) * rb;
      b.nbytes = static_cast<size_t>(s.rows()) * rb;
    } else {  // computed by plan_weights
      const DType kt = legacy_k_b_type(kv->view.type);
      if (NOPE % dtype_block_size(kt) != 0)
        fail("{}: tensor '{}': qk_nope {} is not a multiple of the {} block size", file.name(), kv->spec.name, NOPE,
             dtype_name(kt));
      b.view = view_of(s, kt, nullptr);
      b.nbytes = static_cast<size_t>(s.rows()) * b.view.row_stride;
    }
    w.add(std::move(b));
  }
}

}  // namespace

void ModelWeights::add(BoundTensor t) {
  index_[key(t.spec.kind, t.spec.layer)] = tensors_.size();
  bytes_ += t.nbytes;
  tensors_.push_back(std::move(t));
  tensors_.back().view.name = tensors_.back().spec.name.c_str();  // deque: stays valid
}

const BoundTensor* ModelWeights::find(TensorKind k, int64_t layer) const {
  const auto it = index_.find(key(k, layer));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

BoundTensor* ModelWeights::find(TensorKind k, int64_t layer) {
  const auto it = index_.find(key(k, layer));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const WeightView& ModelWeights::matrix(TensorKind k, int64_t layer) const {
  const BoundTensor* t = find(k, layer);
  if (!t) fail("internal: tensor '{}' is not bound", tensor_name(k, layer));
  return t->view;
}

const float* ModelWeights::vector(TensorKind k, int64_t layer) const {
  const BoundTensor* t = find(k, layer);
  return t ? t->values : nullptr;
}

StackedWeight ModelWeights::stacked(TensorKind k, int64_t layer, int64_t rows_each, int64_t rows, int64_t row0) const {
  const BoundTensor* t = find(k, layer);
  if (!t) fail("internal: tensor '{}' is not bound", tensor_name(k, layer));
  StackedWeight s;
  s.w = t->view;
  s.w.rows = rows;
  s.w.data = static_cast<const uint8_t*>(s.w.data) + static_cast<size_t>(row0) * s.w.row_stride;
  s.stride = t->matrix_stride > 0 ? t->matrix_stride : static_cast<size_t>(rows_each) * s.w.row_stride;
  return s;
}

DType legacy_k_b_type(DType kv_b_type) {
  if (kv_b_type == DType::F32 || kv_b_type == DType::F16 || kv_b_type == DType::BF16) return kv_b_type;
  return DType::F16;
}

void derive_legacy_k_b(const WeightView& kv_b, int64_t n_head, int64_t qk_nope, DType type, uint8_t* dst,
                       ThreadPool& pool) {
  const int64_t R = kv_b.cols, per_head = kv_b.rows / n_head, NOPE = qk_nope;
  const TypeTraits& from = traits(kv_b.type);
  const TypeTraits& to = traits(type);
  if (!from.to_float || !to.from_float) fail("tensor '{}': cannot convert {} to {}", kv_b.name, from.name, to.name);
  const size_t out_row = row_bytes(type, NOPE);
  const auto* src = static_cast<const uint8_t*>(kv_b.data);
  std::vector<int> overflow(static_cast<size_t>(pool.size()), 0);
  pool.parallel_for(n_head, [&](int64_t h0, int64_t h1, int t) {
    std::vector<float> k(static_cast<size_t>(NOPE * R)), row(static_cast<size_t>(NOPE));
    for (int64_t h = h0; h < h1; ++h) {
      for (int64_t d = 0; d < NOPE; ++d)
        from.to_float(src + static_cast<size_t>(h * per_head + d) * kv_b.row_stride, &k[d * R], R);
      for (int64_t r = 0; r < R; ++r) {
        for (int64_t d = 0; d < NOPE; ++d) {
          row[d] = k[d * R + r];
          if (type == DType::F16 && !(std::fabs(row[d]) <= 65504.0f)) overflow[static_cast<size_t>(t)] = 1;
        }
        to.from_float(row.data(), dst + static_cast<size_t>(h * R + r) * out_row, NOPE);
      }
    }
  });
  for (int o : overflow)
    if (o) fail("tensor '{}': a value is not finite or outside the F16 range; {} cannot be derived from it", kv_b.name,
                tensor_suffix(TensorKind::attn_k_b));
}

ModelWeights bind_file_weights(const gguf::File& file, ModelConfig& cfg) {
  const gguf::TensorInfo* embd = file.find_tensor(tensor_name(TensorKind::token_embd));
  if (!embd) fail("{}: missing tensor '{}'", file.name(), tensor_name(TensorKind::token_embd));
  if (embd->shape.size() != 2)
    fail("{}: tensor '{}' has shape {}, expected 2 dimensions", file.name(), embd->name, shape_str(embd->shape));
  cfg.n_vocab = embd->shape[1];
  cfg.tied_output = file.find_tensor(tensor_name(TensorKind::output)) == nullptr;
  if (cfg.mla.legacy_kv_b) check_legacy_mla_file(file, cfg);
  const TensorChoices choices = tensor_choices_of(cfg, file);
  const std::vector<TensorSpec> specs = model_tensors(cfg, choices);

  ModelWeights w;
  std::set<std::string> used;
  size_t skipped = 0;
  for (const auto& t : file.tensors())  // every tensor of a skipped (MTP) layer: known, not read
    if (cfg.n_nextn > 0 && tensor_layer(t.name) >= cfg.n_layer) {
      used.insert(t.name);
      ++skipped;
    }
  for (const TensorSpec& s : specs) {
    if (s.presence == Presence::skipped) continue;
    const gguf::TensorInfo* t = file.find_tensor(s.name);
    if (!t) fail("{}: missing tensor '{}'", file.name(), s.name);
    if (t->shape != s.shape)
      fail("{}: tensor '{}' has shape {}, expected {}{}", file.name(), s.name, shape_str(t->shape), shape_str(s.shape),
           s.kind == TensorKind::attn_kv_b ? kv_b_shape_hint(cfg) : "");
    const TypeTraits* tr = find_traits(t->type);
    BoundTensor b;
    b.spec = s;
    b.nbytes = t->nbytes;
    b.file_offset = file.data_offset() + t->offset;
    if (s.is_vector()) {
      if (!tr || !tr->to_float || tr->quantized)
        fail("{}: tensor '{}' has type {}; expected f32, f16 or bf16", file.name(), s.name, dtype_name(t->type));
      if (t->type == DType::F32) {
        b.values = reinterpret_cast<const float*>(t->data);
      } else {
        b.owned.resize(static_cast<size_t>(s.shape[0]));
        tr->to_float(t->data, b.owned.data(), s.shape[0]);
      }
    } else if (!tr || !tr->vec_dot) {
      fail("{}: tensor '{}' has type {}, which cannot be used as a weight matrix", file.name(), s.name,
           dtype_name(t->type));
    }
    b.view = view_of(s, t->type, t->data);
    if (s.kind == TensorKind::attn_kv_b) b.nbytes = 0;  // in memory only as its derived attn_k_b / attn_v_b
    used.insert(s.name);
    w.add(std::move(b));
  }
  if (cfg.mla.legacy_kv_b) bind_derived_mla(w, file, cfg, choices);
  for (BoundTensor& b : w.tensors())
    if (!b.owned.empty()) b.values = b.owned.data();
  if (const float* f = w.vector(TensorKind::rope_freqs))
    for (int64_t i = 0; i < cfg.rope.n_dims / 2; ++i)
      if (!(f[i] > 0))
        fail("{}: tensor '{}' has a non-positive factor", file.name(), tensor_name(TensorKind::rope_freqs));
  if (skipped > 0)
    log(LogLevel::info, "{}: skipping {} tensors of {} multi-token-prediction layer(s)", file.name(), skipped,
        cfg.n_nextn);
  for (const auto& t : file.tensors())
    if (!used.count(t.name)) log(LogLevel::warn, "{}: ignoring unused tensor '{}'", file.name(), t.name);
  return w;
}

ModelWeights bind_float_weights(const std::vector<TensorSpec>& specs, const std::vector<size_t>& offsets,
                                const float* base) {
  if (offsets.size() != specs.size()) fail("internal: {} offsets for {} tensors", offsets.size(), specs.size());
  ModelWeights w;
  for (size_t i = 0; i < specs.size(); ++i) {
    BoundTensor b;
    b.spec = specs[i];
    const float* p = base + offsets[i];
    b.nbytes = static_cast<size_t>(specs[i].numel()) * sizeof(float);
    b.view = view_of(specs[i], DType::F32, p);
    if (specs[i].is_vector()) b.values = p;
    w.add(std::move(b));
  }
  return w;
}

}  // namespace r1
