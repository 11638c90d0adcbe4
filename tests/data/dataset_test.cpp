// data::Dataset (tf.data-style pipelines): every transformation's values from arithmetic on
// range()/from_tensor_slices inputs, tf.data's documented edge cases, determinism across worker
// counts, early exit and exceptions from worker threads.
#include "ember/data/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"

using namespace ember;
using data::Dataset;
using data::Element;

namespace {

// The single i64 component of every element, in order.
std::vector<int64_t> values(const Dataset& ds) {
  std::vector<int64_t> out;
  for (Element& e : ds) {
    EXPECT_EQ(e.size(), 1u);
    out.push_back(e[0].item<int64_t>());
  }
  return out;
}

std::vector<int64_t> iota(int64_t a, int64_t b) {
  std::vector<int64_t> v;
  for (int64_t i = a; i < b; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST(Dataset, RangeAndCardinality) {
  EXPECT_EQ(values(Dataset::range(5)), iota(0, 5));
  EXPECT_EQ(values(Dataset::range(2, 9, 3)), (std::vector<int64_t>{2, 5, 8}));
  EXPECT_EQ(values(Dataset::range(5, 0, -2)), (std::vector<int64_t>{5, 3, 1}));
  EXPECT_EQ(Dataset::range(2, 9, 3).cardinality(), 3);
  EXPECT_EQ(Dataset::range(5, 0, -2).cardinality(), 3);
  EXPECT_EQ(Dataset::range(3, 3).cardinality(), 0);
  EXPECT_THROW(Dataset::range(0, 3, 0), ValueError);
}

TEST(Dataset, FromTensorSlicesGivesRowsOfEveryComponent) {
  Tensor x = from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {3, 2});
  Tensor y = from_vector(std::vector<int64_t>{7, 8, 9}, {3});
  Dataset ds = Dataset::from_tensor_slices({x, y});
  EXPECT_EQ(ds.cardinality(), 3);
  int64_t i = 0;
  for (Element& e : ds) {
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].shape(), (Shape{2}));
    EXPECT_EQ(e[0].to_vector<float>(), (std::vector<float>{float(2 * i), float(2 * i + 1)}));
    EXPECT_EQ(e[1].dim(), 0);
    EXPECT_EQ(e[1].item<int64_t>(), 7 + i);
    ++i;
  }
  EXPECT_EQ(i, 3);
  // from_tensors: one element, the tensors whole.
  Dataset one = Dataset::from_tensors({x, y});
  EXPECT_EQ(one.cardinality(), 1);
  int n = 0;
  for (Element& e : one) {
    EXPECT_EQ(e[0].shape(), (Shape{3, 2}));
    EXPECT_EQ(e[1].shape(), (Shape{3}));
    ++n;
  }
  EXPECT_EQ(n, 1);
}

TEST(Dataset, FromTensorSlicesRejectsBadComponents) {
  try {
    Dataset::from_tensor_slices({zeros({3, 2}), zeros({4})});
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[3,2]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Dataset::from_tensor_slices({scalar_tensor(1)}), ShapeError);
  EXPECT_THROW(Dataset::from_tensor_slices({}), ValueError);
  EXPECT_THROW(Dataset::from_tensor_slices({Tensor()}), ValueError);
}

TEST(Dataset, MapAppliesTheFunctionInOrder) {
  auto sq = [](Element e) { return Element{e[0].mul(e[0])}; };
  for (int64_t threads : {int64_t{1}, int64_t{2}, int64_t{4}, data::kAutotune}) {
    std::vector<int64_t> want;
    for (int64_t i = 0; i < 50; ++i) want.push_back(i * i);
    EXPECT_EQ(values(Dataset::range(50).map(sq, {.num_parallel_calls = threads})), want) << threads;
  }
  // A map may change the number of components.
  Dataset two = Dataset::range(3).map([](Element e) { return Element{e[0], e[0].add(10)}; });
  int64_t i = 0;
  for (Element& e : two) {
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[1].item<int64_t>(), i + 10);
    ++i;
  }
  EXPECT_THROW(Dataset::range(3).map(data::Dataset::MapFn{}), ValueError);
  EXPECT_THROW(Dataset::range(3).map([](Element e) { return e; }, {.num_parallel_calls = 0}), ValueError);
}

// The per-element Generator depends on (seed, pass, index) only: the same draws at 1, 2 and 4
// threads, different ones for another seed or another pass.
TEST(Dataset, RandomMapIsDeterministicAcrossWorkerCounts) {
  auto noisy = [](Element e, Generator& g) {
    return Element{e[0], scalar_tensor(static_cast<double>(g.next_u64() >> 11), f64)};
  };
  auto draws = [](const Dataset& ds) {
    std::vector<double> out;
    for (Element& e : ds) out.push_back(e[1].item<double>());
    return out;
  };
  std::vector<double> ref = draws(Dataset::range(40).map(noisy, {.num_parallel_calls = 1, .seed = 7}));
  ASSERT_EQ(ref.size(), 40u);
  for (int64_t threads : {2, 4}) {
    EXPECT_EQ(draws(Dataset::range(40).map(noisy, {.num_parallel_calls = threads, .seed = 7})), ref) << threads;
  }
  // Element k's generator is Generator(derive(seed, pass, k)): draws of distinct elements differ.
  EXPECT_EQ(std::set<double>(ref.begin(), ref.end()).size(), ref.size());
  EXPECT_NE(draws(Dataset::range(40).map(noisy, {.seed = 8})), ref);
  // A second pass of the same dataset is pass 1: new draws; a fresh dataset's first pass repeats.
  Dataset ds = Dataset::range(40).map(noisy, {.num_parallel_calls = 3, .seed = 7});
  EXPECT_EQ(draws(ds), ref);
  EXPECT_NE(draws(ds), ref);
  // Unseeded maps take their seed from default_generator() when created.
  manual_seed(123);
  std::vector<double> a = draws(Dataset::range(10).map(noisy));
  manual_seed(123);
  EXPECT_EQ(draws(Dataset::range(10).map(noisy, {.num_parallel_calls = 2})), a);
}

TEST(Dataset, FilterKeepsMatchingElements) {
  Dataset ds = Dataset::range(10).filter([](const Element& e) { return e[0].item<int64_t>() % 3 == 0; });
  EXPECT_EQ(values(ds), (std::vector<int64_t>{0, 3, 6, 9}));
  EXPECT_EQ(ds.cardinality(), data::kUnknownCardinality);
}

TEST(Dataset, ShuffleIsAPermutationFixedBySeed) {
  Dataset ds = Dataset::range(100).shuffle(100, {.seed = 42});
  std::vector<int64_t> a = values(ds), b = values(ds);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota(0, 100));
  EXPECT_NE(a, iota(0, 100));
  EXPECT_NE(a, b);  // reshuffle_each_iteration: pass 1 has another order
  // The same seed in a new dataset gives the same orders, pass by pass.
  Dataset again = Dataset::range(100).shuffle(100, {.seed = 42});
  EXPECT_EQ(values(again), a);
  EXPECT_EQ(values(again), b);
  // Without reshuffling every pass has one order.
  Dataset fixed = Dataset::range(100).shuffle(100, {.seed = 42, .reshuffle_each_iteration = false});
  std::vector<int64_t> f = values(fixed);
  EXPECT_EQ(values(fixed), f);
  // buffer_size 1 keeps the order; a small buffer moves an element at most buffer_size - 1 places
  // earlier (element i can only leave once the buffer has pulled up to index i).
  EXPECT_EQ(values(Dataset::range(20).shuffle(1, {.seed = 3})), iota(0, 20));
  std::vector<int64_t> s = values(Dataset::range(50).shuffle(4, {.seed = 3}));
  for (std::size_t pos = 0; pos < s.size(); ++pos) EXPECT_LE(s[pos], static_cast<int64_t>(pos) + 3);
  EXPECT_THROW(Dataset::range(3).shuffle(0), ValueError);
}

TEST(Dataset, BatchStacksEachComponent) {
  Tensor x = arange(0, 14, 1, f32).reshape({7, 2});
  Tensor y = arange(7);
  Dataset ds = Dataset::from_tensor_slices({x, y}).batch(3);
  EXPECT_EQ(ds.cardinality(), 3);
  std::vector<Shape> shapes;
  std::vector<std::vector<int64_t>> labels;
  for (Element& b : ds) {
    shapes.push_back(b[0].shape());
    labels.push_back(b[1].to_vector<int64_t>());
  }
  ASSERT_EQ(shapes.size(), 3u);
  EXPECT_EQ(shapes[0], (Shape{3, 2}));
  EXPECT_EQ(shapes[2], (Shape{1, 2}));  // the remainder is kept
  EXPECT_EQ(labels[1], (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(labels[2], (std::vector<int64_t>{6}));
  int n = 0;
  for (Element& b : Dataset::from_tensor_slices({x, y}).batch(3)) {
    std::vector<float> want;
    for (int64_t r = 3 * n; r < std::min<int64_t>(3 * n + 3, 7); ++r) {
      want.push_back(float(2 * r));
      want.push_back(float(2 * r + 1));
    }
    EXPECT_EQ(b[0].to_vector<float>(), want);
    ++n;
  }
  Dataset dropped = Dataset::from_tensor_slices({x, y}).batch(3, /*drop_remainder=*/true);
  EXPECT_EQ(dropped.cardinality(), 2);
  n = 0;
  for (Element& b : dropped) {
    EXPECT_EQ(b[0].size(0), 3);
    ++n;
  }
  EXPECT_EQ(n, 2);
  EXPECT_THROW(Dataset::range(3).batch(0), ValueError);
}

TEST(Dataset, BatchOfUnequalShapesIsAShapeError) {
  Dataset ds = Dataset::range(3).map([](Element e) { return Element{zeros({e[0].item<int64_t>() + 1})}; });
  try {
    for (Element& b : ds.batch(2)) (void)b;
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("component 0"), std::string::npos) << e.what();
  }
}

TEST(Dataset, RepeatTakeSkip) {
  EXPECT_EQ(values(Dataset::range(3).repeat(2)), (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(values(Dataset::range(3).repeat(0)), std::vector<int64_t>{});
  EXPECT_EQ(values(Dataset::range(3).repeat().take(7)), (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(Dataset::range(3).repeat().cardinality(), data::kInfiniteCardinality);
  EXPECT_EQ(Dataset::range(3).repeat(4).cardinality(), 12);
  // An empty input ends an endless repeat instead of spinning.
  EXPECT_EQ(values(Dataset::range(0).repeat()), std::vector<int64_t>{});
  EXPECT_EQ(values(Dataset::range(5).take(2)), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(values(Dataset::range(5).take(-1)), iota(0, 5));
  EXPECT_EQ(values(Dataset::range(5).take(9)), iota(0, 5));
  EXPECT_EQ(values(Dataset::range(5).skip(2)), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(values(Dataset::range(5).skip(9)), std::vector<int64_t>{});
  EXPECT_EQ(values(Dataset::range(5).skip(-1)), std::vector<int64_t>{});
  EXPECT_EQ(Dataset::range(5).skip(2).cardinality(), 3);
  EXPECT_EQ(Dataset::range(5).take(2).cardinality(), 2);
  // take() stops pulling: the map sees exactly the elements taken.
  std::atomic<int> calls{0};
  Dataset counted = Dataset::range(100).map([&](Element e) {
    ++calls;
    return e;
  });
  EXPECT_EQ(values(counted.take(3)), iota(0, 3));
  EXPECT_EQ(calls.load(), 3);
  // A repeated shuffle reshuffles per repetition (each is a new pass of the shuffle).
  std::vector<int64_t> r = values(Dataset::range(10).shuffle(10, {.seed = 1}).repeat(2));
  ASSERT_EQ(r.size(), 20u);
  EXPECT_NE(std::vector<int64_t>(r.begin(), r.begin() + 10), std::vector<int64_t>(r.begin() + 10, r.end()));
}

TEST(Dataset, PrefetchKeepsOrder) {
  EXPECT_EQ(values(Dataset::range(100).prefetch(3)), iota(0, 100));
  EXPECT_EQ(values(Dataset::range(100).map([](Element e) { return e; }, {.num_parallel_calls = 4}).prefetch(1)),
            iota(0, 100));
  EXPECT_EQ(values(Dataset::range(0).prefetch(2)), std::vector<int64_t>{});
  EXPECT_THROW(Dataset::range(3).prefetch(0), ValueError);
}

TEST(Dataset, CacheReplaysTheFirstCompletePass) {
  std::atomic<int> calls{0};
  Dataset ds = Dataset::range(5)
                   .map([&](Element e) {
                     ++calls;
                     return e;
                   })
                   .cache();
  // A pass left early records nothing (tf.data discards a partial cache).
  for (Element& e : ds) {
    (void)e;
    break;
  }
  EXPECT_EQ(values(ds), iota(0, 5));
  int after_first_full = calls.load();
  EXPECT_EQ(values(ds), iota(0, 5));
  EXPECT_EQ(values(ds.repeat(3)).size(), 15u);
  EXPECT_EQ(calls.load(), after_first_full);
}

TEST(Dataset, ZipAndConcatenate) {
  Dataset z = Dataset::zip({Dataset::range(5), Dataset::range(10, 13)});
  EXPECT_EQ(z.cardinality(), 3);
  std::vector<std::pair<int64_t, int64_t>> got;
  for (Element& e : z) {
    ASSERT_EQ(e.size(), 2u);
    got.emplace_back(e[0].item<int64_t>(), e[1].item<int64_t>());
  }
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, int64_t>>{{0, 10}, {1, 11}, {2, 12}}));
  EXPECT_THROW(Dataset::zip({}), ValueError);
  Dataset c = Dataset::range(3).concatenate(Dataset::range(10, 12));
  EXPECT_EQ(c.cardinality(), 5);
  EXPECT_EQ(values(c), (std::vector<int64_t>{0, 1, 2, 10, 11}));
  // Mismatched structures: clear errors when the second dataset's elements come.
  Dataset wrong_count = Dataset::range(2).concatenate(Dataset::zip({Dataset::range(2), Dataset::range(2)}));
  EXPECT_THROW(values(wrong_count), ValueError);
  Dataset wrong_dtype = Dataset::range(2).concatenate(Dataset::from_tensor_slices({zeros({2})}));
  EXPECT_THROW(values(wrong_dtype), DTypeError);
}

// Parallel maps and prefetches left after one element, or not read at all, then destroyed: no
// hang, and the workers are joined (ASan / TSan check the rest). Repeated to shake out races.
TEST(Dataset, EarlyBreakAndDestroyStopsTheWorkers) {
  for (int round = 0; round < 50; ++round) {
    Dataset ds = Dataset::range(1000)
                     .map([](Element e) { return Element{e[0].add(1)}; }, {.num_parallel_calls = 4})
                     .prefetch(2)
                     .map([](Element e) { return e; }, {.num_parallel_calls = 2})
                     .batch(4)
                     .prefetch(3);
    int64_t first = -1;
    for (Element& b : ds) {
      first = b[0].to_vector<int64_t>()[0];
      break;
    }
    EXPECT_EQ(first, 1);
    { data::Iterator unread = ds.iterate(); }  // started and destroyed without a read
    auto endless = Dataset::range(5).repeat().map([](Element e) { return e; }, {.num_parallel_calls = 3}).prefetch(2);
    int n = 0;
    for (Element& e : endless) {
      (void)e;
      if (++n == 7) break;
    }
    EXPECT_EQ(n, 7);
  }
}

TEST(Dataset, ExceptionInMapReachesTheConsumer) {
  auto boom = [](Element e) {
    if (e[0].item<int64_t>() == 5) throw std::runtime_error("bad element 5");
    return e;
  };
  for (int64_t threads : {1, 2, 4}) {
    for (bool prefetch : {false, true}) {
      Dataset ds = Dataset::range(20).map(boom, {.num_parallel_calls = threads});
      if (prefetch) ds = ds.prefetch(2);
      std::vector<int64_t> seen;
      try {
        for (Element& e : ds) seen.push_back(e[0].item<int64_t>());
        ADD_FAILURE() << "no exception";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad element 5"), std::string::npos) << e.what();
      }
      EXPECT_EQ(seen, iota(0, 5)) << threads << " " << prefetch;  // in order, up to the failing element
    }
  }
  // ember::Error subclasses keep their type.
  Dataset typed = Dataset::range(3).map([](Element) -> Element { throw ShapeError("wrong shape"); },
                                        {.num_parallel_calls = 2});
  EXPECT_THROW(values(typed), ShapeError);
  // A filter's exception too.
  Dataset f = Dataset::range(3).filter([](const Element&) -> bool { throw std::logic_error("no"); });
  EXPECT_THROW(values(f), Error);
}

TEST(Dataset, IteratorNextAndPassesAreIndependent) {
  Dataset ds = Dataset::range(3);
  data::Iterator a = ds.iterate(), b = ds.iterate();
  EXPECT_EQ(a.next()->at(0).item<int64_t>(), 0);
  EXPECT_EQ(a.next()->at(0).item<int64_t>(), 1);
  EXPECT_EQ(b.next()->at(0).item<int64_t>(), 0);
  EXPECT_EQ(a.next()->at(0).item<int64_t>(), 2);
  EXPECT_FALSE(a.next().has_value());
  EXPECT_FALSE(a.next().has_value());
  EXPECT_THROW(data::set_num_workers(0), ValueError);
}
