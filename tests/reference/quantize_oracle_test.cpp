// r1's weight quantizers (kernels/quantize_rows.hpp) against llama.cpp's own: the
// libggml-base.so that node-llama-cpp 3.21.1 ships (llama.cpp release v0.4.0) is loaded
// with dlopen and ggml_quantize_chunk is run on the same rows, with and without an
// importance matrix. Expectation: identical bytes, for every type r1 quantize writes, on
// random rows of several distributions and on rows with the R1-Distill-Qwen-1.5B lengths.
// Skipped (with the reason) when the npm packages are not installed.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/quantize_rows.hpp"
#include "kernels/types.hpp"

namespace r1 {
namespace {

// The few ggml entry points used, declared here (ggml.h of that release).
using QuantizeChunkFn = size_t (*)(int type, const float* src, void* dst, int64_t start, int64_t nrows,
                                   int64_t n_per_row, const float* imatrix);
using QuantizeInitFn = void (*)(int type);
using RequiresImatrixFn = bool (*)(int type);
using RowSizeFn = size_t (*)(int type, int64_t ne);

struct Ggml {
  void* lib = nullptr;
  QuantizeChunkFn quantize_chunk = nullptr;
  QuantizeInitFn quantize_init = nullptr;
  RequiresImatrixFn requires_imatrix = nullptr;
  RowSizeFn row_size = nullptr;
  std::string why_not;
};

const Ggml& ggml() {
  static const Ggml g = [] {
    Ggml g;
    const std::string path = std::string(R1_SOURCE_DIR) +
                             "/tests/reference/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";
    if (!std::filesystem::exists(path)) {
      g.why_not = "llama.cpp's libggml-base.so is not installed (" + path + "; scripts/setup.sh installs it)";
      return g;
    }
    g.lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!g.lib) {
      g.why_not = std::string("dlopen failed: ") + dlerror();
      return g;
    }
    g.quantize_chunk = reinterpret_cast<QuantizeChunkFn>(dlsym(g.lib, "ggml_quantize_chunk"));
    g.quantize_init = reinterpret_cast<QuantizeInitFn>(dlsym(g.lib, "ggml_quantize_init"));
    g.requires_imatrix = reinterpret_cast<RequiresImatrixFn>(dlsym(g.lib, "ggml_quantize_requires_imatrix"));
    g.row_size = reinterpret_cast<RowSizeFn>(dlsym(g.lib, "ggml_row_size"));
    if (!g.quantize_chunk || !g.quantize_init || !g.requires_imatrix || !g.row_size)
      g.why_not = "libggml-base.so lacks one of ggml_quantize_chunk / ggml_quantize_init / "
                  "ggml_quantize_requires_imatrix / ggml_row_size";
    return g;
  }();
  return g;
}

#define REQUIRE_GGML() \
  if (!ggml().why_not.empty()) GTEST_SKIP() << ggml().why_not

// Row distributions: each fills n values from a seeded generator.
struct Distribution {
  const char* name;
  std::function<void(std::mt19937&, float*, int64_t)> fill;
};

const std::vector<Distribution>& distributions() {
  static const std::vector<Distribution> d = {
      {"gaussian", [](std::mt19937& g, float* x, int64_t n) {
         std::normal_distribution<float> nd(0.f, 0.02f);
         for (int64_t i = 0; i < n; ++i) x[i] = nd(g);
       }},
      {"uniform_positive", [](std::mt19937& g, float* x, int64_t n) {
         std::uniform_real_distribution<float> u(0.f, 3.f);
         for (int64_t i = 0; i < n; ++i) x[i] = u(g);
       }},
      {"sparse_zeros", [](std::mt19937& g, float* x, int64_t n) {
         std::normal_distribution<float> nd(0.f, 1.f);
         std::uniform_int_distribution<int> c(0, 3);
         for (int64_t i = 0; i < n; ++i) x[i] = c(g) == 0 ? nd(g) : 0.f;
         // some all-zero blocks and super-blocks
         for (int64_t i = 0; i < std::min<int64_t>(n, 288); ++i) x[i] = 0.f;
       }},
      {"outliers", [](std::mt19937& g, float* x, int64_t n) {
         std::normal_distribution<float> nd(0.f, 1.f);
         std::uniform_int_distribution<int> c(0, 97);
         for (int64_t i = 0; i < n; ++i) x[i] = nd(g) * (c(g) == 0 ? 300.f : 1.f);
       }},
      {"all_equal", [](std::mt19937& g, float* x, int64_t n) {
         const float v = std::uniform_real_distribution<float>(-2.f, 2.f)(g);
         for (int64_t i = 0; i < n; ++i) x[i] = (i / 512) % 2 ? -v : v;
       }},
      {"tiny", [](std::mt19937& g, float* x, int64_t n) {
         std::normal_distribution<float> nd(0.f, 1.f);
         for (int64_t i = 0; i < n; ++i) x[i] = nd(g) * std::pow(10.f, -8.f - static_cast<float>((i / 256) % 30));
       }},
      {"ties", [](std::mt19937& g, float* x, int64_t n) {
         std::uniform_int_distribution<int> c(-8, 8);
         for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(c(g)) * 0.25f;
       }},
      {"heavy_tail", [](std::mt19937& g, float* x, int64_t n) {
         std::cauchy_distribution<float> cd(0.f, 0.05f);
         for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(cd(g), -1e4f, 1e4f);
       }},
  };
  return d;
}

// An importance matrix as llama-quantize passes it: in_sum2 / counts, non-negative,
// widely spread, with some zero columns.
std::vector<float> random_imatrix(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::lognormal_distribution<float> ln(0.f, 1.5f);
  std::uniform_int_distribution<int> c(0, 49);
  std::vector<float> w(static_cast<size_t>(n));
  for (auto& v : w) v = c(g) == 0 ? 0.f : ln(g) * 1e-3f;
  return w;
}

struct Case {
  DType type;
  bool needs_imatrix_in_ggml;
};

const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0,   DType::Q4_1,
                        DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K,   DType::Q5_K,
                        DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS, DType::IQ2_XXS, DType::IQ2_XS,
                        DType::IQ2_S, DType::IQ3_XXS, DType::IQ3_S, DType::IQ1_S,
                        DType::IQ1_M};
// ggml asserts an importance matrix for these (quantize_requires_imatrix): imatrix runs only.
bool imatrix_only(DType t) { return quantize_requires_imatrix(t); }

// Compares r1 and ggml on `nrows` rows of `n_per_row` values; returns the differing rows.
int differing_rows(DType t, const std::vector<float>& x, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  const int type = static_cast<int>(t);
  const size_t row = ggml().row_size(type, n_per_row);
  EXPECT_EQ(row, row_bytes(t, n_per_row)) << dtype_name(t);
  std::vector<uint8_t> want(row * nrows), got(row * nrows, 0xA5);
  ggml().quantize_init(type);
  EXPECT_EQ(ggml().quantize_chunk(type, x.data(), want.data(), 0, nrows, n_per_row, imatrix), want.size());
  EXPECT_EQ(quantize_rows(t, x.data(), got.data(), nrows, n_per_row, imatrix), got.size());
  int bad = 0;
  for (int64_t r = 0; r < nrows; ++r)
    if (std::memcmp(want.data() + r * row, got.data() + r * row, row) != 0) ++bad;
  return bad;
}

TEST(QuantizeOracle, RequiresImatrixListMatchesGgml) {
  REQUIRE_GGML();
  for (uint32_t t = 0; t <= 30; ++t) {
    if (!is_known_dtype(t)) continue;
    EXPECT_EQ(quantize_requires_imatrix(static_cast<DType>(t)), ggml().requires_imatrix(static_cast<int>(t)))
        << dtype_name(static_cast<DType>(t));
  }
}

TEST(QuantizeOracle, RandomRowsMatchGgmlBitForBit) {
  REQUIRE_GGML();
  int cases = 0;
  for (DType t : kTypes) {
    ASSERT_TRUE(quantize_supported(t)) << dtype_name(t);
    const int64_t n_per_row = dtype_block_size(t) == 256 ? 512 : 96;
    const int64_t nrows = 24;
    uint32_t seed = 1000 * static_cast<uint32_t>(t);
    for (const auto& dist : distributions()) {
      std::mt19937 g(++seed);
      std::vector<float> x(static_cast<size_t>(nrows * n_per_row));
      dist.fill(g, x.data(), static_cast<int64_t>(x.size()));
      const auto imatrix = random_imatrix(n_per_row, seed);
      for (const float* im : {static_cast<const float*>(nullptr), imatrix.data()}) {
        if (!im && imatrix_only(t)) continue;
        EXPECT_EQ(differing_rows(t, x, nrows, n_per_row, im), 0)
            << dtype_name(t) << " " << dist.name << (im ? " with imatrix" : " without imatrix");
        ++cases;
      }
    }
  }
  std::printf("[ stats    ] %d cases (%zu types x %zu distributions x with/without imatrix)\n", cases,
              std::size(kTypes), distributions().size());
}

// Row lengths of R1-Distill-Qwen-1.5B (hidden 1536, FFN 8960): the rows of attn_q /
// ffn_up (1536 long) and of ffn_down (8960 long).
// The test above would pass vacuously if ggml ignored the importance matrix: check that
// it changes ggml's output for every type whose quantizer uses it.
TEST(QuantizeOracle, ImatrixChangesTheResultOfTheWeightedTypes) {
  REQUIRE_GGML();
  for (DType t : kTypes) {
    if (t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0 || imatrix_only(t)) continue;
    const int64_t n_per_row = 512, nrows = 8;
    std::mt19937 g(5);
    std::vector<float> x(static_cast<size_t>(nrows * n_per_row));
    distributions()[0].fill(g, x.data(), static_cast<int64_t>(x.size()));
    const auto imatrix = random_imatrix(n_per_row, 6);
    const int type = static_cast<int>(t);
    const size_t bytes = ggml().row_size(type, n_per_row) * nrows;
    std::vector<uint8_t> plain(bytes), weighted(bytes);
    ggml().quantize_chunk(type, x.data(), plain.data(), 0, nrows, n_per_row, nullptr);
    ggml().quantize_chunk(type, x.data(), weighted.data(), 0, nrows, n_per_row, imatrix.data());
    EXPECT_NE(plain, weighted) << dtype_name(t);
  }
}

TEST(QuantizeOracle, ModelShapedRowsMatchGgmlBitForBit) {
  REQUIRE_GGML();
  for (DType t : kTypes) {
    for (int64_t n_per_row : {int64_t{1536}, int64_t{8960}}) {
      const int64_t nrows = 6;
      std::mt19937 g(static_cast<uint32_t>(n_per_row) + static_cast<uint32_t>(t));
      std::vector<float> x(static_cast<size_t>(nrows * n_per_row));
      distributions()[0].fill(g, x.data(), static_cast<int64_t>(x.size()));
      const auto imatrix = random_imatrix(n_per_row, static_cast<uint32_t>(n_per_row));
      if (!imatrix_only(t)) {
        EXPECT_EQ(differing_rows(t, x, nrows, n_per_row, nullptr), 0) << dtype_name(t) << " rows of " << n_per_row;
      }
      EXPECT_EQ(differing_rows(t, x, nrows, n_per_row, imatrix.data()), 0)
          << dtype_name(t) << " rows of " << n_per_row << " with imatrix";
    }
  }
}

// Many small rows of one block: every block-level code path (ties, zero blocks) gets
// exercised thousands of times.
TEST(QuantizeOracle, ManySingleBlockRowsMatchGgml) {
  REQUIRE_GGML();
  for (DType t : kTypes) {
    const int64_t n_per_row = dtype_block_size(t) == 256 ? 256 : 32;
    const int64_t nrows = dtype_block_size(t) == 256 ? 1500 : 8000;
    std::mt19937 g(77 + static_cast<uint32_t>(t));
    std::vector<float> x(static_cast<size_t>(nrows * n_per_row));
    for (int64_t r = 0; r < nrows; ++r) {
      const auto& dist = distributions()[static_cast<size_t>(r) % distributions().size()];
      dist.fill(g, x.data() + r * n_per_row, n_per_row);
    }
    const auto imatrix = random_imatrix(n_per_row, 99);
    if (!imatrix_only(t)) {
      EXPECT_EQ(differing_rows(t, x, nrows, n_per_row, nullptr), 0) << dtype_name(t);
    }
    EXPECT_EQ(differing_rows(t, x, nrows, n_per_row, imatrix.data()), 0) << dtype_name(t) << " with imatrix";
  }
}

}  // namespace
}  // namespace r1
