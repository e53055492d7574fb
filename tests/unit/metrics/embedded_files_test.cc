// The web dashboard is served from bytes built into the binary; these must be exactly the files in web/.
#include "api/embedded_files.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace accel {
namespace {

std::string ReadSource(const std::string& name) {
  std::ifstream in(std::string(ACCEL_SOURCE_DIR) + "/web/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(EmbeddedFiles, MatchTheSourceFilesByteForByte) {
  for (const char* name : {"index.html", "app.js", "style.css"}) {
    const EmbeddedFile* f = FindEmbeddedFile(std::string("/") + name);
    ASSERT_NE(f, nullptr) << name;
    std::string source = ReadSource(name);
    ASSERT_FALSE(source.empty()) << name;
    EXPECT_EQ(f->size, source.size()) << name;
    EXPECT_TRUE(f->text() == source) << name << " differs from web/" << name;
    EXPECT_EQ(f->etag.size(), 42u) << f->etag;  // quoted 40-hex SHA-1
  }
}

TEST(EmbeddedFiles, LookupRules) {
  const EmbeddedFile* index = FindEmbeddedFile("/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->path, "/index.html");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(FindEmbeddedFile("/?refresh=1"), index);
  EXPECT_EQ(FindEmbeddedFile("/app.js?v=2")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(FindEmbeddedFile("/style.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(FindEmbeddedFile("/missing.js"), nullptr);
  EXPECT_EQ(FindEmbeddedFile("/../CMakeLists.txt"), nullptr);
  EXPECT_EQ(FindEmbeddedFile("index.html"), nullptr);  // paths are absolute URL paths
  EXPECT_EQ(EmbeddedFiles().size(), 3u);
}

// The dashboard must work offline: no resource may come from another host.
TEST(EmbeddedFiles, NoExternalResources) {
  std::regex external(R"((src|href)\s*=\s*["']?(https?:)?//)", std::regex::icase);
  std::regex css_import(R"(@import|url\(\s*["']?(https?:)?//)", std::regex::icase);
  std::regex js_remote(R"(fetch\(\s*["'`]https?:|import\s*\(|new\s+WebSocket)", std::regex::icase);
  for (const EmbeddedFile& f : EmbeddedFiles()) {
    std::string text(f.text());
    EXPECT_FALSE(std::regex_search(text, external)) << f.path;
    EXPECT_FALSE(std::regex_search(text, css_import)) << f.path;
    EXPECT_FALSE(std::regex_search(text, js_remote)) << f.path;
  }
}

}  // namespace
}  // namespace accel
