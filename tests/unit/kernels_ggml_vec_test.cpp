// Vector forms of ggml_expf / ggml_silu (kernels/ggml_vec.hpp) against the scalar
// functions, bit for bit, for both ggml widths: arguments over the whole float range
// (including the ones whose result is subnormal, zero or infinite, which the vector code
// hands back to the scalar path), odd lengths, and in-place swiglu.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ggml_order.hpp"
#include "kernels/ggml_vec.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

std::vector<float> arguments() {
  std::vector<float> x = test::uniform(3001, 7, -100.f, 100.f);
  const auto small = test::uniform(1000, 8, -2.f, 2.f);
  x.insert(x.end(), small.begin(), small.end());
  for (float v : {0.0f, -0.0f, -87.0f, -87.5f, -88.7f, -103.9f, -104.0f, -130.0f, -150.0f, 88.0f, 88.7f, 89.0f,
                  133.0f, 200.0f, -200.0f})
    x.push_back(v);
  return x;
}

TEST(KernelsGgmlVec, ExpShiftedMatchesScalar) {
  const auto x = arguments();
  for (int lanes : {8, 16})
    for (float shift : {0.0f, 1.5f, -3.25f}) {
      std::vector<float> got = x;
      ggml_expf_shifted(got.data(), static_cast<int64_t>(got.size()), shift, lanes);
      if (isa_available(Isa::kAvx2)) {
        std::vector<float> avx = x;
        kernels::ggml_expf_shifted_avx2(avx.data(), static_cast<int64_t>(avx.size()), shift, lanes);
        got = avx;
      }
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_EQ(test::float_bits(got[i]), test::float_bits(ggml_expf(x[i] - shift, lanes)))
            << "lanes " << lanes << " x " << x[i] << " shift " << shift;
    }
}

TEST(KernelsGgmlVec, SwigluMatchesScalar) {
  const auto g = arguments();
  const auto u = test::gaussian(g.size(), 9);
  for (int lanes : {8, 16})
    for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{17}, static_cast<int64_t>(g.size())}) {
      std::vector<float> want(static_cast<size_t>(n));
      const int64_t nv = n - n % lanes;
      for (int64_t i = 0; i < n; ++i)
        want[i] = i < nv ? ggml_silu(g[i], lanes) * u[i] : g[i] / (1.0f + std::exp(-g[i])) * u[i];
      std::vector<float> got(g.begin(), g.begin() + n);  // in place: out aliases gate
      if (isa_available(Isa::kAvx2))
        kernels::ggml_swiglu_avx2(got.data(), u.data(), n, got.data(), lanes);
      else
        ggml_swiglu(got.data(), u.data(), n, got.data(), lanes);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(test::float_bits(got[i]), test::float_bits(want[i])) << "lanes " << lanes << " g " << g[i];
    }
}

}  // namespace
}  // namespace r1
