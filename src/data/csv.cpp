#include "ember/data/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "file_bytes.hpp"

namespace ember::data {

namespace {

struct Row {
  std::vector<std::string> fields;
  int64_t line = 0;  // 1-based line on which the record starts
};

// RFC 4180 records. A quote opens a quoted field only at the start of a field; inside one, ""
// is a quote and line breaks are data.
std::vector<Row> split_records(std::string_view s, char delim, const std::string& what) {
  std::vector<Row> rows;
  std::size_t i = 0;
  int64_t line = 1;
  while (i < s.size()) {
    Row row;
    row.line = line;
    std::string field;
    bool record_done = false;
    while (!record_done) {
      field.clear();
      if (i < s.size() && s[i] == '"') {
        const int64_t opened = line;
        ++i;
        for (;;) {
          if (i >= s.size()) {
            throw FormatError(what + ":" + std::to_string(opened) + ": unclosed quote (the file ends inside a quoted field)");
          }
          if (s[i] == '"') {
            if (i + 1 < s.size() && s[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (s[i] == '\n') ++line;
          field += s[i++];
        }
        if (i < s.size() && s[i] != delim && s[i] != '\n' && s[i] != '\r') {
          throw FormatError(what + ":" + std::to_string(line) + ": expected '" + std::string(1, delim) +
                            "' or a line end after a closing quote, got '" + std::string(1, s[i]) + "'");
        }
      } else {
        while (i < s.size() && s[i] != delim && s[i] != '\n' && s[i] != '\r') field += s[i++];
      }
      row.fields.push_back(field);
      if (i < s.size() && s[i] == delim) {
        ++i;
      } else {
        if (i < s.size() && s[i] == '\r') ++i;
        if (i < s.size() && s[i] == '\n') ++i;
        ++line;
        record_done = true;
      }
    }
    // Blank lines (one empty field) are skipped, as pandas does.
    if (!(row.fields.size() == 1 && row.fields[0].empty())) rows.push_back(std::move(row));
  }
  return rows;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::optional<double> number(std::string_view v) {
  v = trim(v);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  if (v.empty()) return std::nullopt;
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return d;
}

int64_t resolve(const CsvColumn& c, const std::vector<std::string>& names, bool header, std::size_t width,
                const std::string& what) {
  if (c.index >= 0) {
    if (static_cast<std::size_t>(c.index) >= width) {
      throw ValueError(what + ": column index " + std::to_string(c.index) + " is out of range (the file has " +
                       std::to_string(width) + " columns, 0.." + std::to_string(width - 1) + ")");
    }
    return c.index;
  }
  if (c.index < -1) throw ValueError(what + ": column index " + std::to_string(c.index) + " is negative");
  if (header) {
    for (std::size_t k = 0; k < names.size(); ++k) {
      if (trim(names[k]) == c.name) return static_cast<int64_t>(k);
    }
  }
  // A name made of digits selects by index (so "label=4" works on a file without a header).
  int64_t k = 0;
  auto [end, ec] = std::from_chars(c.name.data(), c.name.data() + c.name.size(), k);
  if (!c.name.empty() && ec == std::errc() && end == c.name.data() + c.name.size()) return resolve(CsvColumn(static_cast<int>(k)), names, header, width, what);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + std::string(trim(n));
  throw ValueError(what + ": no column named '" + c.name + "'" +
                   (header ? " (the header has: " + known + ")" : " (the file has no header; give a 0-based index)"));
}

}  // namespace

CsvData parse_csv(std::string_view text, const CsvOptions& options, const std::string& what) {
  std::vector<Row> rows = split_records(text, options.delimiter, what);
  if (rows.empty()) throw FormatError(what + ": no rows (the file is empty)");
  const std::size_t width = rows[0].fields.size();
  for (const Row& r : rows) {
    if (r.fields.size() != width) {
      throw FormatError(what + ":" + std::to_string(r.line) + ": " + std::to_string(r.fields.size()) + " fields, expected " +
                        std::to_string(width) + " (as in the first row)");
    }
  }
  bool header = false;
  if (options.header) {
    header = *options.header;
  } else if (rows.size() >= 2) {
    for (std::size_t k = 0; k < width && !header; ++k) header = !number(rows[0].fields[k]) && number(rows[1].fields[k]);
  } else {
    header = std::none_of(rows[0].fields.begin(), rows[0].fields.end(), [](const std::string& f) { return number(f).has_value(); });
  }
  std::vector<std::string> names = header ? rows[0].fields : std::vector<std::string>(width);
  const std::size_t first = header ? 1 : 0;
  const int64_t n = static_cast<int64_t>(rows.size() - first);

  std::optional<int64_t> label;
  if (options.label) label = resolve(*options.label, names, header, width, what);
  std::vector<int64_t> cols;
  if (options.features.empty()) {
    for (std::size_t k = 0; k < width; ++k) {
      if (!label || static_cast<int64_t>(k) != *label) cols.push_back(static_cast<int64_t>(k));
    }
  } else {
    for (const CsvColumn& c : options.features) cols.push_back(resolve(c, names, header, width, what));
  }

  CsvData out;
  for (int64_t c : cols) out.feature_names.push_back(std::string(trim(names[static_cast<std::size_t>(c)])));
  out.features = Tensor::empty({n, static_cast<int64_t>(cols.size())}, f32);
  float* f = out.features.data<float>();
  for (int64_t r = 0; r < n; ++r) {
    const Row& row = rows[first + static_cast<std::size_t>(r)];
    for (std::size_t j = 0; j < cols.size(); ++j) {
      const std::string& cell = row.fields[static_cast<std::size_t>(cols[j])];
      std::optional<double> v = number(cell);
      if (!v) {
        const std::string& name = names[static_cast<std::size_t>(cols[j])];
        throw FormatError(what + ":" + std::to_string(row.line) + ":" + std::to_string(cols[j] + 1) +
                          ": expected a number, got '" + cell + "'" + (name.empty() ? "" : " (column '" + name + "')"));
      }
      f[r * static_cast<int64_t>(cols.size()) + static_cast<int64_t>(j)] = static_cast<float>(*v);
    }
  }
  if (!label) return out;

  const auto col = static_cast<std::size_t>(*label);
  bool numeric = true, integral = true;
  std::vector<double> values(static_cast<std::size_t>(n));
  for (int64_t r = 0; r < n && numeric; ++r) {
    std::optional<double> v = number(rows[first + static_cast<std::size_t>(r)].fields[col]);
    numeric = v.has_value();
    if (numeric) {
      values[static_cast<std::size_t>(r)] = *v;
      integral = integral && std::isfinite(*v) && *v == std::floor(*v) && std::abs(*v) < 9.0e15;
    }
  }
  if (numeric && integral) {
    out.labels = Tensor::empty({n}, i64);
    for (int64_t r = 0; r < n; ++r) out.labels.data<int64_t>()[r] = static_cast<int64_t>(values[static_cast<std::size_t>(r)]);
  } else if (numeric) {
    out.labels = Tensor::empty({n}, f32);
    for (int64_t r = 0; r < n; ++r) out.labels.data<float>()[r] = static_cast<float>(values[static_cast<std::size_t>(r)]);
  } else {
    std::map<std::string, int64_t> classes;
    for (std::size_t r = first; r < rows.size(); ++r) classes.emplace(std::string(trim(rows[r].fields[col])), 0);
    for (auto& [name, index] : classes) {
      index = static_cast<int64_t>(out.class_names.size());
      out.class_names.push_back(name);
    }
    out.labels = Tensor::empty({n}, i64);
    for (int64_t r = 0; r < n; ++r) {
      out.labels.data<int64_t>()[r] = classes.at(std::string(trim(rows[first + static_cast<std::size_t>(r)].fields[col])));
    }
  }
  return out;
}

CsvData read_csv(const std::string& path, const CsvOptions& options) {
  return parse_csv(detail::read_file_bytes(path), options, path);
}

}  // namespace ember::data
