// A strict reader of the Prometheus text format, for tests only: it checks the structure Render() promises
// (HELP then TYPE before a family's samples, each family once and contiguous, quoted and escaped label
// values) and returns the samples so tests can look values up.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace accel::testing {

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct ParsedExposition {
  std::vector<ParsedSample> samples;
  std::map<std::string, std::string> types;  // family name -> type
  std::map<std::string, std::string> help;   // family name -> raw help text
  std::string error;                         // empty when the text is well formed

  // The value of the sample with this name whose labels include every pair given; NaN when absent.
  double Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (match) return s.value;
    }
    return std::nan("");
  }
  size_t Count(const std::string& name) const {
    size_t n = 0;
    for (const auto& s : samples) n += s.name == name;
    return n;
  }
};

inline std::string FamilyOf(const std::string& sample_name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (sample_name.size() > s.size() && sample_name.ends_with(s)) {
      std::string base = sample_name.substr(0, sample_name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return sample_name;
}

inline ParsedExposition ParseExposition(const std::string& text) {
  ParsedExposition out;
  std::set<std::string> closed;  // families whose samples ended
  std::string current;
  size_t pos = 0;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    if (out.error.empty()) out.error = "line " + std::to_string(line_no) + ": " + why;
  };
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      fail("text does not end with a line feed");
      break;
    }
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      bool is_help = line[2] == 'H';
      std::string rest = line.substr(7);
      size_t space = rest.find(' ');
      if (space == std::string::npos) {
        fail("HELP/TYPE without text");
        continue;
      }
      std::string name = rest.substr(0, space);
      if (is_help) {
        if (out.help.count(name)) fail("second HELP for " + name);
        if (closed.count(name) || name == current) fail("HELP after samples of " + name);
        out.help[name] = rest.substr(space + 1);
        if (!current.empty() && current != name) closed.insert(current);
        current = name;
      } else {
        if (!out.help.count(name) || current != name) fail("TYPE without HELP before it for " + name);
        if (out.types.count(name)) fail("second TYPE for " + name);
        out.types[name] = rest.substr(space + 1);
      }
      continue;
    }
    if (line.empty() || line[0] == '#') {
      fail("unexpected line: " + line);
      continue;
    }
    ParsedSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string label;
        while (i < line.size() && line[i] != '=') label += line[i++];
        if (i + 1 >= line.size() || line[i + 1] != '"') {
          fail("label value not quoted");
          break;
        }
        i += 2;
        std::string value;
        bool closed_quote = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '\\') {
            if (i >= line.size()) break;
            char e = line[i++];
            if (e == 'n')
              value += '\n';
            else if (e == '\\')
              value += '\\';
            else if (e == '"')
              value += '"';
            else
              fail("bad escape in label value");
          } else if (c == '"') {
            closed_quote = true;
            break;
          } else {
            value += c;
          }
        }
        if (!closed_quote) fail("unterminated label value");
        if (s.labels.count(label)) fail("duplicate label " + label);
        s.labels[label] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) {
        fail("unterminated label set");
        continue;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      fail("no space before value");
      continue;
    }
    std::string value_text = line.substr(i + 1);
    if (value_text == "+Inf") {
      s.value = HUGE_VAL;
    } else if (value_text == "-Inf") {
      s.value = -HUGE_VAL;
    } else {
      char* parse_end = nullptr;
      s.value = std::strtod(value_text.c_str(), &parse_end);
      if (value_text.empty() || *parse_end != '\0') fail("bad value '" + value_text + "'");
    }
    std::string family = FamilyOf(s.name, out.types);
    if (family != current) {
      fail("sample " + s.name + " outside its family's block (current: " + current + ")");
    }
    if (!out.types.count(family)) fail("sample without TYPE: " + s.name);
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace accel::testing
