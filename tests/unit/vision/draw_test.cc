#include "vision/draw.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace accel {
namespace {

Image Blank(int width, int height, uint8_t value = 0) {
  auto image =
      ImageFromRgb(std::vector<uint8_t>(static_cast<size_t>(width) * height * 3, value), width, height);
  EXPECT_TRUE(image.ok());
  return std::move(image).value();
}

const uint8_t* Pixel(const Image& image, int x, int y) { return &image.rgb[(y * image.width + x) * 3]; }

bool IsBackground(const Image& image, int x, int y, uint8_t value = 0) {
  const uint8_t* p = Pixel(image, x, y);
  return p[0] == value && p[1] == value && p[2] == value;
}

Detection Det(int class_id, const std::string& label, Box box) {
  Detection d;
  d.class_id = class_id;
  d.label = label;
  d.confidence = 0.87f;
  d.box = box;
  return d;
}

TEST(DrawDetections, DrawsOutlineAndTag) {
  Image image = Blank(200, 150);
  DrawDetections(image, {Det(0, "person", {50, 60, 150, 140})});
  // Outline on all four sides, two pixels thick, interior untouched.
  EXPECT_FALSE(IsBackground(image, 100, 60));
  EXPECT_FALSE(IsBackground(image, 100, 61));
  EXPECT_TRUE(IsBackground(image, 100, 62));
  EXPECT_FALSE(IsBackground(image, 50, 100));
  EXPECT_FALSE(IsBackground(image, 150, 100));
  EXPECT_FALSE(IsBackground(image, 100, 140));
  EXPECT_TRUE(IsBackground(image, 100, 100));
  EXPECT_TRUE(IsBackground(image, 20, 20));
  // The outline colour is the class colour; the tag above the box is filled with it and holds text pixels
  // of another colour.
  const uint8_t* outline = Pixel(image, 100, 60);
  int tag = 0, text = 0;
  for (int y = 60 - 18; y < 60; ++y) {
    for (int x = 50; x < 50 + 120; ++x) {
      const uint8_t* p = Pixel(image, x, y);
      if (std::equal(p, p + 3, outline))
        ++tag;
      else if (!IsBackground(image, x, y))
        ++text;
    }
  }
  EXPECT_GT(tag, 500);
  EXPECT_GT(text, 100);
}

TEST(DrawDetections, ClassesGetDifferentColours) {
  Image image = Blank(100, 100);
  DrawDetections(image, {Det(0, "a", {10, 40, 40, 90}), Det(1, "b", {60, 40, 90, 90})});
  EXPECT_FALSE(std::equal(Pixel(image, 10, 60), Pixel(image, 10, 60) + 3, Pixel(image, 60, 60)));
}

TEST(DrawDetections, ScalesBoxesForReducedScaleImagesAndClips) {
  Image image = Blank(100, 50);
  image.original_width = 200;
  image.original_height = 100;
  DrawDetections(image, {Det(3, "motorcycle", {40, 40, 120, 80}), Det(5, "bus", {-50, -50, 1e6f, 1e6f}),
                         Det(7, "nan", {std::nanf(""), 0, 10, 10})});
  EXPECT_FALSE(IsBackground(image, 20, 30));  // left edge of the first box at x = 40 / 2
  EXPECT_FALSE(IsBackground(image, 99, 49));  // clipped second box
}

TEST(DrawText, WidthAndInk) {
  Image image = Blank(80, 20, 255);
  const uint8_t black[3] = {0, 0, 0};
  EXPECT_EQ(DrawText(image, 1, 1, "Hi", black, 2), 24);
  int ink = 0;
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 80; ++x) ink += IsBackground(image, x, y, 255) ? 0 : 1;
  // 'H' has 17 cells and 'i' 9, each 2x2 pixels.
  EXPECT_EQ(ink, (17 + 9) * 4);
  Image broken;
  DrawDetections(broken, {Det(0, "x", {0, 0, 1, 1})});  // no pixels: nothing to do, no crash
}

}  // namespace
}  // namespace accel
