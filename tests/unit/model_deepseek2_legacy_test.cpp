// deepseek2 files in the legacy MLA layout (one attn_kv_b per layer, no *_mla keys, as
// converters wrote them before April 2025): the keys read as the same config as the split
// layout's, a legacy file and the split file of the same random weights give the same
// logits and the same latent-only cache (resident and paged), and inconsistent legacy
// files end with an error naming the tensor or key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"
#include "model/config.hpp"
#include "model/generator.hpp"
#include "model/kv_cache.hpp"
#include "model/model.hpp"
#include "model/registry/registry.hpp"
#include "model/weights.hpp"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using gguf::Value;

class Deepseek2Legacy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("r1-ds2-legacy-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    GenDeepseek2Spec v3 = gen_deepseek2_preset("tiny-v3");  // q LoRA, one MTP layer
    v3.n_layer = 2;
    v3.n_ff = 256;
    v3.seed = 9;
    GenDeepseek2Spec v2 = gen_deepseek2_preset("tiny-v2lite");  // plain q, nope 48 != v 64
    v2.n_layer = 2;
    v2.seed = 13;
    for (auto [spec, name] : {std::pair{v3, "v3"}, std::pair{v2, "v2"}})
      for (FileType ft : {FileType::f32, FileType::f16, FileType::q8_0}) {
        spec.mix = ft;
        const std::string base = (dir_ / (std::string(name) + "-" + file_type_name(ft))).string();
        spec.legacy_mla = false;
        write_random_deepseek2(spec, base + "-split.gguf", 1);
        spec.legacy_mla = true;
        spec.derived_split = base + "-derived.gguf";
        write_random_deepseek2(spec, base + "-legacy.gguf", 1);
        spec.derived_split.clear();
      }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string file(const std::string& name, FileType ft, const std::string& layout) {
    return (dir_ / (name + "-" + file_type_name(ft) + "-" + layout + ".gguf")).string();
  }

  static std::vector<int32_t> tokens(int n) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back((i * 53 + 7) % 600);
    return t;
  }

  // All logits of a prefill of 80 tokens (the tiled attention order), then of 3 decode
  // steps (the MLA decode kernel).
  static std::vector<float> logits_of(Model& m) {
    auto kv = m.new_cache(128);
    std::vector<float> all, step;
    m.forward(tokens(80), *kv, all, true);
    const std::vector<int32_t> next = tokens(3);
    for (int32_t t : next) {
      m.forward(std::span<const int32_t>(&t, 1), *kv, step, false);
      all.insert(all.end(), step.begin(), step.end());
    }
    return all;
  }

  // A copy of `src` with `edit` applied to its metadata and tensors.
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  static std::string variant(const std::string& src, const std::string& name,
                             const std::function<void(gguf::Metadata&, std::vector<Tensor>&)>& edit) {
    auto f = gguf::File::open(src);
    gguf::Metadata md = f->metadata();
    std::vector<Tensor> ts;
    for (const auto& t : f->tensors()) ts.push_back({t.name, t.type, t.shape, {t.data, t.data + t.nbytes}});
    edit(md, ts);
    gguf::Writer w;
    for (const auto& [k, v] : md.entries()) w.set(k, v);
    for (const auto& t : ts) w.add_tensor(t.name, t.type, t.shape, t.bytes.data(), t.bytes.size());
    const std::string path = (dir_ / name).string();
    w.write(path);
    return path;
  }
  static gguf::Metadata without(const gguf::Metadata& md, const std::vector<std::string>& keys) {
    gguf::Metadata out;
    for (const auto& [k, v] : md.entries())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) out.set(k, v);
    return out;
  }
  static void expect_load_error(const std::string& path, const std::vector<std::string>& needles) {
    try {
      Model::load(path, {.n_threads = 1});
      FAIL() << "loading " << path << " did not fail";
    } catch (const Error& e) {
      for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    }
  }

  static inline fs::path dir_;
};

TEST_F(Deepseek2Legacy, MetadataReadsAsTheSplitConfig) {
  for (const char* name : {"v3", "v2"}) {
    auto split = gguf::File::open(file(name, FileType::f32, "split"));
    auto legacy = gguf::File::open(file(name, FileType::f32, "legacy"));
    const gguf::Metadata& md = legacy->metadata();
    const std::string a = "deepseek2.";
    EXPECT_FALSE(md.has(a + "attention.key_length_mla"));
    EXPECT_FALSE(md.has(a + "attention.value_length_mla"));
    const ModelConfig s = ModelConfig::from_gguf(split->metadata()), l = ModelConfig::from_gguf(md);
    EXPECT_EQ(md.get_int(a + "attention.key_length"), s.mla.qk_nope + s.qk_rope());  // the expanded heads
    EXPECT_EQ(md.get_int(a + "attention.value_length"), s.mla.v_head);
    EXPECT_EQ(md.get_int(a + "attention.head_count_kv"), s.n_head);
    EXPECT_TRUE(l.mla.legacy_kv_b);
    EXPECT_FALSE(s.mla.legacy_kv_b);
    EXPECT_EQ(l.mla.qk_nope, s.mla.qk_nope);
    EXPECT_EQ(l.mla.v_head, s.mla.v_head);
    EXPECT_EQ(l.head_dim, s.head_dim);
    EXPECT_EQ(l.n_head_kv, 1);  // the cache is the latent, whatever the file says
    EXPECT_EQ(l.mla.kq_scale, s.mla.kq_scale);
    EXPECT_EQ(kv_bytes_per_token(l), kv_bytes_per_token(s));
    // one attn_kv_b per layer (the MTP layer's too), no attn_k_b / attn_v_b
    for (int64_t i = 0; i < l.n_layer + l.n_nextn; ++i) {
      const gguf::TensorInfo* kv = legacy->find_tensor(tensor_name(TensorKind::attn_kv_b, i));
      ASSERT_NE(kv, nullptr) << i;
      EXPECT_EQ(kv->shape, (std::vector<int64_t>{s.mla.kv_lora_rank, s.n_head * (s.mla.qk_nope + s.mla.v_head)}));
      EXPECT_EQ(legacy->find_tensor(tensor_name(TensorKind::attn_k_b, i)), nullptr);
    }
    // f32: kv_b holds exactly the split file's k_b (transposed) and v_b rows
    const int64_t H = s.n_head, R = s.mla.kv_lora_rank, NOPE = s.mla.qk_nope, VH = s.mla.v_head;
    const auto* kv = reinterpret_cast<const float*>(legacy->find_tensor(tensor_name(TensorKind::attn_kv_b, 1))->data);
    const auto* kb = reinterpret_cast<const float*>(split->find_tensor(tensor_name(TensorKind::attn_k_b, 1))->data);
    const auto* vb = reinterpret_cast<const float*>(split->find_tensor(tensor_name(TensorKind::attn_v_b, 1))->data);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t r = 0; r < R; ++r) {
        for (int64_t d = 0; d < NOPE; ++d)
          ASSERT_EQ(kv[(h * (NOPE + VH) + d) * R + r], kb[(h * R + r) * NOPE + d]) << h << " " << r << " " << d;
        for (int64_t j = 0; j < VH; ++j)
          ASSERT_EQ(kv[(h * (NOPE + VH) + NOPE + j) * R + r], vb[(h * VH + j) * R + r]) << h << " " << r << " " << j;
      }
  }
}

TEST_F(Deepseek2Legacy, SameLogitsAndCacheAsTheSplitFile) {
  // F32 and F16 files hold the same values in both layouts (k_b is derived in the file's
  // type), and both layouts run the same products: the logits must be identical, resident
  // (v_b copied contiguously) and paged (v_b a strided view of the memory map).
  for (const char* name : {"v3", "v2"})
    for (FileType ft : {FileType::f32, FileType::f16})
      for (bool paged : {false, true}) {
        const ModelOptions o{.n_threads = 2, .allow_paging = paged};
        auto s = Model::load(file(name, ft, "split"), o);
        auto l = Model::load(file(name, ft, "legacy"), o);
        EXPECT_EQ(l->kv_bytes_per_token(), s->kv_bytes_per_token());
        EXPECT_EQ(l->kv_bytes_per_token(),
                  static_cast<size_t>(s->config().n_layer * (s->config().mla.kv_lora_rank + s->config().qk_rope()) * 2));
        EXPECT_EQ(l->new_cache(64)->bytes(), s->new_cache(64)->bytes());
        EXPECT_EQ(l->weight_bytes(), s->weight_bytes()) << "k_b in the file's type, v_b the kv_b rows";
        const std::vector<float> a = logits_of(*s), b = logits_of(*l);
        ASSERT_EQ(a.size(), b.size());
        double worst = 0;
        for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
        EXPECT_LE(worst, 1e-6) << name << " " << file_type_name(ft) << (paged ? " paged" : " resident");
      }
}

TEST_F(Deepseek2Legacy, QuantizedFileRunsOnDerivedF16Keys) {
  // q8_0: the legacy kv_b is quantized along kv_lora_rank, not qk_nope, so its weights are
  // not the split file's. r1 derives k_b in F16 (the dequantized K rows, rounded once) and
  // uses kv_b's Q8_0 V rows as v_b; `gen-model --derived-split` writes exactly that as a
  // split file, which must give the legacy file's logits bit for bit (it is what
  // llama.cpp is compared with in tests/reference/deepseek2.test.mjs).
  for (const char* name : {"v3", "v2"}) {
    auto s = Model::load(file(name, FileType::q8_0, "split"), {.n_threads = 2});
    auto l = Model::load(file(name, FileType::q8_0, "legacy"), {.n_threads = 2});
    auto d = Model::load(file(name, FileType::q8_0, "derived"), {.n_threads = 2});
    EXPECT_EQ(l->kv_bytes_per_token(), s->kv_bytes_per_token());
    const ModelConfig& c = l->config();
    const size_t kb_f16 = static_cast<size_t>(c.n_layer * c.n_head * c.mla.kv_lora_rank * c.mla.qk_nope) * 2;
    size_t kb_split = 0;  // Q8_0, or F16 where qk_nope is not a multiple of 32 (v2: 48)
    for (int64_t i = 0; i < c.n_layer; ++i) kb_split += s->file()->find_tensor(tensor_name(TensorKind::attn_k_b, i))->nbytes;
    EXPECT_EQ(l->weight_bytes(), s->weight_bytes() - kb_split + kb_f16) << name;
    EXPECT_EQ(l->weight_bytes(), d->weight_bytes()) << name;
    for (int64_t i = 0; i < c.n_layer + c.n_nextn; ++i) {
      EXPECT_EQ(d->file()->find_tensor(tensor_name(TensorKind::attn_k_b, i))->type, DType::F16);
      EXPECT_EQ(d->file()->find_tensor(tensor_name(TensorKind::attn_v_b, i))->type, DType::Q8_0);
    }
    EXPECT_EQ(logits_of(*l), logits_of(*d)) << name;
  }
  EXPECT_EQ(legacy_k_b_type(DType::F32), DType::F32);
  EXPECT_EQ(legacy_k_b_type(DType::BF16), DType::BF16);
  EXPECT_EQ(legacy_k_b_type(DType::F16), DType::F16);
  EXPECT_EQ(legacy_k_b_type(DType::Q8_0), DType::F16);
  EXPECT_EQ(legacy_k_b_type(DType::Q4_K), DType::F16);
}

TEST_F(Deepseek2Legacy, InconsistentFilesNameTheTensorOrKey) {
  const std::string legacy = file("v3", FileType::f32, "legacy"), split = file("v3", FileType::f32, "split");
  const std::string a = "deepseek2.", kv0 = tensor_name(TensorKind::attn_kv_b, 0);
  auto reshape = [&](std::vector<int64_t> shape) {
    return [=](gguf::Metadata&, std::vector<Tensor>& ts) {
      for (Tensor& t : ts)
        if (t.name == kv0) {
          t.shape = shape;
          t.bytes.assign(static_cast<size_t>(shape[0] * shape[1]) * 4, 0);
        }
    };
  };
  // attn_kv_b rows not kv_lora_rank (128) long / not head_count x (nope + v) = 4 x 64 rows
  expect_load_error(variant(legacy, "ne0.gguf", reshape({64, 256})),
                    {kv0, "[64, 256]", "expected [128, 256]", "kv_lora_rank 128"});
  expect_load_error(variant(legacy, "ne1.gguf", reshape({128, 240})),
                    {kv0, "[128, 240]", "expected [128, 256]", "head_count 4 x (qk_nope 32 + v_head 32)"});
  // value_length that disagrees with the tensor (v_head 40 would need 4 x 72 rows)
  expect_load_error(variant(legacy, "vlen.gguf",
                            [&](gguf::Metadata& md, auto&) { md.set(a + "attention.value_length", Value::from_u32(40)); }),
                    {kv0, "expected [128, 288]"});
  // head_count_kv must be head_count in this layout
  expect_load_error(variant(legacy, "hkv.gguf",
                            [&](gguf::Metadata& md, auto&) { md.set(a + "attention.head_count_kv", Value::from_u32(1)); }),
                    {"head_count_kv", "legacy MLA layout"});
  // key_length / value_length are required (without them the head sizes are unknown)
  expect_load_error(variant(legacy, "nokeylen.gguf",
                            [&](gguf::Metadata& md, auto&) { md = without(md, {a + "attention.value_length"}); }),
                    {"attention.value_length", "legacy MLA layout"});
  // key_length no larger than the rope dims
  expect_load_error(variant(legacy, "short.gguf",
                            [&](gguf::Metadata& md, auto&) { md.set(a + "attention.key_length", Value::from_u32(16)); }),
                    {"attention.key_length", "rope.dimension_count"});
  // a legacy file missing one layer's attn_kv_b
  expect_load_error(variant(legacy, "nokv.gguf",
                            [&](gguf::Metadata&, std::vector<Tensor>& ts) {
                              std::erase_if(ts, [&](const Tensor& t) { return t.name == tensor_name(TensorKind::attn_kv_b, 1); });
                            }),
                    {"missing tensor", tensor_name(TensorKind::attn_kv_b, 1)});
  // legacy metadata over split tensors (the *_mla keys lost)
  expect_load_error(variant(split, "lostkeys.gguf",
                            [&](gguf::Metadata& md, auto&) {
                              md = without(md, {a + "attention.key_length_mla", a + "attention.value_length_mla"});
                              md.set(a + "attention.key_length", Value::from_u32(48));
                              md.set(a + "attention.value_length", Value::from_u32(32));
                              md.set(a + "attention.head_count_kv", Value::from_u32(4));
                            }),
                    {"legacy MLA layout", tensor_name(TensorKind::attn_k_b, 0)});
  // split metadata over legacy tensors
  expect_load_error(variant(legacy, "splitkeys.gguf",
                            [&](gguf::Metadata& md, auto&) {
                              md.set(a + "attention.key_length_mla", Value::from_u32(48));
                              md.set(a + "attention.value_length_mla", Value::from_u32(32));
                              md.set(a + "attention.key_length", Value::from_u32(144));
                              md.set(a + "attention.value_length", Value::from_u32(128));
                              md.set(a + "attention.head_count_kv", Value::from_u32(1));
                            }),
                    {"attn_kv_b", "split MLA layout"});
  // only one of the *_mla keys
  expect_load_error(variant(legacy, "onekey.gguf",
                            [&](gguf::Metadata& md, auto&) {
                              md.set(a + "attention.key_length_mla", Value::from_u32(48));
                            }),
                    {"key_length_mla", "value_length_mla"});
}

}  // namespace
}  // namespace r1
