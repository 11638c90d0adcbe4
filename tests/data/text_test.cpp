// Text for language models: file/folder reading (fortune separators, skipped index files and
// binaries, path order), character and word vocabularies, next-token windows; expected values are
// written out by hand from the small inputs.
#include "ember/data/text.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ember/core/error.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::message_of;

namespace {

void write(const std::filesystem::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

std::vector<int64_t> ints(const Tensor& t) { return t.to(i64).contiguous().to_vector<int64_t>(); }

}  // namespace

TEST(ReadText, FolderInPathOrderWithoutSeparatorsIndexesOrBinaries) {
  const auto dir = ember::testing::fresh_temp_dir("read_text");
  std::filesystem::create_directories(dir / "sub");
  write(dir / "b", "second\n%\nthird\n");
  write(dir / "a", "first");  // no final line end: one is added before the next file
  write(dir / "a.dat", "index bytes");
  write(dir / "sub" / "c", "fourth\r\n%\r\n");
  write(dir / "zbinary", std::string("x\0y", 3));
  EXPECT_EQ(data::read_text(dir.string()), "first\nsecond\nthird\nfourth\r\n");
  EXPECT_EQ(data::read_text((dir / "b").string(), {.drop_fortune_separators = false}), "second\n%\nthird\n");
  std::filesystem::remove_all(dir);
}

TEST(ReadText, ErrorsSayWhatIsWrong) {
  EXPECT_THROW(data::read_text("/nonexistent/ember/text"), IOError);
  const auto dir = ember::testing::fresh_temp_dir("read_text_empty");
  write(dir / "only.dat", "x");
  const std::string m = message_of<ValueError>([&] { data::read_text(dir.string()); });
  EXPECT_NE(m.find("no text"), std::string::npos) << m;
  std::filesystem::remove_all(dir);
}

TEST(CharVocabulary, SortedDistinctBytesRoundTrip) {
  const data::CharVocabulary v("hello, world");
  EXPECT_EQ(v.size(), 9);  // ' ' ',' d e h l o r w
  EXPECT_EQ(v.character(0), ' ');
  EXPECT_EQ(v.id('w'), 8);
  EXPECT_EQ(ints(v.encode("hello")), (std::vector<int64_t>{4, 3, 5, 5, 6}));
  EXPECT_EQ(v.decode(v.encode("low, red")), "low, red");
  EXPECT_THROW(v.character(9), ValueError);
  const std::string m = message_of<ValueError>([&] { v.encode("hex"); });
  EXPECT_NE(m.find("'x' at offset 2"), std::string::npos) << m;
  EXPECT_THROW(v.decode(from_vector(std::vector<int64_t>{0, -1}, {2})), ValueError);
  EXPECT_THROW(v.decode(from_vector(std::vector<float>{0}, {1})), DTypeError);
}

TEST(SplitWords, LettersDigitsAndInnerApostrophes) {
  EXPECT_EQ(data::split_words("Don't panic -- it's 42 o'clock. 'Quoted'"),
            (std::vector<std::string>{"don't", "panic", "it's", "42", "o'clock", "quoted"}));
  EXPECT_EQ(data::split_words("The Cat", false), (std::vector<std::string>{"The", "Cat"}));
  EXPECT_TRUE(data::split_words(" .,; ").empty());
}

TEST(WordVocabulary, MostFrequentFirstTiesBySpelling) {
  const auto words = data::split_words("b a c a b a d");
  const data::WordVocabulary v(words);
  ASSERT_EQ(v.size(), 4);
  EXPECT_EQ(v.word(0), "a");
  EXPECT_EQ(v.count(0), 3);
  EXPECT_EQ(v.word(1), "b");
  EXPECT_EQ(v.word(2), "c");
  EXPECT_EQ(v.word(3), "d");
  const data::WordVocabulary frequent(words, 2);
  EXPECT_EQ(frequent.size(), 2);
  EXPECT_EQ(ints(frequent.encode(words)), (std::vector<int64_t>{1, 0, 0, 1, 0}));  // c and d dropped
  EXPECT_FALSE(frequent.find("c").has_value());
  EXPECT_EQ(data::WordVocabulary(words, 1, 1).size(), 1);
  EXPECT_THROW(data::WordVocabulary(words, 4), ValueError);
  EXPECT_THROW(data::WordVocabulary(words, 0), ValueError);
}

TEST(NextTokenWindows, TargetsAreInputsShiftedByOne) {
  const Tensor ids = arange(7);  // 0..6
  const auto w = data::next_token_windows(ids, 3, 2);
  ASSERT_EQ(w.inputs.shape(), (Shape{2, 3}));  // starts 0 and 2; start 4 would need id 7
  EXPECT_EQ(ints(w.inputs), (std::vector<int64_t>{0, 1, 2, 2, 3, 4}));
  EXPECT_EQ(ints(w.targets), (std::vector<int64_t>{1, 2, 3, 3, 4, 5}));
  EXPECT_THROW(data::next_token_windows(ids, 7, 1), ValueError);
  EXPECT_THROW(data::next_token_windows(ids, 0, 1), ValueError);
  EXPECT_THROW(data::next_token_windows(ids.reshape({7, 1}), 2, 1), ShapeError);
  EXPECT_THROW(data::next_token_windows(ids.to(f32), 2, 1), DTypeError);
}
