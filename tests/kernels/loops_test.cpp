// Strided map kernels against naive index loops, and reduction determinism and accuracy.
#include <cmath>

#include "ember/kernels/cpu/loops.hpp"
#include "test_support.hpp"

using namespace ember;
namespace kc = ember::kernels::cpu;

namespace {

// Value of element `idx` of t by explicit stride arithmetic (the naive reference).
double at_index(const Tensor& t, const std::vector<int64_t>& idx) {
  int64_t off = t.offset();
  for (std::size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
  return static_cast<const double*>(t.impl().storage->data())[off];
}

// Calls f(idx) for every multi-index of shape in row-major order.
template <typename F>
void for_each_index(const Shape& shape, F&& f) {
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t n = 0; n < numel(shape); ++n) {
    f(idx);
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
      if (++idx[static_cast<std::size_t>(d)] < shape[static_cast<std::size_t>(d)]) break;
      idx[static_cast<std::size_t>(d)] = 0;
    }
  }
}

// Runs map_binary on (a, b) as given (already expanded to the output shape) and compares with
// the naive loop, for an output that is either fresh or a strided view.
void check_binary(const Tensor& a, const Tensor& b, const Tensor& out) {
  // x - 2y is exact in floating point (no FMA contraction can change it) and not symmetric.
  kc::map_binary<double, double, double>(out.shape(), {a.data<double>(), &a.strides()}, {b.data<double>(), &b.strides()},
                                         {out.data<double>(), &out.strides()}, [](double x, double y) { return x - 2 * y; });
  std::size_t bad = 0;
  for_each_index(out.shape(), [&](const std::vector<int64_t>& idx) {
    double want = at_index(a, idx) - 2 * at_index(b, idx);
    if (at_index(out, idx) != want) ++bad;
  });
  EXPECT_EQ(bad, 0u);
}

Tensor rnd(const Shape& s, uint64_t seed) { return ember::testing::random_f64(s, seed); }

}  // namespace

TEST(Loops, MapBinaryContiguous) {
  for (int64_t n : {1, 7, 1000, 70000}) {  // below and above the parallel grain
    Tensor a = rnd({n}, 1), b = rnd({n}, 2);
    check_binary(a, b, Tensor::empty({n}, f64));
  }
}

TEST(Loops, MapBinaryBroadcast) {
  Tensor a = rnd({5, 1, 7}, 3).expand({4, 5, 6, 7});
  Tensor b = rnd({6, 1}, 4).expand({4, 5, 6, 7});
  check_binary(a, b, Tensor::empty({4, 5, 6, 7}, f64));
  Tensor s = rnd({}, 5).expand({300, 300});  // scalar broadcast, large
  check_binary(rnd({300, 300}, 6), s, Tensor::empty({300, 300}, f64));
  check_binary(s, rnd({300, 300}, 7), Tensor::empty({300, 300}, f64));
  Tensor col = rnd({300, 1}, 8).expand({300, 300});
  check_binary(col, col.t(), Tensor::empty({300, 300}, f64));
}

TEST(Loops, MapBinaryTransposedAndStepped) {
  Tensor a = rnd({6, 8, 10}, 9).permute({2, 0, 1});          // [10,6,8]
  Tensor b = rnd({10, 16, 8}, 10).slice(1, 1, 13, 2);         // [10,6,8], step 2 on the middle axis
  check_binary(a, b, Tensor::empty({10, 6, 8}, f64));
  // Strided output too (a transposed view of a fresh buffer).
  Tensor big = zeros({8, 6, 10}, f64);
  Tensor out = big.permute({2, 1, 0});                        // [10,6,8]
  check_binary(a, b, out);
  Tensor ta = rnd({257, 129}, 11).t(), tb = rnd({129, 257}, 12);  // > parallel grain
  check_binary(ta, tb, Tensor::empty({129, 257}, f64));
  Tensor r = rnd({100, 400}, 13).slice(1, 399, 400).expand({100, 400});  // offset + broadcast
  check_binary(r, rnd({100, 400}, 14).slice(0, 0, 100), Tensor::empty({100, 400}, f64));
}

TEST(Loops, MapUnaryAndCopyCastStrided) {
  Tensor x = rnd({40, 50}, 15).t().slice(0, 1, 50, 3);  // [17,40] strided
  Tensor out = Tensor::empty(x.shape(), f32);
  kc::copy_cast(x.shape(), x.dtype(), x.raw_data(), x.strides(), out.dtype(), out.raw_data(), out.strides());
  std::size_t bad = 0;
  std::vector<float> got = out.to_vector<float>();
  std::size_t k = 0;
  for_each_index(x.shape(), [&](const std::vector<int64_t>& idx) {
    if (got[k++] != static_cast<float>(at_index(x, idx))) ++bad;
  });
  EXPECT_EQ(bad, 0u);
  // One shape for both operands at the kernel; a mismatch is the op level's to refuse.
  EXPECT_THROW(Tensor::empty({40, 17}, f32).copy_(x), ShapeError);
}

TEST(Loops, ReduceIsTheSameForOneAndTwoThreads) {
  Generator g(16);
  Tensor x = rand({1 << 20}, {.low = -1.0, .high = 1.0, .generator = &g});
  Tensor m = rand({1024, 1024}, {.low = -1.0, .high = 1.0, .generator = &g});
  int saved = get_num_threads();
  set_num_threads(1);
  float s1 = sum(x).item<float>();
  std::vector<float> r1 = sum(m, {0}).to_vector<float>(), c1 = sum(m, {1}).to_vector<float>();
  std::vector<float> t1 = sum(m.t(), {1}).to_vector<float>();
  set_num_threads(2);
  float s2 = sum(x).item<float>();
  std::vector<float> r2 = sum(m, {0}).to_vector<float>(), c2 = sum(m, {1}).to_vector<float>();
  std::vector<float> t2 = sum(m.t(), {1}).to_vector<float>();
  set_num_threads(saved);
  EXPECT_EQ(s1, s2);  // bit-identical
  EXPECT_EQ(r1, r2);
  EXPECT_EQ(c1, c2);
  EXPECT_EQ(t1, t2);
  EXPECT_THROW(set_num_threads(0), ValueError);
}

TEST(Loops, Float32SumIsAccurate) {
  // 1M floats in [0,1): a naive float accumulator drifts by ~1e-4 relative; Ember accumulates in
  // double, so the result equals the double reference rounded to float.
  Generator g(17);
  Tensor x = rand({1 << 20}, {.generator = &g});
  std::vector<float> v = x.to_vector<float>();
  double ref = 0;
  for (float f : v) ref += f;
  float got = sum(x).item<float>();
  EXPECT_NEAR(got, ref, std::abs(ref) * 1e-7);
  float naive = 0;
  for (float f : v) naive += f;
  EXPECT_GT(std::abs(naive - ref), std::abs(got - ref));  // the test would notice a float accumulator
  // Over rows and columns as well.
  Tensor m = x.reshape({1024, 1024});
  std::vector<float> cols = sum(m, {0}).to_vector<float>();
  for (int c = 0; c < 1024; c += 97) {
    double r = 0;
    for (int i = 0; i < 1024; ++i) r += v[static_cast<std::size_t>(i * 1024 + c)];
    EXPECT_NEAR(cols[static_cast<std::size_t>(c)], r, std::abs(r) * 1e-7);
  }
}

TEST(Loops, SumToReducesBroadcastAxes) {
  Tensor g = ones({2, 3, 4}, f64);
  EXPECT_EQ(autograd::sum_to(g, {3, 1}).to_vector<double>(), (std::vector<double>{8, 8, 8}));
  EXPECT_EQ(autograd::sum_to(g, {4}).to_vector<double>(), (std::vector<double>{6, 6, 6, 6}));
  EXPECT_EQ(autograd::sum_to(g, {}).item<double>(), 24.0);
  EXPECT_EQ(autograd::sum_to(g, {1, 3, 1}).shape(), (Shape{1, 3, 1}));
  EXPECT_THROW(autograd::sum_to(g, {2, 3}), ShapeError);
  EXPECT_THROW(autograd::sum_to(ones({3}, f64), {2, 3}), ShapeError);
}

std::vector<int64_t> arg_reduce_1d(const Tensor& x, bool is_max) {
  std::vector<int64_t> out(1);
  kc::arg_reduce(x.shape(), x.dtype(), x.raw_data(), x.strides(), 0, is_max, out.data());
  return out;
}

TEST(Loops, ArgReduceFirstOnTiesAndNaN) {
  Tensor x = from_vector(std::vector<double>{1, NAN, 5, 5}, {4}, f64);
  EXPECT_EQ(arg_reduce_1d(x, true), (std::vector<int64_t>{1}));  // NaN wins, as NumPy
  Tensor y = from_vector(std::vector<double>{2, 7, 7, 1, 1}, {5}, f64);
  EXPECT_EQ(arg_reduce_1d(y, true), (std::vector<int64_t>{1}));
  EXPECT_EQ(arg_reduce_1d(y, false), (std::vector<int64_t>{3}));
}
