// deepseek2 hyper-parameters from GGUF metadata: the real DeepSeek-V3/R1 keys (as
// llama.cpp's converter writes them), the KV-cache formula, and clear errors for
// layouts and values r1 does not run. Also the memory-fit check.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "model/config.hpp"
#include "model/kv_cache.hpp"
#include "model/memory.hpp"

namespace r1 {
namespace {

using gguf::Value;

// DeepSeek-R1 (671B) as convert_hf_to_gguf.py writes it, with its MTP layer kept.
gguf::Metadata r1_metadata() {
  gguf::Metadata md;
  const std::string a = "deepseek2.";
  md.set("general.architecture", Value::from_string("deepseek2"));
  md.set(a + "context_length", Value::from_u32(163840));
  md.set(a + "embedding_length", Value::from_u32(7168));
  md.set(a + "feed_forward_length", Value::from_u32(18432));
  md.set(a + "block_count", Value::from_u32(62));
  md.set(a + "nextn_predict_layers", Value::from_u32(1));
  md.set(a + "attention.head_count", Value::from_u32(128));
  md.set(a + "attention.head_count_kv", Value::from_u32(1));
  md.set(a + "rope.freq_base", Value::from_f32(10000.0f));
  md.set(a + "attention.layer_norm_rms_epsilon", Value::from_f32(1e-6f));
  md.set(a + "expert_used_count", Value::from_u32(8));
  md.set(a + "expert_group_count", Value::from_u32(8));
  md.set(a + "expert_group_used_count", Value::from_u32(4));
  md.set(a + "leading_dense_block_count", Value::from_u32(3));
  md.set(a + "vocab_size", Value::from_u32(129280));
  md.set(a + "attention.q_lora_rank", Value::from_u32(1536));
  md.set(a + "attention.kv_lora_rank", Value::from_u32(512));
  md.set(a + "attention.key_length", Value::from_u32(576));
  md.set(a + "attention.value_length", Value::from_u32(512));
  md.set(a + "attention.key_length_mla", Value::from_u32(192));
  md.set(a + "attention.value_length_mla", Value::from_u32(128));
  md.set(a + "expert_feed_forward_length", Value::from_u32(2048));
  md.set(a + "expert_count", Value::from_u32(256));
  md.set(a + "expert_shared_count", Value::from_u32(1));
  md.set(a + "expert_weights_scale", Value::from_f32(2.5f));
  md.set(a + "expert_weights_norm", Value::from_bool(true));
  md.set(a + "expert_gating_func", Value::from_u32(2));
  md.set(a + "rope.dimension_count", Value::from_u32(64));
  md.set(a + "rope.scaling.type", Value::from_string("yarn"));
  md.set(a + "rope.scaling.factor", Value::from_f32(40.0f));
  md.set(a + "rope.scaling.original_context_length", Value::from_u32(4096));
  md.set(a + "rope.scaling.yarn_log_multiplier", Value::from_f32(0.1f));
  return md;
}

void expect_error(const gguf::Metadata& md, const std::vector<std::string>& needles) {
  try {
    ModelConfig::from_gguf(md);
    FAIL() << "expected an error mentioning " << needles[0];
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

TEST(Deepseek2Config, RealR1Shape) {
  const ModelConfig c = ModelConfig::from_gguf(r1_metadata());
  EXPECT_EQ(c.n_layer, 61);  // block_count 62 minus the MTP layer
  EXPECT_EQ(c.n_nextn, 1);
  EXPECT_EQ(c.n_head, 128);
  EXPECT_EQ(c.mla.q_lora_rank, 1536);
  EXPECT_EQ(c.mla.kv_lora_rank, 512);
  EXPECT_EQ(c.mla.qk_nope, 128);
  EXPECT_EQ(c.qk_rope(), 64);
  EXPECT_EQ(c.mla.v_head, 128);
  EXPECT_EQ(c.moe.n_dense_lead, 3);
  EXPECT_EQ(c.moe.n_expert, 256);
  EXPECT_EQ(c.moe.n_expert_used, 8);
  EXPECT_EQ(c.moe.n_group, 8);
  EXPECT_EQ(c.moe.n_group_used, 4);
  EXPECT_EQ(c.moe.gating, MoeGating::sigmoid);
  EXPECT_TRUE(c.moe.weights_norm);
  EXPECT_FLOAT_EQ(c.moe.weights_scale, 2.5f);
  EXPECT_FLOAT_EQ(c.yarn_log_mul, 1.0f);
  EXPECT_FLOAT_EQ(c.rope.freq_scale, 1.0f / 40.0f);
  EXPECT_EQ(c.rope.ext_factor, 1.0f);
  EXPECT_EQ(c.rope.n_ctx_orig, 4096);
  EXPECT_NEAR(c.mla.kq_scale, 0.1352338, 1e-6);  // (1 + 0.1 ln 40)^2 / sqrt(192)
  // The KV cache: 61 layers x (512 latent + 64 rope key) halves = 70,272 bytes per token
  // (a plain MHA cache of the same model would hold 61 x 128 x (192 + 128) x 2 = 4,997,120).
  EXPECT_EQ(kv_bytes_per_token(c), 61u * (512 + 64) * 2);
  EXPECT_EQ(kv_bytes_per_token(c), 70272u);
  EXPECT_EQ(c.arch, Arch::deepseek2);
  EXPECT_STREQ(arch_name(c.arch), "deepseek2");
  EXPECT_EQ(c.n_embd, 7168);
  EXPECT_EQ(c.n_ctx_train, 163840);
  EXPECT_EQ(c.head_dim, 192);
  EXPECT_EQ(c.n_head_kv, 1);
}

// DeepSeek-R1 as converters before April 2025 wrote it (one attn_kv_b per layer): no *_mla
// keys, key/value lengths of the expanded heads, one KV head per head. Same config, same
// latent-only cache.
TEST(Deepseek2Config, RealR1LegacyShape) {
  const std::string a = "deepseek2.";
  gguf::Metadata md;
  const gguf::Metadata split = r1_metadata();
  for (const auto& [k, v] : split.entries())
    if (k != a + "attention.key_length_mla" && k != a + "attention.value_length_mla") md.set(k, v);
  md.set(a + "attention.key_length", Value::from_u32(192));
  md.set(a + "attention.value_length", Value::from_u32(128));
  md.set(a + "attention.head_count_kv", Value::from_u32(128));
  const ModelConfig c = ModelConfig::from_gguf(md), s = ModelConfig::from_gguf(r1_metadata());
  EXPECT_TRUE(c.mla.legacy_kv_b);
  EXPECT_FALSE(s.mla.legacy_kv_b);
  EXPECT_EQ(c.mla.qk_nope, 128);
  EXPECT_EQ(c.mla.v_head, 128);
  EXPECT_EQ(c.head_dim, 192);
  EXPECT_EQ(c.n_head_kv, 1);
  EXPECT_EQ(c.mla.kq_scale, s.mla.kq_scale);
  EXPECT_EQ(kv_bytes_per_token(c), 70272u);
  md.set(a + "attention.head_count_kv", Value::from_u32(16));
  expect_error(md, {"head_count_kv is 16", "legacy MLA layout"});
}

TEST(Deepseek2Config, V2LiteDefaults) {
  gguf::Metadata md = r1_metadata();
  const std::string a = "deepseek2.";
  gguf::Metadata v2;
  for (const auto& [k, v] : md.entries()) {
    if (k == a + "attention.q_lora_rank" || k == a + "expert_group_count" || k == a + "expert_group_used_count" ||
        k == a + "expert_gating_func" || k == a + "expert_weights_norm" || k == a + "nextn_predict_layers")
      continue;  // V2 files: no q LoRA, no groups, no gating key (llama.cpp: softmax)
    v2.set(k, v);
  }
  v2.set(a + "block_count", Value::from_u32(27));
  const ModelConfig c = ModelConfig::from_gguf(v2);
  EXPECT_EQ(c.mla.q_lora_rank, 0);
  EXPECT_EQ(c.moe.gating, MoeGating::softmax);
  EXPECT_EQ(c.moe.n_group, 0);
  EXPECT_FALSE(c.moe.weights_norm);
  EXPECT_EQ(c.n_layer, 27);
}

TEST(Deepseek2Config, Errors) {
  const std::string a = "deepseek2.";
  const gguf::Metadata full = r1_metadata();
  auto without = [&](const std::string& key) {
    gguf::Metadata out;
    for (const auto& [k, v] : full.entries())
      if (k != key) out.set(k, v);
    return out;
  };
  auto with = [&](const std::string& key, Value v) {
    gguf::Metadata md = r1_metadata();
    md.set(key, std::move(v));
    return md;
  };
  {  // split-layout keys without the *_mla ones read as the legacy layout, whose keys they contradict
    gguf::Metadata md = without(a + "attention.key_length_mla");
    gguf::Metadata md2;
    for (const auto& [k, v] : md.entries())
      if (k != a + "attention.value_length_mla") md2.set(k, v);
    expect_error(md2, {"legacy MLA layout", "attn_kv_b", "head_count_kv is 1", "128"});
  }
  expect_error(without(a + "attention.value_length_mla"), {"key_length_mla", "value_length_mla"});
  expect_error(without(a + "attention.kv_lora_rank"), {"kv_lora_rank"});
  expect_error(without(a + "attention.layer_norm_rms_epsilon"), {"layer_norm_rms_epsilon"});
  expect_error(with(a + "attention.head_count_kv", Value::from_u32(128)), {"head_count_kv", "1"});
  expect_error(with(a + "attention.key_length", Value::from_u32(192)), {"key_length", "576"});
  expect_error(with(a + "expert_group_count", Value::from_u32(7)), {"expert_group_count"});
  expect_error(with(a + "expert_group_used_count", Value::from_u32(8)), {"expert_group_used_count"});
  expect_error(with(a + "expert_gating_func", Value::from_u32(4)), {"expert_gating_func", "4"});
  expect_error(with(a + "rope.scaling.type", Value::from_string("longrope")), {"longrope"});
  expect_error(with(a + "rope.dimension_count", Value::from_u32(192)), {"key_length_mla", "rope.dimension_count"});
  expect_error(with(a + "expert_used_count", Value::from_u32(300)), {"expert_used_count"});
  expect_error(with(a + "nextn_predict_layers", Value::from_u32(62)), {"nextn_predict_layers"});
  try {  // the family's reader refuses another family's metadata
    ModelConfig c;
    read_deepseek2_config(with("general.architecture", Value::from_string("llama")), c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not deepseek2"), std::string::npos) << e.what();
  }
}

TEST(Deepseek2Memory, RefusesWhenWeightsDoNotFit) {
  constexpr uint64_t GiB = uint64_t{1} << 30;
  EXPECT_NO_THROW(check_weights_fit("m.gguf", 8 * GiB, 16 * GiB, false));
  EXPECT_NO_THROW(check_weights_fit("m.gguf", 8 * GiB, 0, false));  // unknown: no check
  try {
    check_weights_fit("r1-671b.gguf", 400 * GiB, 64 * GiB, false);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("r1-671b.gguf"), std::string::npos) << m;
    EXPECT_NE(m.find("400.00 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find("64.00 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find("paged in from disk"), std::string::npos) << m;
  }
  EXPECT_NO_THROW(check_weights_fit("r1-671b.gguf", 400 * GiB, 64 * GiB, true));
  EXPECT_GT(mem_available_bytes(), 0u);  // Linux test machines have /proc/meminfo
}

}  // namespace
}  // namespace r1
