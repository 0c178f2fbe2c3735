// llama-quantize's per-tensor type rules (model/registry/quant_mix.hpp) on small models,
// against tables written by hand from llama.cpp's llama_tensor_get_type (release v0.4.0).
// (The reference test quantize_file_oracle_test compares whole files with llama.cpp.)
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "model/registry/quant_mix.hpp"

namespace r1 {
namespace {

// A dense qwen2-like model: n_layer layers of width 256, FFN 512, GQA factor gqa.
std::vector<MixTensor> dense(int n_layer, bool tied) {
  std::vector<MixTensor> t;
  t.push_back({"token_embd.weight", {256, 1000}, DType::F32});
  t.push_back({"output_norm.weight", {256}, DType::F32});
  if (!tied) t.push_back({"output.weight", {256, 1000}, DType::F32});
  for (int i = 0; i < n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"})
      t.push_back({b + n + ".weight", {256, 256}, DType::F32});
    t.push_back({b + "ffn_down.weight", {512, 256}, DType::F32});
    t.push_back({b + "attn_norm.weight", {256}, DType::F32});
    t.push_back({b + "attn_q.bias", {256}, DType::F32});
  }
  return t;
}

std::map<std::string, DType> plan(const std::vector<MixTensor>& t, FileType ft, int64_t gqa = 2, int64_t n_expert = 0,
                                  bool imatrix = false, int64_t n_layer = 8) {
  MixModel m{.arch = "qwen2", .n_layer = n_layer, .n_head = 4 * gqa, .n_head_kv = 4, .n_expert = n_expert};
  MixParams p{.file_type = ft, .has_imatrix = imatrix};
  const MixPlan pl = plan_tensor_types(t, m, p);
  std::map<std::string, DType> out;
  for (size_t i = 0; i < t.size(); ++i) out[t[i].name] = pl.types[i];
  return out;
}

std::string layer_name(int i, const char* n) { return "blk." + std::to_string(i) + "." + n + ".weight"; }

// use_more_bits over 8 layers: i < 1, i >= 7, or (i - 1) % 3 == 2, i.e. layers 0, 3, 6, 7.
constexpr bool kMoreBits8[8] = {true, false, false, true, false, false, true, true};

TEST(QuantMix, Q4KM) {
  const auto p = plan(dense(8, false), FileType::q4_k_m);
  EXPECT_EQ(p.at("output.weight"), DType::Q6_K);
  EXPECT_EQ(p.at("token_embd.weight"), DType::Q4_K);
  EXPECT_EQ(p.at("output_norm.weight"), DType::F32);
  for (int i = 0; i < 8; ++i) {
    const DType bumped = kMoreBits8[i] ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(p.at(layer_name(i, "attn_v")), bumped) << i;
    EXPECT_EQ(p.at(layer_name(i, "ffn_down")), bumped) << i;
    for (const char* n : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      EXPECT_EQ(p.at(layer_name(i, n)), DType::Q4_K) << i << n;
    EXPECT_EQ(p.at("blk." + std::to_string(i) + ".attn_norm.weight"), DType::F32);
    EXPECT_EQ(p.at("blk." + std::to_string(i) + ".attn_q.bias"), DType::F32);
  }
}

TEST(QuantMix, Q3KM) {
  const auto p = plan(dense(8, false), FileType::q3_k_m);
  EXPECT_EQ(p.at("output.weight"), DType::Q6_K);
  EXPECT_EQ(p.at("token_embd.weight"), DType::Q3_K);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(p.at(layer_name(i, "attn_v")), i < 2 ? DType::Q5_K : DType::Q4_K) << i;  // first two attn_v
    EXPECT_EQ(p.at(layer_name(i, "ffn_down")), DType::Q4_K) << i;  // i < 8/16 = 0 never; not falcon
    EXPECT_EQ(p.at(layer_name(i, "attn_output")), DType::Q4_K) << i;
    for (const char* n : {"attn_q", "attn_k", "ffn_gate", "ffn_up"}) EXPECT_EQ(p.at(layer_name(i, n)), DType::Q3_K);
  }
}

TEST(QuantMix, Q2KDependsOnGqa) {
  for (int64_t gqa : {2, 4}) {
    const auto p = plan(dense(8, false), FileType::q2_k, gqa);
    EXPECT_EQ(p.at("output.weight"), DType::Q6_K);
    EXPECT_EQ(p.at("token_embd.weight"), DType::Q2_K);
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(p.at(layer_name(i, "attn_v")), gqa >= 4 ? DType::Q4_K : DType::Q3_K) << gqa;
      EXPECT_EQ(p.at(layer_name(i, "ffn_down")), DType::Q3_K);
      EXPECT_EQ(p.at(layer_name(i, "attn_output")), DType::Q3_K);
      EXPECT_EQ(p.at(layer_name(i, "attn_q")), DType::Q2_K);
    }
  }
}

TEST(QuantMix, Q5KSHasNoBumpsButTheOutput) {
  const auto p = plan(dense(8, false), FileType::q5_k_s);
  for (const auto& [name, type] : p) {
    if (name == "output.weight") EXPECT_EQ(type, DType::Q6_K);
    else if (name.find("norm") != std::string::npos || name.find("bias") != std::string::npos)
      EXPECT_EQ(type, DType::F32) << name;
    else EXPECT_EQ(type, DType::Q5_K) << name;
  }
}

TEST(QuantMix, TiedEmbeddingTakesTheOutputRule) {
  EXPECT_EQ(plan(dense(8, true), FileType::q4_k_m).at("token_embd.weight"), DType::Q6_K);
  EXPECT_EQ(plan(dense(8, true), FileType::q8_0).at("token_embd.weight"), DType::Q8_0);
  EXPECT_EQ(plan(dense(8, false), FileType::q8_0).at("output.weight"), DType::Q8_0);
}

TEST(QuantMix, ImatrixChangesLegacyFfnDown) {
  // Q4_0 with an importance matrix: ffn_down of the first n_layer/8 layers becomes Q4_1
  const auto p = plan(dense(16, false), FileType::q4_0, 2, 0, true, 16);
  EXPECT_EQ(p.at(layer_name(0, "ffn_down")), DType::Q4_1);
  EXPECT_EQ(p.at(layer_name(1, "ffn_down")), DType::Q4_1);
  EXPECT_EQ(p.at(layer_name(2, "ffn_down")), DType::Q4_0);
  EXPECT_EQ(plan(dense(16, false), FileType::q4_0, 2, 0, false, 16).at(layer_name(0, "ffn_down")), DType::Q4_0);
}

TEST(QuantMix, FallbacksForRowLength) {
  std::vector<MixTensor> t = {{"blk.0.attn_q.weight", {96, 96}, DType::F32},
                              {"blk.0.ffn_down.weight", {160, 96}, DType::F32},
                              {"blk.0.attn_v.weight", {64, 96}, DType::F32},
                              {"blk.0.ffn_up.weight", {40, 96}, DType::F32},
                              {"output.weight", {96, 50}, DType::F32}};
  MixModel m{.arch = "llama", .n_layer = 1, .n_head = 4, .n_head_kv = 1};
  const auto q4km = plan_tensor_types(t, m, {.file_type = FileType::q4_k_m});
  EXPECT_EQ(q4km.types[0], DType::Q5_0);  // Q4_K -> Q5_0
  EXPECT_EQ(q4km.types[1], DType::Q8_0);  // ffn_down Q6_K (layer 0 of 1) -> Q8_0
  EXPECT_EQ(q4km.types[2], DType::Q8_0);  // attn_v Q6_K -> Q8_0
  EXPECT_EQ(q4km.types[3], DType::F16);   // 40 is no multiple of 32 either
  EXPECT_EQ(q4km.types[4], DType::Q8_0);  // output with a row that does not fit Q4_K
  EXPECT_EQ(plan_tensor_types(t, m, {.file_type = FileType::q2_k}).types[0], DType::Q4_0);
  EXPECT_EQ(plan_tensor_types(t, m, {.file_type = FileType::iq4_xs}).types[0], DType::IQ4_NL);
}

// A deepseek2-like MoE model with 8 experts: the 8-expert rules and per-expert layers.
TEST(QuantMix, EightExpertMoE) {
  std::vector<MixTensor> t = {{"token_embd.weight", {256, 512}, DType::F32}, {"output.weight", {256, 512}, DType::F32}};
  for (int i = 0; i < 4; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    t.push_back({b + "attn_kv_b.weight", {256, 512}, DType::F32});
    t.push_back({b + "attn_output.weight", {256, 256}, DType::F32});
    t.push_back({b + "attn_q_a.weight", {256, 256}, DType::F32});
    t.push_back({b + "ffn_gate_inp.weight", {256, 8}, DType::F32});
    t.push_back({b + "ffn_down_exps.weight", {256, 256, 8}, DType::F32});
    t.push_back({b + "ffn_down_shexp.weight", {256, 256}, DType::F32});
    t.push_back({b + "ffn_up_exps.weight", {256, 256, 8}, DType::F32});
  }
  MixModel m{.arch = "deepseek2", .n_layer = 4, .n_head = 4, .n_head_kv = 4, .n_expert = 8};
  const MixPlan pl = plan_tensor_types(t, m, {.file_type = FileType::q4_k_m});
  std::map<std::string, DType> p;
  for (size_t i = 0; i < t.size(); ++i) p[t[i].name] = pl.types[i];
  // use_more_bits over 4 layers: i >= 3 or i % 3 == 2 -> layers 2, 3
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(p.at(layer_name(i, "attn_kv_b")), DType::Q8_0);     // attn_v-like, 8 experts
    EXPECT_EQ(p.at(layer_name(i, "attn_output")), DType::Q5_K);   // 8 experts in Q4_K_M
    EXPECT_EQ(p.at(layer_name(i, "attn_q_a")), DType::Q4_K);
    EXPECT_EQ(p.at(layer_name(i, "ffn_gate_inp")), DType::F32);   // the router is kept
    const DType down = i >= 2 ? DType::Q6_K : DType::Q4_K;       // the layer comes from the name
    EXPECT_EQ(p.at(layer_name(i, "ffn_down_exps")), down) << i;
    EXPECT_EQ(p.at(layer_name(i, "ffn_down_shexp")), down) << i;
    EXPECT_EQ(p.at(layer_name(i, "ffn_up_exps")), DType::Q4_K);
  }
  // an expert tensor whose layer cannot be read from its name is an error, as in llama.cpp
  t.push_back({"ffn_down_exps.weight", {256, 256, 8}, DType::F32});
  EXPECT_THROW(plan_tensor_types(t, m, {.file_type = FileType::q4_k_m}), Error);
}

TEST(QuantMix, OverridesPureAndExplicitTypes) {
  const auto t = dense(8, false);
  MixModel m{.arch = "qwen2", .n_layer = 8, .n_head = 8, .n_head_kv = 4};
  MixParams p{.file_type = FileType::q4_k_m, .overrides = {{"attn_q", DType::Q8_0}, {"attn", DType::Q5_0}}};
  p.has_output_type = true;
  p.output_type = DType::Q8_0;
  const MixPlan pl = plan_tensor_types(t, m, p);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i].name.find("attn_q.weight") != std::string::npos) EXPECT_EQ(pl.types[i], DType::Q8_0);
    else if (t[i].name.find("attn_v.weight") != std::string::npos) EXPECT_EQ(pl.types[i], DType::Q5_0);  // first match
    else if (t[i].name == "output.weight") EXPECT_EQ(pl.types[i], DType::Q8_0);
  }
  const MixPlan pure = plan_tensor_types(t, m, {.file_type = FileType::q4_k_m, .pure = true});
  for (size_t i = 0; i < t.size(); ++i)
    EXPECT_EQ(pure.types[i], t[i].shape.size() == 1 ? DType::F32 : DType::Q4_K) << t[i].name;
}

TEST(QuantMix, ImatrixRequirement) {
  const auto t = dense(8, false);
  MixModel m{.arch = "qwen2", .n_layer = 8, .n_head = 8, .n_head_kv = 4};
  const MixPlan pl = plan_tensor_types(t, m, {.file_type = FileType::iq2_xxs});
  bool any = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (pl.types[i] == DType::IQ2_XXS) EXPECT_TRUE(pl.needs_imatrix[i]) << t[i].name;
    any = any || pl.needs_imatrix[i];
  }
  EXPECT_TRUE(any);
  const MixPlan q4 = plan_tensor_types(t, m, {.file_type = FileType::q4_k_m});
  for (bool b : q4.needs_imatrix) EXPECT_FALSE(b);
}

TEST(QuantMix, LlamaTensorOrder) {
  const std::vector<std::string> names = {"blk.10.a", "blk.2.b", "output.weight", "blk.2.a", "token_embd.weight"};
  const auto order = llama_tensor_order(names);
  std::vector<std::string> got;
  for (size_t i : order) got.push_back(names[i]);
  EXPECT_EQ(got, (std::vector<std::string>{"output.weight", "token_embd.weight", "blk.2.a", "blk.2.b", "blk.10.a"}));
}

}  // namespace
}  // namespace r1
