#include "api/embedded_files.h"

namespace accel {
namespace internal {
extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;
}  // namespace internal

std::span<const EmbeddedFile> EmbeddedFiles() {
  return {internal::kEmbeddedFiles, internal::kEmbeddedFileCount};
}

const EmbeddedFile* FindEmbeddedFile(std::string_view path) {
  size_t end = path.find_first_of("?#");
  if (end != std::string_view::npos) path = path.substr(0, end);
  if (path.empty() || path == "/") path = "/index.html";
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

}  // namespace accel
