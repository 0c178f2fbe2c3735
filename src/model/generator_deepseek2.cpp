// Random-weight deepseek2 GGUF models (DeepSeek-V2-Lite / V3 / R1 shapes, or toy sizes)
// with the metadata keys and tensor names llama.cpp reads (src/models/deepseek2.cpp,
// conversion/deepseek.py), in the split MLA layout. Tensors come from the registry.
// The legacy layout (spec.legacy_mla) is written from the split file of the same spec,
// so that both hold the same weights.
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"
#include "kernels/types.hpp"
#include "model/generator.hpp"
#include "model/weights.hpp"

namespace r1 {

namespace {

void validate(const GenDeepseek2Spec& s) {
  auto pos = [](int64_t v) { return v >= 1; };
  if (!pos(s.n_embd) || !pos(s.n_layer) || s.n_nextn < 0 || !pos(s.n_head) || s.q_lora_rank < 0 ||
      !pos(s.kv_lora_rank) || !pos(s.qk_nope) || !pos(s.qk_rope) || s.qk_rope % 2 != 0 || !pos(s.v_head) ||
      !pos(s.n_ctx) || s.n_dense_lead < 0 || s.n_dense_lead > s.n_layer)
    fail("gen-model: invalid deepseek2 dimensions (positive sizes, even rope dims, dense lead <= layers)");
  if (s.n_dense_lead > 0 && !pos(s.n_ff)) fail("gen-model: --ff must be positive with leading dense blocks");
  if (s.n_dense_lead < s.n_layer + s.n_nextn) {
    if (!pos(s.n_ff_exp) || !pos(s.n_expert) || !pos(s.n_expert_used) || s.n_expert_used > s.n_expert ||
        s.n_expert_shared < 0)
      fail("gen-model: invalid expert counts (need experts >= used >= 1, expert ff > 0)");
    if (s.n_group > 1 && (s.n_expert % s.n_group != 0 || s.n_expert / s.n_group < 2 || s.n_group_used < 1 ||
                          s.n_group_used >= s.n_group ||
                          s.n_expert_used > s.n_group_used * (s.n_expert / s.n_group)))
      fail("gen-model: invalid expert groups ({} experts, {} groups, {} used groups, {} used experts)", s.n_expert,
           s.n_group, s.n_group_used, s.n_expert_used);
  }
  if (s.yarn_factor < 0 || (s.yarn_factor > 0 && !pos(s.yarn_orig_ctx))) fail("gen-model: invalid YaRN parameters");
}

// The metadata of `from` with its deepseek2.* keys rewritten for `c` (the other layout of
// the same model; n_vocab from the file).
void copy_metadata_as(const gguf::File& from, ModelConfig c, gguf::Writer& w) {
  for (const auto& [key, value] : from.metadata().entries())
    if (key.rfind("deepseek2.", 0) != 0) w.set(key, value);
  if (const gguf::TensorInfo* embd = from.find_tensor(tensor_name(TensorKind::token_embd)))
    c.n_vocab = embd->shape[1];
  else if (const gguf::Value* v = from.metadata().find("deepseek2.vocab_size"))
    c.n_vocab = v->as_i64("deepseek2.vocab_size");
  write_deepseek2_metadata(w, c);
}

// Writes `path` in the legacy MLA layout from the split-layout file `split` of the same
// model: its metadata with the older converters' attention keys (write_deepseek2_metadata
// of `legacy`), every other tensor byte for byte, and per layer one attn_kv_b in place
// of attn_k_b / attn_v_b, as convert_hf_to_gguf.py would have written the checkpoint's
// kv_b_proj: for head h, the qk_nope rows of attn_k_b[h] transposed, then the v_head
// rows of attn_v_b[h]. Its type is the file type's rule for it (registry); from F32, F16
// or BF16 the values are exactly the split file's, from a quantized type they are
// re-quantized from the dequantized ones.
void write_legacy_from_split(const gguf::File& split, ModelConfig legacy, const TensorChoices& ch, FileType mix,
                             const std::string& path, ThreadPool& pool) {
  legacy.mla.legacy_kv_b = true;
  gguf::Writer w;
  copy_metadata_as(split, legacy, w);

  const int64_t H = legacy.n_head, R = legacy.mla.kv_lora_rank, NOPE = legacy.mla.qk_nope, VH = legacy.mla.v_head;
  std::vector<TensorSpec> kv_b(static_cast<size_t>(legacy.n_layer + legacy.n_nextn));
  for (const TensorSpec& s : model_tensors(legacy, ch))
    if (s.kind == TensorKind::attn_kv_b) kv_b[static_cast<size_t>(s.layer)] = s;
  for (const gguf::TensorInfo& t : split.tensors()) {
    TensorKind kind = TensorKind::count;
    int64_t layer = -1;
    parse_tensor_name(t.name, &kind, &layer);
    if (kind == TensorKind::attn_v_b) continue;  // written with attn_k_b's layer below
    if (kind != TensorKind::attn_k_b) {
      const uint8_t* data = t.data;
      w.add_tensor(t.name, t.type, t.shape, [data](uint8_t* dst, size_t n) { std::memcpy(dst, data, n); });
      continue;
    }
    const gguf::TensorInfo* vb = split.find_tensor(tensor_name(TensorKind::attn_v_b, layer));
    if (!vb) fail("gen-model: '{}' has no '{}'", split.name(), tensor_name(TensorKind::attn_v_b, layer));
    const TensorSpec& spec = kv_b[static_cast<size_t>(layer)];
    const DType type = quant_type(spec, mix, legacy.n_layer);
    const TypeTraits *kt = &traits(t.type), *vt = &traits(vb->type), *out = &traits(type);
    if (!out->from_float || !kt->to_float || !vt->to_float)
      fail("gen-model: the legacy MLA layout cannot be written with '{}' as {}", spec.name, out->name);
    const uint8_t *kd = t.data, *vd = vb->data;
    const size_t kb_row = row_bytes(t.type, NOPE), vb_row = row_bytes(vb->type, R), rb = row_bytes(type, R);
    ThreadPool* p = &pool;
    w.add_tensor(spec.name, type, spec.shape, [=](uint8_t* dst, size_t) {
      p->parallel_for(H, [&](int64_t h0, int64_t h1, int) {
        std::vector<float> k(static_cast<size_t>(R * NOPE)), row(static_cast<size_t>(R));
        for (int64_t h = h0; h < h1; ++h) {
          for (int64_t r = 0; r < R; ++r) kt->to_float(kd + (h * R + r) * kb_row, &k[r * NOPE], NOPE);
          uint8_t* head = dst + static_cast<size_t>(h * (NOPE + VH)) * rb;
          for (int64_t d = 0; d < NOPE; ++d) {
            for (int64_t r = 0; r < R; ++r) row[r] = k[r * NOPE + d];
            out->from_float(row.data(), head + d * rb, R);
          }
          for (int64_t j = 0; j < VH; ++j) {
            vt->to_float(vd + (h * VH + j) * vb_row, row.data(), R);
            out->from_float(row.data(), head + (NOPE + j) * rb, R);
          }
        }
      });
    });
  }
  w.write(path);
}

// The reverse, as r1 loads a legacy file (bind_file_weights): the split layout with
// attn_k_b derived from attn_kv_b's K rows (derive_legacy_k_b, in legacy_k_b_type) and
// attn_v_b = its V rows byte for byte; the rest of `legacy` copied. What r1 computes
// with, as a file llama.cpp runs through its split (absorbed) path.
void write_derived_split(const gguf::File& legacy, ModelConfig split, const std::string& path, ThreadPool& pool) {
  split.mla.legacy_kv_b = false;
  gguf::Writer w;
  copy_metadata_as(legacy, split, w);
  const int64_t H = split.n_head, R = split.mla.kv_lora_rank, NOPE = split.mla.qk_nope, VH = split.mla.v_head;
  for (const gguf::TensorInfo& t : legacy.tensors()) {
    TensorKind kind = TensorKind::count;
    int64_t layer = -1;
    parse_tensor_name(t.name, &kind, &layer);
    const uint8_t* data = t.data;
    if (kind != TensorKind::attn_kv_b) {
      w.add_tensor(t.name, t.type, t.shape, [data](uint8_t* dst, size_t n) { std::memcpy(dst, data, n); });
      continue;
    }
    const WeightView kv{.type = t.type, .rows = t.shape[1], .cols = R, .row_stride = row_bytes(t.type, R),
                        .data = t.data, .name = t.name.c_str()};
    const DType kt = legacy_k_b_type(t.type);
    ThreadPool* p = &pool;
    w.add_tensor(tensor_name(TensorKind::attn_k_b, layer), kt, {NOPE, R, H},
                 [kv, kt, H, NOPE, p](uint8_t* dst, size_t) { derive_legacy_k_b(kv, H, NOPE, kt, dst, *p); });
    w.add_tensor(tensor_name(TensorKind::attn_v_b, layer), t.type, {R, VH, H}, [kv, H, NOPE, VH](uint8_t* dst, size_t) {
      const size_t head = static_cast<size_t>(VH) * kv.row_stride;
      for (int64_t h = 0; h < H; ++h)
        std::memcpy(dst + static_cast<size_t>(h) * head,
                    static_cast<const uint8_t*>(kv.data) + static_cast<size_t>(h * (NOPE + VH) + NOPE) * kv.row_stride,
                    head);
    });
  }
  w.write(path);
}

// The split file of the same spec first (the registry's random weights), then the
// legacy one from it; the split file is removed.
void write_legacy_deepseek2(GenDeepseek2Spec spec, const std::string& path, int n_threads) {
  spec.legacy_mla = false;
  const std::string split_path = path + ".split.tmp";
  struct Remove {
    const std::string& p;
    ~Remove() {
      std::error_code ec;
      std::filesystem::remove(p, ec);
    }
  } remove{split_path};
  write_random_deepseek2(spec, split_path, n_threads);
  const std::unique_ptr<gguf::File> split = gguf::File::open(split_path);
  TensorChoices ch;
  ch.exp_probs_b = spec.probs_bias;
  ThreadPool pool(n_threads);
  write_legacy_from_split(*split, deepseek2_config_of(spec), ch, spec.mix, path, pool);
  if (!spec.derived_split.empty() && !spec.metadata_only)
    write_derived_split(*gguf::File::open(path), deepseek2_config_of(spec), spec.derived_split, pool);
}

}  // namespace

std::vector<std::string> gen_deepseek2_preset_names() {
  return {"tiny-v3", "tiny-v2lite", "deepseek-v2-lite", "r1-shaped"};
}

GenDeepseek2Spec gen_deepseek2_preset(const std::string& preset) {
  GenDeepseek2Spec s;  // the defaults are tiny-v3 with its MTP layer
  if (preset == "tiny-v3") {
    s.n_nextn = 1;
  } else if (preset == "tiny-v2lite") {
    s.n_layer = 3, s.q_lora_rank = 0, s.qk_nope = 48, s.qk_rope = 32, s.v_head = 64, s.n_ff_exp = 128;
    s.n_expert = 8, s.n_expert_used = 2, s.n_expert_shared = 2, s.n_group = 0, s.n_group_used = 0;
    s.expert_weights_scale = 1.0f, s.expert_weights_norm = false, s.sigmoid_gating = false, s.probs_bias = false;
    s.yarn_factor = 8.0f, s.yarn_orig_ctx = 128, s.yarn_log_mul = 0.0707f;
  } else if (preset == "deepseek-v2-lite") {
    s.n_vocab = 102400, s.n_embd = 2048, s.n_layer = 27, s.n_head = 16, s.q_lora_rank = 0, s.kv_lora_rank = 512;
    s.qk_nope = 128, s.qk_rope = 64, s.v_head = 128, s.n_ff = 10944, s.n_ff_exp = 1408, s.n_dense_lead = 1;
    s.n_expert = 64, s.n_expert_used = 6, s.n_expert_shared = 2, s.n_group = 0, s.n_group_used = 0;
    s.expert_weights_scale = 1.0f, s.expert_weights_norm = false, s.sigmoid_gating = false, s.probs_bias = false;
    s.n_ctx = 163840, s.yarn_factor = 40.0f, s.yarn_orig_ctx = 4096, s.yarn_log_mul = 0.0707f;
  } else if (preset == "r1-shaped") {
    s.n_vocab = 129280, s.n_embd = 7168, s.n_layer = 5, s.n_head = 128, s.q_lora_rank = 1536, s.kv_lora_rank = 512;
    s.qk_nope = 128, s.qk_rope = 64, s.v_head = 128, s.n_ff = 18432, s.n_ff_exp = 2048, s.n_dense_lead = 3;
    s.n_expert = 32, s.n_expert_used = 8, s.n_expert_shared = 1, s.n_group = 8, s.n_group_used = 4;
    s.expert_weights_scale = 2.5f, s.expert_weights_norm = true, s.sigmoid_gating = true, s.probs_bias = true;
    s.n_ctx = 163840, s.yarn_factor = 40.0f, s.yarn_orig_ctx = 4096, s.yarn_log_mul = 0.1f;
  } else {
    fail("unknown deepseek2 preset '{}' (known: {})", preset, fmt::join(gen_deepseek2_preset_names(), ", "));
  }
  s.name = preset + "-random";
  return s;
}

ModelConfig deepseek2_config_of(const GenDeepseek2Spec& s) {
  validate(s);
  ModelConfig c;
  c.arch = Arch::deepseek2;
  c.name = s.name;
  c.n_vocab = s.n_vocab;
  c.n_embd = s.n_embd;
  c.n_layer = s.n_layer;
  c.n_nextn = s.n_nextn;
  c.n_head = s.n_head;
  c.n_head_kv = 1;
  c.head_dim = s.qk_nope + s.qk_rope;
  c.n_ff = s.n_ff;
  c.n_ctx_train = s.n_ctx;
  c.rms_eps = s.rms_eps;
  c.tied_output = s.tied_output;
  c.mla = {.q_lora_rank = s.q_lora_rank, .kv_lora_rank = s.kv_lora_rank, .qk_nope = s.qk_nope, .v_head = s.v_head,
           .kq_scale = 0.0f};
  c.moe = {.n_dense_lead = s.n_dense_lead, .n_ff_exp = s.n_ff_exp, .n_expert = s.n_expert,
           .n_expert_used = s.n_expert_used, .n_expert_shared = s.n_expert_shared, .n_group = s.n_group,
           .n_group_used = s.n_group_used, .weights_scale = s.expert_weights_scale,
           .weights_norm = s.expert_weights_norm, .gating = s.sigmoid_gating ? MoeGating::sigmoid : MoeGating::softmax};
  c.rope.style = RopeStyle::normal;
  c.rope.n_dims = s.qk_rope;
  c.rope.freq_base = s.rope_theta;
  if (s.yarn_factor > 0) {
    c.rope_scaling = "yarn";
    c.rope_scaling_factor = s.yarn_factor;
    c.rope.n_ctx_orig = s.yarn_orig_ctx;
    c.yarn_log_mul = s.yarn_log_mul / 0.1f;
  }
  return c;
}

void write_random_deepseek2(const GenDeepseek2Spec& spec, const std::string& path, int n_threads) {
  if (spec.legacy_mla) return write_legacy_deepseek2(spec, path, n_threads);
  TensorChoices ch;
  ch.exp_probs_b = spec.probs_bias;
  write_random_weights(deepseek2_config_of(spec), ch,
                       {.mix = spec.mix, .tensor_types = spec.tensor_types, .seed = spec.seed, .logit_std = spec.logit_std,
                        .tokenizer_json = spec.tokenizer_json, .chat_template = spec.chat_template,
                        .metadata_only = spec.metadata_only},
                       path, n_threads);
}

}  // namespace r1
