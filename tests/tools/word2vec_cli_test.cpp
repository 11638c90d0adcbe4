// `ember word2vec`: trains on a small generated text, prints the nearest words and writes the
// vectors in the word2vec text format; bad usage is exit status 2, other failures 1, each with one
// "ember: " line on stderr.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.hpp"

namespace {

using ember::testing::ToolRun;

using ember::testing::contains;

bool one_error_line(const std::string& err) {
  return err.rfind("ember: ", 0) == 0 && !err.empty() && err.back() == '\n' && err.find('\n') == err.size() - 1;
}

// "alpha"/"beta" and "gamma"/"delta" each share their contexts (see tests/train/word2vec_test.cpp).
std::filesystem::path small_text() {
  auto dir = ember::testing::fresh_temp_dir("w2v_cli");
  std::ostringstream text;
  uint64_t x = 12345;
  auto next = [&](uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (x >> 33) % n;
  };
  for (int seg = 0; seg < 3000; ++seg) {
    const uint64_t g = next(2);
    auto ctx = [&] { return "c" + std::to_string(g) + "x" + std::to_string(next(6)) + " "; };
    text << ctx() << ctx() << (g == 0 ? (next(2) ? "alpha " : "beta ") : (next(2) ? "gamma " : "delta ")) << ctx()
         << ctx() << "\n";
  }
  ember::testing::write_file(dir / "text.txt", text.str());
  return dir / "text.txt";
}

}  // namespace

TEST(Word2VecCli, TrainsPrintsNearestWordsAndWritesVectors) {
  auto text = small_text();
  auto out = text.parent_path() / "vectors.txt";
  ToolRun r = ember::testing::run_ember("word2vec --data '" + text.string() +
                                        "' --dim 16 --window 2 --min-count 1 --sample 0 --epochs 3 --batch-size 64 "
                                        "--similar alpha,gamma --top 3 --seed 5 --out '" + out.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "epoch 3/3:")) << r.out;
  EXPECT_TRUE(contains(r.out, "pairs/s")) << r.out;
  EXPECT_TRUE(contains(r.out, "alpha: beta (")) << r.out;
  EXPECT_TRUE(contains(r.out, "gamma: delta (")) << r.out;
  std::ifstream in(out);
  long long v = 0, d = 0;
  in >> v >> d;
  EXPECT_EQ(v, 16);  // 12 context words + 4 centers
  EXPECT_EQ(d, 16);
}

TEST(Word2VecCli, BadUsageIsStatus2) {
  for (const char* args : {"word2vec", "word2vec --data x --window 0", "word2vec --data x --dim abc",
                           "word2vec --data x --negatives 0", "word2vec --data x --bogus 1"}) {
    ToolRun r = ember::testing::run_ember(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.err;
    EXPECT_TRUE(one_error_line(r.err)) << args << ": [" << r.err << "]";
  }
}

TEST(Word2VecCli, OtherFailuresAreStatus1) {
  ToolRun r = ember::testing::run_ember("word2vec --data /no/such/text");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(one_error_line(r.err)) << r.err;
  auto text = small_text();
  r = ember::testing::run_ember("word2vec --data '" + text.string() + "' --min-count 1 --similar alpha,unicorn");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(one_error_line(r.err)) << r.err;
  EXPECT_TRUE(contains(r.err, "'unicorn' is not in the vocabulary")) << r.err;
}
