// The kernels against llama.cpp itself: the ggml libraries that node-llama-cpp ships
// (tests/reference/node_modules, the oracle's exact build) are loaded with dlopen and
// their dequantizers, quantizers, activation quantizers and dot products are run on
// the same inputs as ours. Skipped when the npm packages are not installed or the CPU
// lacks AVX2 (the "haswell" build is the one compared against).
//
// Expectations: dequantization and all quantizers bit-identical; dot products within
// 2e-5 * sum|w_i x_i| (float summation order differs).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "kernels/random_blocks.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

using RowFn = void (*)(const void* x, void* y, int64_t k);  // quantize_row_* / dequantize_row_*
using DotFn = void (*)(int n, float* s, size_t bs, const void* x, size_t bx, const void* y, size_t by, int nrc);

struct Ggml {
  void* base = nullptr;
  void* cpu = nullptr;
  std::string why_not;

  void* sym(void* lib, const std::string& name) const {
    void* p = dlsym(lib, name.c_str());
    if (!p) ADD_FAILURE() << "symbol not found: " << name;
    return p;
  }
  RowFn base_fn(const std::string& n) const { return reinterpret_cast<RowFn>(sym(base, n)); }
  RowFn cpu_fn(const std::string& n) const { return reinterpret_cast<RowFn>(sym(cpu, n)); }
  DotFn dot_fn(const std::string& n) const { return reinterpret_cast<DotFn>(sym(cpu, n)); }
};

const Ggml& ggml() {
  static const Ggml g = [] {
    Ggml g;
    const std::string dir =
        std::string(R1_SOURCE_DIR) + "/tests/reference/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/";
    if (!std::filesystem::exists(dir + "libggml-cpu-haswell.so")) {
      g.why_not = "node-llama-cpp binaries not installed (" + dir + ")";
      return g;
    }
#if defined(__x86_64__)
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))) {
      g.why_not = "CPU lacks AVX2/FMA/F16C";
      return g;
    }
#else
    g.why_not = "not x86-64";
    return g;
#endif
    g.base = dlopen((dir + "libggml-base.so").c_str(), RTLD_NOW | RTLD_LOCAL);
    g.cpu = g.base ? dlopen((dir + "libggml-cpu-haswell.so").c_str(), RTLD_NOW | RTLD_LOCAL) : nullptr;
    if (!g.base || !g.cpu) {
      g.why_not = std::string("dlopen failed: ") + dlerror();
      return g;
    }
    reinterpret_cast<void (*)()>(dlsym(g.cpu, "ggml_cpu_init"))();
    return g;
  }();
  return g;
}

#define REQUIRE_GGML()                                 \
  if (!ggml().why_not.empty()) GTEST_SKIP() << ggml().why_not

// ggml's spelling of a type name in its function names.
std::string gname(DType t) {
  std::string s(dtype_name(t));
  if (s.size() == 4 && s[3] == 'k') s[3] = 'K';
  return s;
}

std::vector<uint8_t> random_blocks(DType type, int64_t n, uint32_t seed) {
  // Random bytes with finite fp16 scale fields (positions as in kernels_vec_dot_test).
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(row_bytes(type, n));
  if (kernels::has_random_blocks(type)) {
    kernels::fill_random_blocks(type, b.data(), n, seed, 0.05f);
    return b;
  }
  for (auto& v : b) v = static_cast<uint8_t>(rng());
  std::vector<size_t> fields;
  switch (type) {
    case DType::Q4_0: case DType::Q5_0: case DType::Q8_0: fields = {0}; break;
    case DType::Q4_1: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K: fields = {0, 2}; break;
    case DType::Q2_K: fields = {80, 82}; break;
    case DType::Q3_K: fields = {108}; break;
    case DType::Q6_K: fields = {208}; break;
    default: break;
  }
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  const size_t bb = dtype_block_bytes(type);
  for (size_t off = 0; off < b.size(); off += bb)
    for (size_t f : fields) {
      const uint16_t h = fp32_to_fp16(u(rng));
      std::memcpy(&b[off + f], &h, 2);
    }
  return b;
}

std::vector<float> test_data(int64_t n, uint32_t seed) {
  auto x = test::gaussian(n, seed);
  for (int64_t i = 0; i < n; ++i) x[i] *= std::pow(10.0f, static_cast<float>((i / 256) % 5) - 2);
  if (n >= 512) {
    std::fill(x.begin(), x.begin() + 256, 0.0f);                                  // a zero block
    for (int64_t i = 256; i < 512; ++i) x[i] = static_cast<float>(i % 17 - 8) * 0.25f;  // ties
  }
  return x;
}

TEST(KernelsOracle, DequantizeMatchesGgmlBitForBit) {
  REQUIRE_GGML();
  std::vector<DType> types = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                              DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  types.insert(types.end(), test::iquant_types().begin(), test::iquant_types().end());
  uint32_t seed = 1;
  for (DType t : types) {
    const int64_t n = 256 * 8;
    const auto raw = random_blocks(t, n, ++seed);
    std::vector<float> want(n), got(n);
    ggml().base_fn("dequantize_row_" + gname(t))(raw.data(), want.data(), n);
    for (Isa isa : test::available_isas()) {
      find_traits_for(isa, t)->to_float(raw.data(), got.data(), n);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), n * 4)) << gname(t) << " " << isa_name(isa);
    }
  }
}

TEST(KernelsOracle, WeightQuantizersMatchGgmlReference) {
  REQUIRE_GGML();
  const DType types[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K,
                         DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  uint32_t seed = 100;
  for (DType t : types) {
    const int64_t n = 256 * 40;
    const auto x = test_data(n, ++seed);
    std::vector<uint8_t> want(row_bytes(t, n));
    ggml().base_fn("quantize_row_" + gname(t) + "_ref")(x.data(), want.data(), n);
    const auto got = test::quantize(*find_reference_traits(t), x.data(), n);
    const size_t bb = dtype_block_bytes(t);
    int differing = 0;
    for (size_t off = 0; off < want.size(); off += bb)
      differing += std::memcmp(want.data() + off, got.data() + off, bb) != 0;
    EXPECT_EQ(differing, 0) << gname(t) << ": blocks differing from quantize_row_" << gname(t) << "_ref";
  }
}

// Our Q8_0 / Q8_1 quantizers follow llama.cpp's x86 run-time activation quantizer (see
// kernels_ref.hpp), which differs from quantize_row_q8_0_ref (llama-quantize) in the
// multiplier (127/amax vs 1/d) and tie rounding (even vs away from zero). Documented
// here: same scales, and levels never more than one apart.
TEST(KernelsOracle, Q8_0WeightsAreWithinOneLevelOfGgmlReference) {
  REQUIRE_GGML();
  const int64_t n = 256 * 64;
  const auto x = test_data(n, 150);
  std::vector<uint8_t> want(row_bytes(DType::Q8_0, n));
  ggml().base_fn("quantize_row_q8_0_ref")(x.data(), want.data(), n);
  const auto got = test::quantize(*find_reference_traits(DType::Q8_0), x.data(), n);
  int differing = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* w = want.data() + b * 34;
    const uint8_t* g = got.data() + b * 34;
    ASSERT_EQ(0, std::memcmp(w, g, 2)) << "scale of block " << b;
    for (int j = 0; j < 32; ++j) {
      const int d = static_cast<int8_t>(w[2 + j]) - static_cast<int8_t>(g[2 + j]);
      ASSERT_LE(std::abs(d), 1) << "block " << b;
      differing += d != 0;
    }
  }
  std::printf("[ stats    ] q8_0: %d of %lld levels differ from quantize_row_q8_0_ref\n", differing,
              static_cast<long long>(n));
}

TEST(KernelsOracle, ActivationQuantizersMatchGgmlCpuBackend) {
  REQUIRE_GGML();
  uint32_t seed = 200;
  for (DType t : {DType::Q8_0, DType::Q8_1, DType::Q8_K}) {
    for (int64_t n : {256, 512, 4096}) {
      const auto x = test_data(n, ++seed);
      std::vector<uint8_t> want(row_bytes(t, n));
      ggml().cpu_fn("quantize_row_" + gname(t))(x.data(), want.data(), n);
      for (Isa isa : test::available_isas()) {
        const auto got = test::quantize(*find_traits_for(isa, t), x.data(), n);
        if (t == DType::Q8_K) {
          // ggml leaves bsums of an all-zero block unwritten; compare d and qs there.
          for (int64_t b = 0; b < n / 256; ++b) {
            const size_t off = b * 292;
            ASSERT_EQ(0, std::memcmp(want.data() + off, got.data() + off, 260)) << "block " << b;
            float d;
            std::memcpy(&d, got.data() + off, 4);
            if (d != 0) {
              ASSERT_EQ(0, std::memcmp(want.data() + off, got.data() + off, 292)) << "block " << b;
            }
          }
        } else {
          ASSERT_EQ(want, got) << gname(t) << " " << isa_name(isa) << " n=" << n;
        }
      }
    }
  }
}

TEST(KernelsOracle, HalfConversionsMatchGgml) {
  REQUIRE_GGML();
  using ToHalf = uint16_t (*)(float);
  using FromHalf = float (*)(uint16_t);
  const auto to16 = reinterpret_cast<ToHalf>(ggml().sym(ggml().base, "ggml_fp32_to_fp16"));
  const auto from16 = reinterpret_cast<FromHalf>(ggml().sym(ggml().base, "ggml_fp16_to_fp32"));
  const auto tobf = reinterpret_cast<ToHalf>(ggml().sym(ggml().base, "ggml_fp32_to_bf16"));
  for (uint32_t h = 0; h < 65536; ++h) {
    const float a = from16(static_cast<uint16_t>(h)), b = fp16_to_fp32(static_cast<uint16_t>(h));
    if (!std::isnan(a)) {
      ASSERT_EQ(test::float_bits(a), test::float_bits(b)) << h;
    }
  }
  // Every 2^12-th float bit pattern plus neighbours of the interesting boundaries.
  for (uint64_t u = 0; u < (1ull << 32); u += 4093) {
    const float f = test::bits_float(static_cast<uint32_t>(u));
    if (std::isnan(f)) continue;
    ASSERT_EQ(to16(f), fp32_to_fp16(f)) << std::hex << u;
    ASSERT_EQ(tobf(f), fp32_to_bf16(f)) << std::hex << u;
  }
}

TEST(KernelsOracle, DotProductsMatchGgml) {
  REQUIRE_GGML();
  uint32_t seed = 300;
  std::vector<DType> types = test::weight_types();
  types.insert(types.end(), test::iquant_types().begin(), test::iquant_types().end());
  for (DType wt : types) {
    const TypeTraits* ref = find_reference_traits(wt);
    const DType at = ref->vec_dot_type;
    std::string name = "ggml_vec_dot_" + gname(wt);
    if (ref->block_size > 1) {
      name += '_';
      name += gname(at);
    }
    const DotFn gdot = ggml().dot_fn(name);
    ASSERT_NE(gdot, nullptr);
    for (int64_t n : {256, 512, 4096}) {
      const auto w = wt == DType::F32 || wt == DType::F16 || wt == DType::BF16
                         ? test::quantize(*ref, test::gaussian(n, ++seed).data(), n)
                         : random_blocks(wt, n, ++seed);
      const auto x = test::gaussian(n, ++seed);
      const auto a = test::quantize(*find_reference_traits(at), x.data(), n);
      const auto wd = test::dequantize(*ref, w.data(), n);
      const auto ad = test::dequantize(*find_reference_traits(at), a.data(), n);
      float want = 0;
      gdot(static_cast<int>(n), &want, 0, w.data(), 0, a.data(), 0, 1);
      const double tol = 2e-5 * test::abs_dot_double(wd.data(), ad.data(), n) + 1e-30;
      for (Isa isa : test::available_isas()) {
        const float got = find_traits_for(isa, wt)->vec_dot(n, w.data(), a.data());
        ASSERT_NEAR(got, want, tol) << name << " " << isa_name(isa) << " n=" << n;
      }
    }
  }
}

}  // namespace
}  // namespace r1
