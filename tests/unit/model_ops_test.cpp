// The scalar ops of the dense forward pass against values computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/blocks/rope.hpp"
#include "model/ops.hpp"

namespace r1 {
namespace {

// One head vector rotated at `pos` (the table, then the rotation).
void rope_row(float* x, int64_t pos, int64_t n_dims, float base, float freq_scale, RopeStyle style, const float* ff) {
  RopeParams p;
  p.n_dims = n_dims, p.freq_base = base, p.freq_scale = freq_scale, p.style = style;
  float cs[16];
  rope_table(p, ff, pos, cs);
  rope_apply(x, cs, n_dims, style);
}

TEST(ModelOps, RmsNormByHand) {
  // x = (3, 4): mean square 12.5, scale 1/sqrt(12.5 + 0.5) = 1/sqrt(13)
  const float x[2] = {3, 4}, w[2] = {2, 0.5f};
  float out[2];
  ops::rms_norm(x, w, 2, 0.5f, out);
  EXPECT_NEAR(out[0], 3 * 2 / std::sqrt(13.0), 1e-6);
  EXPECT_NEAR(out[1], 4 * 0.5 / std::sqrt(13.0), 1e-6);
}

TEST(ModelOps, RopeNormalRotatesAdjacentPairs) {
  // rope_dim 4, base 100: pair 0 angle = pos, pair 1 angle = pos * 100^(-1/2) = pos / 10.
  float x[4] = {1, 0, 0, 1};
  rope_row(x, 2, 4, 100, 1, RopeStyle::normal, nullptr);
  EXPECT_NEAR(x[0], std::cos(2.0), 1e-6);
  EXPECT_NEAR(x[1], std::sin(2.0), 1e-6);
  EXPECT_NEAR(x[2], -std::sin(0.2), 1e-6);
  EXPECT_NEAR(x[3], std::cos(0.2), 1e-6);
}

TEST(ModelOps, RopeNeoxRotatesHalves) {
  // Pairs are (0, 2) with angle pos and (1, 3) with angle pos / 10.
  float x[4] = {1, 1, 0, 0};
  rope_row(x, 3, 4, 100, 1, RopeStyle::neox, nullptr);
  EXPECT_NEAR(x[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(x[2], std::sin(3.0), 1e-6);
  EXPECT_NEAR(x[1], std::cos(0.3), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.3), 1e-6);
}

TEST(ModelOps, RopeFreqFactorsAndScaleDivideTheAngle) {
  // Llama-3 factors divide the angle; linear scaling multiplies it by freq_scale.
  const float ff[2] = {4, 1};
  float x[4] = {1, 0, 1, 0};
  rope_row(x, 8, 4, 100, 0.5f, RopeStyle::normal, ff);
  EXPECT_NEAR(x[0], std::cos(8.0 / 4 * 0.5), 1e-6);
  EXPECT_NEAR(x[1], std::sin(8.0 / 4 * 0.5), 1e-6);
  EXPECT_NEAR(x[2], std::cos(0.8 * 0.5), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.8 * 0.5), 1e-6);
}

TEST(ModelOps, RopeAtPositionZeroIsIdentity) {
  float x[6] = {0.5f, -1, 2, 3, -4, 5};
  const float before[6] = {0.5f, -1, 2, 3, -4, 5};
  rope_row(x, 0, 6, 10000, 1, RopeStyle::neox, nullptr);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(x[i], before[i]);
}

TEST(ModelOps, SwigluByHand) {
  const float g[3] = {0, 1, -2}, u[3] = {5, 2, 3};
  float out[3];
  ops::swiglu(g, u, 3, out);
  EXPECT_NEAR(out[0], 0.0, 1e-7);
  EXPECT_NEAR(out[1], 2.0 / (1 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(out[2], 3.0 * -2.0 / (1 + std::exp(2.0)), 1e-6);
}

}  // namespace
}  // namespace r1
