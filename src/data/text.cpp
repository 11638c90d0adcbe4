#include "ember/data/text.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "ember/core/error.hpp"
#include "file_bytes.hpp"

namespace ember::data {
namespace {

namespace fs = std::filesystem;

bool ends_with_any(const std::string& name, const std::vector<std::string>& suffixes) {
  for (const auto& s : suffixes)
    if (!s.empty() && name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
  return false;
}

// Removes the lines that hold only "%" (with or without a CR before the LF).
std::string drop_separator_lines(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    const std::size_t next = end == std::string::npos ? text.size() : end + 1;
    std::string_view line(text.data() + start, (end == std::string::npos ? text.size() : end) - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line != "%") out.append(text, start, next - start);
    start = next;
  }
  return out;
}

std::string char_name(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isprint(u)) return std::string("'") + c + "'";
  return "byte " + std::to_string(u);
}

}  // namespace

std::string read_text(const std::string& path, const TextOptions& options) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw IOError("read_text: '" + path + "' does not exist");
  std::vector<std::string> files;
  if (fs::is_directory(status)) {
    for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      // is_regular_file follows links: a link to a text file counts unless a suffix skips it.
      std::error_code file_ec;
      if (!it->is_regular_file(file_ec) || file_ec) continue;
      const std::string name = it->path().filename().string();
      if (ends_with_any(name, options.skip_suffixes)) continue;
      files.push_back(it->path().string());
    }
    if (ec) throw IOError("read_text: cannot list '" + path + "': " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::string text;
  for (const auto& file : files) {
    std::string bytes = detail::read_file_bytes(file);
    if (bytes.find('\0') != std::string::npos) continue;  // binary
    if (options.drop_fortune_separators) bytes = drop_separator_lines(bytes);
    if (!text.empty() && !bytes.empty() && text.back() != '\n') text.push_back('\n');
    text += bytes;
  }
  if (text.empty())
    throw ValueError("read_text: no text in '" + path + "' (" + std::to_string(files.size()) +
                     " file(s) read, all empty or binary)");
  return text;
}

CharVocabulary::CharVocabulary(std::string_view text) {
  std::array<bool, 256> seen{};
  for (char c : text) seen[static_cast<unsigned char>(c)] = true;
  ids_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    if (!seen[b]) continue;
    ids_[b] = static_cast<int16_t>(chars_.size());
    chars_.push_back(static_cast<char>(b));
  }
  if (chars_.empty()) throw ValueError("CharVocabulary: the text is empty");
}

char CharVocabulary::character(int64_t id) const {
  if (id < 0 || id >= size())
    throw ValueError("CharVocabulary: id " + std::to_string(id) + " is not in [0, " + std::to_string(size()) + ")");
  return chars_[static_cast<std::size_t>(id)];
}

int64_t CharVocabulary::id(char c) const {
  if (!contains(c)) throw ValueError("CharVocabulary: " + char_name(c) + " is not in the vocabulary");
  return ids_[static_cast<unsigned char>(c)];
}

Tensor CharVocabulary::encode(std::string_view text) const {
  Tensor out = Tensor::empty({static_cast<int64_t>(text.size())}, i64);
  int64_t* p = out.data<int64_t>();
  for (std::size_t k = 0; k < text.size(); ++k) {
    const int16_t id = ids_[static_cast<unsigned char>(text[k])];
    if (id < 0)
      throw ValueError("CharVocabulary::encode: " + char_name(text[k]) + " at offset " + std::to_string(k) +
                       " is not in the vocabulary");
    p[k] = id;
  }
  return out;
}

std::string CharVocabulary::decode(const Tensor& ids) const {
  if (!is_integral(ids.dtype()))
    throw DTypeError("CharVocabulary::decode: expected integer ids, got " + std::string(dtype_name(ids.dtype())));
  const Tensor flat = ids.to(i64).contiguous();
  const int64_t* p = flat.data<int64_t>();
  std::string out;
  out.reserve(static_cast<std::size_t>(flat.numel()));
  for (int64_t k = 0; k < flat.numel(); ++k) out.push_back(character(p[k]));
  return out;
}

std::vector<std::string> split_words(std::string_view text, bool lowercase) {
  std::vector<std::string> words;
  std::string word;
  auto is_word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (std::size_t k = 0; k <= text.size(); ++k) {
    const char c = k < text.size() ? text[k] : ' ';
    if (is_word_char(c)) {
      word.push_back(lowercase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c);
    } else if (c == '\'' && !word.empty() && k + 1 < text.size() && is_word_char(text[k + 1])) {
      word.push_back(c);  // an inner apostrophe: don't, o'clock
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  return words;
}

WordVocabulary::WordVocabulary(const std::vector<std::string>& words, int64_t min_count, int64_t max_size) {
  if (min_count < 1) throw ValueError("WordVocabulary: min_count must be >= 1, got " + std::to_string(min_count));
  if (max_size < 0) throw ValueError("WordVocabulary: max_size must be >= 0, got " + std::to_string(max_size));
  std::map<std::string, int64_t> counts;
  for (const auto& w : words) ++counts[w];
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [w, c] : counts)
    if (c >= min_count) kept.emplace_back(w, c);
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (max_size > 0 && static_cast<int64_t>(kept.size()) > max_size) kept.resize(static_cast<std::size_t>(max_size));
  if (kept.empty())
    throw ValueError("WordVocabulary: no word occurs at least " + std::to_string(min_count) + " time(s) in " +
                     std::to_string(words.size()) + " words");
  for (auto& [w, c] : kept) {
    ids_.emplace(w, static_cast<int64_t>(words_.size()));
    words_.push_back(w);
    counts_.push_back(c);
  }
}

const std::string& WordVocabulary::word(int64_t id) const {
  if (id < 0 || id >= size())
    throw ValueError("WordVocabulary: id " + std::to_string(id) + " is not in [0, " + std::to_string(size()) + ")");
  return words_[static_cast<std::size_t>(id)];
}

int64_t WordVocabulary::count(int64_t id) const {
  word(id);  // range check
  return counts_[static_cast<std::size_t>(id)];
}

std::optional<int64_t> WordVocabulary::find(std::string_view word) const {
  const auto it = ids_.find(std::string(word));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

Tensor WordVocabulary::encode(const std::vector<std::string>& words) const {
  std::vector<int64_t> ids;
  ids.reserve(words.size());
  for (const auto& w : words)
    if (auto id = find(w)) ids.push_back(*id);
  const auto n = static_cast<int64_t>(ids.size());
  return from_vector(ids, {n});
}

TokenWindows next_token_windows(const Tensor& ids, int64_t length, int64_t stride) {
  if (ids.dim() != 1) throw ShapeError("next_token_windows: expected a 1-D id sequence, got shape " + to_string(ids.shape()));
  if (!is_integral(ids.dtype()))
    throw DTypeError("next_token_windows: expected integer ids, got " + std::string(dtype_name(ids.dtype())));
  if (length < 1 || stride < 1)
    throw ValueError("next_token_windows: length and stride must be >= 1, got " + std::to_string(length) + " and " +
                     std::to_string(stride));
  const int64_t n = ids.numel();
  if (n < length + 1)
    throw ValueError("next_token_windows: a sequence of " + std::to_string(n) + " ids is shorter than length + 1 = " +
                     std::to_string(length + 1));
  const int64_t windows = (n - length - 1) / stride + 1;
  const Tensor flat = ids.to(i64).contiguous();
  const int64_t* src = flat.data<int64_t>();
  TokenWindows out{Tensor::empty({windows, length}, i64), Tensor::empty({windows, length}, i64)};
  int64_t* in = out.inputs.data<int64_t>();
  int64_t* tg = out.targets.data<int64_t>();
  for (int64_t w = 0; w < windows; ++w) {
    std::copy_n(src + w * stride, length, in + w * length);
    std::copy_n(src + w * stride + 1, length, tg + w * length);
  }
  return out;
}

}  // namespace ember::data
