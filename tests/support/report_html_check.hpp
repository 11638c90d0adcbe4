#pragma once
// Reads back what the tests check in an HTML report (train/report.hpp), from Ember's own file or
// from the DOM a browser dumps: each curve's points, the confusion matrix's cells, the grid's PNGs.
// Attribute order and quoting may differ between the two, so tags are parsed attribute by attribute.
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

namespace report_check {

struct Series {
  std::string name;
  int points = 0;  // "M"/"L" commands in the path's d
};

struct Page {
  std::vector<Series> series;   // <path class="series">, in page order
  std::vector<int64_t> cells;   // <td class="cell" data-count>, row by row
};

// The value of attribute `name` in the tag text `tag` ("" when absent).
inline std::string attribute(const std::string& tag, const std::string& name) {
  for (std::size_t p = tag.find(name + "="); p != std::string::npos; p = tag.find(name + "=", p + 1)) {
    if (p > 0 && !std::isspace(static_cast<unsigned char>(tag[p - 1]))) continue;
    std::size_t v = p + name.size() + 1;
    if (v >= tag.size()) return "";
    char q = tag[v];
    if (q == '"' || q == '\'') {
      std::size_t end = tag.find(q, v + 1);
      return end == std::string::npos ? "" : tag.substr(v + 1, end - v - 1);
    }
    std::size_t end = v;
    while (end < tag.size() && !std::isspace(static_cast<unsigned char>(tag[end])) && tag[end] != '>') ++end;
    return tag.substr(v, end - v);
  }
  return "";
}

// Every start tag named `name` ("<name ...>"), as text.
inline std::vector<std::string> tags(const std::string& html, const std::string& name) {
  std::vector<std::string> out;
  for (std::size_t p = html.find("<" + name); p != std::string::npos; p = html.find("<" + name, p + 1)) {
    char after = p + name.size() + 1 < html.size() ? html[p + name.size() + 1] : '>';
    if (!std::isspace(static_cast<unsigned char>(after)) && after != '>' && after != '/') continue;
    std::size_t end = html.find('>', p);
    if (end == std::string::npos) break;
    out.push_back(html.substr(p, end - p + 1));
  }
  return out;
}

inline Page parse(const std::string& html) {
  Page page;
  for (const std::string& t : tags(html, "path")) {
    if (attribute(t, "class") != "series") continue;
    Series s{attribute(t, "data-series"), 0};
    for (char c : attribute(t, "d")) s.points += c == 'M' || c == 'L';
    page.series.push_back(s);
  }
  for (const std::string& t : tags(html, "td")) {
    if (attribute(t, "class") == "cell") page.cells.push_back(std::stoll(attribute(t, "data-count")));
  }
  return page;
}

// The decoded bytes of every <img src="data:image/png;base64,..."> in page order.
inline std::vector<std::string> png_images(const std::string& html) {
  const std::string prefix = "data:image/png;base64,";
  std::vector<std::string> out;
  for (const std::string& t : tags(html, "img")) {
    std::string src = attribute(t, "src");
    if (src.rfind(prefix, 0) != 0) continue;
    std::string bytes;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : src.substr(prefix.size())) {
      int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '+' ? 62 : c == '/' ? 63 : -1;
      if (v < 0) continue;  // '=' padding
      acc = acc << 6 | static_cast<uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes += static_cast<char>((acc >> bits) & 0xff);
      }
    }
    out.push_back(bytes);
  }
  return out;
}

}  // namespace report_check
