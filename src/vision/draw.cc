#include "vision/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "vision/draw_font.h"

namespace accel {
namespace {

// Twelve well-separated colours; class id picks one.
constexpr uint8_t kPalette[12][3] = {
    {255, 56, 56}, {255, 157, 151}, {255, 112, 31}, {255, 178, 29}, {207, 210, 49}, {72, 249, 10},
    {26, 147, 52}, {0, 212, 187},   {44, 153, 168}, {0, 194, 255},  {52, 69, 147},  {203, 56, 255},
};

bool ImageIsValid(const Image& image) {
  return image.width > 0 && image.height > 0 &&
         image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3;
}

// Fills [x0, x1) x [y0, y1), clipped to the image.
void FillRect(Image& image, int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, image.width);
  y1 = std::min(y1, image.height);
  for (int y = y0; y < y1; ++y) {
    uint8_t* p = image.rgb.data() + (static_cast<size_t>(y) * image.width + x0) * 3;
    for (int x = x0; x < x1; ++x, p += 3) {
      p[0] = rgb[0];
      p[1] = rgb[1];
      p[2] = rgb[2];
    }
  }
}

int ClampToInt(float v, int lo, int hi) {
  if (!(v == v)) return lo;  // NaN
  return static_cast<int>(std::clamp(std::lround(v), static_cast<long>(lo), static_cast<long>(hi)));
}

}  // namespace

int DrawText(Image& image, int x, int y, const std::string& text, const uint8_t rgb[3], int scale) {
  scale = std::max(scale, 1);
  const int advance = (kGlyphWidth + 1) * scale;
  if (!ImageIsValid(image)) return static_cast<int>(text.size()) * advance;
  int pen = x;
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    const char* glyph = kGlyphs[(c >= 0x20 && c <= 0x7e) ? c - 0x20 : '?' - 0x20];
    for (int row = 0; row < kGlyphHeight; ++row) {
      for (int col = 0; col < kGlyphWidth; ++col) {
        if (glyph[row * kGlyphWidth + col] != '#') continue;
        const int px = pen + col * scale, py = y + row * scale;
        FillRect(image, px, py, px + scale, py + scale, rgb);
      }
    }
    pen += advance;
  }
  return pen - x;
}

void DrawDetections(Image& image, const std::vector<Detection>& detections) {
  if (!ImageIsValid(image)) return;
  // Boxes are in original pixels; the image may have been decoded at 1/2, 1/4, 1/8 scale.
  const float fx = image.original_width > 0 ? static_cast<float>(image.width) / image.original_width : 1.f;
  const float fy = image.original_height > 0 ? static_cast<float>(image.height) / image.original_height : 1.f;
  const int thickness = std::min(image.width, image.height) >= 720 ? 3 : 2;
  constexpr int kScale = 2;
  constexpr int kPadding = 2;
  const int tag_height = kGlyphHeight * kScale + 2 * kPadding;

  for (const Detection& d : detections) {
    const uint8_t* colour = kPalette[std::abs(d.class_id) % 12];
    const int x0 = ClampToInt(d.box.x_min * fx, 0, image.width - 1);
    const int y0 = ClampToInt(d.box.y_min * fy, 0, image.height - 1);
    const int x1 = ClampToInt(d.box.x_max * fx, x0, image.width - 1);
    const int y1 = ClampToInt(d.box.y_max * fy, y0, image.height - 1);
    FillRect(image, x0, y0, x1 + 1, y0 + thickness, colour);          // top
    FillRect(image, x0, y1 + 1 - thickness, x1 + 1, y1 + 1, colour);  // bottom
    FillRect(image, x0, y0, x0 + thickness, y1 + 1, colour);          // left
    FillRect(image, x1 + 1 - thickness, y0, x1 + 1, y1 + 1, colour);  // right

    char score[16];
    std::snprintf(score, sizeof(score), " %.2f", static_cast<double>(d.confidence));
    const std::string text = (d.label.empty() ? "class_" + std::to_string(d.class_id) : d.label) + score;
    const int text_width = static_cast<int>(text.size()) * (kGlyphWidth + 1) * kScale - kScale;
    const int tag_width = text_width + 2 * kPadding;
    // Above the box when there is room, otherwise just inside its top edge; kept inside the image.
    int tag_x = std::min(x0, std::max(0, image.width - tag_width));
    int tag_y = y0 >= tag_height ? y0 - tag_height : y0;
    FillRect(image, tag_x, tag_y, tag_x + tag_width, tag_y + tag_height, colour);
    const int luma = (299 * colour[0] + 587 * colour[1] + 114 * colour[2]) / 1000;
    static constexpr uint8_t kBlack[3] = {0, 0, 0};
    static constexpr uint8_t kWhite[3] = {255, 255, 255};
    DrawText(image, tag_x + kPadding, tag_y + kPadding, text, luma > 140 ? kBlack : kWhite, kScale);
  }
}

}  // namespace accel
