#pragma once
// CSV files (RFC 4180: comma-separated, fields optionally in double quotes with "" for a quote and
// line breaks allowed inside quotes, CRLF or LF line ends) read as a numeric feature matrix and a
// label column — what pandas.read_csv + a column split gives in the notes.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::data {

// A column chosen by its header name or by its 0-based index.
struct CsvColumn {
  std::string name;
  int64_t index = -1;
  CsvColumn(std::string n) : name(std::move(n)) {}  // NOLINT: implicit, for {"a", "b"} lists
  CsvColumn(const char* n) : name(n) {}              // NOLINT
  CsvColumn(int i) : index(i) {}                     // NOLINT
};

struct CsvOptions {
  // true: the first row names the columns; false: it is data; nullopt: detected — a header when
  // some column's first cell is not a number but its second is (as the column's type suggests).
  std::optional<bool> header = std::nullopt;
  char delimiter = ',';
  std::optional<CsvColumn> label = std::nullopt;  // the label column; none: labels stay undefined
  std::vector<CsvColumn> features = {};           // empty: every column but the label
};

struct CsvData {
  Tensor features;                         // f32 [rows, features]
  Tensor labels;                           // i64 [rows] class indices, or f32 [rows] (see below)
  std::vector<std::string> feature_names;  // header names ("" each without a header)
  // Labels: when every label cell is an integer the labels are those integers (i64) and
  // class_names is empty; when some are other numbers, f32 values (regression); otherwise the
  // labels are categorical: class_names holds the sorted distinct strings and label i is the
  // index of its string there (0..K-1).
  std::vector<std::string> class_names;
};

// FormatError "file:row:column: expected a number, got 'abc'" (rows and columns 1-based, as an
// editor shows them; the column's name follows when there is a header) for a non-numeric feature
// cell; FormatError naming the row for a wrong number of fields or an unclosed quote; ValueError
// for a column name or index that does not exist; IOError if the file cannot be read.
CsvData read_csv(const std::string& path, const CsvOptions& options = {});
// The same from text in memory (`what` names it in errors): for fuzzing and tests.
CsvData parse_csv(std::string_view text, const CsvOptions& options = {}, const std::string& what = "csv data");

}  // namespace ember::data
