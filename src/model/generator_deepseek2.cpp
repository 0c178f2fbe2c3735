// Random-weight deepseek2 GGUF models (DeepSeek-V2-Lite / V3 / R1 shapes, or toy
// sizes) with the metadata keys and tensor names llama.cpp reads (src/models/deepseek2.cpp,
// conversion/deepseek.py), in the split MLA layout.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "format/gguf_writer.hpp"
#include "kernels/types.hpp"
#include "model/generator.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

namespace {

// SplitMix64 per chunk of 16 rows, seeded by the tensor name: output independent of threads.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
};

uint64_t name_seed(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ (seed * 0x2545F4914F6CDD1Dull);
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct Init {
  float center, half_width;  // uniform in [center - half_width, center + half_width]
};
Init normal_like(float stddev) { return {0.0f, stddev * std::sqrt(3.0f)}; }
Init fan_in(int64_t n) { return normal_like(1.0f / std::sqrt(static_cast<float>(n))); }
const Init kNorm{1.0f, 0.2f};

// Type actually stored for a wanted type and row length, as llama-quantize falls back
// for rows that are not a multiple of the block size (Q4_K -> Q5_0, Q6_K -> Q8_0, then F16).
DType fit_type(DType want, int64_t cols) {
  if (cols % dtype_block_size(want) == 0) return want;
  DType alt = want == DType::Q4_K ? DType::Q5_0 : want == DType::Q6_K ? DType::Q8_0 : DType::F16;
  return cols % dtype_block_size(alt) == 0 ? alt : DType::F16;
}

class TensorWriter {
 public:
  TensorWriter(uint64_t seed, gguf::Writer& w, ThreadPool& pool, bool skip) : seed_(seed), w_(w), pool_(pool), skip_(skip) {}

  // shape in GGML order; values drawn per `init`, stored as `type` (after fit_type).
  void add(const std::string& name, DType want, std::vector<int64_t> shape, Init init) {
    if (skip_) return;
    const int64_t cols = shape[0];
    int64_t n_rows = 1;
    for (size_t i = 1; i < shape.size(); ++i) n_rows *= shape[i];
    const DType type = fit_type(want, cols);
    const TypeTraits& tr = traits(type);
    if (type != DType::F32 && !tr.from_float) fail("gen-model: no quantizer for type {}", tr.name);
    const uint64_t seed = name_seed(name, seed_);
    const size_t rb = row_bytes(type, cols);
    ThreadPool* pool = &pool_;
    w_.add_tensor(name, type, std::move(shape), [=](uint8_t* dst, size_t) {
      constexpr int64_t kChunk = 16;
      pool->parallel_for((n_rows + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1, int) {
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t c = c0; c < c1; ++c) {
          Rng rng{seed ^ (static_cast<uint64_t>(c) * 0xD1B54A32D192ED03ull)};
          for (int64_t r = c * kChunk; r < std::min(n_rows, (c + 1) * kChunk); ++r) {
            for (auto& v : row) v = init.center + init.half_width * (2.0f * rng.uniform() - 1.0f);
            uint8_t* out = dst + static_cast<size_t>(r) * rb;
            if (type == DType::F32) std::memcpy(out, row.data(), rb);
            else tr.from_float(row.data(), out, cols);
          }
        }
      });
    });
  }

 private:
  uint64_t seed_;
  gguf::Writer& w_;
  ThreadPool& pool_;
  bool skip_;
};

// llama.cpp's Q4_K_M rule for the sensitive tensors (ffn_down): more bits in the first
// and last eighth of the layers and every third layer in between.
bool more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

uint32_t file_type(WeightMix m) {
  switch (m) {
    case WeightMix::f32: return 0;
    case WeightMix::f16: return 1;
    case WeightMix::bf16: return 32;
    case WeightMix::q8_0: return 7;
    case WeightMix::q4_0: return 2;
    case WeightMix::q4_k_m: return 15;
  }
  return 0;
}

DType mix_type(WeightMix m) {
  switch (m) {
    case WeightMix::f32: return DType::F32;
    case WeightMix::f16: return DType::F16;
    case WeightMix::bf16: return DType::BF16;
    case WeightMix::q8_0: return DType::Q8_0;
    case WeightMix::q4_0: return DType::Q4_0;
    case WeightMix::q4_k_m: return DType::Q4_K;
  }
  return DType::F32;
}

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

void write_random_deepseek2(const GenDeepseek2Spec& spec, const std::string& path, int n_threads) {
  validate(spec);
  VocabData vocab = spec.tokenizer_json.empty() ? builtin_byte_vocab() : load_hf_vocab(spec.tokenizer_json);
  const int64_t n_tok = static_cast<int64_t>(vocab.tokens.size());
  const int64_t n_vocab = spec.n_vocab > 0 ? spec.n_vocab : n_tok;
  if (n_vocab < n_tok) fail("gen-model: --vocab {} is smaller than the tokenizer ({} tokens)", n_vocab, n_tok);
  if (vocab.types.empty()) vocab.types.assign(vocab.tokens.size(), TokenType::normal);
  for (int64_t i = n_tok; i < n_vocab; ++i) {
    vocab.tokens.push_back(fmt::format("[PAD{}]", i));
    vocab.types.push_back(TokenType::unused);
  }

  const std::string a = "deepseek2.";
  const int64_t E = spec.n_embd, H = spec.n_head, R = spec.kv_lora_rank, P = spec.qk_rope;
  const int64_t HK = spec.qk_nope + P, F = spec.n_ff_exp, X = spec.n_expert, FS = F * spec.n_expert_shared;
  const int64_t n_blocks = spec.n_layer + spec.n_nextn;
  const bool any_moe = spec.n_dense_lead < n_blocks;
  gguf::Writer w;
  using gguf::Value;
  auto u32 = [](int64_t v) { return Value::from_u32(static_cast<uint32_t>(v)); };
  w.set("general.architecture", Value::from_string("deepseek2"));
  w.set("general.name", Value::from_string(spec.name));
  w.set("general.file_type", Value::from_u32(file_type(spec.mix)));
  w.set(a + "vocab_size", u32(n_vocab));
  w.set(a + "context_length", u32(spec.n_ctx));
  w.set(a + "embedding_length", u32(E));
  w.set(a + "block_count", u32(n_blocks));
  if (spec.n_dense_lead > 0) w.set(a + "feed_forward_length", u32(spec.n_ff));
  w.set(a + "attention.head_count", u32(H));
  w.set(a + "attention.head_count_kv", u32(1));
  w.set(a + "rope.freq_base", Value::from_f32(spec.rope_theta));
  w.set(a + "attention.layer_norm_rms_epsilon", Value::from_f32(spec.rms_eps));
  w.set(a + "leading_dense_block_count", u32(spec.n_dense_lead));
  w.set(a + "attention.q_lora_rank", u32(spec.q_lora_rank));
  w.set(a + "attention.kv_lora_rank", u32(R));
  w.set(a + "attention.key_length", u32(R + P));
  w.set(a + "attention.value_length", u32(R));
  w.set(a + "attention.key_length_mla", u32(HK));
  w.set(a + "attention.value_length_mla", u32(spec.v_head));
  if (any_moe) {
    w.set(a + "expert_feed_forward_length", u32(F));
    w.set(a + "expert_count", u32(X));
    w.set(a + "expert_used_count", u32(spec.n_expert_used));
    w.set(a + "expert_shared_count", u32(spec.n_expert_shared));
    w.set(a + "expert_weights_scale", Value::from_f32(spec.expert_weights_scale));
    if (spec.expert_weights_norm) w.set(a + "expert_weights_norm", Value::from_bool(true));
    w.set(a + "expert_gating_func", u32(spec.sigmoid_gating ? 2 : 1));
    if (spec.n_group > 1) {
      w.set(a + "expert_group_count", u32(spec.n_group));
      w.set(a + "expert_group_used_count", u32(spec.n_group_used));
    }
  }
  w.set(a + "rope.dimension_count", u32(P));
  if (spec.yarn_factor > 0) {
    w.set(a + "rope.scaling.type", Value::from_string("yarn"));
    w.set(a + "rope.scaling.factor", Value::from_f32(spec.yarn_factor));
    w.set(a + "rope.scaling.original_context_length", u32(spec.yarn_orig_ctx));
    if (spec.yarn_log_mul != 0) w.set(a + "rope.scaling.yarn_log_multiplier", Value::from_f32(spec.yarn_log_mul));
  } else {
    w.set(a + "rope.scaling.type", Value::from_string("none"));
  }
  if (spec.n_nextn > 0) w.set(a + "nextn_predict_layers", u32(spec.n_nextn));

  w.set("tokenizer.ggml.model", Value::from_string(vocab.model));
  w.set("tokenizer.ggml.pre", Value::from_string(vocab.pre));
  w.set("tokenizer.ggml.tokens", Value::from_strings(vocab.tokens));
  std::vector<int32_t> types;
  for (TokenType t : vocab.types) types.push_back(static_cast<int32_t>(t));
  w.set("tokenizer.ggml.token_type", Value::from_i32s(types));
  w.set("tokenizer.ggml.merges", Value::from_strings(vocab.merges));
  if (vocab.bos >= 0) w.set("tokenizer.ggml.bos_token_id", u32(vocab.bos));
  if (vocab.eos >= 0) w.set("tokenizer.ggml.eos_token_id", u32(vocab.eos));
  if (vocab.pad >= 0) w.set("tokenizer.ggml.padding_token_id", u32(vocab.pad));
  w.set("tokenizer.ggml.add_bos_token", Value::from_bool(vocab.add_bos));
  w.set("tokenizer.ggml.add_eos_token", Value::from_bool(false));
  const std::string& tmpl = spec.chat_template.empty() ? vocab.chat_template : spec.chat_template;
  if (!tmpl.empty()) w.set("tokenizer.chat_template", Value::from_string(tmpl));

  const DType dense = mix_type(spec.mix);
  const bool kmix = spec.mix == WeightMix::q4_k_m;
  ThreadPool pool(n_threads);
  TensorWriter t(spec.seed, w, pool, spec.metadata_only);
  const float out_std = spec.logit_std / std::sqrt(static_cast<float>(E));
  t.add("token_embd.weight", dense, {E, n_vocab}, normal_like(spec.tied_output ? out_std : 1.0f));
  t.add("output_norm.weight", DType::F32, {E}, kNorm);
  if (!spec.tied_output) t.add("output.weight", kmix ? DType::Q6_K : dense, {E, n_vocab}, normal_like(out_std));
  for (int64_t i = 0; i < n_blocks; ++i) {
    auto n = [i](const char* s) { return fmt::format("blk.{}.{}", i, s); };
    const DType down = kmix && more_bits(i, spec.n_layer) ? DType::Q6_K : dense;
    t.add(n("attn_norm.weight"), DType::F32, {E}, kNorm);
    if (spec.q_lora_rank > 0) {
      t.add(n("attn_q_a.weight"), dense, {E, spec.q_lora_rank}, fan_in(E));
      t.add(n("attn_q_a_norm.weight"), DType::F32, {spec.q_lora_rank}, kNorm);
      t.add(n("attn_q_b.weight"), dense, {spec.q_lora_rank, H * HK}, fan_in(spec.q_lora_rank));
    } else {
      t.add(n("attn_q.weight"), dense, {E, H * HK}, fan_in(E));
    }
    t.add(n("attn_kv_a_mqa.weight"), dense, {E, R + P}, fan_in(E));
    t.add(n("attn_kv_a_norm.weight"), DType::F32, {R}, kNorm);
    t.add(n("attn_k_b.weight"), dense, {spec.qk_nope, R, H}, fan_in(R));  // k_nope = k_b^T latent
    t.add(n("attn_v_b.weight"), dense, {R, spec.v_head, H}, fan_in(R));
    t.add(n("attn_output.weight"), dense, {H * spec.v_head, E}, fan_in(H * spec.v_head));
    t.add(n("ffn_norm.weight"), DType::F32, {E}, kNorm);
    if (i < spec.n_dense_lead) {
      t.add(n("ffn_gate.weight"), dense, {E, spec.n_ff}, fan_in(E));
      t.add(n("ffn_up.weight"), dense, {E, spec.n_ff}, fan_in(E));
      t.add(n("ffn_down.weight"), down, {spec.n_ff, E}, fan_in(spec.n_ff));
    } else {
      t.add(n("ffn_gate_inp.weight"), DType::F32, {E, X}, fan_in(E));  // llama-quantize keeps the router F32
      if (spec.probs_bias) t.add(n("exp_probs_b.bias"), DType::F32, {X}, normal_like(0.1f));
      t.add(n("ffn_gate_exps.weight"), dense, {E, F, X}, fan_in(E));
      t.add(n("ffn_up_exps.weight"), dense, {E, F, X}, fan_in(E));
      t.add(n("ffn_down_exps.weight"), down, {F, E, X}, fan_in(F));
      if (FS > 0) {
        t.add(n("ffn_gate_shexp.weight"), dense, {E, FS}, fan_in(E));
        t.add(n("ffn_up_shexp.weight"), dense, {E, FS}, fan_in(E));
        t.add(n("ffn_down_shexp.weight"), down, {FS, E}, fan_in(FS));
      }
    }
    if (i >= spec.n_layer) {  // multi-token-prediction head (DeepSeek-V3 layout)
      t.add(n("nextn.eh_proj.weight"), dense, {2 * E, E}, fan_in(2 * E));
      t.add(n("nextn.enorm.weight"), DType::F32, {E}, kNorm);
      t.add(n("nextn.hnorm.weight"), DType::F32, {E}, kNorm);
      t.add(n("nextn.shared_head_norm.weight"), DType::F32, {E}, kNorm);
    }
  }
  w.write(path);
}

}  // namespace r1
