// The tensor registry: the name table round-trips, the family tables give the shapes the
// forward pass binds (against hand-written expectations for a tiny config of each family),
// the Q4_K_M rule, and that no file in src/ outside the name table spells a tensor name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "model/generator.hpp"
#include "model/kv_cache.hpp"
#include "model/registry/registry.hpp"

namespace r1 {
namespace {

TEST(Registry, NamesRoundTrip) {
  std::set<std::string> seen;
  for (int k = 0; k < static_cast<int>(TensorKind::count); ++k) {
    const auto kind = static_cast<TensorKind>(k);
    const int64_t layer = tensor_per_layer(kind) ? 17 : -1;
    const std::string name = tensor_name(kind, layer);
    EXPECT_TRUE(seen.insert(name).second) << "two kinds share the name " << name;
    TensorKind back = TensorKind::count;
    int64_t back_layer = -2;
    ASSERT_TRUE(parse_tensor_name(name, &back, &back_layer)) << name;
    EXPECT_EQ(back, kind) << name;
    EXPECT_EQ(back_layer, layer) << name;
  }
  EXPECT_EQ(tensor_name(TensorKind::attn_q, 3), "blk.3.attn_q.weight");
  EXPECT_EQ(tensor_name(TensorKind::token_embd), "token_embd.weight");
  EXPECT_EQ(tensor_layer("blk.12.ffn_down_exps.weight"), 12);
  EXPECT_EQ(tensor_layer("output.weight"), -1);
  TensorKind k;
  int64_t l;
  EXPECT_FALSE(parse_tensor_name("blk.x.attn_q.weight", &k, &l));
  EXPECT_FALSE(parse_tensor_name("blk.1.token_embd.weight", &k, &l));  // a global name under a layer
  EXPECT_FALSE(parse_tensor_name("attn_q.weight", &k, &l));            // a layer name without one
  EXPECT_FALSE(parse_tensor_name("blk.0.nonsense.weight", &k, &l));
}

TEST(Registry, DenseShapes) {
  ModelConfig c = dense_config_of(gen_model_preset("tiny", Arch::qwen3));  // 8 heads of 64 over 256
  c.n_vocab = 300;
  const std::vector<TensorSpec> t = model_tensors(c);
  auto find = [&](const std::string& name) -> const TensorSpec& {
    for (const TensorSpec& s : t)
      if (s.name == name) return s;
    ADD_FAILURE() << "no " << name;
    return t.front();
  };
  EXPECT_EQ(find("token_embd.weight").shape, (std::vector<int64_t>{256, 300}));
  EXPECT_EQ(find("blk.1.attn_q.weight").shape, (std::vector<int64_t>{256, 8 * 64}));
  EXPECT_EQ(find("blk.1.attn_k.weight").shape, (std::vector<int64_t>{256, 2 * 64}));
  EXPECT_EQ(find("blk.1.attn_q_norm.weight").shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(find("blk.1.attn_output.weight").shape, (std::vector<int64_t>{8 * 64, 256}));
  EXPECT_EQ(find("blk.0.ffn_down.weight").shape, (std::vector<int64_t>{512, 256}));
  EXPECT_EQ(find("blk.0.ffn_down.weight").init, Init::residual);
  // 1 + 1 + 1 global, per layer: 2 norms + q k v o + 2 qk norms + 3 ffn
  EXPECT_EQ(t.size(), 3u + 2u * 11u);
  c.tied_output = true;
  EXPECT_EQ(model_tensors(c).size(), 2u + 2u * 11u);
  c.arch = Arch::qwen2;
  c.tied_output = false;
  EXPECT_EQ(model_tensors(c).size(), 3u + 2u * 12u);  // q/k/v biases, no qk norms
}

TEST(Registry, Deepseek2Shapes) {
  ModelConfig c = deepseek2_config_of(gen_deepseek2_preset("tiny-v3"));  // q LoRA 96, 1 MTP layer
  c.n_vocab = 500;
  TensorChoices ch;
  const std::vector<TensorSpec> t = model_tensors(c, ch);
  int run = 0, skipped = 0;
  for (const TensorSpec& s : t) (s.presence == Presence::run ? run : skipped)++;
  EXPECT_GT(skipped, 0);  // the MTP layer is listed, not run
  for (const TensorSpec& s : t) {
    if (s.name == "blk.0.attn_q_a.weight") EXPECT_EQ(s.shape, (std::vector<int64_t>{256, 96}));
    if (s.name == "blk.0.attn_kv_a_mqa.weight") EXPECT_EQ(s.shape, (std::vector<int64_t>{256, 128 + 16}));
    if (s.name == "blk.0.attn_k_b.weight") {
      EXPECT_EQ(s.shape, (std::vector<int64_t>{32, 128, 4}));
      EXPECT_EQ(s.op, Op::mul_mat_3d);
      EXPECT_EQ(s.fan_in, 128);
    }
    if (s.name == "blk.1.ffn_gate_exps.weight") {
      EXPECT_EQ(s.shape, (std::vector<int64_t>{256, 256, 16}));
      EXPECT_EQ(s.op, Op::mul_mat_id);
    }
    if (s.name == "blk.1.ffn_gate_inp.weight") EXPECT_EQ(s.quant, QuantClass::router);
    EXPECT_NE(s.name, "blk.0.ffn_gate_inp.weight");  // layer 0 is a leading dense layer
  }
  ch.fused_gate_up_exps = true;
  bool fused = false;
  for (const TensorSpec& s : model_tensors(c, ch)) fused = fused || s.name == "blk.1.ffn_gate_up_exps.weight";
  EXPECT_TRUE(fused);
  // The cache: per layer one row of latent + rope key, no V.
  EXPECT_EQ(kv_bytes_per_token(c), static_cast<uint64_t>(c.n_layer) * (128 + 16) * 2);
}

TEST(Registry, QuantRules) {
  TensorSpec down = make_spec(TensorKind::ffn_down, 0, {512, 256}, Init::residual, QuantClass::sensitive, Op::mul_mat);
  TensorSpec q = make_spec(TensorKind::attn_q, 4, {256, 256}, Init::normal, QuantClass::matrix, Op::mul_mat);
  TensorSpec norm = make_spec(TensorKind::attn_norm, 4, {256}, Init::ones, QuantClass::vector, Op::none);
  TensorSpec out = make_spec(TensorKind::output, -1, {256, 300}, Init::normal, QuantClass::output, Op::mul_mat);
  EXPECT_EQ(quant_type(down, FileType::q4_k_m, 32), DType::Q6_K);  // first eighth
  down.layer = 5;
  EXPECT_EQ(quant_type(down, FileType::q4_k_m, 32), DType::Q4_K);  // (5 - 32/8) % 3 = 1
  down.layer = 6;
  EXPECT_EQ(quant_type(down, FileType::q4_k_m, 32), DType::Q6_K);  // (6 - 4) % 3 = 2: every third layer
  down.layer = 28;
  EXPECT_EQ(quant_type(down, FileType::q4_k_m, 32), DType::Q6_K);  // last eighth
  EXPECT_EQ(quant_type(q, FileType::q4_k_m, 32), DType::Q4_K);
  EXPECT_EQ(quant_type(out, FileType::q4_k_m, 32), DType::Q6_K);
  EXPECT_EQ(quant_type(norm, FileType::q4_k_m, 32), DType::F32);
  EXPECT_EQ(quant_type(q, FileType::q8_0, 32), DType::Q8_0);
  TensorSpec short_rows = make_spec(TensorKind::attn_k_b, 0, {64, 128, 4}, Init::normal, QuantClass::matrix, Op::mul_mat_3d);
  EXPECT_EQ(quant_type(short_rows, FileType::q4_k_m, 32), DType::Q5_0);  // 64 % 256 != 0: llama-quantize's fallback
  EXPECT_EQ(quant_type(short_rows, FileType::q8_0, 32), DType::Q8_0);
  TensorSpec odd = make_spec(TensorKind::attn_k_b, 0, {40, 128, 4}, Init::normal, QuantClass::matrix, Op::mul_mat_3d);
  EXPECT_EQ(quant_type(odd, FileType::q8_0, 32), DType::F16);
  EXPECT_FALSE(repackable(Arch::deepseek2, q, DType::Q8_0));
  EXPECT_TRUE(repackable(Arch::deepseek2, q, DType::Q4_K));
  EXPECT_TRUE(repackable(Arch::qwen2, q, DType::Q8_0));
  EXPECT_FALSE(repackable(Arch::qwen2, short_rows, DType::Q4_0));  // 3-D per-head weights stay row-major
}

// Strips comments, keeping string literals (and newlines, for line numbers).
std::string strip_comments(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"' || s[i] == '\'') {
      const char q = s[i];
      out += s[i];
      for (++i; i < s.size() && s[i] != q; ++i) {
        out += s[i];
        if (s[i] == '\\' && i + 1 < s.size()) out += s[++i];
      }
      if (i < s.size()) out += s[i];
    } else if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') ++i;
      out += '\n';
    } else if (s.compare(i, 2, "/*") == 0) {
      for (i += 2; i + 1 < s.size() && s.compare(i, 2, "*/") != 0; ++i)
        if (s[i] == '\n') out += '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST(Registry, NoTensorNameLiteralOutsideTheNameTable) {
  // What a tensor name looks like in a string literal: the layer prefix, a name-table
  // suffix, or a suffix's stem with an underscore (attn_k_b, ffn_down_exps, ...).
  std::set<std::string> needles = {"blk."};
  for (int k = 0; k < static_cast<int>(TensorKind::count); ++k) {
    const std::string suffix = tensor_suffix(static_cast<TensorKind>(k));
    needles.insert(suffix);
    const std::string stem = suffix.substr(0, suffix.rfind('.'));
    if (stem.find('_') != std::string::npos) needles.insert(stem);
  }
  const std::filesystem::path src = std::filesystem::path(R1_SOURCE_DIR) / "src";
  const std::filesystem::path table = src / "model" / "registry" / "tensor_names.cpp";
  const std::regex literal(R"re("(?:[^"\\\n]|\\.)*")re");
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(src)) {
    const std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp") || e.path() == table) continue;
    ++files;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string code = strip_comments(ss.str());
    for (auto it = std::sregex_iterator(code.begin(), code.end(), literal); it != std::sregex_iterator(); ++it) {
      const std::string lit = it->str();
      for (const std::string& n : needles) {
        const size_t p = lit.find(n);
        if (p == std::string::npos) continue;
        // a stem counts as a word only (not a part of a longer identifier)
        auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
        if (n.find('.') == std::string::npos &&
            ((p > 0 && word(lit[p - 1])) || (p + n.size() < lit.size() && word(lit[p + n.size()]))))
          continue;
        const auto line = 1 + std::count(code.begin(), code.begin() + it->position(), '\n');
        ADD_FAILURE() << e.path().string() << ":" << line << ": tensor name " << lit
                      << " spelled outside the registry's name table";
        break;
      }
    }
  }
  EXPECT_GT(files, 100);
}

}  // namespace
}  // namespace r1
