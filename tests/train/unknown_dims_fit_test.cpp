// Training and saving models whose inputs have an unknown time axis (issue 15): fit / evaluate /
// predict / train_on_batch on batches of any length through one model, and the Keras .h5 round
// trip of such a model (null dims in the saved config, weights bit-identical).
#include <cmath>
#include <filesystem>
#include <random>

#include "ember/nn/config.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {

using ember::testing::all_close;
using ember::testing::random_f64;

// Input({-1, 3}) -> LSTM(4, return_sequences) -> Dense(2): a sequence regressor.
std::shared_ptr<nn::Model> sequence_regressor() {
  nn::reset_layer_names();
  auto in = nn::Input({-1, 3});
  auto out = nn::Dense({.units = 2})(nn::LSTM({.units = 4, .return_sequences = true})(in));
  auto m = std::make_shared<nn::Model>(std::vector<nn::SymbolicTensor>{in}, std::vector<nn::SymbolicTensor>{out});
  m->compile({.optimizer = optim::Adam({.learning_rate = 1e-2}), .loss = losses::MeanSquaredError()});
  return m;
}

}  // namespace

TEST(UnknownDimsFit, FitEvaluatePredictAndTrainOnBatchAtDifferentLengths) {
  manual_seed(5);
  auto m = sequence_regressor();
  // Two train_on_batch calls of different lengths through the same model.
  for (auto [n, t] : {std::pair<int64_t, int64_t>{2, 5}, {3, 7}}) {
    const Tensor x = random_f64({n, t, 3}, static_cast<uint64_t>(t)).to(f32);
    const Tensor y = random_f64({n, t, 2}, static_cast<uint64_t>(t + 100)).to(f32);
    std::map<std::string, double> logs = m->train_on_batch(x, y);
    EXPECT_TRUE(std::isfinite(logs.at("loss"))) << "T = " << t;
  }
  // fit on T = 4, then T = 9: each fit's loss goes down; evaluate and predict take any other T.
  for (int64_t t : {4, 9}) {
    // Target: the running mean of the first feature, which an LSTM learns quickly.
    const Tensor x = random_f64({16, t, 3}, static_cast<uint64_t>(40 + t)).to(f32);
    const Tensor y = x.slice(2, 0, 1).expand({16, t, 2}).contiguous();
    callbacks::History h = m->fit(x, y, {.batch_size = 8, .epochs = 5, .verbose = 0});
    ASSERT_EQ(h.history["loss"].size(), 5u);
    EXPECT_LT(h.history["loss"].back(), h.history["loss"].front()) << "T = " << t;
  }
  const Tensor x6 = random_f64({5, 6, 3}, 77).to(f32);
  const Tensor p = m->predict(x6, {.batch_size = 2});
  ASSERT_EQ(p.shape(), (Shape{5, 6, 2}));
  EXPECT_TRUE(all_close(p, m->forward({x6})[0], 1e-5, 1e-6));  // (batches of 2 vs one of 5: other GEMM blockings)
  std::map<std::string, double> r = m->evaluate(x6, zeros({5, 6, 2}), {.batch_size = 5});
  EXPECT_NEAR(r.at("loss"), (p * p).mean().item<double>(), 1e-6);
}

TEST(UnknownDimsFit, ATrainingStepEqualsTheFixedLengthModelsStep) {
  // The same weights, one SGD step on T = 7: the model declared with T unknown (which ran T = 5
  // first) ends with exactly the weights of the model declared with T = 7.
  manual_seed(13);
  auto any = sequence_regressor();
  nn::reset_layer_names();
  auto in = nn::Input({7, 3});
  nn::Model fixed({in}, {nn::Dense({.units = 2})(nn::LSTM({.units = 4, .return_sequences = true})(in))});
  for (nn::Model* m : {any.get(), &fixed}) {
    m->compile({.optimizer = optim::SGD({.learning_rate = 0.1}), .loss = losses::MeanSquaredError()});
  }
  auto a = any->named_weights(), f = fixed.named_weights();
  ASSERT_EQ(a.size(), f.size());
  for (std::size_t i = 0; i < a.size(); ++i) f[i].weight->value() = a[i].weight->value().detach().clone().requires_grad_(true);
  any->predict(random_f64({2, 5, 3}, 3).to(f32), {.batch_size = 2});
  const Tensor x = random_f64({4, 7, 3}, 4).to(f32), y = random_f64({4, 7, 2}, 5).to(f32);
  const double la = any->train_on_batch(x, y).at("loss"), lf = fixed.train_on_batch(x, y).at("loss");
  EXPECT_EQ(la, lf);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].weight->value().to_vector<float>(), f[i].weight->value().to_vector<float>()) << a[i].name;
  }
}

TEST(UnknownDimsFit, EmbeddingOfIdsOfUnknownLengthLearns) {
  manual_seed(7);
  nn::reset_layer_names();
  // Is token 1 in the sequence? Ids of unknown length, i64.
  auto ids = nn::Input({-1}, "ids", i64);
  auto h = nn::LSTM({.units = 8})(nn::Embedding({.input_dim = 6, .output_dim = 4})(ids));
  nn::Model m({ids}, {nn::Dense({.units = 2})(h)});
  EXPECT_EQ(m.symbolic_inputs()[0].shape(), (Shape{-1, -1}));
  m.compile({.optimizer = optim::Adam({.learning_rate = 2e-2}),
             .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
             .metrics = {"accuracy"}});
  std::mt19937 rng(11);
  auto ids_of = [&rng](int64_t n, int64_t t) {
    std::vector<int64_t> v(static_cast<std::size_t>(n * t));
    for (int64_t& id : v) id = static_cast<int64_t>(rng() % 6);
    return v;
  };
  const std::vector<int64_t> xs = ids_of(32, 5);
  std::vector<int64_t> ys(32, 0);
  for (std::size_t i = 0; i < xs.size(); ++i) ys[i / 5] |= xs[i] == 1 ? 1 : 0;
  const Tensor x = from_vector(xs, {32, 5}), y = from_vector(ys, {32});
  callbacks::History hist = m.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0});
  EXPECT_LT(hist.history["loss"].back(), hist.history["loss"].front());
  // The same model predicts on longer id sequences.
  EXPECT_EQ(m.predict(from_vector(ids_of(3, 12), {3, 12}), {.batch_size = 4}).shape(),
            (Shape{3, 2}));
}

TEST(UnknownDimsFit, KerasEncoderDecoderTrainsOnTwoLengthsPerBatch) {
  // tests/fixtures/keras/seq2seq_unknown_time.json: encoder and decoder sequences of their own
  // unknown lengths; teacher forcing with targets of the decoder's length.
  manual_seed(17);
  nn::reset_layer_names();
  auto m = nn::model_from_json_file(ember::testing::source_dir() + "/tests/fixtures/keras/seq2seq_unknown_time.json");
  m->compile({.optimizer = optim::Adam({.learning_rate = 2e-2}), .loss = losses::CategoricalCrossentropy()});
  for (auto [t_enc, t_dec] : {std::pair<int64_t, int64_t>{6, 3}, {2, 8}}) {
    const Tensor x_enc = random_f64({12, t_enc, 5}, static_cast<uint64_t>(t_enc)).to(f32);
    const Tensor x_dec = random_f64({12, t_dec, 4}, static_cast<uint64_t>(t_dec + 50)).to(f32);
    // Target: the decoder input's argmax at each step, one-hot.
    const Tensor target = one_hot(argmax(x_dec, 2), 4);
    callbacks::History h = m->fit({x_enc, x_dec}, {target}, {.batch_size = 4, .epochs = 4, .verbose = 0});
    EXPECT_LT(h.history["loss"].back(), h.history["loss"].front()) << t_enc << ", " << t_dec;
    EXPECT_EQ(m->forward({x_enc, x_dec})[0].shape(), (Shape{12, t_dec, 4}));
  }
}

TEST(UnknownDimsFit, KerasH5RoundTripKeepsNullDimsAndWeights) {
  manual_seed(9);
  auto m = sequence_regressor();
  m->train_on_batch(random_f64({2, 5, 3}, 1).to(f32), random_f64({2, 5, 2}, 2).to(f32));
  std::filesystem::path dir = ember::testing::fresh_temp_dir("unknown_dims_h5");
  const std::string path = (dir / "seq.h5").string();
  m->save(path);
  nn::reset_layer_names();
  auto back = nn::load_model(path);
  EXPECT_EQ(back->symbolic_inputs()[0].shape(), (Shape{-1, -1, 3}));
  EXPECT_EQ(nn::model_config(*back)["config"]["layers"][0]["config"]["batch_input_shape"],
            nlohmann::json::parse("[null, null, 3]"));
  auto a = m->named_weights(), b = back->named_weights();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].weight->value().to_vector<float>(), b[i].weight->value().to_vector<float>()) << a[i].name;
  }
  for (int64_t t : {2, 13}) {
    const Tensor x = random_f64({3, t, 3}, static_cast<uint64_t>(t)).to(f32);
    EXPECT_TRUE(all_close(back->predict(x, {.batch_size = 3}), m->predict(x, {.batch_size = 3}), 0, 0)) << "T = " << t;
  }
  std::filesystem::remove_all(dir);
}
