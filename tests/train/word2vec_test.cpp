// word2vec (train/word2vec.hpp): the skip-gram negative-sampling loss and its gradients against
// PyTorch (tests/fixtures/gen/gen_word2vec.py) and the written-out formula; training on a small
// synthetic text where two words share every context; the text format; bad input.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/train/word2vec.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::load_fixture;
using testing::message_of;

TEST(Word2Vec, LossAndGradientsMatchPyTorch) {
  auto cases = load_fixture("word2vec.json");
  ASSERT_EQ(cases.size(), 1u);
  const auto& c = cases[0];
  Tensor in_table = c.at("input_table").clone().requires_grad_();
  Tensor out_table = c.at("output_table").clone().requires_grad_();
  Tensor centers = c.at("centers").to(i64), targets = c.at("targets").to(i64);
  Tensor loss = train::skipgram_negative_sampling_loss(embedding_lookup(in_table, centers), embedding_lookup(out_table, targets));
  EXPECT_TRUE(all_close(loss.reshape({1}), c.at("loss"), 1e-12, 1e-12));
  loss.backward();
  // The tables' gradients are held as rows; .grad() gives them dense.
  EXPECT_NE(autograd::row_grad(in_table), nullptr);
  EXPECT_TRUE(all_close(in_table.grad(), c.at("d_input_table"), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(out_table.grad(), c.at("d_output_table"), 1e-12, 1e-12));
}

TEST(Word2Vec, LossIsTheWrittenOutFormula) {
  // One pair, one noise word, D = 2: v = (1, 2), u_c = (0.5, -1), u_n = (2, 1).
  Tensor v = from_vector(std::vector<double>{1, 2}, {1, 2}, f64);
  Tensor u = from_vector(std::vector<double>{0.5, -1, 2, 1}, {1, 2, 2}, f64);
  const double s_c = 0.5 - 2, s_n = 2 + 2;
  auto log_sigmoid = [](double x) { return -std::log1p(std::exp(-x)); };
  const double want = -log_sigmoid(s_c) - log_sigmoid(-s_n);
  EXPECT_NEAR(train::skipgram_negative_sampling_loss(v, u).item<double>(), want, 1e-12);
  EXPECT_THROW(train::skipgram_negative_sampling_loss(v, from_vector(std::vector<double>{1, 2}, {1, 1, 2}, f64)), ShapeError);
}

// Words in groups: "alpha" and "beta" appear only in the middle of five-word runs of the first
// group's context words, "gamma" and "delta" in the second group's, ...; so alpha and beta share
// every context, and each is the other's nearest word.
std::vector<std::string> synthetic_text() {
  const std::vector<std::pair<std::string, std::string>> centers = {
      {"alpha", "beta"}, {"gamma", "delta"}, {"eps", "zeta"}, {"eta", "theta"}};
  Generator gen(7);
  std::vector<std::string> words;
  for (int seg = 0; seg < 3000; ++seg) {
    const auto g = gen.below(centers.size());
    auto ctx = [&] { return "c" + std::to_string(g) + "_" + std::to_string(gen.below(6)); };
    words.push_back(ctx());
    words.push_back(ctx());
    words.push_back(gen.below(2) == 0 ? centers[g].first : centers[g].second);
    words.push_back(ctx());
    words.push_back(ctx());
  }
  return words;
}

train::Word2VecOptions small_options() {
  return {.dim = 16, .window = 2, .negatives = 5, .min_count = 1, .sample = 0, .epochs = 3, .batch_size = 64,
          .seed = 3, .verbose = 0};
}

TEST(Word2Vec, WordsSharingTheirContextsEndUpMostSimilar) {
  train::Word2Vec w2v(small_options());
  auto history = w2v.train(synthetic_text());
  ASSERT_EQ(history.size(), 3u);
  EXPECT_GT(history[0].pairs, 0);
  EXPECT_LT(history.back().loss, history.front().loss);
  for (const auto& [a, b] : std::vector<std::pair<std::string, std::string>>{{"alpha", "beta"}, {"beta", "alpha"},
                                                                             {"gamma", "delta"}, {"theta", "eta"}}) {
    auto sim = w2v.most_similar(a, 3);
    ASSERT_EQ(sim.size(), 3u);
    EXPECT_EQ(sim[0].first, b) << a << " -> " << sim[0].first << " " << sim[0].second;
    EXPECT_GT(sim[0].second, 0.8) << a;
    EXPECT_GE(sim[0].second, sim[1].second);
  }
  EXPECT_EQ(w2v.vectors().shape(), (Shape{static_cast<int64_t>(w2v.words().size()), 16}));
}

TEST(Word2Vec, SameSeedSameVectors) {
  auto words = synthetic_text();
  words.resize(2000);
  auto opt = small_options();
  opt.epochs = 1;
  opt.sample = 1e-2;  // subsampling draws from the seeded generator too
  train::Word2Vec a(opt), b(opt);
  // Same seed and same thread count (the automatic pool follows the load): the same run.
  set_num_threads(1);
  a.train(words);
  b.train(words);
  set_automatic_threads();
  EXPECT_TRUE(all_close(a.vectors(), b.vectors(), 0, 0));
}

TEST(Word2Vec, SaveTextWritesTheWord2VecFormat) {
  auto words = synthetic_text();
  words.resize(500);
  auto opt = small_options();
  opt.epochs = 1;
  train::Word2Vec w2v(opt);
  w2v.train(words);
  auto dir = testing::fresh_temp_dir("w2v_text");
  w2v.save_text((dir / "vectors.txt").string());
  std::ifstream in(dir / "vectors.txt");
  int64_t v = 0, d = 0;
  in >> v >> d;
  EXPECT_EQ(v, static_cast<int64_t>(w2v.words().size()));
  EXPECT_EQ(d, 16);
  std::string word;
  in >> word;
  EXPECT_EQ(word, w2v.words()[0]);
  std::vector<float> first(16);
  for (float& x : first) in >> x;
  EXPECT_TRUE(all_close(from_vector(first, {16}), slice(w2v.vectors(), 0, 0, 1).reshape({16}), 1e-5, 1e-7));
  EXPECT_THROW(w2v.save_text((dir / "no_such_dir" / "x.txt").string()), IOError);
}

TEST(Word2Vec, BadInputIsAValueErrorThatSaysWhat) {
  std::string m = message_of<ValueError>([] { train::Word2Vec({.window = 0}); });
  EXPECT_NE(m.find("window must be >= 1, got 0"), std::string::npos) << m;
  EXPECT_THROW(train::Word2Vec({.dim = 0}), ValueError);
  EXPECT_THROW(train::Word2Vec({.negatives = 0}), ValueError);
  EXPECT_THROW(train::Word2Vec({.min_count = 0}), ValueError);
  EXPECT_THROW(train::Word2Vec({.sample = -1}), ValueError);
  EXPECT_THROW(train::Word2Vec({.learning_rate = 0}), ValueError);

  train::Word2Vec untrained(small_options());
  m = message_of<ValueError>([&] { untrained.most_similar("alpha"); });
  EXPECT_NE(m.find("'alpha' is not in the vocabulary"), std::string::npos) << m;

  train::Word2Vec w2v(small_options());
  auto words = synthetic_text();
  words.resize(1000);
  w2v.train(words);
  m = message_of<ValueError>([&] { w2v.most_similar("unicorn"); });
  EXPECT_NE(m.find("'unicorn' is not in the vocabulary"), std::string::npos) << m;
  EXPECT_THROW(w2v.most_similar("alpha", 0), ValueError);

  // Too few words over min_count.
  train::Word2Vec strict({.min_count = 5, .verbose = 0});
  m = message_of<ValueError>([&] { strict.train({"a", "a", "a", "a", "a", "b"}); });  // only "a" reaches 5
  EXPECT_NE(m.find("at least two distinct words"), std::string::npos) << m;
  EXPECT_THROW(strict.train({"a", "b", "a"}), ValueError);  // none does
}

}  // namespace
}  // namespace ember
