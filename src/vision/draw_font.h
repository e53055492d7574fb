// The bitmap font of the box labels drawn by draw.h: 5x7 glyphs for printable ASCII, drawn for this
// project. Data only; kept apart so that draw.cc reads as drawing code.
#pragma once

namespace accel {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;

// kGlyphs[c - 0x20] for c in 0x20..0x7e: kGlyphHeight rows of kGlyphWidth cells, row-major, '#' = ink.
extern const char* const kGlyphs[95];

}  // namespace accel
