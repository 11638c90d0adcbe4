// The `checkpoint` index: TensorFlow's CheckpointState in protobuf text format. The reader is a
// strict recursive-free scanner over untrusted bytes (a libFuzzer target calls it: fuzz/).
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/core/error.hpp"
#include "ember/io/atomic_file.hpp"
#include "ember/io/checkpoint_index.hpp"

namespace ember::io {

namespace {

constexpr std::size_t kMaxIndexBytes = std::size_t{1} << 20;

class IndexParser {
 public:
  explicit IndexParser(std::string_view text) : t_(text) {}

  CheckpointState parse() {
    if (t_.size() > kMaxIndexBytes) {
      throw FormatError("checkpoint index: " + std::to_string(t_.size()) + " bytes, more than the 1 MiB an index can have");
    }
    CheckpointState st;
    bool have_model = false, have_preserved = false;
    for (skip_space(); pos_ < t_.size(); skip_space()) {
      std::size_t field_at = pos_;
      std::string name = identifier();
      skip_space();
      if (pos_ >= t_.size() || t_[pos_] != ':') fail("expected ':' after field name '" + name + "'");
      ++pos_;
      skip_space();
      if (name == "model_checkpoint_path") {
        if (have_model) fail_at(field_at, "field 'model_checkpoint_path' appears twice (it is not repeated)");
        have_model = true;
        st.model_checkpoint_path = string_value(name);
      } else if (name == "all_model_checkpoint_paths") {
        st.all_model_checkpoint_paths.push_back(string_value(name));
      } else if (name == "all_model_checkpoint_timestamps") {
        st.all_model_checkpoint_timestamps.push_back(number_value(name));
      } else if (name == "last_preserved_timestamp") {
        if (have_preserved) fail_at(field_at, "field 'last_preserved_timestamp' appears twice (it is not repeated)");
        have_preserved = true;
        st.last_preserved_timestamp = number_value(name);
      } else {
        fail_at(field_at, "unknown field '" + name +
                              "' (expected model_checkpoint_path, all_model_checkpoint_paths, "
                              "all_model_checkpoint_timestamps or last_preserved_timestamp)");
      }
    }
    if (st.model_checkpoint_path.empty()) throw FormatError("checkpoint index: no model_checkpoint_path (or an empty one)");
    for (const std::string& p : st.all_model_checkpoint_paths) {
      if (p.empty()) throw FormatError("checkpoint index: an empty path in all_model_checkpoint_paths");
    }
    if (!st.all_model_checkpoint_paths.empty() && st.all_model_checkpoint_paths.back() != st.model_checkpoint_path) {
      throw FormatError("checkpoint index: the last of all_model_checkpoint_paths (\"" + st.all_model_checkpoint_paths.back() +
                        "\") is not model_checkpoint_path (\"" + st.model_checkpoint_path + "\")");
    }
    if (!st.all_model_checkpoint_timestamps.empty() &&
        st.all_model_checkpoint_timestamps.size() != st.all_model_checkpoint_paths.size()) {
      throw FormatError("checkpoint index: " + std::to_string(st.all_model_checkpoint_timestamps.size()) +
                        " all_model_checkpoint_timestamps for " + std::to_string(st.all_model_checkpoint_paths.size()) +
                        " all_model_checkpoint_paths (expected one per path)");
    }
    return st;
  }

 private:
  [[noreturn]] void fail_at(std::size_t at, const std::string& message) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < at && i < t_.size(); ++i) {
      if (t_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw FormatError("checkpoint index: line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + message);
  }
  [[noreturn]] void fail(const std::string& message) const {
    std::string got = pos_ >= t_.size() ? "the end of the file" : "'" + printable(t_[pos_]) + "'";
    fail_at(pos_, message + ", got " + got);
  }
  static std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }

  void skip_space() {
    while (pos_ < t_.size()) {
      char c = t_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < t_.size() && t_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string identifier() {
    auto ident_char = [](char c, bool first) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
    };
    if (pos_ >= t_.size() || !ident_char(t_[pos_], true)) fail("expected a field name");
    std::size_t start = pos_;
    while (pos_ < t_.size() && ident_char(t_[pos_], false) && pos_ - start < 64) ++pos_;
    return std::string(t_.substr(start, pos_ - start));
  }

  // One or more adjacent quoted strings (protobuf joins them), decoded; must be UTF-8 without NUL.
  std::string string_value(const std::string& field) {
    if (pos_ >= t_.size() || (t_[pos_] != '"' && t_[pos_] != '\'')) fail("expected a quoted string for field '" + field + "'");
    std::size_t start = pos_;
    std::string out;
    while (pos_ < t_.size() && (t_[pos_] == '"' || t_[pos_] == '\'')) {
      quoted(out);
      skip_space();
    }
    if (out.find('\0') != std::string::npos) fail_at(start, "field '" + field + "': the path holds a NUL byte");
    if (!valid_utf8(out)) fail_at(start, "field '" + field + "': the path is not valid UTF-8");
    return out;
  }

  void quoted(std::string& out) {
    const char q = t_[pos_++];
    for (;;) {
      if (pos_ >= t_.size()) fail("unterminated string (expected the closing " + std::string(1, q) + ")");
      char c = t_[pos_];
      if (c == q) {
        ++pos_;
        return;
      }
      if (c == '\n') fail("unterminated string (a newline inside quotes)");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= t_.size()) fail("unterminated escape");
      char e = t_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '?': out += '?'; break;
        case 'x': {
          int v = 0, n = 0;
          while (n < 2 && pos_ < t_.size() && std::isxdigit(static_cast<unsigned char>(t_[pos_]))) {
            char h = t_[pos_++];
            v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            ++n;
          }
          if (n == 0) fail("expected hex digits after \\x");
          out += static_cast<char>(v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0', n = 1;
            while (n < 3 && pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '7') {
              v = v * 8 + (t_[pos_++] - '0');
              ++n;
            }
            if (v > 0xff) fail_at(pos_ - 3, "octal escape above \\377");
            out += static_cast<char>(v);
          } else {
            --pos_;
            fail("unknown escape sequence");
          }
      }
    }
  }

  static bool valid_utf8(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        ++i;
        continue;
      }
      std::size_t n = 0;
      uint32_t cp = 0;
      if ((c >> 5) == 6) {
        n = 1, cp = c & 0x1f;
      } else if ((c >> 4) == 14) {
        n = 2, cp = c & 0x0f;
      } else if ((c >> 3) == 30) {
        n = 3, cp = c & 0x07;
      } else {
        return false;
      }
      if (i + n >= s.size()) return false;
      for (std::size_t k = 1; k <= n; ++k) {
        auto d = static_cast<unsigned char>(s[i + k]);
        if ((d >> 6) != 2) return false;
        cp = (cp << 6) | (d & 0x3f);
      }
      // No overlong forms, no surrogates, nothing above U+10FFFF.
      if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
          (cp >= 0xd800 && cp <= 0xdfff)) {
        return false;
      }
      i += n + 1;
    }
    return true;
  }

  // A finite decimal number: [-]digits[.digits][(e|E)[+-]digits], or [-]digits. (protobuf's text
  // format also writes inf and nan, which no timestamp can be.)
  double number_value(const std::string& field) {
    std::size_t start = pos_;
    auto digit = [&] { return pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9'; };
    if (pos_ < t_.size() && t_[pos_] == '-') ++pos_;
    std::size_t int_digits = 0, frac_digits = 0;
    while (digit()) ++pos_, ++int_digits;
    if (pos_ < t_.size() && t_[pos_] == '.') {
      ++pos_;
      while (digit()) ++pos_, ++frac_digits;
    }
    if (int_digits + frac_digits == 0) {
      pos_ = start;
      fail("field '" + field + "': expected a finite number (seconds since the epoch)");
    }
    if (pos_ < t_.size() && (t_[pos_] == 'e' || t_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < t_.size() && (t_[pos_] == '+' || t_[pos_] == '-')) ++pos_;
      if (!digit()) fail("field '" + field + "': expected exponent digits");
      while (digit()) ++pos_;
    }
    if (pos_ < t_.size() && (t_[pos_] == 'f' || t_[pos_] == 'F')) ++pos_;  // protobuf's float suffix
    std::string text(t_.substr(start, pos_ - start));
    if (!text.empty() && (text.back() == 'f' || text.back() == 'F')) text.pop_back();
    if (text.size() > 400) fail_at(start, "field '" + field + "': number too long");
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);  // (an underflow to 0 or a denormal is fine)
    if (end != text.c_str() + text.size() || !std::isfinite(v)) {
      fail_at(start, "field '" + field + "': expected a finite number, got " + text);
    }
    if (pos_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[pos_])) || t_[pos_] == '.' || t_[pos_] == '_')) {
      fail("field '" + field + "': unexpected character after the number");
    }
    return v;
  }

  std::string_view t_;
  std::size_t pos_ = 0;
};

void append_quoted(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u >= 0x7f) {  // as Python's text_format: octal, so the file stays ASCII
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\%03o", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string number_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

CheckpointState parse_checkpoint_index(std::string_view text) { return IndexParser(text).parse(); }

std::string format_checkpoint_index(const CheckpointState& s) {
  std::string out = "model_checkpoint_path: ";
  append_quoted(out, s.model_checkpoint_path);
  out += '\n';
  for (const std::string& p : s.all_model_checkpoint_paths) {
    out += "all_model_checkpoint_paths: ";
    append_quoted(out, p);
    out += '\n';
  }
  for (double t : s.all_model_checkpoint_timestamps) out += "all_model_checkpoint_timestamps: " + number_text(t) + "\n";
  out += "last_preserved_timestamp: " + number_text(s.last_preserved_timestamp) + "\n";
  return out;
}

std::optional<CheckpointState> get_checkpoint_state(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path index = fs::path(dir) / "checkpoint";
  std::error_code ec;
  if (!fs::exists(index, ec)) return std::nullopt;
  std::ifstream in(index, std::ios::binary);
  if (!in) throw IOError("cannot read the checkpoint index '" + index.string() + "'");
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxIndexBytes) {
      throw FormatError("checkpoint index '" + index.string() + "': larger than the 1 MiB an index can have");
    }
  }
  if (in.bad()) throw IOError("cannot read the checkpoint index '" + index.string() + "'");
  CheckpointState st;
  try {
    st = parse_checkpoint_index(text);
  } catch (const FormatError& e) {
    std::string m = e.what();
    throw FormatError("'" + index.string() + "': " + m);
  }
  auto resolve = [&](std::string& p) {
    if (!fs::path(p).is_absolute()) p = (fs::path(dir) / p).string();
  };
  resolve(st.model_checkpoint_path);
  for (std::string& p : st.all_model_checkpoint_paths) resolve(p);
  return st;
}

std::optional<std::string> latest_checkpoint(const std::string& dir) {
  std::optional<CheckpointState> st = get_checkpoint_state(dir);
  if (!st) return std::nullopt;
  std::string file = checkpoint_file(st->model_checkpoint_path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw IOError("the checkpoint index in '" + dir + "' names '" + st->model_checkpoint_path + "', but its file '" + file +
                  "' is missing");
  }
  return st->model_checkpoint_path;
}

std::string checkpoint_file(const std::string& path) {
  const std::string ext = ".safetensors";
  if (path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0) return path;
  return path + ext;
}

// ------------------------------------------------------------------ CheckpointKeeper

CheckpointKeeper::CheckpointKeeper(CheckpointKeepOptions o) : o_(std::move(o)) {
  if (!(o_.keep_checkpoint_every_n_hours > 0)) {
    throw ValueError("Saver: keep_checkpoint_every_n_hours must be positive, got " + std::to_string(o_.keep_checkpoint_every_n_hours));
  }
  last_preserved_ = now();
}

double CheckpointKeeper::now() const {
  if (o_.clock) return o_.clock();
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string CheckpointKeeper::save(const std::string& prefix, std::optional<int64_t> global_step,
                                   const std::function<void(const std::string& file)>& write_data, const std::string& who) {
  namespace fs = std::filesystem;
  if (prefix.empty() || fs::path(prefix).filename().empty()) {
    throw ValueError(who + ": the prefix '" + prefix + "' has no file name part (expected e.g. \"ckpt/model\")");
  }
  fs::path parent = fs::path(prefix).parent_path();
  std::string dir = parent.empty() ? "." : parent.string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw IOError(who + ": the directory '" + dir + "' of '" + prefix + "' does not exist (create it first)");
  }
  std::string path = global_step ? prefix + "-" + std::to_string(*global_step) : prefix;
  std::string name = fs::path(path).filename().string();  // as the index lists it (relative to dir)

  if (dir_ != dir) {
    // First save here: adopt what the index already keeps, drop what an interrupted save left.
    dir_ = dir;
    paths_.clear();
    times_.clear();
    if (std::optional<CheckpointState> old = get_checkpoint_state(dir)) {
      for (std::size_t i = 0; i < old->all_model_checkpoint_paths.size(); ++i) {
        const std::string& p = old->all_model_checkpoint_paths[i];
        if (!fs::is_regular_file(checkpoint_file(p), ec)) continue;
        // Only checkpoints directly in `dir` are adopted: the index is untrusted, and what the saver
        // adopts it may later delete.
        fs::path rel = fs::path(p).lexically_relative(dir);
        if (rel.empty() || !rel.parent_path().empty() || rel == "." || rel == "..") continue;
        paths_.push_back(rel.string());
        times_.push_back(i < old->all_model_checkpoint_timestamps.size() ? old->all_model_checkpoint_timestamps[i] : now());
      }
      if (old->last_preserved_timestamp > 0) last_preserved_ = old->last_preserved_timestamp;
    }
    // io::AtomicFile's temporary files are ".<target name>.tmp-XXXXXX"; a killed save leaves one.
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string n = entry.path().filename().string();
      const std::string stem = "." + fs::path(prefix).filename().string();
      bool ours = n.rfind(".checkpoint.tmp-", 0) == 0 ||
                  ((n.rfind(stem + "-", 0) == 0 || n.rfind(stem + ".", 0) == 0) && n.find(".safetensors.tmp-") != std::string::npos);
      if (ours) fs::remove(entry.path(), ec);
    }
  }

  // 1. The data, atomically: the index below never names a file that is not complete.
  write_data(checkpoint_file(path));

  // 2. The index, atomically.
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    if (paths_[i] == name) {
      paths_.erase(paths_.begin() + static_cast<std::ptrdiff_t>(i));
      times_.erase(times_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  paths_.push_back(name);
  times_.push_back(now());
  std::vector<std::string> to_delete;
  if (o_.max_to_keep > 0) {
    while (paths_.size() > static_cast<std::size_t>(o_.max_to_keep)) {
      // TF: a checkpoint leaving the list survives if a period has passed since the last one kept so.
      if (times_.front() - last_preserved_ >= o_.keep_checkpoint_every_n_hours * 3600.0) {
        last_preserved_ = times_.front();
      } else {
        to_delete.push_back(paths_.front());
      }
      paths_.erase(paths_.begin());
      times_.erase(times_.begin());
    }
  }
  CheckpointState st{name, paths_, times_, last_preserved_};
  write_file_atomically((fs::path(dir) / "checkpoint").string(), format_checkpoint_index(st));

  // 3. Deletions last.
  for (const std::string& p : to_delete) fs::remove(checkpoint_file((fs::path(dir) / p).string()), ec);
  return path;
}

}  // namespace ember::io
