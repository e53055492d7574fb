// Files built into the binary (the web dashboard under web/), so that the dashboard works from a single
// executable with no install step and no internet access. The table is generated at build time from the
// files listed in web/CMakeLists.txt (target accel_web_assets).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace accel {

struct EmbeddedFile {
  std::string_view path;          // URL path, "/index.html"
  std::string_view content_type;  // "text/html; charset=utf-8"
  const unsigned char* data;      // static storage; never null
  size_t size;
  std::string_view etag;  // quoted strong validator from the file's SHA-1, "\"3f2a...\""

  std::string_view text() const { return {reinterpret_cast<const char*>(data), size}; }
};

// The file served at this URL path; "/" gives "/index.html". A query string or fragment is ignored.
// nullptr when there is none. Thread-safe (reads static data only).
const EmbeddedFile* FindEmbeddedFile(std::string_view path);

// Every embedded file, in the order listed at build time.
std::span<const EmbeddedFile> EmbeddedFiles();

}  // namespace accel
