// The batch-gathering copy and the Dense/Conv2D bias-gradient reduction against naive loops, and
// bit-identical at one and two threads (both split their work differently by shape).
#include <omp.h>

#include <random>
#include <vector>

#include "ember/kernels/cpu/bias_act.hpp"
#include "ember/kernels/cpu/index.hpp"
#include "test_support.hpp"

namespace kc = ember::kernels::cpu;

namespace {

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(gen);
  return v;
}

// Runs f at one thread and at two, restoring the pool's size.
template <typename F>
auto at_one_and_two_threads(F f) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  auto one = f();
  omp_set_num_threads(2);
  auto two = f();
  omp_set_num_threads(saved);
  return std::make_pair(one, two);
}

}  // namespace

// A batch of 200 rows of 784 floats gathered along axis 0 (outer = 1: enough rows to be split across
// threads), with repeated indices; and the same table gathered along its middle axis (outer = 3).
TEST(GatherKernel, CopiesTheIndexedRowsAtAnyThreadCount) {
  const int64_t outer = 3, len = 300, inner = 784, n = 200;
  const std::vector<float> x = random_floats(outer * len * inner, 1);
  std::vector<int64_t> idx(n);
  std::mt19937 gen(2);
  for (int64_t& i : idx) i = std::uniform_int_distribution<int64_t>(0, len - 1)(gen);
  idx[5] = idx[6];  // a repeat
  for (int64_t o : {int64_t{1}, outer}) {
    auto [one, two] = at_one_and_two_threads([&] {
      std::vector<float> out(o * n * inner, -7.0f);
      kc::gather_axis(x.data(), sizeof(float), idx.data(), n, o, len, inner, out.data());
      return out;
    });
    std::size_t bad = 0;
    for (int64_t b = 0; b < o; ++b) {
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t i = 0; i < inner; ++i) {
          if (one[(b * n + j) * inner + i] != x[(b * len + idx[j]) * inner + i]) ++bad;
        }
      }
    }
    EXPECT_EQ(bad, 0u) << "outer " << o;
    EXPECT_EQ(one, two) << "outer " << o;
  }
}

// db[c] = sum_r g[r, c] * (y[r, c] > 0) and dpre alike, for a Dense-sized batch (one chunk of rows,
// split over columns) and a convolution-sized one (several chunks, split over rows).
TEST(BiasActBackwardKernel, MatchesNaiveSumsAndIsTheSameAtOneAndTwoThreads) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{128, 256}, {128, 10}, {1000, 64}}) {
    const std::vector<float> g = random_floats(rows * cols, 3), y = random_floats(rows * cols, 4);
    struct Result {
      std::vector<float> dpre, db;
      bool operator==(const Result&) const = default;
    };
    auto [one, two] = at_one_and_two_threads([&] {
      Result r{std::vector<float>(rows * cols), std::vector<float>(cols)};
      kc::bias_act_backward(rows, cols, g.data(), y.data(), kc::BiasAct::ReLU, r.dpre.data(), r.db.data());
      return r;
    });
    std::size_t bad_dpre = 0;
    double worst = 0;
    for (int64_t c = 0; c < cols; ++c) {
      double want = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const float d = y[r * cols + c] > 0 ? g[r * cols + c] : 0.0f;
        if (one.dpre[r * cols + c] != d) ++bad_dpre;
        want += d;
      }
      worst = std::max(worst, std::abs(one.db[c] - want));
    }
    EXPECT_EQ(bad_dpre, 0u) << rows << "x" << cols;
    EXPECT_LT(worst, 1e-5) << rows << "x" << cols;  // summed in double, rounded once to float
    EXPECT_TRUE(one == two) << rows << "x" << cols;
  }
}
