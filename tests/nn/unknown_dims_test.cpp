// Inputs with unknown non-batch dimensions (issue 15): keras.Input(shape=(None, 8)) — a sequence
// model whose time axis each batch fixes. Shapes carry -1 (Keras's None) through shape inference;
// running a batch of any length T gives what a model declared with that T gives (exactly: the same
// layers, the same weights, the same kernels); a layer whose weights an unknown dimension would size
// refuses it at build time with a ShapeError naming the layer.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "ember/core/tensor.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/layers/attention.hpp"
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/masking.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/noise.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/preprocessing.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/layers/reshaping.hpp"
#include "ember/nn/layers/rnn.hpp"
#include "ember/nn/layers/scaling.hpp"
#include "ember/nn/layers/wrappers.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::message_of;
using testing::random_f64;

using ember::testing::contains;

// `expected` with its unknown entries (-1) filled in: the first by `batch`, the second by `steps`
// (the batch axis and the time axis, in that order, as every case below has them).
Shape fill(Shape expected, int64_t batch, int64_t steps) {
  int filled = 0;
  for (int64_t& d : expected) {
    if (d < 0) d = filled++ == 0 ? batch : steps;
  }
  return expected;
}

// Builds Input(input) → layer, checks the symbolic output shape is `symbolic`, then runs batches of
// two lengths through the same model and checks each output shape is `eager(T)` (default: `symbolic`
// with the batch and time filled in).
void check_layer(const std::string& what, nn::LayerRef layer, const Shape& input, const Shape& symbolic,
                 std::function<Shape(int64_t batch, int64_t steps)> eager = nullptr) {
  SCOPED_TRACE(what);
  nn::reset_layer_names();
  auto in = nn::Input(input);
  auto out = layer(in);
  EXPECT_EQ(out.shape(), symbolic);
  nn::Model model({in}, {out});
  if (!eager) eager = [&](int64_t b, int64_t t) { return fill(symbolic, b, t); };
  for (auto [batch, steps] : {std::pair<int64_t, int64_t>{2, 5}, {3, 7}}) {
    Shape x_shape{batch};
    for (int64_t d : input) x_shape.push_back(d < 0 ? steps : d);
    Tensor y = model.forward({random_f64(x_shape, 10 + steps).to(f32)})[0];
    EXPECT_EQ(y.shape(), eager(batch, steps)) << "T = " << steps;
  }
}

// ------------------------------------------------------------------ Input

TEST(UnknownDims, InputTakesMinusOneAfterTheBatchAxis) {
  nn::reset_layer_names();
  EXPECT_EQ(nn::Input({-1, 8}).shape(), (Shape{-1, -1, 8}));
  EXPECT_EQ(nn::Input({-1}, "ids", i64).shape(), (Shape{-1, -1}));
  EXPECT_EQ(nn::Input({-1}, "ids", i64).dtype(), i64);
  for (const Shape& bad : {Shape{0, 8}, Shape{-2, 8}, Shape{8, -3}}) {
    std::string m = message_of<ShapeError>([&] { nn::Input(bad); });
    EXPECT_TRUE(contains(m, "Input") && contains(m, to_string(bad))) << m;
  }
}

// ------------------------------------------------------------------ shape inference, layer by layer

TEST(UnknownDims, SequenceLayersCarryTheUnknownTimeAxis) {
  check_layer("LSTM seq", nn::LSTM({.units = 6, .return_sequences = true}), {-1, 4}, {-1, -1, 6});
  check_layer("LSTM last", nn::LSTM({.units = 6}), {-1, 4}, {-1, 6}, [](int64_t b, int64_t) { return Shape{b, 6}; });
  check_layer("GRU seq", nn::GRU({.units = 5, .return_sequences = true}), {-1, 4}, {-1, -1, 5});
  check_layer("SimpleRNN", nn::SimpleRNN({.units = 3}), {-1, 4}, {-1, 3},
              [](int64_t b, int64_t) { return Shape{b, 3}; });
  check_layer("Bidirectional concat", nn::Bidirectional(nn::LSTM({.units = 3, .return_sequences = true})), {-1, 4},
              {-1, -1, 6});
  check_layer("Bidirectional last", nn::Bidirectional(nn::GRU({.units = 3})), {-1, 4}, {-1, 6},
              [](int64_t b, int64_t) { return Shape{b, 6}; });
  {  // return_state: the states have no time axis.
    nn::reset_layer_names();
    auto in = nn::Input({-1, 4});
    auto outs = nn::outputs_of(nn::Bidirectional(nn::LSTM({.units = 3, .return_sequences = true, .return_state = true}))(in));
    ASSERT_EQ(outs.size(), 5u);
    EXPECT_EQ(outs[0].shape(), (Shape{-1, -1, 6}));
    for (std::size_t k = 1; k < 5; ++k) EXPECT_EQ(outs[k].shape(), (Shape{-1, 3}));
    nn::Model m({in}, outs);
    std::vector<Tensor> ys = m.forward({random_f64({2, 5, 4}, 9).to(f32)});
    EXPECT_EQ(ys[0].shape(), (Shape{2, 5, 6}));
    EXPECT_EQ(ys[4].shape(), (Shape{2, 3}));
  }
  check_layer("RNN(LSTMCell)", nn::RNN(nn::LSTMCell({.units = 3}), {.return_sequences = true}), {-1, 4}, {-1, -1, 3});
  check_layer("TimeDistributed(Dense)", nn::TimeDistributed(nn::Dense({.units = 2})), {-1, 4}, {-1, -1, 2});
  check_layer("Masking", nn::Masking(), {-1, 4}, {-1, -1, 4});
  check_layer("Dense", nn::Dense({.units = 2}), {-1, 4}, {-1, -1, 2});
  check_layer("Dropout", nn::Dropout({.rate = 0.5}), {-1, 4}, {-1, -1, 4});
  check_layer("Activation", nn::ActivationLayer("tanh"), {-1, 4}, {-1, -1, 4});
  check_layer("LayerNormalization", nn::LayerNormalization(), {-1, 4}, {-1, -1, 4});
  // Conv1D / pooling over an unknown length: the output length is unknown too.
  check_layer("Conv1D valid", nn::Conv1D({.filters = 5, .kernel_size = 3}), {-1, 4}, {-1, -1, 5},
              [](int64_t b, int64_t t) { return Shape{b, t - 2, 5}; });
  check_layer("Conv1D same stride 2", nn::Conv1D({.filters = 5, .kernel_size = 3, .strides = 2, .padding = Padding::Same}),
              {-1, 4}, {-1, -1, 5}, [](int64_t b, int64_t t) { return Shape{b, (t + 1) / 2, 5}; });
  check_layer("MaxPooling1D", nn::MaxPooling1D({.pool_size = 2}), {-1, 4}, {-1, -1, 4},
              [](int64_t b, int64_t t) { return Shape{b, t / 2, 4}; });
  check_layer("AveragePooling1D same", nn::AveragePooling1D({.pool_size = 2, .padding = Padding::Same}), {-1, 4},
              {-1, -1, 4}, [](int64_t b, int64_t t) { return Shape{b, (t + 1) / 2, 4}; });
  check_layer("GlobalAveragePooling1D", nn::GlobalAveragePooling1D(), {-1, 4}, {-1, 4},
              [](int64_t b, int64_t) { return Shape{b, 4}; });
  check_layer("GlobalMaxPooling1D", nn::GlobalMaxPooling1D(), {-1, 4}, {-1, 4},
              [](int64_t b, int64_t) { return Shape{b, 4}; });
  // Flatten of an unknown axis: the flattened size is unknown (Keras gives None too).
  check_layer("Flatten", nn::Flatten(), {-1, 4}, {-1, -1}, [](int64_t b, int64_t t) { return Shape{b, 4 * t}; });
  // Reshape that keeps the unknown axis as its -1 entry.
  check_layer("Reshape", nn::Reshape({-1, 2, 2}), {-1, 4}, {-1, -1, 2, 2});
}

TEST(UnknownDims, ElementwiseAndNormalizingLayersOverAnUnknownTimeAxis) {
  check_layer("ReLU", nn::ReLU(), {-1, 4}, {-1, -1, 4});
  check_layer("Softmax", nn::Softmax(), {-1, 4}, {-1, -1, 4});
  check_layer("LeakyReLU", nn::LeakyReLU(), {-1, 4}, {-1, -1, 4});
  check_layer("BatchNormalization", nn::BatchNormalization(), {-1, 4}, {-1, -1, 4});
  check_layer("GaussianNoise", nn::GaussianNoise({.stddev = 0.1}), {-1, 4}, {-1, -1, 4});
  check_layer("GaussianDropout", nn::GaussianDropout({.rate = 0.1}), {-1, 4}, {-1, -1, 4});
  check_layer("Rescaling", nn::Rescaling({.scale = 2.0}), {-1, 4}, {-1, -1, 4});
  check_layer("Normalization", nn::Normalization({.mean = {0.5}, .variance = {2.0}}), {-1, 4}, {-1, -1, 4});
  check_layer("StackedRNNCells", nn::RNN(nn::StackedRNNCells({nn::LSTMCell({.units = 3}), nn::GRUCell({.units = 2})}),
                                         {.return_sequences = true}),
              {-1, 4}, {-1, -1, 2});
  // Embedding's input_length accepts an unknown axis 1 when declared, and fixes each batch's.
  nn::reset_layer_names();
  auto ids = nn::Input({-1});
  nn::Model m({ids}, {nn::Embedding({.input_dim = 3, .output_dim = 2, .input_length = 7})(ids)});
  EXPECT_EQ(m.forward({zeros({2, 7})})[0].shape(), (Shape{2, 7, 2}));
  std::string msg = message_of<ShapeError>([&] { m.forward({zeros({2, 5})}); });
  EXPECT_TRUE(contains(msg, "(Embedding)") && contains(msg, "input_length")) << msg;
}

TEST(UnknownDims, ImageLayersOverUnknownHeightAndWidth) {
  // A fully convolutional stack: Input(shape=(None, None, 3)) like Keras's.
  nn::reset_layer_names();
  auto in = nn::Input({-1, -1, 3});
  auto x = nn::Conv2D({.filters = 4, .kernel_size = {3, 3}, .padding = Padding::Same})(in);
  x = nn::BatchNormalization()(x);
  x = nn::MaxPooling2D({.pool_size = {2, 2}})(x);
  x = nn::ZeroPadding2D()(x);
  x = nn::Cropping2D({.cropping = {{{1, 0}, {0, 1}}}})(x);
  x = nn::UpSampling2D()(x);
  x = nn::DepthwiseConv2D({.kernel_size = {3, 3}})(x);
  x = nn::SeparableConv2D({.filters = 5, .kernel_size = {3, 3}, .padding = Padding::Same})(x);
  x = nn::Conv2DTranspose({.filters = 2, .kernel_size = {3, 3}, .strides = {2, 2}})(x);
  x = nn::RandomFlip()(x);
  EXPECT_EQ(x.shape(), (Shape{-1, -1, -1, 2}));
  auto crop = nn::RandomCrop({.height = 4, .width = 4})(x);
  EXPECT_EQ(crop.shape(), (Shape{-1, 4, 4, 2}));
  auto out = nn::Dense({.units = 3})(nn::GlobalAveragePooling2D()(crop));
  EXPECT_EQ(out.shape(), (Shape{-1, 3}));
  nn::Model m({in}, {out, x});
  for (auto [h, w] : {std::pair<int64_t, int64_t>{8, 8}, {12, 10}}) {
    std::vector<Tensor> y = m.forward({random_f64({2, h, w, 3}, 1).to(f32)});
    EXPECT_EQ(y[0].shape(), (Shape{2, 3}));
    // Same conv: h; pool: h/2; pad: +2; crop: -1; upsample: x2; depthwise valid 3: -2; transpose stride 2 k 3: 2n+1.
    auto side = [](int64_t n, int64_t) { return 2 * (2 * (n / 2 + 2 - 1) - 2) + 1; };
    EXPECT_EQ(y[1].shape(), (Shape{2, side(h, 0), side(w, 0), 2})) << h << "x" << w;
  }
}

TEST(UnknownDims, LuongAttentionWithDotOverTwoUnknownLengths) {
  // scores = Dot(axes 2)(decoder, encoder) [b, Td, Te]; context = Dot(axes (2, 1))(softmax(scores), encoder).
  nn::reset_layer_names();
  auto enc_in = nn::Input({-1, 3}), dec_in = nn::Input({-1, 3});
  auto enc = nn::LSTM({.units = 4, .return_sequences = true})(enc_in);
  auto dec = nn::LSTM({.units = 4, .return_sequences = true})(dec_in);
  auto scores = nn::Dot({.axes = {2, 2}})(std::vector{dec, enc});
  EXPECT_EQ(scores.shape(), (Shape{-1, -1, -1}));
  auto context = nn::Dot({.axes = {2, 1}})(std::vector{nn::Softmax()(scores), enc});
  EXPECT_EQ(context.shape(), (Shape{-1, -1, 4}));
  auto out = nn::Dense({.units = 2})(nn::Concatenate()(std::vector{context, dec}));
  EXPECT_EQ(out.shape(), (Shape{-1, -1, 2}));
  for (auto m2 : {nn::Subtract()(std::vector{dec, context}), nn::Multiply()(std::vector{dec, context}),
                  nn::Average()(std::vector{dec, context}), nn::Maximum()(std::vector{dec, context}),
                  nn::Minimum()(std::vector{dec, context})}) {
    EXPECT_EQ(m2.shape(), (Shape{-1, -1, 4}));
  }
  nn::Model m({enc_in, dec_in}, {out, scores});
  std::vector<Tensor> y = m.forward({random_f64({2, 6, 3}, 1).to(f32), random_f64({2, 4, 3}, 2).to(f32)});
  EXPECT_EQ(y[0].shape(), (Shape{2, 4, 2}));
  EXPECT_EQ(y[1].shape(), (Shape{2, 4, 6}));
}

TEST(UnknownDims, CausalSelfAttentionOverAnUnknownLength) {
  nn::reset_layer_names();
  auto in = nn::Input({-1, 4});
  nn::LayerRef mha = nn::MultiHeadAttention({.num_heads = 2, .key_dim = 2, .use_causal_mask = true});
  auto out = mha(std::vector{in, in});
  EXPECT_EQ(out.shape(), (Shape{-1, -1, 4}));
  nn::Model m({in}, {out});
  // Causal: the first t steps' outputs do not depend on what comes after them.
  const Tensor x = random_f64({1, 7, 4}, 3).to(f32);
  const Tensor full = m.forward({x})[0];
  const Tensor head = m.forward({x.slice(1, 0, 3).contiguous()})[0];
  EXPECT_EQ(head.shape(), (Shape{1, 3, 4}));
  EXPECT_TRUE(all_close(head, full.slice(1, 0, 3).contiguous(), 1e-5, 1e-6));
}

TEST(UnknownDims, ReshapeToAFixedSizeIsCheckedPerBatch) {
  // Reshape((8,)) of (None, 4): Keras accepts it symbolically; each batch must then have T = 2.
  nn::reset_layer_names();
  auto in = nn::Input({-1, 4});
  auto out = nn::Reshape({8})(in);
  EXPECT_EQ(out.shape(), (Shape{-1, 8}));
  nn::Model m({in}, {nn::Dense({.units = 2})(out)});
  EXPECT_EQ(m.forward({zeros({3, 2, 4})})[0].shape(), (Shape{3, 2}));
  std::string msg = message_of<ShapeError>([&] { m.forward({zeros({3, 5, 4})}); });
  EXPECT_TRUE(contains(msg, "(Reshape)")) << msg;
}

TEST(UnknownDims, EmbeddingOfIdsOfUnknownLength) {
  nn::reset_layer_names();
  auto ids = nn::Input({-1}, "ids", i64);
  auto e = nn::Embedding({.input_dim = 10, .output_dim = 4})(ids);
  EXPECT_EQ(e.shape(), (Shape{-1, -1, 4}));
  auto h = nn::LSTM({.units = 3})(e);
  nn::Model m({ids}, {nn::Dense({.units = 2})(h)});
  EXPECT_EQ(m.forward({from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 6}, {2, 3})})[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(m.forward({from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}, {1, 10})})[0].shape(), (Shape{1, 2}));
  // i32 ids (Keras's int32 Input) give the same rows.
  nn::reset_layer_names();
  auto ids32 = nn::Input({-1}, "ids32", i32);
  auto emb = std::make_shared<nn::Embedding>(nn::EmbeddingOptions{.input_dim = 10, .output_dim = 4});
  nn::Model m32({ids32}, {nn::LayerRef(emb)(ids32)});
  const Tensor y32 = m32.forward({from_vector(std::vector<int32_t>{3, 0, 9}, {1, 3})})[0];
  EXPECT_TRUE(all_close(y32, (*emb)(from_vector(std::vector<int64_t>{3, 0, 9}, {1, 3})), 0, 0));
}

TEST(UnknownDims, MergeLayersAndAttentionOverAnUnknownTimeAxis) {
  nn::reset_layer_names();
  auto a = nn::Input({-1, 4}), b = nn::Input({-1, 4}), c = nn::Input({-1, 3});
  auto sum = nn::Add()(std::vector{a, b});
  EXPECT_EQ(sum.shape(), (Shape{-1, -1, 4}));
  auto cat = nn::Concatenate()(std::vector{sum, c});  // along the known feature axis
  EXPECT_EQ(cat.shape(), (Shape{-1, -1, 7}));
  auto att = nn::MultiHeadAttention({.num_heads = 2, .key_dim = 3})(std::vector{cat, cat});
  EXPECT_EQ(att.shape(), (Shape{-1, -1, 7}));
  nn::Model m({a, b, c}, {att});
  for (int64_t t : {2, 6}) {
    Tensor y = m.forward({random_f64({2, t, 4}, 1).to(f32), random_f64({2, t, 4}, 2).to(f32),
                          random_f64({2, t, 3}, 3).to(f32)})[0];
    EXPECT_EQ(y.shape(), (Shape{2, t, 7}));
  }
  // Concatenating along the unknown axis gives an unknown length.
  auto seq = nn::Concatenate({.axis = 1})(std::vector{a, b});
  EXPECT_EQ(seq.shape(), (Shape{-1, -1, 4}));
  // Query and value of different unknown lengths (cross-attention): the output follows the query.
  auto q = nn::Input({-1, 4}), v = nn::Input({-1, 4});
  auto cross = nn::MultiHeadAttention({.num_heads = 1, .key_dim = 2})(std::vector{q, v});
  nn::Model mc({q, v}, {cross});
  EXPECT_EQ(mc.forward({random_f64({2, 3, 4}, 4).to(f32), random_f64({2, 9, 4}, 5).to(f32)})[0].shape(),
            (Shape{2, 3, 4}));
}

// ------------------------------------------------------------------ what an unknown dim cannot do

TEST(UnknownDims, AWeightSizedByAnUnknownDimIsAShapeErrorNamingTheLayer) {
  nn::reset_layer_names();
  auto expect_error = [](const std::string& layer, auto&& make) {
    std::string m = message_of<ShapeError>(make);
    EXPECT_TRUE(contains(m, "(" + layer + ")") && contains(m, "None")) << layer << ": " << m;
  };
  // Flatten of (None, 4) is (None,): a following Dense has no input size for its kernel.
  expect_error("Dense", [] { nn::Dense({.units = 2})(nn::Flatten()(nn::Input({-1, 4}))); });
  // Unknown features (the last axis) would size the kernel of each of these.
  expect_error("Dense", [] { nn::Dense({.units = 2})(nn::Input({4, -1})); });
  expect_error("Conv1D", [] { nn::Conv1D({.filters = 2})(nn::Input({5, -1})); });
  expect_error("LSTM", [] { nn::LSTM({.units = 2})(nn::Input({5, -1})); });
  expect_error("RNN", [] { nn::RNN(nn::GRUCell({.units = 2}))(nn::Input({-1, -1})); });
  expect_error("SimpleRNN", [] { nn::Bidirectional(nn::SimpleRNN({.units = 2}))(nn::Input({-1, -1})); });
  expect_error("LayerNormalization", [] { nn::LayerNormalization()(nn::Input({5, -1})); });
  expect_error("MultiHeadAttention", [] {
    auto x = nn::Input({5, -1});
    nn::MultiHeadAttention({.num_heads = 1, .key_dim = 2})(std::vector{x, x});
  });
  expect_error("BatchNormalization", [] { nn::BatchNormalization()(nn::Input({5, -1})); });
  expect_error("Conv2D", [] { nn::Conv2D({.filters = 2, .kernel_size = {3, 3}})(nn::Input({-1, -1, -1})); });
  // Concatenating along the feature axis where one feature size is unknown: the sum is unknown,
  // and the Dense after it has no kernel size.
  expect_error("Dense", [] {
    nn::Dense({.units = 2})(nn::Concatenate()(std::vector{nn::Input({3, 4}), nn::Input({3, -1})}));
  });
}

TEST(UnknownDims, TwoDIsStillCheckedWhereItIsKnown) {
  // The unknown axis accepts any length, the known ones stay fixed.
  nn::reset_layer_names();
  auto in = nn::Input({-1, 4});
  nn::Model m({in}, {nn::LSTM({.units = 2})(in)});
  std::string msg = message_of<ShapeError>([&] { m.forward({zeros({2, 5, 3})}); });
  EXPECT_TRUE(contains(msg, "(None, None, 4)") && contains(msg, "[2,5,3]")) << msg;
}

// ------------------------------------------------------------------ running: equal to a fixed-T model

TEST(UnknownDims, AnyLengthGivesWhatAModelDeclaredWithThatLengthGives) {
  nn::reset_layer_names();
  auto in = nn::Input({-1, 8});
  auto out = nn::Dense({.units = 4})(nn::LSTM({.units = 16, .return_sequences = true})(in));
  EXPECT_EQ(out.shape(), (Shape{-1, -1, 4}));
  nn::Model any({in}, {out});
  for (int64_t t : {3, 11}) {
    auto fixed_in = nn::Input({t, 8});
    auto lstm = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 16, .return_sequences = true});
    auto dense = std::make_shared<nn::Dense>(nn::DenseOptions{.units = 4});
    nn::Model fixed({fixed_in}, {nn::LayerRef(dense)(nn::LayerRef(lstm)(fixed_in))});
    fixed.materialize_weights();
    any.materialize_weights();
    auto src = any.named_weights(), dst = fixed.named_weights();
    ASSERT_EQ(src.size(), dst.size());
    for (std::size_t i = 0; i < src.size(); ++i) dst[i].weight->value() = src[i].weight->value().clone();
    const Tensor x = random_f64({3, t, 8}, static_cast<uint64_t>(t)).to(f32);
    const Tensor y = any.forward({x})[0];
    ASSERT_EQ(y.shape(), (Shape{3, t, 4}));
    EXPECT_TRUE(all_close(y, fixed.forward({x})[0], 0, 0)) << "T = " << t;
  }
}

TEST(UnknownDims, PaddedBatchesOfAnyLengthWithMasking) {
  // The usual reason for an unknown time axis: each batch padded to its own longest sequence, the
  // padding masked. A sequence padded with zeros gives what it gives alone, unpadded.
  nn::reset_layer_names();
  auto in = nn::Input({-1, 3});
  nn::Model m({in}, {nn::LSTM({.units = 4})(nn::Masking()(in))});
  const Tensor seq = random_f64({1, 4, 3}, 21).to(f32);
  const Tensor alone = m.forward({seq})[0];
  for (int64_t pad : {1, 5}) {
    const Tensor padded = concat({seq, zeros({1, pad, 3})}, 1);
    const Tensor other = random_f64({1, 4 + pad, 3}, 22).to(f32);
    const Tensor y = m.forward({concat({other, padded}, 0)})[0];
    ASSERT_EQ(y.shape(), (Shape{2, 4}));
    EXPECT_TRUE(all_close(y.slice(0, 1, 2), alone, 1e-5, 1e-6)) << "padding " << pad;
  }
}

// ------------------------------------------------------------------ summary and Keras JSON

TEST(UnknownDims, SummaryPrintsNone) {
  nn::reset_layer_names();
  auto in = nn::Input({-1, 8});
  nn::Model m({in}, {nn::Dense({.units = 4})(nn::LSTM({.units = 16, .return_sequences = true})(in))});
  const std::string s = m.summary_string();
  EXPECT_TRUE(contains(s, "(None, None, 8)")) << s;
  EXPECT_TRUE(contains(s, "(None, None, 16)")) << s;
  EXPECT_TRUE(contains(s, "(None, None, 4)")) << s;
  EXPECT_EQ(m.count_params(), 4 * (16 * (8 + 16) + 16) + 16 * 4 + 4);
}

TEST(UnknownDims, KerasJsonNullDimsRoundTrip) {
  nn::reset_layer_names();
  auto in = nn::Input({-1, 8});
  nn::Model m({in}, {nn::Dense({.units = 4})(nn::LSTM({.units = 16, .return_sequences = true})(in))});
  nlohmann::json j = nn::model_config(m);
  const nlohmann::json& input_cfg = j["config"]["layers"][0]["config"];
  EXPECT_EQ(input_cfg["batch_input_shape"], nlohmann::json::parse("[null, null, 8]"));
  std::shared_ptr<nn::Model> back = nn::model_from_config(j);
  EXPECT_EQ(nn::model_config(*back), j);
  EXPECT_EQ(back->forward({zeros({2, 9, 8})})[0].shape(), (Shape{2, 9, 4}));
  // Keras 3 spells it batch_shape; and an int32 input for token ids reads as i32.
  nlohmann::json ids = {{"class_name", "InputLayer"},
                        {"config", {{"batch_shape", {nullptr, nullptr}}, {"dtype", "int32"}, {"name", "ids"}}}};
  nn::LayerPtr layer = nn::InputLayer::from_config(ids["config"]);
  EXPECT_EQ(std::dynamic_pointer_cast<nn::InputLayer>(layer)->output().shape(), (Shape{-1, -1}));
  EXPECT_EQ(std::dynamic_pointer_cast<nn::InputLayer>(layer)->output().dtype(), i32);
  // In JSON an unknown dimension is null: 0 and negative numbers stay errors naming the field.
  for (const char* bad : {"[null, 0, 8]", "[null, -1, 8]", "[null, \"x\", 8]"}) {
    nlohmann::json cfg = {{"batch_input_shape", nlohmann::json::parse(bad)}, {"name", "in"}};
    std::string m = message_of<FormatError>([&] { nn::InputLayer::from_config(cfg); });
    EXPECT_TRUE(contains(m, "batch_input_shape") && contains(m, "null")) << bad << ": " << m;
  }
}

TEST(UnknownDims, SequentialWithAnUnknownLength) {
  // Keras 2's older Sequential form: the first layer carries batch_input_shape [null, null].
  nn::reset_layer_names();
  auto m = nn::model_from_json(R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "Embedding", "config": {"name": "embedding", "batch_input_shape": [null, null], "dtype": "float32",
     "input_dim": 20, "output_dim": 3}},
    {"class_name": "GRU", "config": {"name": "gru", "units": 5}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]}})");
  const std::string summary = m->summary_string();
  for (const char* part : {"(None, None, 3)", "(None, 5)", "(None, 1)"}) {
    EXPECT_TRUE(contains(summary, part)) << part << " missing from\n" << summary;
  }
  EXPECT_EQ(m->forward({zeros({2, 4})})[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(m->forward({zeros({1, 30})})[0].shape(), (Shape{1, 1}));
  // Written back with an InputLayer entry that keeps the nulls.
  EXPECT_EQ(nn::model_config(*m)["config"]["layers"][0]["config"]["batch_input_shape"],
            nlohmann::json::parse("[null, null]"));
  // The C++ spelling.
  nn::reset_layer_names();
  nn::Sequential seq{nn::Input({-1, 8}), nn::LSTM({.units = 16, .return_sequences = true}), nn::Dense({.units = 4})};
  EXPECT_TRUE(contains(seq.summary_string(), "(None, None, 4)"));
  EXPECT_EQ(seq(zeros({2, 3, 8})).shape(), (Shape{2, 3, 4}));
}

TEST(UnknownDims, EveryKerasFixtureWithAnyInputDimUnknownLoadsOrFailsCleanly) {
  // The audit over the layer zoo of tests/fixtures/keras/: each non-batch input dimension of each
  // model made null in turn. Loading, the summary and the parameter count either work or throw an
  // ember::Error; when they work, a batch with that dimension at two lengths runs or throws one too.
  // Nothing else (no crash, no other exception, no weight sized by -1) is allowed.
  int models = 0, loaded = 0, ran = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::source_dir() + "/tests/fixtures/keras")) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("bad_", 0) == 0 || file.rfind("fuzz_", 0) == 0 || file == "tera_params.json") continue;
    const nlohmann::json original = nlohmann::json::parse(testing::read_file(entry.path()));
    // Paths to every batch_input_shape / batch_shape list in the file.
    std::vector<nlohmann::json::json_pointer> lists;
    std::vector<std::pair<nlohmann::json::json_pointer, const nlohmann::json*>> stack;
    stack.emplace_back(nlohmann::json::json_pointer(), &original);
    while (!stack.empty()) {
      auto [ptr, v] = stack.back();
      stack.pop_back();
      if (v->is_object()) {
        for (auto it = v->begin(); it != v->end(); ++it) {
          if ((it.key() == "batch_input_shape" || it.key() == "batch_shape") && it->is_array()) lists.push_back(ptr / it.key());
          else stack.push_back({ptr / it.key(), &*it});
        }
      } else if (v->is_array()) {
        for (std::size_t i = 0; i < v->size(); ++i) stack.push_back({ptr / i, &(*v)[i]});
      }
    }
    for (const auto& list : lists) {
      for (std::size_t d = 1; d < original.at(list).size(); ++d) {
        SCOPED_TRACE(file + " " + list.to_string() + "[" + std::to_string(d) + "] = null");
        nlohmann::json j = original;
        j.at(list)[d] = nullptr;
        ++models;
        try {
          nn::reset_layer_names();
          std::shared_ptr<nn::Model> m = nn::model_from_config(j);
          m->summary_string();
          m->count_params();
          ++loaded;
          if (m->symbolic_inputs().size() != 1) continue;
          for (int64_t n : {3, 4}) {
            Shape s = m->symbolic_inputs()[0].shape();
            for (int64_t& x : s) x = x < 0 ? n : x;
            s[0] = 2;
            if (numel(s) > (int64_t{1} << 20)) break;
            m->forward({zeros(s, m->symbolic_inputs()[0].dtype())});
          }
          ++ran;
        } catch (const Error& e) {
          // Must name a layer or a model: the message says where.
          const std::string msg = e.what();
          if (std::getenv("EMBER_AUDIT_VERBOSE")) std::printf("  %s\n", msg.c_str());  // the refusals, for reading
          EXPECT_TRUE(contains(msg, "layer '") || contains(msg, "model '") || contains(msg, "Input")) << msg;
        }
      }
    }
  }
  EXPECT_GE(models, 20);
  EXPECT_GT(ran, 5);
  std::printf("[ audit    ] %d variants, %d loaded, %d ran at two lengths\n", models, loaded, ran);
}

// ------------------------------------------------------------------ a tf.keras 2 encoder-decoder

// tests/fixtures/keras/seq2seq_unknown_time.json ("batch_input_shape": [null, null, F], LSTM
// return_state, initial_state) with the weights of tests/fixtures/seq2seq_unknown_time.json; both
// written by tests/fixtures/gen/seq2seq_unknown_time.py, the predictions by PyTorch.
std::shared_ptr<nn::Model> keras_seq2seq(const std::vector<testing::FixtureCase>& cases) {
  nn::reset_layer_names();
  auto model = nn::model_from_json_file(testing::source_dir() + "/tests/fixtures/keras/seq2seq_unknown_time.json");
  model->materialize_weights();
  const testing::FixtureCase& w = cases.at(0);
  EXPECT_EQ(w.name, "weights");
  int set = 0;
  for (const auto& nw : model->named_weights()) {
    nw.weight->value() = w.at(nw.name).to(f32);
    ++set;
  }
  EXPECT_EQ(set, 8);
  return model;
}

TEST(UnknownDims, KerasEncoderDecoderReadsRunsAtAnyLengthAndWritesBackEqual) {
  const std::vector<testing::FixtureCase> cases = testing::load_fixture("seq2seq_unknown_time.json");
  auto model = keras_seq2seq(cases);
  // Inputs (None, None, 5) and (None, None, 4); the decoder's outputs keep the unknown time axis.
  const std::string summary = model->summary_string();
  for (const char* part : {"(None, None, 5)", "(None, None, 4)", "(None, None, 6)", "(None, 6)"}) {
    EXPECT_TRUE(contains(summary, part)) << part << " missing from\n" << summary;
  }
  // 4·(6·(5+6)+6) + 4·(6·(4+6)+6) + (6·4+4)
  EXPECT_EQ(model->count_params(), 4 * (6 * 11 + 6) + 4 * (6 * 10 + 6) + 28);
  ASSERT_GE(cases.size(), 3u);
  for (std::size_t i = 1; i < cases.size(); ++i) {
    const testing::FixtureCase& c = cases[i];
    std::vector<Tensor> y = model->forward({c.at("x_enc").to(f32), c.at("x_dec").to(f32)});
    ASSERT_EQ(y.size(), 1u);
    EXPECT_TRUE(all_close(y[0], c.at("y"), 1e-5, 1e-6)) << c.name;
  }
  // Written back: the inputs keep their nulls, and the config reads back to itself.
  const nlohmann::json j = nn::model_config(*model);
  const nlohmann::json file = nlohmann::json::parse(
      testing::read_file(testing::source_dir() + "/tests/fixtures/keras/seq2seq_unknown_time.json"));
  for (int k : {0, 1}) {
    EXPECT_EQ(j["config"]["layers"][k]["config"]["batch_input_shape"],
              file["config"]["layers"][k]["config"]["batch_input_shape"]);
  }
  nn::reset_layer_names();
  EXPECT_EQ(nn::model_config(*nn::model_from_config(j)), j);
}

}  // namespace
}  // namespace ember
