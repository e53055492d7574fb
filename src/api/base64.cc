#include "api/base64.h"

#include <array>
#include <cstdio>

namespace accel {
namespace {

constexpr int kSkip = -2;  // whitespace
constexpr int kInvalid = -1;
constexpr int kPad = -3;

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (int i = 0; i < 26; ++i) {
    table['A' + i] = static_cast<int8_t>(i);
    table['a' + i] = static_cast<int8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) table['0' + i] = static_cast<int8_t>(52 + i);
  table['+'] = 62;
  table['-'] = 62;
  table['/'] = 63;
  table['_'] = 63;
  table['='] = kPad;
  for (char c : {' ', '\t', '\r', '\n', '\f', '\v'}) table[static_cast<uint8_t>(c)] = kSkip;
  return table;
}

constexpr auto kDecode = MakeDecodeTable();

std::string DescribeChar(uint8_t c) {
  char text[32];
  if (c >= 0x21 && c < 0x7f) {
    std::snprintf(text, sizeof(text), "'%c' (0x%02x)", c, c);
  } else {
    std::snprintf(text, sizeof(text), "byte 0x%02x", c);
  }
  return text;
}

}  // namespace

StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t group = 0;
  int in_group = 0;    // sextets collected in the current group of four
  size_t sextets = 0;  // all data characters seen
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<uint8_t>(text[i]);
    int v = kDecode[c];
    if (v == kSkip) continue;
    if (v == kInvalid) {
      return InvalidArgument("invalid base64: " + DescribeChar(c) + " at offset " + std::to_string(i));
    }
    if (v == kPad) {
      ++padding;
      continue;
    }
    if (padding > 0) {
      return InvalidArgument("invalid base64: data after '=' padding at offset " + std::to_string(i));
    }
    group = (group << 6) | static_cast<uint32_t>(v);
    ++sextets;
    if (++in_group == 4) {
      out.push_back(static_cast<uint8_t>(group >> 16));
      out.push_back(static_cast<uint8_t>(group >> 8));
      out.push_back(static_cast<uint8_t>(group));
      group = 0;
      in_group = 0;
    }
  }
  if (in_group == 1) {
    return InvalidArgument("invalid base64: length leaves a single character in the last group (truncated?)");
  }
  if (padding > 0 && ((in_group == 0) || (sextets + padding) % 4 != 0)) {
    return InvalidArgument("invalid base64: wrong amount of '=' padding");
  }
  if (in_group == 2) {
    out.push_back(static_cast<uint8_t>(group >> 4));
  } else if (in_group == 3) {
    out.push_back(static_cast<uint8_t>(group >> 10));
    out.push_back(static_cast<uint8_t>(group >> 2));
  }
  return out;
}

std::string Base64Encode(const uint8_t* data, size_t size, bool url_safe) {
  const char* alphabet = url_safe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                  : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    uint32_t g = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(alphabet[(g >> 18) & 63]);
    out.push_back(alphabet[(g >> 12) & 63]);
    out.push_back(alphabet[(g >> 6) & 63]);
    out.push_back(alphabet[g & 63]);
  }
  size_t rest = size - i;
  if (rest > 0) {
    uint32_t g = uint32_t{data[i]} << 16;
    if (rest == 2) g |= uint32_t{data[i + 1]} << 8;
    out.push_back(alphabet[(g >> 18) & 63]);
    out.push_back(alphabet[(g >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(g >> 6) & 63]);
    if (!url_safe) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

std::string Base64Encode(std::string_view data, bool url_safe) {
  return Base64Encode(reinterpret_cast<const uint8_t*>(data.data()), data.size(), url_safe);
}

std::string_view StripDataUrlPrefix(std::string_view text, std::string* media_type) {
  if (media_type) media_type->clear();
  size_t start = 0;
  while (start < text.size() &&
         (text[start] == ' ' || text[start] == '\t' || text[start] == '\r' || text[start] == '\n')) {
    ++start;
  }
  std::string_view rest = text.substr(start);
  auto starts_with_ci = [](std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      char c = s[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (!starts_with_ci(rest, "data:")) return text;
  size_t comma = rest.find(',');
  if (comma == std::string_view::npos) return text;
  std::string_view meta = rest.substr(5, comma - 5);  // "image/jpeg;base64"
  if (media_type) *media_type = std::string(meta.substr(0, meta.find(';')));
  return rest.substr(comma + 1);
}

}  // namespace accel
