// Splits (train_test_split, split_by_fractions), to_categorical and select_classes. Expected sizes
// are the arithmetic the header states (scikit-learn's ceil for the test part, largest remainder
// for fractions); the notes' ratios 70/30, 60/20/20, 98/1/1 and 99.5/0.4/0.1 are the cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ember/data/splits.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using data::SplitPart;
using testing::message_of;

// x[i] = [i, -i] (so a row names itself), y[i] = labels[i].
Tensor row_ids(int64_t n) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) {
    v.push_back(static_cast<double>(i));
    v.push_back(-static_cast<double>(i));
  }
  return from_vector(v, {n, 2}, f64);
}

std::vector<int64_t> ids_of(const Tensor& x) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < x.size(0); ++i) out.push_back(static_cast<int64_t>(x.at<double>({i, 0})));
  return out;
}

// Labels with class c appearing counts[c] times, interleaved (0,1,2,0,1,2,...) until a class runs out.
Tensor labels_with_counts(const std::vector<int64_t>& counts) {
  std::vector<int64_t> left = counts, y;
  bool any = true;
  while (any) {
    any = false;
    for (std::size_t c = 0; c < left.size(); ++c) {
      if (left[c] > 0) {
        y.push_back(static_cast<int64_t>(c));
        --left[c];
        any = true;
      }
    }
  }
  return from_vector(y, {static_cast<int64_t>(y.size())});
}

// Every row appears in exactly one part, with its own label.
void expect_partition(const std::vector<SplitPart>& parts, const Tensor& y, int64_t n) {
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  std::vector<int64_t> labels = y.to_vector<int64_t>();
  for (const SplitPart& p : parts) {
    std::vector<int64_t> ids = ids_of(p.x);
    std::vector<int64_t> py = p.y.to_vector<int64_t>();
    ASSERT_EQ(ids.size(), py.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ASSERT_GE(ids[i], 0);
      ASSERT_LT(ids[i], n);
      ++seen[static_cast<std::size_t>(ids[i])];
      EXPECT_EQ(py[i], labels[static_cast<std::size_t>(ids[i])]) << "row " << ids[i] << " lost its label";
    }
  }
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], 1) << "row " << i;
}

// ------------------------------------------------------------------ sizes

TEST(FractionSizes, TheNotesRatios) {
  EXPECT_EQ(data::fraction_sizes({0.7, 0.3}, 10), (std::vector<int64_t>{7, 3}));
  EXPECT_EQ(data::fraction_sizes({0.7, 0.3}, 1000), (std::vector<int64_t>{700, 300}));
  EXPECT_EQ(data::fraction_sizes({0.6, 0.2, 0.2}, 1000), (std::vector<int64_t>{600, 200, 200}));
  EXPECT_EQ(data::fraction_sizes({0.98, 0.01, 0.01}, 1000), (std::vector<int64_t>{980, 10, 10}));
  EXPECT_EQ(data::fraction_sizes({0.995, 0.004, 0.001}, 1000), (std::vector<int64_t>{995, 4, 1}));
  EXPECT_EQ(data::fraction_sizes({0.995, 0.004, 0.001}, 60000), (std::vector<int64_t>{59700, 240, 60}));
}

TEST(FractionSizes, LargestRemainderAddsUpToN) {
  // 0.6*7 = 4.2, 0.2*7 = 1.4, 1.4: floors 4+1+1 = 6, one row left -> the largest remainder, a tie
  // of 0.4 and 0.4 (0.2 is smaller) -> the earlier part.
  EXPECT_EQ(data::fraction_sizes({0.6, 0.2, 0.2}, 7), (std::vector<int64_t>{4, 2, 1}));
  // 0.98*101 = 98.98, 1.01, 1.01: floors 98+1+1 = 100; the left row goes to part 0 (.98).
  EXPECT_EQ(data::fraction_sizes({0.98, 0.01, 0.01}, 101), (std::vector<int64_t>{99, 1, 1}));
  // Thirds of 100: 33.33 each, one row left -> part 0.
  EXPECT_EQ(data::fraction_sizes({1.0 / 3, 1.0 / 3, 1.0 / 3}, 100), (std::vector<int64_t>{34, 33, 33}));
  for (int64_t n = 3; n < 400; n += 7) {
    auto s = data::fraction_sizes({0.5, 0.3, 0.2}, n);
    EXPECT_EQ(s[0] + s[1] + s[2], n);
    EXPECT_LE(std::abs(static_cast<double>(s[1]) - 0.3 * static_cast<double>(n)), 1.0) << n;
  }
}

TEST(FractionSizes, BadFractionsAndEmptyParts) {
  EXPECT_NE(message_of<ValueError>([] { data::fraction_sizes({0.6, 0.3}, 10); }).find("sum to 1"), std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { data::fraction_sizes({1.0}, 10); }).find("at least 2"), std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { data::fraction_sizes({1.2, -0.2}, 10); }).find("(0, 1)"), std::string::npos);
  // 99.5/0.4/0.1 of 100 rows: quotas 99.5, 0.4, 0.1; the one row left over goes to the largest
  // remainder (0.5, part 0), so parts 1 and 2 are empty; the first is named.
  EXPECT_EQ(message_of<ValueError>([] { data::fraction_sizes({0.995, 0.004, 0.001}, 100); }),
            "split_by_fractions: part 1 (fraction 0.004000) of 100 rows would be empty");
}

// ------------------------------------------------------------------ train_test_split

TEST(TrainTestSplit, SeventyThirtyIsAPartitionAndDeterministic) {
  Tensor x = row_ids(10), y = arange(10);
  auto s = data::train_test_split(x, y, {.test_size = 0.3, .seed = 5});
  EXPECT_EQ(s.x_train.shape(), (Shape{7, 2}));
  EXPECT_EQ(s.x_test.shape(), (Shape{3, 2}));
  expect_partition({{s.x_train, s.y_train}, {s.x_test, s.y_test}}, y, 10);
  auto again = data::train_test_split(x, y, {.test_size = 0.3, .seed = 5});
  EXPECT_EQ(ids_of(again.x_test), ids_of(s.x_test));
  auto other = data::train_test_split(x, y, {.test_size = 0.3, .seed = 6});
  EXPECT_NE(ids_of(other.x_train), ids_of(s.x_train));
}

TEST(TrainTestSplit, SizesFollowScikitLearn) {
  Tensor x = row_ids(10);
  // n_test = ceil(0.25 * 10) = 3 (the default test_size), ceil(0.21 * 10) = 3, ceil(0.01 * 10) = 1.
  EXPECT_EQ(data::train_test_split(x, Tensor()).x_test.size(0), 3);
  EXPECT_EQ(data::train_test_split(x, Tensor(), {.test_size = 0.21}).x_test.size(0), 3);
  EXPECT_EQ(data::train_test_split(x, Tensor(), {.test_size = 0.01}).x_test.size(0), 1);
  // An integer is a count.
  auto s = data::train_test_split(x, Tensor(), {.test_size = int64_t{4}});
  EXPECT_EQ(s.x_test.size(0), 4);
  EXPECT_EQ(s.x_train.size(0), 6);
  EXPECT_FALSE(s.y_train.defined());
}

TEST(TrainTestSplit, NoShuffleKeepsOrder) {
  Tensor x = row_ids(10);
  auto s = data::train_test_split(x, arange(10), {.test_size = 0.3, .shuffle = false});
  EXPECT_EQ(ids_of(s.x_train), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ids_of(s.x_test), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(s.y_test.to_vector<int64_t>(), (std::vector<int64_t>{7, 8, 9}));
}

TEST(TrainTestSplit, StratifiedKeepsProportions) {
  // 60 of class 0, 30 of class 1, 10 of class 2; 30 % test: 18, 9, 3 exactly.
  Tensor y = labels_with_counts({60, 30, 10});
  Tensor x = row_ids(100);
  auto s = data::train_test_split(x, y, {.test_size = 0.3, .seed = 1, .stratify = true});
  std::map<int64_t, int> test_count;
  for (int64_t v : s.y_test.to_vector<int64_t>()) ++test_count[v];
  EXPECT_EQ(test_count[0], 18);
  EXPECT_EQ(test_count[1], 9);
  EXPECT_EQ(test_count[2], 3);
  expect_partition({{s.x_train, s.y_train}, {s.x_test, s.y_test}}, y, 100);
}

TEST(TrainTestSplit, BadSizesAndShapes) {
  Tensor x = row_ids(10);
  EXPECT_EQ(message_of<ValueError>([&] { data::train_test_split(x, Tensor(), {.test_size = int64_t{10}}); }),
            "train_test_split: test_size 10 must be in [1, 9] for 10 rows (both parts non-empty)");
  EXPECT_NE(message_of<ValueError>([&] { data::train_test_split(x, Tensor(), {.test_size = 1.5}); }).find("(0, 1)"),
            std::string::npos);
  // ceil(0.95 * 10) = 10 test rows leaves no train row.
  EXPECT_NE(message_of<ValueError>([&] { data::train_test_split(x, Tensor(), {.test_size = 0.95}); }).find("at least 1"),
            std::string::npos);
  EXPECT_EQ(message_of<ShapeError>([&] { data::train_test_split(x, arange(9)); }),
            "train_test_split: x has 10 rows but y has shape [9] (expected 10 rows)");
  EXPECT_NE(message_of<ValueError>([&] { data::train_test_split(x, Tensor(), {.stratify = true}); }).find("needs labels"),
            std::string::npos);
  Tensor frac = from_vector(std::vector<double>{0, 1, 0.5, 0, 1, 0, 1, 0, 1, 0}, {10}, f64);
  EXPECT_NE(message_of<ValueError>([&] { data::train_test_split(x, frac, {.stratify = true}); }).find("label 2 is 0.5"),
            std::string::npos);
}

// ------------------------------------------------------------------ split_by_fractions

struct FractionCase {
  std::vector<double> fractions;
  std::vector<int64_t> class_counts;
};

class StratifiedFractions : public ::testing::TestWithParam<FractionCase> {};

TEST_P(StratifiedFractions, SizesAddUpAndEveryClassWithinOne) {
  const FractionCase& c = GetParam();
  Tensor y = labels_with_counts(c.class_counts).to(i32);
  int64_t n = y.size(0);
  Tensor x = row_ids(n);
  auto parts = data::split_by_fractions(x, y, c.fractions, {.seed = 3, .stratify = true});
  ASSERT_EQ(parts.size(), c.fractions.size());
  auto sizes = data::fraction_sizes(c.fractions, n);
  for (std::size_t p = 0; p < parts.size(); ++p) {
    EXPECT_EQ(parts[p].x.size(0), sizes[p]) << "part " << p;
    std::map<int64_t, int64_t> count;
    for (int64_t v : parts[p].y.to_vector<int64_t>()) ++count[v];
    for (std::size_t k = 0; k < c.class_counts.size(); ++k) {
      double want = c.fractions[p] * static_cast<double>(c.class_counts[k]);
      EXPECT_LE(std::abs(static_cast<double>(count[static_cast<int64_t>(k)]) - want), 1.0 + 1e-9)
          << "part " << p << " class " << k << ": " << count[static_cast<int64_t>(k)] << " vs " << want;
    }
  }
  std::vector<SplitPart> as_i64;
  for (const auto& p : parts) as_i64.push_back({p.x, p.y.to(i64)});
  expect_partition(as_i64, y.to(i64), n);
}

INSTANTIATE_TEST_SUITE_P(
    NotesRatios, StratifiedFractions,
    ::testing::Values(FractionCase{{0.7, 0.3}, {50, 30, 20}}, FractionCase{{0.7, 0.3}, {7, 5, 3, 1}},
                      FractionCase{{0.6, 0.2, 0.2}, {100, 60, 40}}, FractionCase{{0.6, 0.2, 0.2}, {13, 11, 7, 3, 2}},
                      FractionCase{{0.98, 0.01, 0.01}, {500, 300, 200}},
                      FractionCase{{0.98, 0.01, 0.01}, {333, 333, 334, 57}},
                      FractionCase{{0.995, 0.004, 0.001}, {400, 300, 200, 100}},
                      FractionCase{{0.995, 0.004, 0.001}, {1234, 777, 501, 89, 7}}));

TEST(SplitByFractions, UnstratifiedSixtyTwentyTwenty) {
  Tensor x = row_ids(50);
  Tensor y = arange(50);
  auto parts = data::split_by_fractions(x, y, {0.6, 0.2, 0.2}, {.seed = 9});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].x.size(0), 30);
  EXPECT_EQ(parts[1].x.size(0), 10);
  EXPECT_EQ(parts[2].x.size(0), 10);
  expect_partition(parts, y, 50);
  auto in_order = data::split_by_fractions(x, y, {0.6, 0.2, 0.2}, {.shuffle = false});
  EXPECT_EQ(ids_of(in_order[2].x), (std::vector<int64_t>{40, 41, 42, 43, 44, 45, 46, 47, 48, 49}));
}

TEST(SplitByFractions, StratifiedWithoutShuffleTakesEachClassInOrder) {
  // y = 0,1,0,1,...: 70/30 of 10 rows per class -> the first 7 of each class train, the last 3 test.
  Tensor y = labels_with_counts({10, 10});
  auto parts = data::split_by_fractions(row_ids(20), y, {0.7, 0.3}, {.shuffle = false, .stratify = true});
  EXPECT_EQ(ids_of(parts[1].x), (std::vector<int64_t>{14, 15, 16, 17, 18, 19}));
}

// ------------------------------------------------------------------ to_categorical, select_classes

TEST(ToCategorical, OneHotRowsAsKeras) {
  Tensor y = from_vector(std::vector<int64_t>{2, 0, 1}, {3});
  Tensor c = data::to_categorical(y);
  EXPECT_EQ(c.dtype(), f32);
  EXPECT_EQ(c.shape(), (Shape{3, 3}));
  EXPECT_EQ(c.to_vector<double>(), (std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0}));
  // num_classes wider than max + 1; [N, 1] labels give [N, C]; u8 labels work.
  Tensor u = from_vector(std::vector<uint8_t>{1, 3}, {2, 1});
  Tensor cu = data::to_categorical(u, 5);
  EXPECT_EQ(cu.shape(), (Shape{2, 5}));
  EXPECT_EQ(cu.to_vector<double>(), (std::vector<double>{0, 1, 0, 0, 0, 0, 0, 0, 1, 0}));
}

TEST(ToCategorical, OutOfRangeAndNonInteger) {
  Tensor y = from_vector(std::vector<int64_t>{0, 3}, {2});
  EXPECT_EQ(message_of<ValueError>([&] { data::to_categorical(y, 3); }),
            "to_categorical: label at flat index 1 is 3, expected one in [0, 3)");
  Tensor neg = from_vector(std::vector<int64_t>{0, -1}, {2});
  EXPECT_NE(message_of<ValueError>([&] { data::to_categorical(neg); }).find("non-negative integer"), std::string::npos);
  Tensor half = from_vector(std::vector<double>{0.5}, {1}, f64);
  EXPECT_NE(message_of<ValueError>([&] { data::to_categorical(half); }).find("is 0.5"), std::string::npos);
}

TEST(SelectClasses, TheNotesDigitsZeroOneTwo) {
  Tensor y = from_vector(std::vector<uint8_t>{5, 0, 2, 9, 1, 2, 7, 0}, {8});
  Tensor x = row_ids(8);
  SplitPart s = data::select_classes(x, y, {0, 1, 2});
  EXPECT_EQ(ids_of(s.x), (std::vector<int64_t>{1, 2, 4, 5, 7}));
  EXPECT_EQ(s.y.dtype(), u8);
  EXPECT_EQ(s.y.to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 1, 2, 0}));
  // Relabelled to positions in the list: 7 -> 0, 2 -> 1.
  SplitPart r = data::select_classes(x, y, {7, 2}, {.relabel = true});
  EXPECT_EQ(ids_of(r.x), (std::vector<int64_t>{2, 5, 6}));
  EXPECT_EQ(r.y.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(r.y.dtype(), i64);
}

TEST(SelectClasses, BadArguments) {
  Tensor y = arange(4);
  Tensor x = row_ids(4);
  EXPECT_EQ(message_of<ValueError>([&] { data::select_classes(x, y, {1, 1}); }),
            "select_classes: class 1 is listed twice");
  EXPECT_NE(message_of<ValueError>([&] { data::select_classes(x, y, {}); }).find("at least one"), std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { data::select_classes(x, arange(3), {0}); }).find("x has 4 rows"),
            std::string::npos);
  EXPECT_EQ(data::select_classes(x, y, {42}).x.size(0), 0);
}

}  // namespace
}  // namespace ember
