// Annotates an image with detections (box outlines and "label 0.87" tags) for `accel infer --draw` and the
// dashboard. Self-contained: a built-in 5x7 bitmap font, no imaging library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vision/detection.h"
#include "vision/image.h"

namespace accel {

// Draws each detection's box (2-3 px outline, one colour per class) and a filled tag with its label and
// confidence. Boxes are in original-image pixels and are scaled when the image was decoded at reduced
// scale. Everything is clipped to the image; an image whose buffer does not match its size is left as is.
void DrawDetections(Image& image, const std::vector<Detection>& detections);

// Draws `text` (printable ASCII; other bytes show as '?') with its top-left corner at (x, y), each font
// pixel as a `scale` x `scale` square. Returns the width in pixels the text occupies.
int DrawText(Image& image, int x, int y, const std::string& text, const uint8_t rgb[3], int scale = 2);

}  // namespace accel
