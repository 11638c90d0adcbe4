#pragma once
// Plain text for language models: read a file or a folder of files (Debian's `fortunes` package
// puts 2.5 MB of English under /usr/share/games/fortunes), turn it into token ids — characters
// for a character-level model, words for word2vec — and cut it into next-token windows.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::data {

// Where Debian's `fortunes` package installs its text (setup.sh installs it).
inline constexpr const char* kFortunesDir = "/usr/share/games/fortunes";

struct TextOptions {
  // Files whose names end with one of these are skipped: fortune's binary `.dat` indexes and the
  // `.u8` links that point back at the text files (read once, not twice).
  std::vector<std::string> skip_suffixes = {".dat", ".u8"};
  // A line holding only "%" separates fortune entries: true drops those lines, so entries follow
  // each other separated by their own line ends.
  bool drop_fortune_separators = true;
};

// The text of one file, or of every regular file under a folder (recursively, in path order, so
// the result does not depend on the file system's listing order). Files holding a NUL byte are
// binary and skipped. IOError when the path does not exist or cannot be read; ValueError when no
// text is left.
std::string read_text(const std::string& path, const TextOptions& options = {});

// The distinct bytes of a text, sorted by value; id i is the i-th of them.
class CharVocabulary {
 public:
  explicit CharVocabulary(std::string_view text);
  int64_t size() const { return static_cast<int64_t>(chars_.size()); }
  char character(int64_t id) const;  // ValueError when id is not in [0, size)
  int64_t id(char c) const;          // ValueError naming the character when it is not in the vocabulary
  bool contains(char c) const { return ids_[static_cast<unsigned char>(c)] >= 0; }
  Tensor encode(std::string_view text) const;   // i64 [text.size()]; ValueError at the first unknown byte (with its offset)
  std::string decode(const Tensor& ids) const;  // any integer tensor, read in order; ValueError for an id out of range

 private:
  std::string chars_;
  std::array<int16_t, 256> ids_{};
};

// Words as word2vec counts them: runs of letters, digits and inner apostrophes ("don't"),
// lower-cased when `lowercase`; everything else separates words.
std::vector<std::string> split_words(std::string_view text, bool lowercase = true);

// Words seen at least `min_count` times, most frequent first (ties by spelling), at most
// `max_size` of them (0: no limit); id i is the i-th.
class WordVocabulary {
 public:
  explicit WordVocabulary(const std::vector<std::string>& words, int64_t min_count = 1, int64_t max_size = 0);
  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  const std::string& word(int64_t id) const;  // ValueError when id is not in [0, size)
  int64_t count(int64_t id) const;            // occurrences in the words it was built from
  std::optional<int64_t> find(std::string_view word) const;
  // i64 [k]: the ids of the words that are in the vocabulary, in order (the others are dropped, as
  // word2vec drops rare words).
  Tensor encode(const std::vector<std::string>& words) const;

 private:
  std::vector<std::string> words_;
  std::vector<int64_t> counts_;
  std::unordered_map<std::string, int64_t> ids_;
};

// Next-token training pairs from a 1-D id sequence: window k starts at k·stride; inputs are
// ids[start, start+length) and targets ids[start+1, start+length+1). Both i64 [windows, length].
// ValueError when the sequence is shorter than length + 1 or length / stride < 1.
struct TokenWindows {
  Tensor inputs;
  Tensor targets;
};
TokenWindows next_token_windows(const Tensor& ids, int64_t length, int64_t stride);

}  // namespace ember::data
