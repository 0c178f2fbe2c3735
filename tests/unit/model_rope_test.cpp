// YaRN RoPE and the deepseek2 attention scales against hand-computed values and an
// independent double-precision implementation of the YaRN formula (as published with
// the method: interpolated / extrapolated frequencies mixed by a linear ramp between
// the correction dims, magnitude 0.1 ln(factor) + 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/blocks/rope.hpp"
#include "model/config.hpp"

namespace r1 {
namespace {

RopeParams v3_rope() {
  RopeParams p;
  p.n_dims = 64;
  p.n_ctx_orig = 4096;
  p.freq_base = 10000.0f;
  p.freq_scale = 1.0f / 40.0f;
  p.ext_factor = 1.0f;
  p.attn_factor = 1.0f;
  return p;
}

TEST(Deepseek2Yarn, CorrectionDims) {
  // 64 * ln(4096 / (32 * 2 pi)) / (2 ln 10000) = 10.472 -> floor 10
  // 64 * ln(4096 / (1 * 2 pi))  / (2 ln 10000) = 22.513 -> ceil 23
  float d[2];
  rope_corr_dims(v3_rope(), d);
  EXPECT_EQ(d[0], 10.0f);
  EXPECT_EQ(d[1], 23.0f);
  // tiny-v3: 16 dims, original context 64: -0.994 -> 0 (clamped), 2.016 -> 3
  RopeParams t = v3_rope();
  t.n_dims = 16;
  t.n_ctx_orig = 64;
  rope_corr_dims(t, d);
  EXPECT_EQ(d[0], 0.0f);
  EXPECT_EQ(d[1], 3.0f);
}

// Reference: theta_i = p * base^(-2i/d) mixed between interpolation (/factor) and
// extrapolation by mask_i = 1 - clamp((i - low) / (high - low), 0, 1); magnitude
// attn_factor * (1 + 0.1 ln factor).
void reference_table(const RopeParams& p, int64_t pos, double low, double high, std::vector<double>& cs) {
  const double factor = 1.0 / p.freq_scale;
  const double m = p.attn_factor * (1.0 + 0.1 * std::log(factor));
  cs.assign(static_cast<size_t>(p.n_dims), 0.0);
  for (int64_t i = 0; i < p.n_dims / 2; ++i) {
    const double extrap = static_cast<double>(pos) * std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_dims);
    const double interp = extrap / factor;
    const double mask = 1.0 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
    const double theta = interp * (1 - mask) + extrap * mask;
    cs[2 * i] = std::cos(theta) * m;
    cs[2 * i + 1] = std::sin(theta) * m;
  }
}

TEST(Deepseek2Yarn, TableMatchesFormula) {
  for (const RopeParams& p : {v3_rope(), [] {
                                RopeParams t = v3_rope();
                                t.n_dims = 16, t.n_ctx_orig = 64, t.freq_scale = 1.0f / 16, t.attn_factor = 0.7f;
                                return t;
                              }()}) {
    float d[2];
    rope_corr_dims(p, d);
    for (int64_t pos : {0, 1, 7, 63, 64, 300, 1000}) {
      std::vector<float> cs(static_cast<size_t>(p.n_dims));
      rope_table(p, nullptr, pos, cs.data());
      std::vector<double> ref;
      reference_table(p, pos, d[0], d[1], ref);
      for (size_t i = 0; i < cs.size(); ++i)
        ASSERT_NEAR(cs[i], ref[i], 2e-4) << "pos " << pos << " element " << i << " dims " << p.n_dims;
    }
  }
}

TEST(Deepseek2Yarn, RampEnds) {
  // Pairs below the first correction dim keep the original frequency (extrapolation),
  // pairs past the last one are interpolated by the factor.
  const RopeParams p = v3_rope();
  std::vector<float> cs(64);
  const int64_t pos = 5;
  rope_table(p, nullptr, pos, cs.data());
  const double m = 1.0 + 0.1 * std::log(40.0);
  // pair 0: theta = 5 (extrapolated)
  EXPECT_NEAR(cs[0], std::cos(5.0) * m, 1e-6);
  EXPECT_NEAR(cs[1], std::sin(5.0) * m, 1e-6);
  // pair 31: theta = 5 * 10000^(-62/64) / 40 (interpolated)
  const double th = 5.0 * std::pow(10000.0, -62.0 / 64.0) / 40.0;
  EXPECT_NEAR(cs[62], std::cos(th) * m, 1e-6);
  EXPECT_NEAR(cs[63], std::sin(th) * m, 1e-6);
}

TEST(Deepseek2Yarn, RopePairsRotates) {
  // (1, 0) rotated by 90 degrees with magnitude 2 -> (0, 2); (3, 4) by 0 -> (3, 4)
  const float cs[4] = {0.0f, 2.0f, 1.0f, 0.0f};
  float x[4] = {1.0f, 0.0f, 3.0f, 4.0f};
  rope_apply(x, cs, 4, RopeStyle::normal);
  EXPECT_FLOAT_EQ(x[0], 0.0f);
  EXPECT_FLOAT_EQ(x[1], 2.0f);
  EXPECT_FLOAT_EQ(x[2], 3.0f);
  EXPECT_FLOAT_EQ(x[3], 4.0f);
}

TEST(Deepseek2Yarn, ScalesV3) {
  // DeepSeek-V3/R1: factor 40, mscale = mscale_all_dim = 1 (GGUF yarn_log_multiplier 0.1).
  // rope attn_factor = 1 / (1 + 0.1 ln 40) = 0.7305200 (cancels ggml's rope magnitude)
  // kq_scale = (1 + 0.1 ln 40)^2 / sqrt(192) = 0.1352338
  const Deepseek2Scales s = deepseek2_scales(1.0f / 40.0f, 1.0f, 0.1f / 0.1f, 1.0f, 192);
  EXPECT_NEAR(s.rope_attn_factor, 0.7305200, 1e-6);
  EXPECT_NEAR(s.kq_scale, 0.1352338, 1e-6);
}

TEST(Deepseek2Yarn, ScalesV2Lite) {
  // DeepSeek-V2-Lite: mscale = mscale_all_dim = 0.707: rope factor as above,
  // kq_scale = (1 + 0.1 * 0.707 * ln 40)^2 / sqrt(192) = 0.1147214
  const Deepseek2Scales s = deepseek2_scales(1.0f / 40.0f, 1.0f, 0.0707f / 0.1f, 1.0f, 192);
  EXPECT_NEAR(s.rope_attn_factor, 0.7305200, 1e-6);
  EXPECT_NEAR(s.kq_scale, 0.1147214, 1e-6);
}

TEST(Deepseek2Yarn, ScalesWithoutYarn) {
  const Deepseek2Scales s = deepseek2_scales(1.0f, 0.0f, 0.0f, 1.0f, 192);
  EXPECT_FLOAT_EQ(s.rope_attn_factor, 1.0f);
  EXPECT_NEAR(s.kq_scale, 1.0 / std::sqrt(192.0), 1e-8);
}

}  // namespace
}  // namespace r1
