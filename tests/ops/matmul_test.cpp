// matmul: PyTorch golden values (forward and both gradients), the sgemm fast path against the
// reference kernel on random shapes and strided views, and bad input.
#include <cmath>

#include "ember/kernels/cpu/gemm.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::load_fixture;

namespace {

void check_fixture(DType dt, double rtol, double atol) {
  auto cases = load_fixture("matmul.json");
  ASSERT_EQ(cases.size(), 8u);
  std::vector<std::string> seen;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + " " + std::string(dtype_name(dt)));
    seen.push_back(c.name);
    bool ta = c.attrs.value("transpose_a", false), tb = c.attrs.value("transpose_b", false);
    Tensor a = c.at("a").to(dt).detach(), b = c.at("b").to(dt).detach();
    a.requires_grad_();
    b.requires_grad_();
    Tensor y = matmul(a, b, {.transpose_a = ta, .transpose_b = tb});
    EXPECT_EQ(y.dtype(), dt);
    EXPECT_TRUE(all_close(y, c.at("y"), rtol, atol));
    y.backward(c.at("dy").to(dt));
    ASSERT_TRUE(a.grad().defined());
    ASSERT_TRUE(b.grad().defined());
    EXPECT_TRUE(all_close(a.grad(), c.at("da"), rtol, atol));
    EXPECT_TRUE(all_close(b.grad(), c.at("db"), rtol, atol));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"matmul_2d", "matmul_transpose_a", "matmul_transpose_b",
                                            "matmul_transpose_ab", "matmul_batched", "matmul_broadcast_batch",
                                            "matmul_vec_mat", "matmul_mat_vec"}));
}

// C = op(A) op(B) with the double reference kernel on compact copies.
Tensor reference(const Tensor& a, const Tensor& b) {
  Tensor ad = a.to(f64).contiguous(), bd = b.to(f64).contiguous();
  int64_t m = ad.size(0), k = ad.size(1), n = bd.size(1);
  Tensor c = zeros({m, n}, f64);
  kernels::cpu::gemm_ref<double>(false, false, m, n, k, 1.0, ad.data<double>(), k, bd.data<double>(), n, 0.0,
                                 c.data<double>(), n);
  return c;
}

// Relative agreement in the max norm: |fast - ref| <= tol * max|ref| elementwise.
::testing::AssertionResult agree(const Tensor& fast, const Tensor& ref, double tol) {
  if (fast.shape() != ref.shape()) return ::testing::AssertionFailure() << "shape " << to_string(fast.shape());
  std::vector<double> f = fast.to_vector<double>(), r = ref.to_vector<double>();
  double scale = 0, worst = 0;
  for (double v : r) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < f.size(); ++i) worst = std::max(worst, std::abs(f[i] - r[i]));
  if (worst <= tol * std::max(scale, 1e-30)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max abs diff " << worst << " vs scale " << scale;
}

}  // namespace

TEST(Matmul, GoldenFloat64) { check_fixture(f64, 1e-10, 1e-12); }
TEST(Matmul, GoldenFloat32) { check_fixture(f32, 1e-5, 1e-5); }

TEST(Matmul, SgemmAgreesWithReferenceOnOddShapes) {
  Generator g(31);
  const std::vector<int64_t> sizes = {1, 7, 33, 129};
  for (int64_t m : sizes)
    for (int64_t k : sizes)
      for (int64_t n : sizes) {
        SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n));
        Tensor a = randn({m, k}, {.generator = &g}), b = randn({k, n}, {.generator = &g});
        Tensor c = matmul(a, b);
        EXPECT_EQ(c.dtype(), f32);
        EXPECT_TRUE(agree(c, reference(a, b), 1e-4));
      }
}

TEST(Matmul, SgemmOnTransposedAndSteppedViews) {
  Generator g(32);
  for (int64_t m : {1, 7, 33}) {
    for (int64_t k : {1, 33, 129}) {
      for (int64_t n : {7, 129}) {
        SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n));
        Tensor at = randn({k, m}, {.generator = &g}).t();                   // [m,k], column-major
        Tensor bs = randn({k, 2 * n + 1}, {.generator = &g}).slice(1, 1, 2 * n + 1, 2);  // [k,n], column step 2
        ASSERT_EQ(bs.shape(), (Shape{k, n}));
        EXPECT_TRUE(agree(matmul(at, bs), reference(at, bs), 1e-4));
        Tensor as = randn({2 * m, k + 3}, {.generator = &g}).slice(0, 0, 2 * m, 2).slice(1, 3, k + 3);  // row step 2, offset
        Tensor bt = randn({n, k}, {.generator = &g}).t();
        EXPECT_TRUE(agree(matmul(as, bt), reference(as, bt), 1e-4));
        // transpose flags on top of strided views
        Tensor a2 = randn({k, 2 * m}, {.generator = &g}).slice(1, 0, 2 * m, 2);  // [k,m] stored, used transposed
        EXPECT_TRUE(agree(matmul(a2, bs, {.transpose_a = true}), reference(a2.t(), bs), 1e-4));
        EXPECT_TRUE(agree(matmul(at, bs.t(), {.transpose_b = true}), reference(at, bs), 1e-4));
      }
    }
  }
}

TEST(Matmul, BatchedMatchesPerMatrixProducts) {
  Generator g(33);
  Tensor a = randn({3, 1, 7, 5}, {.generator = &g}), b = randn({4, 5, 6}, {.generator = &g});
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{3, 4, 7, 6}));
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      Tensor ai = a.slice(0, i, i + 1).reshape({7, 5}), bj = b.slice(0, j, j + 1).reshape({5, 6});
      Tensor cij = c.slice(0, i, i + 1).slice(1, j, j + 1).reshape({7, 6});
      EXPECT_TRUE(agree(cij, reference(ai, bj), 1e-4));
    }
}

TEST(Matmul, IntegerAndMixedDTypes) {
  Tensor a = from_vector(std::vector<int32_t>{1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector(std::vector<int32_t>{5, 6, 7, 8}, {2, 2});
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.dtype(), i32);
  EXPECT_EQ(c.to_vector<int32_t>(), (std::vector<int32_t>{19, 22, 43, 50}));
  Tensor d = matmul(a, b.to(f64));
  EXPECT_EQ(d.dtype(), f64);
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{19, 22, 43, 50}));
  EXPECT_EQ(matmul(zeros({2, 0}), zeros({0, 3})).to_vector<float>(), std::vector<float>(6, 0.0f));
}

TEST(Matmul, InnerDimensionMismatchMessage) {
  try {
    matmul(zeros({32, 784}), zeros({512, 10}));
    FAIL() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "matmul: inner dimensions differ: [32,784] x [512,10]");
  }
  EXPECT_THROW(matmul(zeros({3}), zeros({4})), ShapeError);
  EXPECT_THROW(matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), ShapeError);  // batch 2 vs 3
}

TEST(Matmul, ZeroDimOperandIsAShapeError) {
  EXPECT_THROW(matmul(scalar_tensor(2.0), zeros({2, 2})), ShapeError);
  EXPECT_THROW(matmul(zeros({2, 2}), scalar_tensor(2.0)), ShapeError);
  EXPECT_THROW(matmul(zeros({2}), zeros({2, 2}), {.transpose_a = true}), ValueError);
}
