// TF1's read_data_sets / Tf1DataSet.next_batch: the split, scaling, shapes and one-hot encoding from
// the definitions; next_batch's epoch algorithm checked on examples numbered 0..n-1 (sequential
// without shuffle; each epoch a permutation, a crossing batch = rest of the old + start of the new).
#include "ember/data/read_data_sets.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "ember/core/error.hpp"
#include "ember/data/idx.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {

data::Tf1DataSet numbered(int64_t n, uint64_t seed = 1) {
  Tensor x = Tensor::empty({n, 1}, i64), y = Tensor::empty({n}, i64);
  for (int64_t i = 0; i < n; ++i) x.data<int64_t>()[i] = y.data<int64_t>()[i] = i;
  return data::Tf1DataSet(x, y, seed);
}

std::vector<int64_t> ids(const Tensor& t) { return t.contiguous().to_vector<int64_t>(); }

bool is_permutation_of_range(std::vector<int64_t> v, int64_t n) {
  std::sort(v.begin(), v.end());
  std::vector<int64_t> want(static_cast<std::size_t>(n));
  std::iota(want.begin(), want.end(), int64_t{0});
  return v == want;
}

}  // namespace

TEST(ReadDataSets, NextBatchWithoutShuffleIsSequentialAndWraps) {
  auto ds = numbered(15);
  EXPECT_EQ(ids(ds.next_batch(10, false).first), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(ds.epochs_completed(), 0);
  auto [x, y] = ds.next_batch(10, false);
  EXPECT_EQ(ids(x), (std::vector<int64_t>{10, 11, 12, 13, 14, 0, 1, 2, 3, 4}));
  EXPECT_EQ(ids(y), ids(x));
  EXPECT_EQ(ds.epochs_completed(), 1);
  EXPECT_EQ(ids(ds.next_batch(3, false).first), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_THROW(ds.next_batch(0), ValueError);
  EXPECT_THROW(ds.next_batch(16), ValueError);
}

TEST(ReadDataSets, ShuffledEpochsArePermutationsAndCrossingBatchesJoinThem) {
  auto ds = numbered(10, 7);
  auto b1 = ids(ds.next_batch(4).first), b2 = ids(ds.next_batch(4).first);
  auto b3 = ds.next_batch(4);  // 2 from the first epoch, 2 from the second
  EXPECT_EQ(ds.epochs_completed(), 1);
  EXPECT_EQ(ids(b3.first), ids(b3.second));  // images and labels permuted together
  auto c = ids(b3.first);
  std::vector<int64_t> epoch1 = b1;
  epoch1.insert(epoch1.end(), b2.begin(), b2.end());
  epoch1.insert(epoch1.end(), c.begin(), c.begin() + 2);
  EXPECT_TRUE(is_permutation_of_range(epoch1, 10));
  EXPECT_NE(epoch1, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));  // shuffled (p = 1/10!)
  std::vector<int64_t> epoch2(c.begin() + 2, c.end());
  auto b4 = ids(ds.next_batch(4).first), b5 = ids(ds.next_batch(4).first);
  epoch2.insert(epoch2.end(), b4.begin(), b4.end());
  epoch2.insert(epoch2.end(), b5.begin(), b5.end());
  EXPECT_TRUE(is_permutation_of_range(epoch2, 10));
  EXPECT_EQ(ds.epochs_completed(), 1);
  // The same seed gives the same batches.
  auto again = numbered(10, 7);
  EXPECT_EQ(ids(again.next_batch(4).first), b1);
}

TEST(ReadDataSets, SplitScalingShapesAndOneHot) {
  auto dir = ember::testing::make_idx_dir("read_data_sets", 12, 4);
  auto raw = data::load_idx_dir(dir.string());
  auto ds = data::read_data_sets(dir.string(), {.validation_size = 5});
  EXPECT_EQ(ds.train.num_examples(), 7);
  EXPECT_EQ(ds.validation.num_examples(), 5);
  EXPECT_EQ(ds.test.num_examples(), 4);
  ASSERT_EQ(ds.validation.images().shape(), Shape({5, 784}));
  EXPECT_EQ(ds.validation.images().dtype(), f32);
  // Validation = the first 5 training examples, bytes / 255 (float32).
  const uint8_t* bytes = raw.train.images.contiguous().data<uint8_t>();
  const float* v = ds.validation.images().data<float>();
  for (int i = 0; i < 5 * 784; ++i) ASSERT_FLOAT_EQ(v[i], static_cast<float>(bytes[i]) * (1.0f / 255.0f)) << i;
  auto all = raw.train.labels.to(i64).to_vector<int64_t>();
  EXPECT_EQ(ds.validation.labels().to(i64).to_vector<int64_t>(), std::vector<int64_t>(all.begin(), all.begin() + 5));
  const float* t = ds.train.images().data<float>();  // train = examples 5..11
  for (int i = 0; i < 7 * 784; ++i) ASSERT_FLOAT_EQ(t[i], static_cast<float>(bytes[5 * 784 + i]) / 255.0f) << i;

  auto hot = data::read_data_sets(dir.string(), {.one_hot = true, .reshape = false, .validation_size = 0});
  EXPECT_EQ(hot.train.images().shape(), Shape({12, 28, 28, 1}));
  ASSERT_EQ(hot.train.labels().shape(), Shape({12, 10}));
  auto labels = raw.train.labels.to(i64).to_vector<int64_t>();
  for (int i = 0; i < 12; ++i)
    for (int k = 0; k < 10; ++k) EXPECT_EQ(hot.train.labels().data<float>()[i * 10 + k], k == labels[static_cast<std::size_t>(i)] ? 1.0f : 0.0f);
  // Batches of the u8 labels and f32 images move together.
  auto [bx, by] = ds.train.next_batch(7);
  EXPECT_EQ(bx.shape(), Shape({7, 784}));
  EXPECT_EQ(by.dtype(), u8);
  auto train_labels = std::vector<int64_t>(all.begin() + 5, all.end()), got = by.to(i64).to_vector<int64_t>();
  std::sort(train_labels.begin(), train_labels.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, train_labels);
  EXPECT_THROW(data::read_data_sets(dir.string(), {.validation_size = 13}), ValueError);
  EXPECT_THROW(data::read_data_sets(dir.string(), {.validation_size = -1}), ValueError);
  std::filesystem::remove_all(dir);
}
