// i-quant model files at load: the GGUF fuzzer's i-quant seeds (tests/fuzz/gguf_fuzz_seeds.cpp,
// written here by its write_iquant_seeds()) are loaded as models. The valid one (a 1-layer
// llama whose matrices are the nine i-quant types) loads and gives finite logits, in a prefill
// (the multi-token kernels) and in one-token decode steps (vec_dot); each broken one ends in an
// r1::Error naming the file, the tensor and the problem, never a crash.
#define R1_GGUF_FUZZ_SEEDS_NO_MAIN
#include "fuzz/gguf_fuzz_seeds.cpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <set>

#include "format/gguf.hpp"
#include "model/kv_cache.hpp"
#include "model/model.hpp"

namespace r1 {
namespace {

namespace fs = std::filesystem;

class IquantLoad : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("r1-iquant-load-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    write_iquant_seeds(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string seed(const char* name) { return (dir_ / name).string(); }

  // Loading `path` must throw an r1::Error mentioning every string in `needles`.
  static void expect_load_error(const std::string& path, const std::vector<std::string>& needles) {
    try {
      Model::load(path, {.n_threads = 1});
      FAIL() << "loading " << path << " did not fail";
    } catch (const Error& e) {
      for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    }
  }

  static void expect_finite(const std::vector<float>& logits, size_t n) {
    ASSERT_EQ(logits.size(), n);
    size_t distinct_from_first = 0;
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(std::isfinite(logits[i])) << "logit " << i << " = " << logits[i];
      distinct_from_first += logits[i] != logits[0];
    }
    EXPECT_GT(distinct_from_first, 0u) << "all logits are equal";
  }

  static inline fs::path dir_;
};

TEST_F(IquantLoad, ValidSeedHoldsTheNineIquantTypes) {
  auto f = gguf::File::open(seed("iquant_llama.gguf"));
  std::set<DType> types;
  for (const auto& t : f->tensors())
    if (t.type != DType::F32) types.insert(t.type);
  const std::set<DType> want = {DType::IQ1_S,   DType::IQ1_M, DType::IQ2_XXS, DType::IQ2_XS, DType::IQ2_S,
                                DType::IQ3_XXS, DType::IQ3_S, DType::IQ4_NL,  DType::IQ4_XS};
  EXPECT_EQ(types, want);
}

TEST_F(IquantLoad, ValidSeedLoadsAndGivesFiniteLogits) {
  auto m = Model::load(seed("iquant_llama.gguf"), {.n_threads = 1});
  EXPECT_EQ(m->config().arch, Arch::llama);
  EXPECT_EQ(m->config().n_embd, 256);
  EXPECT_EQ(m->config().n_vocab, 16);
  const size_t n_vocab = 16;
  std::vector<int32_t> ids;
  for (int i = 0; i < 24; ++i) ids.push_back((i * 5 + 3) % 16);
  auto kv = m->new_cache(64);
  std::vector<float> logits;
  m->forward(ids, *kv, logits, /*all_logits=*/true);  // 24 tokens: the multi-token i-quant kernels
  expect_finite(logits, ids.size() * n_vocab);
  for (int32_t id : {7, 0, 15}) {  // one token at a time: vec_dot
    m->forward(std::span<const int32_t>(&id, 1), *kv, logits);
    expect_finite(logits, n_vocab);
  }
  EXPECT_EQ(kv->n_past(), 27);
}

TEST_F(IquantLoad, TruncatedIquantDataIsNamed) {
  expect_load_error(seed("iquant_truncated.gguf"),
                    {"iquant_truncated.gguf", "blk.0.ffn_down.weight", "extends past end of file"});
}

TEST_F(IquantLoad, RowNotAMultipleOf256IsNamed) {
  expect_load_error(seed("iquant_row_not_256.gguf"),
                    {"iquant_row_not_256.gguf", "blk.0.attn_q.weight", "row length 128", "iq2_xxs block size 256"});
}

TEST_F(IquantLoad, UnknownTypeIdNextToTheIquantsIsNamed) {
  expect_load_error(seed("iquant_unknown_type.gguf"),
                    {"iquant_unknown_type.gguf", "blk.0.ffn_up.weight", "unknown tensor type id 31"});
}

}  // namespace
}  // namespace r1
