// Model loading and forward-pass contracts on broken files: every problem gives an
// r1::Error whose message names it, never a crash. Broken variants are derived from
// a valid tiny model by copying it through the GGUF writer with one change.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"
#include "model/generator.hpp"
#include "model/model.hpp"

namespace r1 {
namespace {

namespace fs = std::filesystem;

class ModelLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("r1-model-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    good_ = (dir_ / "good.gguf").string();
    GenModelSpec spec = gen_model_preset("tiny", Arch::qwen2);
    spec.n_layer = 1;
    write_random_model(spec, good_, 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Copies the good file with `edit` applied to its metadata and tensor list.
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::string variant(const std::string& name,
                      const std::function<void(gguf::Metadata&, std::vector<Tensor>&)>& edit) {
    auto f = gguf::File::open(good_);
    gguf::Metadata md = f->metadata();
    std::vector<Tensor> ts;
    for (const auto& t : f->tensors()) ts.push_back({t.name, t.type, t.shape, {t.data, t.data + t.nbytes}});
    edit(md, ts);
    gguf::Writer w;
    for (const auto& [k, v] : md.entries()) w.set(k, v);
    for (const auto& t : ts) w.add_tensor(t.name, t.type, t.shape, t.bytes.data(), t.bytes.size());
    std::string path = (dir_ / name).string();
    w.write(path);
    return path;
  }

  // Loading `path` must throw an r1::Error mentioning every string in `needles`.
  void expect_load_error(const std::string& path, std::vector<std::string> needles) {
    try {
      Model::load(path, {.n_threads = 1});
      FAIL() << "loading " << path << " did not fail";
    } catch (const Error& e) {
      for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    }
  }

  static void erase_tensor(std::vector<Tensor>& ts, const std::string& name) {
    std::erase_if(ts, [&](const Tensor& t) { return t.name == name; });
  }

  fs::path dir_;
  std::string good_;
};

TEST_F(ModelLoadTest, GoodModelLoadsAndReportsItsShape) {
  auto m = Model::load(good_, {.n_threads = 1});
  EXPECT_EQ(m->config().arch, Arch::qwen2);
  EXPECT_EQ(m->config().n_layer, 1);
  EXPECT_EQ(m->config().n_embd, 256);
  EXPECT_FALSE(m->config().tied_output);
  // K and V at F16: 1 layer * 2 kv heads * 64 dims * 2 (K, V) * 2 bytes.
  EXPECT_EQ(m->kv_bytes_per_token(), 1u * 2 * 64 * 2 * 2);
}

TEST_F(ModelLoadTest, MissingTensorIsNamed) {
  auto p = variant("missing.gguf", [](auto&, auto& ts) { erase_tensor(ts, "blk.0.ffn_up.weight"); });
  expect_load_error(p, {"missing tensor", "blk.0.ffn_up.weight", "missing.gguf"});
}

TEST_F(ModelLoadTest, MissingQwen2BiasIsNamed) {
  auto p = variant("nobias.gguf", [](auto&, auto& ts) { erase_tensor(ts, "blk.0.attn_k.bias"); });
  expect_load_error(p, {"blk.0.attn_k.bias"});
}

TEST_F(ModelLoadTest, ShapeMismatchNamesTensorAndBothShapes) {
  auto p = variant("shape.gguf", [](auto&, auto& ts) {
    for (auto& t : ts)
      if (t.name == "blk.0.attn_q.weight") t.shape = {128, 512};  // same bytes, other shape
  });
  expect_load_error(p, {"blk.0.attn_q.weight", "[128, 512]", "[256, 256]"});
}

TEST_F(ModelLoadTest, UnknownArchitectureIsNamed) {
  auto p = variant("arch.gguf", [](auto& md, auto&) { md.set("general.architecture", gguf::Value::from_string("mamba9")); });
  expect_load_error(p, {"unsupported architecture", "mamba9"});
}

TEST_F(ModelLoadTest, MissingHyperParameterIsNamed) {
  auto p = variant("nokey.gguf", [](auto& md, auto&) {
    gguf::Metadata out;
    for (const auto& [k, v] : md.entries())
      if (k != "qwen2.embedding_length") out.set(k, v);
    md = out;
  });
  expect_load_error(p, {"qwen2.embedding_length"});
}

TEST_F(ModelLoadTest, AbsurdDimensionsAreRejected) {
  auto p = variant("absurd.gguf", [](auto& md, auto&) {
    md.set("qwen2.embedding_length", gguf::Value::from_u64(uint64_t{1} << 40));
  });
  expect_load_error(p, {"qwen2.embedding_length", "out of range"});
}

TEST_F(ModelLoadTest, HeadsNotMultipleOfKvHeads) {
  auto p = variant("gqa.gguf", [](auto& md, auto&) { md.set("qwen2.attention.head_count_kv", gguf::Value::from_u32(3)); });
  expect_load_error(p, {"head_count_kv"});
}

TEST_F(ModelLoadTest, IntegerTensorTypeCannotBeAWeight) {
  auto p = variant("i32.gguf", [](auto&, auto& ts) {
    for (auto& t : ts)
      if (t.name == "blk.0.ffn_down.weight") t.type = DType::I32;  // f32 and i32 have the same size
  });
  expect_load_error(p, {"blk.0.ffn_down.weight", "i32"});
}

TEST_F(ModelLoadTest, QuantizedNormWeightIsRejected) {
  auto p = variant("qnorm.gguf", [](auto&, auto& ts) {
    for (auto& t : ts)
      if (t.name == "output_norm.weight") {
        t.type = DType::Q8_0;  // 256 values: 8 blocks of 34 bytes
        t.bytes.assign(8 * 34, 0);
      }
  });
  expect_load_error(p, {"output_norm.weight", "q8_0"});
}

TEST_F(ModelLoadTest, TokenizerLargerThanEmbeddingIsRejected) {
  auto p = variant("vocab.gguf", [](auto& md, auto&) {
    auto tokens = md.get_strings("tokenizer.ggml.tokens");
    auto types = md.get_ints("tokenizer.ggml.token_type");
    for (int i = 0; i < 5; ++i) {
      tokens.push_back("[EXTRA" + std::to_string(i) + "]");
      types.push_back(5);
    }
    std::vector<int32_t> t32(types.begin(), types.end());
    md.set("tokenizer.ggml.tokens", gguf::Value::from_strings(tokens));
    md.set("tokenizer.ggml.token_type", gguf::Value::from_i32s(t32));
  });
  expect_load_error(p, {"token_embd.weight"});
}

TEST_F(ModelLoadTest, ForwardRejectsOverflowAndBadIdsWithoutChangingTheCache) {
  auto m = Model::load(good_, {.n_threads = 1});
  auto kv = m->new_cache(8);
  std::vector<float> logits;
  std::vector<int32_t> five = {1, 2, 3, 4, 5};
  m->forward(five, *kv, logits);
  EXPECT_EQ(kv->n_past(), 5);
  EXPECT_EQ(logits.size(), static_cast<size_t>(m->config().n_vocab));
  try {
    m->forward(five, *kv, logits);  // 5 + 5 > 8
    FAIL() << "overflowing the context did not fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos) << e.what();
  }
  EXPECT_EQ(kv->n_past(), 5);
  std::vector<int32_t> bad = {static_cast<int32_t>(m->config().n_vocab)};
  EXPECT_THROW(m->forward(bad, *kv, logits), Error);
  std::vector<int32_t> negative = {-1};
  EXPECT_THROW(m->forward(negative, *kv, logits), Error);
  EXPECT_EQ(kv->n_past(), 5);
}

TEST_F(ModelLoadTest, HugeContextIsAnErrorNotACrash) {
  auto m = Model::load(good_, {.n_threads = 1});
  EXPECT_THROW(m->new_cache(int64_t{1} << 40), Error);
}

// Batched prefill and token-by-token decoding compute the same function: the logits
// after the last token agree (up to float summation order).
TEST_F(ModelLoadTest, BatchedPrefillEqualsSequentialDecode) {
  auto m = Model::load(good_, {.n_threads = 1});
  std::vector<int32_t> ids = {5, 77, 300, 12, 9, 640, 3, 3, 200};
  auto kv1 = m->new_cache(64), kv2 = m->new_cache(64);
  std::vector<float> batched, step;
  m->forward(ids, *kv1, batched);
  for (int32_t id : ids) m->forward(std::span<const int32_t>(&id, 1), *kv2, step);
  ASSERT_EQ(batched.size(), step.size());
  for (size_t i = 0; i < batched.size(); ++i) EXPECT_NEAR(batched[i], step[i], 1e-3f) << i;
}

// Rewinding the cache and recomputing gives the same logits as the first time.
TEST_F(ModelLoadTest, TruncateThenRecomputeIsDeterministic) {
  auto m = Model::load(good_, {.n_threads = 1});
  std::vector<int32_t> ids = {5, 77, 300, 12};
  auto kv = m->new_cache(64);
  std::vector<float> a, b;
  m->forward(ids, *kv, a);
  kv->truncate(2);
  m->forward(std::span<const int32_t>(ids).subspan(2), *kv, b);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4f) << i;
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// Continuous batching: several sequences in one forward_batch give the same logits
// as running each alone (the matmuls see all rows together; attention stays per
// sequence), and each cache advances by its own tokens only.
TEST_F(ModelLoadTest, BatchOfSequencesEqualsSeparateRuns) {
  auto m = Model::load(good_, {.n_threads = 1});
  const std::vector<int32_t> a = {5, 77, 300}, b = {12, 9}, c = {640, 3, 3, 200};
  auto ka = m->new_cache(32), kb = m->new_cache(32), kc = m->new_cache(32);
  std::vector<float> pre;
  m->forward(std::vector<int32_t>{1, 2}, *kb, pre);  // b starts deeper than the others
  const SeqBatch batch[3] = {{a, ka.get(), false}, {b, kb.get(), true}, {c, kc.get(), false}};
  std::vector<float> got;
  m->forward_batch(batch, got);
  EXPECT_EQ(ka->n_past(), 3);
  EXPECT_EQ(kb->n_past(), 4);
  EXPECT_EQ(kc->n_past(), 4);

  auto ra = m->new_cache(32), rb = m->new_cache(32), rc = m->new_cache(32);
  std::vector<float> la, lb, lc;
  m->forward(a, *ra, la);
  m->forward(std::vector<int32_t>{1, 2}, *rb, pre);
  m->forward(b, *rb, lb, /*all_logits=*/true);
  m->forward(c, *rc, lc);
  std::vector<float> want;
  for (auto* v : {&la, &lb, &lc}) want.insert(want.end(), v->begin(), v->end());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-3f) << i;
}

TEST_F(ModelLoadTest, BatchRejectsTheSameCacheTwice) {
  auto m = Model::load(good_, {.n_threads = 1});
  auto kv = m->new_cache(32);
  const std::vector<int32_t> a = {5, 77};
  const SeqBatch batch[2] = {{a, kv.get(), false}, {a, kv.get(), false}};
  std::vector<float> got;
  EXPECT_THROW(m->forward_batch(batch, got), Error);
  EXPECT_EQ(kv->n_past(), 0);
}

}  // namespace
}  // namespace r1
