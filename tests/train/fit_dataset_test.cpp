// fit / evaluate / predict on a data::Dataset: the same numbers as with tensors for the same batch
// order, and Keras 2's steps_per_epoch rule (one iterator across epochs unless the steps are the
// dataset's length; training stops when the data runs out).
#include <map>
#include <vector>

#include "ember/data/dataset.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
using data::Dataset;
using data::Element;

namespace {

// Points in [-1, 1)^2 labelled by their larger coordinate.
struct XY {
  Tensor x, y;
};
XY blobs(int64_t n, uint64_t seed) {
  Generator g(seed);
  Tensor x = rand({n, 2}, {.low = -1, .high = 1, .generator = &g});
  return {x, x.argmax(1)};
}

std::shared_ptr<nn::Sequential> model(uint64_t seed) {
  manual_seed(seed);
  nn::reset_layer_names();
  auto m = std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({2}), nn::Dense({.units = 8, .activation = Activation::Tanh}), nn::Dense({.units = 2})});
  m->compile({.optimizer = optim::Adam({.learning_rate = 0.01}),
              .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
              .metrics = {"accuracy"}});
  return m;
}

std::map<std::string, std::vector<float>> weights(nn::Model& m) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& w : m.named_weights()) out[w.name] = w.weight->value().to_vector<float>();
  return out;
}

// The first label of every batch a fit pulls, to see which batches were used in which order.
Dataset recording(const Dataset& ds, std::vector<int64_t>& seen) {
  return ds.map([&seen](Element e) {
    seen.push_back(e[1].to_vector<int64_t>()[0]);
    return e;
  });
}

}  // namespace

// The brief's check: the same batches in the same order give bit-identical weights and history
// (100 samples: three batches of 32 and one of 4 per epoch; validation each epoch).
TEST(FitDataset, SameResultsAsTensorsForTheSameOrder) {
  XY d = blobs(100, 1), v = blobs(40, 2);
  auto a = model(7);
  auto ha = a->fit(d.x, d.y, {.batch_size = 32, .epochs = 3, .verbose = 0, .validation_data = std::make_pair(v.x, v.y),
                              .shuffle = false});
  auto b = model(7);
  auto hb = b->fit(Dataset::from_tensor_slices({d.x, d.y}).batch(32),
                   {.epochs = 3, .verbose = 0, .validation_dataset = Dataset::from_tensor_slices({v.x, v.y}).batch(32)});
  EXPECT_EQ(weights(*a), weights(*b));
  EXPECT_EQ(ha.history, hb.history);
  EXPECT_EQ(ha.epoch, hb.epoch);
  ASSERT_EQ(hb.history.at("val_loss").size(), 3u);
  // A parallel, prefetched pipeline gives the same batches, so the same numbers.
  auto c = model(7);
  Dataset piped = Dataset::from_tensor_slices({d.x, d.y})
                      .map([](Element e) { return e; }, {.num_parallel_calls = 3})
                      .batch(32)
                      .prefetch(2);
  auto hc = c->fit(piped, {.epochs = 3, .verbose = 0, .validation_data = std::make_pair(v.x, v.y)});
  EXPECT_EQ(weights(*a), weights(*c));
  EXPECT_EQ(ha.history, hc.history);
  // evaluate and predict agree with the tensor forms too.
  EXPECT_EQ(a->evaluate(v.x, v.y, {.batch_size = 32}), b->evaluate(Dataset::from_tensor_slices({v.x, v.y}).batch(32), {}));
  Tensor pa = a->predict(v.x, {.batch_size = 16});
  Tensor pb = b->predict(Dataset::from_tensor_slices({v.x}).batch(16), {});
  EXPECT_EQ(pa.shape(), pb.shape());
  EXPECT_EQ(pa.to_vector<float>(), pb.to_vector<float>());
}

TEST(FitDataset, StepsPerEpochContinuesOneIteratorAcrossEpochs) {
  // 10 batches of one sample each; the label of batch k is k.
  XY d = blobs(10, 3);
  Tensor ids = arange(10);
  std::vector<int64_t> seen;
  auto m = model(1);
  auto h = m->fit(recording(Dataset::from_tensor_slices({d.x, ids}).batch(1), seen).map([](Element e) {
    return Element{e[0], e[1].mul(0)};  // train on label 0; the ids only record the order
  }),
                  {.epochs = 3, .verbose = 0, .steps_per_epoch = 3});
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(h.epoch.size(), 3u);

  // steps_per_epoch equal to the length: a new pass each epoch (Keras's exception).
  seen.clear();
  m->fit(recording(Dataset::from_tensor_slices({d.x, ids.mul(0)}).batch(5), seen), {.epochs = 2, .verbose = 0, .steps_per_epoch = 2});
  EXPECT_EQ(seen.size(), 4u);

  // Running out: 10 batches, 4 per epoch, 5 epochs asked -> epochs of 4, 4, 2, then training stops.
  seen.clear();
  ::testing::internal::CaptureStderr();
  auto h2 = m->fit(recording(Dataset::from_tensor_slices({d.x, ids}).batch(1), seen).map([](Element e) {
    return Element{e[0], e[1].mul(0)};
  }),
                   {.epochs = 5, .verbose = 0, .steps_per_epoch = 4});
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(h2.epoch, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_NE(err.find("ran out of data"), std::string::npos) << err;

  // Without steps_per_epoch every epoch is one whole pass.
  seen.clear();
  m->fit(recording(Dataset::from_tensor_slices({d.x, ids.mul(0)}).batch(4), seen), {.epochs = 2, .verbose = 0});
  EXPECT_EQ(seen.size(), 6u);  // 3 batches (4, 4, 2) per epoch
}

TEST(FitDataset, BadUseIsAValueError) {
  XY d = blobs(8, 4);
  auto m = model(2);
  Dataset ds = Dataset::from_tensor_slices({d.x, d.y}).batch(4);
  EXPECT_THROW(m->fit(ds.repeat(), {.verbose = 0}), ValueError);  // infinite without steps_per_epoch
  EXPECT_NO_THROW(m->fit(ds.repeat(), {.verbose = 0, .steps_per_epoch = 2}));
  EXPECT_THROW(m->fit(Dataset::from_tensor_slices({d.x}).batch(4), {.verbose = 0}), ValueError);  // no y
  EXPECT_THROW(m->fit(ds, {.verbose = 0, .validation_split = 0.5}), ValueError);
  EXPECT_THROW(m->fit(ds, {.verbose = 0, .steps_per_epoch = 0}), ValueError);
  EXPECT_THROW(m->fit(ds.take(0), {.verbose = 0}), ValueError);  // no batch at all
  EXPECT_THROW(m->fit(d.x, d.y, {.verbose = 0, .steps_per_epoch = 2}), ValueError);  // tensors: not supported
  EXPECT_THROW(m->evaluate(ds, {.steps = 0}), ValueError);
  // A pipeline error surfaces from fit as the ember::Error it is.
  Dataset failing = ds.map([](Element) -> Element { throw ShapeError("augmentation failed"); }, {.num_parallel_calls = 2});
  EXPECT_THROW(m->fit(failing, {.verbose = 0}), ShapeError);
  // A checkpoint-restored fit state cannot go on with a Dataset.
  m->training_state()->resume = train::FitResume{};
  EXPECT_THROW(m->fit(ds, {.verbose = 0}), ValueError);
}

TEST(FitDataset, EvaluateAndPredictTakeSteps) {
  XY d = blobs(12, 5);
  auto m = model(3);
  Dataset ds = Dataset::from_tensor_slices({d.x, d.y}).batch(4);
  // Two steps = the first 8 samples.
  auto two = m->evaluate(ds, {.steps = 2});
  auto first8 = m->evaluate(d.x.slice(0, 0, 8), d.y.slice(0, 0, 8), {.batch_size = 4});
  EXPECT_EQ(two, first8);
  EXPECT_EQ(m->predict(ds, {.steps = 2}).shape(), (Shape{8, 2}));
  EXPECT_EQ(m->predict(ds, {}).shape(), (Shape{12, 2}));  // (x, y) elements: y ignored
  EXPECT_THROW(m->predict(ds.take(0), {}), ValueError);
}
