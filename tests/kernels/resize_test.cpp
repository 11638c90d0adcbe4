// Bilinear resizing against PyTorch's F.interpolate(bilinear, align_corners=False, antialias=False)
// (tests/fixtures/gen/gen_resize.py): within 1e-5 on [0, 1) floats, 1e-5 relative on 0..255 values
// read from u8; plus cases known by hand.
#include "ember/kernels/cpu/resize.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

using ember::kernels::cpu::ResizeGeometry;
using ember::kernels::cpu::resize_bilinear;

TEST(ResizeBilinear, MatchesTorchInterpolate) {
  std::ifstream in(std::string(EMBER_FIXTURE_DIR) + "/resize.json");
  ASSERT_TRUE(in);
  nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_EQ(cases.size(), 8u);
  for (const auto& c : cases) {
    ResizeGeometry g{.in_h = c["in"][0], .in_w = c["in"][1], .channels = c["in"][2], .out_h = c["out"][0], .out_w = c["out"][1]};
    SCOPED_TRACE(c["in"].dump() + " -> " + c["out"].dump());
    std::vector<float> x = c["x"].get<std::vector<float>>(), want = c["y"].get<std::vector<float>>();
    std::vector<float> got(want.size());
    if (c["u8"].get<bool>()) {
      std::vector<uint8_t> bytes(x.begin(), x.end());
      resize_bilinear(bytes.data(), got.data(), g);
    } else {
      resize_bilinear(x.data(), got.data(), g);
    }
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-5 * std::max(1.0f, std::abs(want[i]))) << "element " << i;
    }
  }
}

TEST(ResizeBilinear, HandCases) {
  // Same size is the identity; 1x2 -> 1x4 samples at x = -0.25 (clamped to 0), 0.25, 0.75, 1.25
  // (its right neighbour clamped): 0, 2.5, 7.5, 10.
  const float same[] = {1, 2, 3, 4};
  float out[4];
  resize_bilinear(same, out, {.in_h = 2, .in_w = 2, .channels = 1, .out_h = 2, .out_w = 2});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], same[i]);
  const uint8_t row[] = {0, 10};
  resize_bilinear(row, out, {.in_h = 1, .in_w = 2, .channels = 1, .out_h = 1, .out_w = 4});
  EXPECT_FLOAT_EQ(out[0], 0.0f);
  EXPECT_FLOAT_EQ(out[1], 2.5f);
  EXPECT_FLOAT_EQ(out[2], 7.5f);
  EXPECT_FLOAT_EQ(out[3], 10.0f);
  // 2x2 -> 1x1 samples the centre (0.5, 0.5): the mean of the four.
  resize_bilinear(same, out, {.in_h = 2, .in_w = 2, .channels = 1, .out_h = 1, .out_w = 1});
  EXPECT_FLOAT_EQ(out[0], 2.5f);
}
