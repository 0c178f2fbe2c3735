#include "model/generator.hpp"

#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "format/gguf_writer.hpp"
#include "kernels/types.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

namespace {

struct MixInfo {
  WeightMix mix;
  const char* name;
  uint32_t file_type;  // llama.cpp LLAMA_FTYPE_* stored as general.file_type
};
constexpr MixInfo kMixes[] = {
    {WeightMix::f32, "f32", 0},   {WeightMix::f16, "f16", 1},   {WeightMix::bf16, "bf16", 32},
    {WeightMix::q8_0, "q8_0", 7}, {WeightMix::q4_0, "q4_0", 2}, {WeightMix::q4_k_m, "q4_k_m", 15},
};

const MixInfo& mix_info(WeightMix m) {
  for (const auto& i : kMixes)
    if (i.mix == m) return i;
  return kMixes[0];
}

// SplitMix64: a small, fast generator; each chunk of rows gets its own stream so the
// output does not depend on how rows are split over threads.
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
};

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// How a tensor's values are drawn: uniform in [center - half_width, center + half_width].
struct Init {
  float center;
  float half_width;
};
Init gaussian_like(float stddev) { return {0.0f, stddev * std::sqrt(3.0f)}; }

class Builder {
 public:
  Builder(const GenModelSpec& spec, gguf::Writer& w, ThreadPool& pool) : spec_(spec), w_(w), pool_(pool) {}

  // Adds a 2-D (rows, cols) or 1-D (cols) tensor with values drawn per `init`, stored as `type`.
  void tensor(const std::string& name, DType type, int64_t rows, int64_t cols, Init init) {
    std::vector<int64_t> shape = rows > 0 ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{cols};
    const int64_t n_rows = rows > 0 ? rows : 1;
    const TypeTraits& tr = traits(type);
    if (cols % tr.block_size != 0)
      fail("gen-model: tensor '{}' has rows of {} values, not a multiple of the {} block size {}", name, cols,
           tr.name, tr.block_size);
    if (type != DType::F32 && !tr.from_float) fail("gen-model: no quantizer for type {}", tr.name);
    const uint64_t seed = hash_name(name, spec_.seed);
    const size_t rb = row_bytes(type, cols);
    ThreadPool* pool = &pool_;
    w_.add_tensor(name, type, shape, [=](uint8_t* dst, size_t) {
      constexpr int64_t kChunk = 16;
      const int64_t n_chunks = (n_rows + kChunk - 1) / kChunk;
      pool->parallel_for(n_chunks, [&](int64_t c0, int64_t c1, int) {
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t c = c0; c < c1; ++c) {
          SplitMix rng{seed ^ (static_cast<uint64_t>(c) * 0xD1B54A32D192ED03ull)};
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
  const GenModelSpec& spec_;
  gguf::Writer& w_;
  ThreadPool& pool_;
};

// Llama-3.1 RoPE frequency factors (divisors of the base frequencies), as published
// with the model: factor 8, low-frequency factor 1, high-frequency factor 4, original
// context 8192.
std::vector<float> llama3_rope_factors(int64_t rope_dim, float theta) {
  const double factor = 8, low = 1, high = 4, orig = 8192;
  const double low_wavelen = orig / low, high_wavelen = orig / high;
  std::vector<float> out(static_cast<size_t>(rope_dim / 2));
  for (int64_t i = 0; i < rope_dim / 2; ++i) {
    const double freq = std::pow(static_cast<double>(theta), -2.0 * i / static_cast<double>(rope_dim));
    const double wavelen = 2 * M_PI / freq;
    double f;
    if (wavelen < high_wavelen) f = 1;
    else if (wavelen > low_wavelen) f = factor;
    else {
      const double smooth = (orig / wavelen - low) / (high - low);
      f = 1.0 / ((1 - smooth) / factor + smooth);
    }
    out[static_cast<size_t>(i)] = static_cast<float>(f);
  }
  return out;
}

// llama.cpp's Q4_K_M recipe: Q6_K for the output, and for attn_v / ffn_down in the
// first and last eighth of the layers and every third layer in between.
bool q4km_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

}  // namespace

bool parse_weight_mix(const std::string& s, WeightMix* out) {
  for (const auto& i : kMixes)
    if (s == i.name) {
      *out = i.mix;
      return true;
    }
  return false;
}

const char* weight_mix_name(WeightMix m) { return mix_info(m).name; }

std::vector<std::string> gen_model_preset_names() {
  return {"tiny", "r1-distill-qwen-1.5b", "r1-distill-qwen-7b", "r1-distill-llama-8b"};
}

GenModelSpec gen_model_preset(const std::string& preset, Arch arch) {
  GenModelSpec s;
  s.arch = arch;
  if (preset == "tiny") {
    if (arch == Arch::qwen3) s.n_head = 8;  // head_dim * n_head != n_embd, as in real Qwen3
    if (arch == Arch::llama) s.llama3_rope = true;
    s.rope_theta = arch == Arch::llama ? 500000.0f : 10000.0f;
    s.name = fmt::format("tiny-{}", arch_name(arch));
    return s;
  }
  if (preset == "r1-distill-qwen-1.5b") {
    s.arch = Arch::qwen2;
    s.n_vocab = 151936, s.n_embd = 1536, s.n_layer = 28, s.n_head = 12, s.n_head_kv = 2, s.head_dim = 128;
    s.n_ff = 8960, s.n_ctx = 131072, s.rope_theta = 10000.0f, s.rms_eps = 1e-6f;
  } else if (preset == "r1-distill-qwen-7b") {
    s.arch = Arch::qwen2;
    s.n_vocab = 152064, s.n_embd = 3584, s.n_layer = 28, s.n_head = 28, s.n_head_kv = 4, s.head_dim = 128;
    s.n_ff = 18944, s.n_ctx = 131072, s.rope_theta = 10000.0f, s.rms_eps = 1e-6f;
  } else if (preset == "r1-distill-llama-8b") {
    s.arch = Arch::llama;
    s.n_vocab = 128256, s.n_embd = 4096, s.n_layer = 32, s.n_head = 32, s.n_head_kv = 8, s.head_dim = 128;
    s.n_ff = 14336, s.n_ctx = 131072, s.rope_theta = 500000.0f, s.rms_eps = 1e-5f, s.llama3_rope = true;
  } else {
    fail("unknown preset '{}' (known: {})", preset, fmt::join(gen_model_preset_names(), ", "));
  }
  s.name = preset + "-random";
  return s;
}

void write_random_model(const GenModelSpec& spec, const std::string& path, int n_threads) {
  if (spec.n_embd < 1 || spec.n_layer < 1 || spec.n_head < 1 || spec.n_head_kv < 1 || spec.head_dim < 2 ||
      spec.n_ff < 1 || spec.n_ctx < 1 || spec.n_head % spec.n_head_kv != 0 || spec.head_dim % 2 != 0)
    fail("gen-model: invalid dimensions (need positive sizes, an even head size, heads a multiple of kv heads)");
  if (spec.llama3_rope && spec.arch != Arch::llama) fail("gen-model: Llama-3 RoPE factors apply to llama only");

  VocabData vocab = spec.tokenizer_json.empty() ? builtin_byte_vocab() : load_hf_vocab(spec.tokenizer_json);
  const int64_t n_tok = static_cast<int64_t>(vocab.tokens.size());
  const int64_t n_vocab = spec.n_vocab > 0 ? spec.n_vocab : n_tok;
  if (n_vocab < n_tok) fail("gen-model: --vocab {} is smaller than the tokenizer ({} tokens)", n_vocab, n_tok);
  if (vocab.types.empty()) vocab.types.assign(vocab.tokens.size(), TokenType::normal);
  for (int64_t i = n_tok; i < n_vocab; ++i) {
    vocab.tokens.push_back(fmt::format("[PAD{}]", i));
    vocab.types.push_back(TokenType::unused);
  }

  const std::string a = arch_name(spec.arch);
  gguf::Writer w;
  using gguf::Value;
  w.set("general.architecture", Value::from_string(a));
  w.set("general.name", Value::from_string(spec.name));
  w.set("general.file_type", Value::from_u32(mix_info(spec.mix).file_type));
  w.set(a + ".context_length", Value::from_u32(static_cast<uint32_t>(spec.n_ctx)));
  w.set(a + ".embedding_length", Value::from_u32(static_cast<uint32_t>(spec.n_embd)));
  w.set(a + ".block_count", Value::from_u32(static_cast<uint32_t>(spec.n_layer)));
  w.set(a + ".feed_forward_length", Value::from_u32(static_cast<uint32_t>(spec.n_ff)));
  w.set(a + ".attention.head_count", Value::from_u32(static_cast<uint32_t>(spec.n_head)));
  w.set(a + ".attention.head_count_kv", Value::from_u32(static_cast<uint32_t>(spec.n_head_kv)));
  w.set(a + ".attention.layer_norm_rms_epsilon", Value::from_f32(spec.rms_eps));
  w.set(a + ".rope.freq_base", Value::from_f32(spec.rope_theta));
  w.set(a + ".rope.dimension_count", Value::from_u32(static_cast<uint32_t>(spec.head_dim)));
  if (spec.head_dim * spec.n_head != spec.n_embd || spec.arch == Arch::qwen3) {
    w.set(a + ".attention.key_length", Value::from_u32(static_cast<uint32_t>(spec.head_dim)));
    w.set(a + ".attention.value_length", Value::from_u32(static_cast<uint32_t>(spec.head_dim)));
  }
  if (spec.arch == Arch::llama) w.set(a + ".vocab_size", Value::from_u32(static_cast<uint32_t>(n_vocab)));

  w.set("tokenizer.ggml.model", Value::from_string(vocab.model));
  w.set("tokenizer.ggml.pre", Value::from_string(vocab.pre));
  w.set("tokenizer.ggml.tokens", Value::from_strings(vocab.tokens));
  std::vector<int32_t> types;
  for (TokenType t : vocab.types) types.push_back(static_cast<int32_t>(t));
  w.set("tokenizer.ggml.token_type", Value::from_i32s(types));
  w.set("tokenizer.ggml.merges", Value::from_strings(vocab.merges));
  if (vocab.bos >= 0) w.set("tokenizer.ggml.bos_token_id", Value::from_u32(static_cast<uint32_t>(vocab.bos)));
  if (vocab.eos >= 0) w.set("tokenizer.ggml.eos_token_id", Value::from_u32(static_cast<uint32_t>(vocab.eos)));
  if (vocab.pad >= 0) w.set("tokenizer.ggml.padding_token_id", Value::from_u32(static_cast<uint32_t>(vocab.pad)));
  w.set("tokenizer.ggml.add_bos_token", Value::from_bool(vocab.add_bos));
  w.set("tokenizer.ggml.add_eos_token", Value::from_bool(false));
  const std::string& tmpl = spec.chat_template.empty() ? vocab.chat_template : spec.chat_template;
  if (!tmpl.empty()) w.set("tokenizer.chat_template", Value::from_string(tmpl));

  // Weight types per tensor role.
  DType dense = DType::F32;
  switch (spec.mix) {
    case WeightMix::f32: dense = DType::F32; break;
    case WeightMix::f16: dense = DType::F16; break;
    case WeightMix::bf16: dense = DType::BF16; break;
    case WeightMix::q8_0: dense = DType::Q8_0; break;
    case WeightMix::q4_0: dense = DType::Q4_0; break;
    case WeightMix::q4_k_m: dense = DType::Q4_K; break;
  }
  const bool kmix = spec.mix == WeightMix::q4_k_m;
  const DType out_type = kmix ? DType::Q6_K : dense;

  ThreadPool pool(n_threads);
  Builder b(spec, w, pool);
  const int64_t E = spec.n_embd, HD = spec.head_dim, qd = spec.n_head * HD, kvd = spec.n_head_kv * HD;
  const float out_std = spec.logit_std / std::sqrt(static_cast<float>(E));
  const Init norm{1.0f, 0.2f}, bias = gaussian_like(0.1f);
  auto proj = [](int64_t fan_in) { return gaussian_like(1.0f / std::sqrt(static_cast<float>(fan_in))); };

  b.tensor("token_embd.weight", dense, n_vocab, E, gaussian_like(spec.tied_output ? out_std : 1.0f));
  b.tensor("output_norm.weight", DType::F32, 0, E, norm);
  if (!spec.tied_output) b.tensor("output.weight", out_type, n_vocab, E, gaussian_like(out_std));
  if (spec.llama3_rope) {
    std::vector<float> f = llama3_rope_factors(HD, spec.rope_theta);
    w.add_tensor("rope_freqs.weight", DType::F32, {static_cast<int64_t>(f.size())}, f.data(), f.size() * 4);
  }
  for (int64_t i = 0; i < spec.n_layer; ++i) {
    auto n = [i](const char* s) { return fmt::format("blk.{}.{}", i, s); };
    const DType more = kmix && q4km_more_bits(i, spec.n_layer) ? DType::Q6_K : dense;
    b.tensor(n("attn_norm.weight"), DType::F32, 0, E, norm);
    b.tensor(n("attn_q.weight"), dense, qd, E, proj(E));
    b.tensor(n("attn_k.weight"), dense, kvd, E, proj(E));
    b.tensor(n("attn_v.weight"), more, kvd, E, proj(E));
    if (spec.arch == Arch::qwen2) {
      b.tensor(n("attn_q.bias"), DType::F32, 0, qd, bias);
      b.tensor(n("attn_k.bias"), DType::F32, 0, kvd, bias);
      b.tensor(n("attn_v.bias"), DType::F32, 0, kvd, bias);
    }
    if (spec.arch == Arch::qwen3) {
      b.tensor(n("attn_q_norm.weight"), DType::F32, 0, HD, norm);
      b.tensor(n("attn_k_norm.weight"), DType::F32, 0, HD, norm);
    }
    b.tensor(n("attn_output.weight"), dense, E, qd, proj(qd));
    b.tensor(n("ffn_norm.weight"), DType::F32, 0, E, norm);
    b.tensor(n("ffn_gate.weight"), dense, spec.n_ff, E, proj(E));
    b.tensor(n("ffn_up.weight"), dense, spec.n_ff, E, proj(E));
    b.tensor(n("ffn_down.weight"), more, E, spec.n_ff, proj(spec.n_ff));
  }
  w.write(path);
}

}  // namespace r1
