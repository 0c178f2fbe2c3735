// Hugging Face checkpoints (model/hf): config.json mapping checked against the published
// configs of the R1 family (values typed from their config.json files), hostile configs,
// the Llama-3 RoPE factors against the formula, and small checkpoints written here by hand
// (safetensors bytes spelled out) for the llama q/k permutation, the MLA kv_b split and
// every validation error of HfCheckpoint::open.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "model/hf/hf_checkpoint.hpp"
#include "model/hf/hf_config.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// DeepSeek-R1-Distill-Qwen-1.5B config.json (the keys r1 reads).
const char* kQwen15B = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536,
  "intermediate_size": 8960, "max_position_embeddings": 131072, "num_attention_heads": 12,
  "num_hidden_layers": 28, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": null,
  "rope_theta": 10000, "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "use_sliding_window": false, "vocab_size": 151936})";

// DeepSeek-V3 / R1 config.json.
const char* kV3 = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "first_k_dense_replace": 3,
  "hidden_size": 7168, "intermediate_size": 18432, "kv_lora_rank": 512, "max_position_embeddings": 163840,
  "moe_intermediate_size": 2048, "moe_layer_freq": 1, "n_group": 8, "n_routed_experts": 256,
  "n_shared_experts": 1, "norm_topk_prob": true, "num_attention_heads": 128, "num_experts_per_tok": 8,
  "num_hidden_layers": 61, "num_key_value_heads": 128, "num_nextn_predict_layers": 1, "q_lora_rank": 1536,
  "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
  "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                          "weight_block_size": [128, 128]},
  "rms_norm_eps": 1e-06,
  "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                   "original_max_position_embeddings": 4096, "type": "yarn"},
  "rope_theta": 10000, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid", "tie_word_embeddings": false,
  "topk_group": 4, "topk_method": "noaux_tc", "torch_dtype": "bfloat16", "v_head_dim": 128,
  "vocab_size": 129280})";

// DeepSeek-R1-Distill-Llama-8B config.json.
const char* kLlama8B = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": false, "hidden_size": 4096,
  "intermediate_size": 14336, "max_position_embeddings": 131072, "mlp_bias": false, "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "vocab_size": 128256})";

TEST(HfConfig, R1DistillQwen) {
  const HfConfig h = parse_hf_config(kQwen15B, "config.json", "R1-Distill-Qwen-1.5B");
  const ModelConfig& c = h.cfg;
  EXPECT_EQ(c.arch, Arch::qwen2);
  EXPECT_EQ(c.name, "R1-Distill-Qwen-1.5B");
  EXPECT_EQ(c.n_embd, 1536);
  EXPECT_EQ(c.n_layer, 28);
  EXPECT_EQ(c.n_head, 12);
  EXPECT_EQ(c.n_head_kv, 2);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.n_ff, 8960);
  EXPECT_EQ(c.n_ctx_train, 131072);
  EXPECT_EQ(c.n_vocab, 151936);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope.freq_base, 10000.0f);
  EXPECT_EQ(c.rope.style, RopeStyle::neox);
  EXPECT_EQ(c.rope_scaling, "none");
  EXPECT_FALSE(c.tied_output);
  EXPECT_FALSE(h.fp8);
  EXPECT_EQ(h.torch_dtype, "bfloat16");
}

TEST(HfConfig, DeepSeekV3) {
  const HfConfig h = parse_hf_config(kV3, "config.json", "DeepSeek-R1");
  const ModelConfig& c = h.cfg;
  EXPECT_EQ(c.arch, Arch::deepseek2);
  EXPECT_EQ(c.n_layer, 61);
  EXPECT_EQ(h.dropped_nextn, 1);
  EXPECT_EQ(c.n_nextn, 0);
  EXPECT_EQ(c.n_head, 128);
  EXPECT_EQ(c.mla.q_lora_rank, 1536);
  EXPECT_EQ(c.mla.kv_lora_rank, 512);
  EXPECT_EQ(c.mla.qk_nope, 128);
  EXPECT_EQ(c.rope.n_dims, 64);
  EXPECT_EQ(c.mla.v_head, 128);
  EXPECT_EQ(c.head_dim, 192);
  EXPECT_EQ(c.n_ff, 18432);
  EXPECT_EQ(c.moe.n_dense_lead, 3);
  EXPECT_EQ(c.moe.n_expert, 256);
  EXPECT_EQ(c.moe.n_expert_used, 8);
  EXPECT_EQ(c.moe.n_expert_shared, 1);
  EXPECT_EQ(c.moe.n_ff_exp, 2048);
  EXPECT_EQ(c.moe.n_group, 8);
  EXPECT_EQ(c.moe.n_group_used, 4);
  EXPECT_FLOAT_EQ(c.moe.weights_scale, 2.5f);
  EXPECT_TRUE(c.moe.weights_norm);
  EXPECT_EQ(c.moe.gating, MoeGating::sigmoid);
  EXPECT_TRUE(h.choices.exp_probs_b);
  EXPECT_EQ(c.rope_scaling, "yarn");
  EXPECT_FLOAT_EQ(c.rope_scaling_factor, 40.0f);
  EXPECT_EQ(c.rope.n_ctx_orig, 4096);
  EXPECT_FLOAT_EQ(c.yarn_log_mul, 1.0f);
  EXPECT_EQ(c.rope.style, RopeStyle::normal);
  EXPECT_TRUE(h.fp8);
  EXPECT_TRUE(h.warnings.empty());
}

TEST(HfConfig, LlamaThreeRope) {
  const HfConfig h = parse_hf_config(kLlama8B, "config.json", "x");
  EXPECT_EQ(h.cfg.arch, Arch::llama);
  EXPECT_EQ(h.cfg.rope.style, RopeStyle::normal);
  EXPECT_TRUE(h.choices.rope_freqs);
  EXPECT_EQ(h.llama3.original_context, 8192);
  EXPECT_DOUBLE_EQ(h.llama3.factor, 8.0);
  // Factors against the published formula (computed here in double): wavelength 2 pi / freq
  // below 8192 / 4 -> 1, above 8192 / 1 -> 8, between: 1 / ((1 - s) / 8 + s),
  // s = (8192 / wavelength - 1) / 3.
  const std::vector<float> f = llama3_rope_factors(128, 500000.0f, h.llama3);
  ASSERT_EQ(f.size(), 64u);
  int ones = 0, eights = 0, between = 0;
  for (int i = 0; i < 64; ++i) {
    const double freq = std::pow(500000.0, -2.0 * i / 128.0), wl = 2 * M_PI / freq;
    double want = wl < 2048 ? 1 : wl > 8192 ? 8 : 0;
    if (want == 0) {
      const double s = (8192 / wl - 1) / 3;
      want = 1 / ((1 - s) / 8 + s);
      ++between;
    }
    ones += want == 1;
    eights += want == 8;
    EXPECT_NEAR(f[static_cast<size_t>(i)], want, 1e-5 * want) << i;
  }
  EXPECT_GT(ones, 0);
  EXPECT_GT(eights, 0);
  EXPECT_GT(between, 0);
}

void expect_config_error(std::string text, const std::string& part) {
  try {
    parse_hf_config(text, "dir/config.json", "x");
    ADD_FAILURE() << "accepted; expected an error with '" << part << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("dir/config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

std::string with(const char* base, const json& patch) {
  json j = json::parse(base);
  j.merge_patch(patch);
  return j.dump();
}

TEST(HfConfig, HostileConfigsAreRefusedNamingTheKey) {
  expect_config_error("{", "not valid JSON");
  expect_config_error("[1]", "not a JSON object");
  expect_config_error(with(kQwen15B, {{"model_type", "mistral"}}), "model_type \"mistral\"");
  expect_config_error(with(kQwen15B, {{"hidden_size", nullptr}}), "\"hidden_size\"");
  expect_config_error(with(kQwen15B, {{"hidden_size", "big"}}), "\"hidden_size\" must be an integer");
  expect_config_error(with(kQwen15B, {{"hidden_size", -5}}), "\"hidden_size\" = -5");
  expect_config_error(with(kQwen15B, {{"num_hidden_layers", 1e12}}), "\"num_hidden_layers\"");
  expect_config_error(with(kQwen15B, {{"num_key_value_heads", 5}}), "num_key_value_heads");
  expect_config_error(with(kQwen15B, {{"rms_norm_eps", 0}}), "rms_norm_eps");
  expect_config_error(with(kQwen15B, {{"rope_scaling", {{"type", "yarn"}, {"factor", 4}}}}), "\"yarn\"");
  expect_config_error(with(kQwen15B, {{"rope_scaling", {{"type", "linear"}, {"factor", -1}}}}), "factor");
  expect_config_error(with(kQwen15B, {{"rope_scaling", 3}}), "rope_scaling");
  expect_config_error(with(kQwen15B, {{"quantization_config", {{"quant_method", "awq"}}}}), "\"awq\"");
  expect_config_error(with(kLlama8B, {{"attention_bias", true}}), "attention_bias");
  expect_config_error(with(kLlama8B, {{"mlp_bias", true}}), "mlp_bias");
  expect_config_error(with(kV3, {{"moe_layer_freq", 2}}), "moe_layer_freq");
  expect_config_error(with(kV3, {{"scoring_func", "relu"}}), "scoring_func");
  expect_config_error(with(kV3, {{"num_experts_per_tok", 300}}), "num_experts_per_tok");
  expect_config_error(with(kV3, {{"kv_lora_rank", nullptr}}), "kv_lora_rank");
  expect_config_error(with(kV3, {{"quantization_config", {{"quant_method", "fp8"}, {"weight_block_size", {64, 64}}}}}),
                      "weight_block_size");
}

TEST(HfConfig, GenerationConfig) {
  const HfSampling s = parse_hf_generation_config(R"({"do_sample": true, "temperature": 0.6, "top_p": 0.95})", "g");
  EXPECT_FLOAT_EQ(s.temp, 0.6f);
  EXPECT_FLOAT_EQ(s.top_p, 0.95f);
  EXPECT_EQ(s.top_k, -1);
  const HfSampling greedy = parse_hf_generation_config(R"({"do_sample": false, "temperature": 0.6})", "g");
  EXPECT_EQ(greedy.temp, -1);
  EXPECT_THROW(parse_hf_generation_config(R"({"top_p": 7})", "g"), Error);
}

// ---- checkpoints written by hand ------------------------------------------------------

struct StTensor {
  std::string name;
  std::vector<int64_t> shape;  // row-major
  std::vector<float> values;   // stored as F32
};

void write_safetensors(const fs::path& p, const std::vector<StTensor>& ts) {
  json h = json::object();
  uint64_t off = 0;
  for (const StTensor& t : ts) {
    h[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {off, off + t.values.size() * 4}}};
    off += t.values.size() * 4;
  }
  const std::string header = h.dump();
  std::ofstream out(p, std::ios::binary);
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  for (const StTensor& t : ts) out.write(reinterpret_cast<const char*>(t.values.data()), std::streamsize(t.values.size() * 4));
}

// A byte-level BPE tokenizer.json of four tokens and one merge.
const char* kTokenizer = R"({"version": "1.0", "added_tokens": [], "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3}, "merges": ["a b"]}})";

std::vector<float> iota(size_t n, float start = 0) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

class HfDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("r1-hf-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokenizer.json") << kTokenizer;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A one-layer dense model: hidden 8, 2 heads of 4, 1 kv head, ff 16, vocab 4.
  void write_dense(const std::string& type, std::vector<StTensor> extra = {}, const std::string& drop = "") {
    json cfg = {{"model_type", type}, {"hidden_size", 8}, {"intermediate_size", 16}, {"num_attention_heads", 2},
                {"num_key_value_heads", 1}, {"num_hidden_layers", 1}, {"rms_norm_eps", 1e-5}, {"vocab_size", 4}};
    std::ofstream(dir_ / "config.json") << cfg.dump();
    std::vector<StTensor> t = {
        {"model.embed_tokens.weight", {4, 8}, iota(32)},
        {"model.norm.weight", {8}, iota(8, 1)},
        {"lm_head.weight", {4, 8}, iota(32, 100)},
        {"model.layers.0.input_layernorm.weight", {8}, iota(8, 1)},
        {"model.layers.0.self_attn.q_proj.weight", {8, 8}, iota(64)},
        {"model.layers.0.self_attn.k_proj.weight", {4, 8}, iota(32)},
        {"model.layers.0.self_attn.v_proj.weight", {4, 8}, iota(32)},
        {"model.layers.0.self_attn.o_proj.weight", {8, 8}, iota(64)},
        {"model.layers.0.post_attention_layernorm.weight", {8}, iota(8, 1)},
        {"model.layers.0.mlp.gate_proj.weight", {16, 8}, iota(128)},
        {"model.layers.0.mlp.up_proj.weight", {16, 8}, iota(128)},
        {"model.layers.0.mlp.down_proj.weight", {8, 16}, iota(128)},
    };
    if (type == "qwen2")
      for (const char* b : {"q", "k", "v"})
        t.push_back({std::string("model.layers.0.self_attn.") + b + "_proj.bias", {b[0] == 'q' ? 8 : 4},
                     iota(b[0] == 'q' ? 8 : 4)});
    for (StTensor& e : extra) t.push_back(std::move(e));
    std::vector<StTensor> kept;
    for (StTensor& x : t)
      if (x.name != drop) kept.push_back(std::move(x));
    write_safetensors(dir_ / "model.safetensors", kept);
  }

  void expect_open_error(const std::string& part) {
    try {
      HfCheckpoint::open(dir_.string());
      ADD_FAILURE() << "opened; expected an error with '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "'" << part << "' not in: " << e.what();
    }
  }

  // Tensor `kind` of layer 0 as floats (F32 sources stay F32).
  std::vector<float> tensor(const HfCheckpoint& c, TensorKind kind) {
    ThreadPool pool(1);
    for (size_t i = 0; i < c.tensors().size(); ++i)
      if (c.tensors()[i].kind == kind) {
        EXPECT_EQ(c.source_type(i), DType::F32);
        std::vector<uint8_t> scratch;
        const uint8_t* b = c.bytes(i, scratch, pool);
        std::vector<float> v(c.source_bytes(i) / 4);
        std::memcpy(v.data(), b, v.size() * 4);
        return v;
      }
    ADD_FAILURE() << "no tensor of that kind";
    return {};
  }

  fs::path dir_;
};

TEST_F(HfDir, LlamaQueryAndKeyRowsArePermutedPerHead) {
  write_dense("llama");
  const auto c = HfCheckpoint::open(dir_.string());
  EXPECT_TRUE(is_hf_model_dir(dir_.string()));
  const std::vector<float> q = tensor(*c, TensorKind::attn_q), k = tensor(*c, TensorKind::attn_k);
  // Head of 4 rows: GGUF rows 0, 1, 2, 3 are HF rows 0, 2, 1, 3 (row r of q_proj holds 8r .. 8r + 7).
  const int want[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int r = 0; r < 8; ++r)
    for (int col = 0; col < 8; ++col) EXPECT_EQ(q[size_t(r * 8 + col)], float(want[r] * 8 + col)) << r;
  for (int r = 0; r < 4; ++r)
    for (int col = 0; col < 8; ++col) EXPECT_EQ(k[size_t(r * 8 + col)], float(want[r] * 8 + col)) << r;
  const std::vector<float> v = tensor(*c, TensorKind::attn_v);  // not permuted
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], float(i));
  EXPECT_EQ(c->metadata().get_string("general.architecture"), "llama");
  EXPECT_EQ(c->metadata().get_int("llama.attention.head_count_kv"), 1);
  EXPECT_EQ(c->metadata().get_strings("tokenizer.ggml.tokens").size(), 4u);
}

TEST_F(HfDir, QwenRowsAreKeptAndTiedWhenThereIsNoLmHead) {
  write_dense("qwen2", {}, "lm_head.weight");
  const auto c = HfCheckpoint::open(dir_.string());
  EXPECT_TRUE(c->config().tied_output);
  for (const TensorSpec& s : c->tensors()) EXPECT_NE(s.kind, TensorKind::output);
  const std::vector<float> q = tensor(*c, TensorKind::attn_q);
  for (size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i], float(i));
  EXPECT_EQ(tensor(*c, TensorKind::attn_k_bias), iota(4));
}

TEST_F(HfDir, ValidationErrorsNameTheTensor) {
  write_dense("qwen2", {}, "model.layers.0.mlp.up_proj.weight");
  expect_open_error("'model.layers.0.mlp.up_proj.weight' (for blk.0.ffn_up.weight) is missing");
  write_dense("qwen2", {{"model.layers.0.self_attn.q_norm.weight", {4}, iota(4)}});
  expect_open_error("model.layers.0.self_attn.q_norm.weight");
  write_dense("qwen2");
  write_safetensors(dir_ / "model.safetensors",
                    {{"model.embed_tokens.weight", {4, 8}, iota(32)}, {"model.norm.weight", {9}, iota(9)}});
  expect_open_error("'model.norm.weight' (for output_norm.weight) has shape [9], expected [8]");
  write_dense("qwen2");
  fs::remove(dir_ / "tokenizer.json");
  expect_open_error("no tokenizer.json");
  fs::remove(dir_ / "config.json");
  expect_open_error("no config.json");
}

// -m DIR tokenizes as transformers does: tokenizer.json's NFC normalizer applies (a GGUF
// cannot carry it). Byte-level symbols: "é" is C3 A9 = "Ã©"; its NFD form "e" + U+0301 is
// 65 CC 81 = "e", "Ì", "ģ", which this vocabulary cannot spell as one token.
TEST_F(HfDir, ModelFromTheDirectoryAppliesTheNormalizer) {
  std::ofstream(dir_ / "tokenizer.json") << R"({"version": "1.0", "added_tokens": [],
  "normalizer": {"type": "NFC"},
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "vocab": {"\u00c3": 0, "\u00a9": 1, "e": 2, "\u00c3\u00a9": 3},
            "merges": ["\u00c3 \u00a9"]}})";
  write_dense("qwen2");
  const auto m = Model::load(dir_.string(), ModelOptions{.n_threads = 1});
  EXPECT_EQ(m->tokenizer().encode("e\u0301", false, false), (std::vector<int32_t>{3}));
  EXPECT_EQ(m->tokenizer().encode("\u00e9e", false, false), (std::vector<int32_t>{3, 2}));
}

TEST_F(HfDir, TokenizerLargerThanTheEmbeddingIsRefused) {
  write_dense("qwen2");
  std::ofstream(dir_ / "tokenizer.json") << R"({"version": "1.0", "added_tokens": [], "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}, "merges": []}})";
  expect_open_error("5 tokens but the embedding only 4 rows");
}

// deepseek2 without routed experts: the MLA tensors alone. kv_b_proj [H (nope + v), R]:
// attn_k_b matrix h is the transpose of head h's nope rows, attn_v_b matrix h its v rows.
TEST_F(HfDir, MlaKvBIsSplitIntoKeyTransposeAndValue) {
  const int64_t E = 8, H = 2, R = 4, NOPE = 2, ROPE = 2, V = 3, F = 16;
  json cfg = {{"model_type", "deepseek_v2"}, {"hidden_size", E}, {"intermediate_size", F},
              {"num_attention_heads", H}, {"num_hidden_layers", 1}, {"kv_lora_rank", R},
              {"qk_nope_head_dim", NOPE}, {"qk_rope_head_dim", ROPE}, {"v_head_dim", V},
              {"q_lora_rank", nullptr}, {"rms_norm_eps", 1e-6}};
  std::ofstream(dir_ / "config.json") << cfg.dump();
  write_safetensors(dir_ / "model.safetensors",
                    {{"model.embed_tokens.weight", {4, E}, iota(32)},
                     {"model.norm.weight", {E}, iota(E)},
                     {"lm_head.weight", {4, E}, iota(32)},
                     {"model.layers.0.input_layernorm.weight", {E}, iota(E)},
                     {"model.layers.0.self_attn.q_proj.weight", {H * (NOPE + ROPE), E}, iota(64)},
                     {"model.layers.0.self_attn.kv_a_proj_with_mqa.weight", {R + ROPE, E}, iota(48)},
                     {"model.layers.0.self_attn.kv_a_layernorm.weight", {R}, iota(R)},
                     {"model.layers.0.self_attn.kv_b_proj.weight", {H * (NOPE + V), R}, iota(size_t(H * (NOPE + V) * R))},
                     {"model.layers.0.self_attn.o_proj.weight", {E, H * V}, iota(48)},
                     {"model.layers.0.post_attention_layernorm.weight", {E}, iota(E)},
                     {"model.layers.0.mlp.gate_proj.weight", {F, E}, iota(128)},
                     {"model.layers.0.mlp.up_proj.weight", {F, E}, iota(128)},
                     {"model.layers.0.mlp.down_proj.weight", {E, F}, iota(128)}});
  const auto c = HfCheckpoint::open(dir_.string());
  const std::vector<float> kb = tensor(*c, TensorKind::attn_k_b), vb = tensor(*c, TensorKind::attn_v_b);
  // kv_b row (h * 5 + j), column r holds (h * 5 + j) * 4 + r.
  ASSERT_EQ(kb.size(), size_t(H * R * NOPE));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < NOPE; ++j)  // k_b[h] is R rows of NOPE: element (r, j) = kv_b[h*5 + j][r]
        EXPECT_EQ(kb[size_t((h * R + r) * NOPE + j)], float((h * (NOPE + V) + j) * R + r));
  ASSERT_EQ(vb.size(), size_t(H * V * R));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t v = 0; v < V; ++v)
      for (int64_t r = 0; r < R; ++r)
        EXPECT_EQ(vb[size_t((h * V + v) * R + r)], float((h * (NOPE + V) + NOPE + v) * R + r));
}

}  // namespace
}  // namespace r1
