#include "model/generator.hpp"

#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "base/error.hpp"
#include "base/rng.hpp"
#include "kernels/random_blocks.hpp"
#include "base/thread_pool.hpp"
#include "format/gguf_writer.hpp"
#include "kernels/types.hpp"
#include "model/hf/hf_config.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

namespace {

// How a tensor's values are drawn: uniform in [center - half_width, center + half_width].
struct Init {
  float center;
  float half_width;
};
Init normal_like(float stddev) { return {0.0f, stddev * std::sqrt(3.0f)}; }

Init random_init(const TensorSpec& s, const ModelConfig& c, float logit_std) {
  const float out_std = logit_std / std::sqrt(static_cast<float>(c.n_embd));
  if (s.kind == TensorKind::token_embd) return normal_like(c.tied_output ? out_std : 1.0f);
  if (s.kind == TensorKind::output) return normal_like(out_std);
  if (s.init == r1::Init::ones) return {1.0f, 0.2f};
  if (s.init == r1::Init::zeros) return normal_like(0.1f);  // biases
  return normal_like(1.0f / std::sqrt(static_cast<float>(s.fan_in)));
}

// Adds one tensor of random values (SplitMix64 per chunk of 16 rows, seeded by the name:
// the bytes do not depend on the thread count).
void add_random_tensor(gguf::Writer& w, const TensorSpec& s, DType type, Init init, uint64_t seed, ThreadPool& pool) {
  const int64_t cols = s.shape[0], n_rows = s.rows();
  const TypeTraits& tr = traits(type);
  const bool codebook = kernels::has_random_blocks(type);  // i-quants: random blocks, no quantizer
  if (type != DType::F32 && !tr.from_float && !codebook) fail("gen-model: no quantizer for type {}", tr.name);
  const uint64_t name_seed = name_hash(s.name, seed);
  const size_t rb = row_bytes(type, cols);
  ThreadPool* p = &pool;
  w.add_tensor(s.name, type, s.shape, [=](uint8_t* dst, size_t) {
    constexpr int64_t kChunk = 16;
    p->parallel_for((n_rows + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1, int) {
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t c = c0; c < c1; ++c) {
        SplitMix64 rng{name_seed ^ (static_cast<uint64_t>(c) * 0xD1B54A32D192ED03ull)};
        for (int64_t r = c * kChunk; r < std::min(n_rows, (c + 1) * kChunk); ++r) {
          for (auto& v : row) v = init.center + init.half_width * (2.0f * rng.uniform_float() - 1.0f);
          uint8_t* out = dst + static_cast<size_t>(r) * rb;
          if (codebook) {
            // RMS of the uniform init around its center (the matrices' centers are 0)
            kernels::fill_random_blocks(type, out, cols, rng.next(), init.half_width / std::sqrt(3.0f));
            continue;
          }
          if (type == DType::F32) std::memcpy(out, row.data(), rb);
          else tr.from_float(row.data(), out, cols);
        }
      }
    });
  });
}

}  // namespace

void write_random_weights(const ModelConfig& cfg_in, const TensorChoices& choices, const RandomWeights& rw,
                          const std::string& path, int n_threads) {
  ModelConfig cfg = cfg_in;
  VocabData vocab = rw.tokenizer_json.empty() ? builtin_byte_vocab() : load_hf_vocab(rw.tokenizer_json);
  const auto n_tok = static_cast<int64_t>(vocab.tokens.size());
  if (cfg.n_vocab <= 0) cfg.n_vocab = n_tok;
  if (cfg.n_vocab < n_tok) fail("gen-model: --vocab {} is smaller than the tokenizer ({} tokens)", cfg.n_vocab, n_tok);
  if (!rw.chat_template.empty()) vocab.chat_template = rw.chat_template;

  gguf::Writer w;
  write_config_metadata(w, cfg);
  w.set("general.file_type", gguf::Value::from_u32(file_type_id(rw.mix)));
  write_vocab_metadata(w, std::move(vocab), cfg.n_vocab);
  ThreadPool pool(n_threads);  // used by the tensors' fill callbacks, which run in w.write()
  if (!rw.metadata_only) {
    for (const TensorSpec& s : model_tensors(cfg, choices)) {
      if (s.init == r1::Init::computed) {  // rope_freqs: the Llama-3.1 factors
        std::vector<float> f = llama3_rope_factors(cfg.rope.n_dims, cfg.rope.freq_base);  // Llama-3.1: 8 / 1 / 4 / 8192
        w.add_tensor(s.name, DType::F32, s.shape, f.data(), f.size() * sizeof(float));
        continue;
      }
      add_random_tensor(w, s, quant_type(s, rw.mix, cfg.n_layer, rw.tensor_types), random_init(s, cfg, rw.logit_std), rw.seed, pool);
    }
  }
  w.write(path);
}

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

ModelConfig dense_config_of(const GenModelSpec& spec) {
  if (spec.arch == Arch::deepseek2) fail("gen-model: use the deepseek2 spec for deepseek2");
  if (spec.n_embd < 1 || spec.n_layer < 1 || spec.n_head < 1 || spec.n_head_kv < 1 || spec.head_dim < 2 ||
      spec.n_ff < 1 || spec.n_ctx < 1 || spec.n_head % spec.n_head_kv != 0 || spec.head_dim % 2 != 0)
    fail("gen-model: invalid dimensions (need positive sizes, an even head size, heads a multiple of kv heads)");
  if (spec.llama3_rope && spec.arch != Arch::llama) fail("gen-model: Llama-3 RoPE factors apply to llama only");
  ModelConfig c;
  c.arch = spec.arch;
  c.name = spec.name;
  c.n_vocab = spec.n_vocab;
  c.n_embd = spec.n_embd;
  c.n_layer = spec.n_layer;
  c.n_head = spec.n_head;
  c.n_head_kv = spec.n_head_kv;
  c.head_dim = spec.head_dim;
  c.n_ff = spec.n_ff;
  c.n_ctx_train = spec.n_ctx;
  c.rms_eps = spec.rms_eps;
  c.tied_output = spec.tied_output;
  c.rope.style = spec.arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
  c.rope.n_dims = spec.head_dim;
  c.rope.freq_base = spec.rope_theta;
  return c;
}

void write_random_model(const GenModelSpec& spec, const std::string& path, int n_threads) {
  TensorChoices ch;
  ch.rope_freqs = spec.llama3_rope;
  write_random_weights(dense_config_of(spec), ch,
                       {.mix = spec.mix, .tensor_types = spec.tensor_types, .seed = spec.seed, .logit_std = spec.logit_std,
                        .tokenizer_json = spec.tokenizer_json, .chat_template = spec.chat_template},
                       path, n_threads);
}

}  // namespace r1
