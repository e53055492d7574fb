#include "engines/cpu/silu_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace accel {
namespace {

double Reference(double x) { return x / (1.0 + std::exp(-x)); }

TEST(SiluKernelTest, MatchesTheDefinitionAcrossTheRange) {
  std::vector<float> x;
  for (float v = -100.f; v <= 100.f; v += 0.01f) x.push_back(v);
  std::vector<float> y(x.size());
  Silu(x.data(), y.data(), x.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = Reference(x[i]);
    worst = std::max(worst, std::fabs(y[i] - want) / std::max(1e-3, std::fabs(want)));
  }
  EXPECT_LT(worst, 2e-6) << "largest relative error";
}

TEST(SiluKernelTest, EveryLengthAndInPlace) {
  for (size_t n = 0; n < 21; ++n) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) - 7.5f;
    const std::vector<float> original = v;
    std::vector<float> guard(n + 1, 42.f);
    Silu(v.data(), guard.data(), n);
    EXPECT_EQ(guard[n], 42.f) << "wrote past the end for n=" << n;
    Silu(v.data(), v.data(), n);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_NEAR(v[i], Reference(original[i]), 1e-5) << "n=" << n << " i=" << i;
      EXPECT_EQ(v[i], guard[i]);
    }
  }
}

TEST(SiluKernelTest, ExtremesAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  // Beyond exp's range the exponent is clamped: large x gives x, very negative x a value within 1e-8 of 0.
  std::vector<float> x = {1e30f, -1e30f, inf, std::nanf(""), 0.f, 88.f, -88.f};
  std::vector<float> y(x.size());
  Silu(x.data(), y.data(), x.size());
  EXPECT_EQ(y[0], 1e30f);
  EXPECT_LE(std::fabs(y[1]), 1e-8);
  EXPECT_EQ(y[2], inf);
  EXPECT_TRUE(std::isnan(y[3]));
  EXPECT_EQ(y[4], 0.f);
  EXPECT_NEAR(y[5], 88.f, 1e-4);
  EXPECT_NEAR(y[6], 0.f, 1e-30);
}

}  // namespace
}  // namespace accel
