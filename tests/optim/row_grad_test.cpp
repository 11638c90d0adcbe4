// Row gradients of embedding tables (autograd::RowGrad, ops::embedding_lookup): the gradient held
// as rows densifies to gather's dense gradient bit for bit, and an optimizer step that updates only
// the rows (SGD without momentum, Adagrad) gives exactly the dense update; the other optimizers
// still see (and give) the dense result. The reference is always the dense path computed beside.
#include <functional>
#include <memory>

#include "test_support.hpp"

namespace ember {
namespace {

using optim::NamedParams;
using testing::message_of;
using testing::random_f64;

// Largest |a - b| (0 means bit-identical up to the sign of zero).
double max_abs_diff(const Tensor& a, const Tensor& b) { return max(abs(a.to(f64) - b.to(f64))).item<double>(); }

bool bit_identical(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<std::size_t>(ca.numel()) * itemsize(ca.dtype())) == 0;
}

TEST(RowGrad, DensifiesToTheGatherGradientBitForBit) {
  Tensor w_rows = random_f64({7, 3}, 1).requires_grad_();
  Tensor w_dense = w_rows.detach().clone().requires_grad_();
  Tensor idx = from_vector(std::vector<int64_t>{1, 3, 1, 0, 6, 1}, {2, 3});  // row 1 three times
  Tensor c = random_f64({2, 3, 3}, 2);
  sum(embedding_lookup(w_rows, idx) * c).backward();
  sum(gather(w_dense, idx, 0) * c).backward();

  const autograd::RowGrad* rg = autograd::row_grad(w_rows);
  ASSERT_NE(rg, nullptr);
  EXPECT_EQ(rg->indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 3, 6}));
  EXPECT_EQ(rg->values.shape(), (Shape{4, 3}));
  // Row 1 by hand: the three lookups' gradients summed in batch order.
  auto c_row = [&](int64_t a, int64_t b) { return slice(slice(c, 0, a, a + 1), 1, b, b + 1).reshape({3}); };
  Tensor row1 = ((zeros({3}, f64) + c_row(0, 0)) + c_row(0, 2)) + c_row(1, 2);
  EXPECT_TRUE(bit_identical(slice(rg->values, 0, 1, 2).reshape({3}), row1));
  EXPECT_TRUE(bit_identical(w_rows.grad(), w_dense.grad()));
  EXPECT_EQ(autograd::row_grad(w_rows), nullptr);  // grad() made it dense for good
}

TEST(RowGrad, TwoLookupsAndADenseUseOfOneTableAccumulateLikeTheDensePath) {
  Tensor w_rows = random_f64({6, 2}, 3).requires_grad_();
  Tensor w_dense = w_rows.detach().clone().requires_grad_();
  Tensor a = from_vector(std::vector<int64_t>{5, 2, 2}, {3});
  Tensor b = from_vector(std::vector<int64_t>{2, 0}, {2});
  auto loss = [&](const Tensor& w, bool rows) {
    auto look = [&](const Tensor& i) { return rows ? embedding_lookup(w, i) : gather(w, i, 0); };
    return sum(tanh(look(a))) + sum(square(look(b)));
  };
  loss(w_rows, true).backward();
  loss(w_dense, false).backward();
  ASSERT_NE(autograd::row_grad(w_rows), nullptr);
  EXPECT_EQ(autograd::row_grad(w_rows)->indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 5}));
  EXPECT_TRUE(bit_identical(w_rows.grad(), w_dense.grad()));

  // A second backward into the (now dense) gradient, then a dense contribution (a weight penalty).
  loss(w_rows, true).backward();
  loss(w_dense, false).backward();
  EXPECT_TRUE(bit_identical(w_rows.grad(), w_dense.grad()));
  w_rows.zero_grad();
  w_dense.zero_grad();
  (loss(w_rows, true) + sum(square(w_rows))).backward();
  (loss(w_dense, false) + sum(square(w_dense))).backward();
  EXPECT_TRUE(bit_identical(w_rows.grad(), w_dense.grad()));
}

TEST(RowGrad, NoIndicesGiveAZeroGradient) {
  Tensor w = random_f64({4, 2}, 8).requires_grad_();
  sum(embedding_lookup(w, Tensor::empty({0}, i64))).backward();
  ASSERT_NE(autograd::row_grad(w), nullptr);
  EXPECT_EQ(w.grad().to_vector<double>(), std::vector<double>(8, 0.0));
}

TEST(RowGrad, ATableWithHistoryGetsTheDenseGradient) {
  Tensor w = random_f64({4, 2}, 4).requires_grad_();
  Tensor idx = from_vector(std::vector<int64_t>{3, 3}, {2});
  sum(embedding_lookup(w * 2.0, idx)).backward();
  EXPECT_EQ(autograd::row_grad(w), nullptr);
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{0, 0, 0, 0, 0, 0, 4, 4}));
}

TEST(RowGrad, BadIndicesAreValueErrorsNamingTheOp) {
  Tensor w = random_f64({4, 2}, 7).requires_grad_();
  std::string m = message_of<ValueError>([&] { embedding_lookup(w, from_vector(std::vector<int64_t>{1, 4}, {2})); });
  EXPECT_NE(m.find("embedding_lookup"), std::string::npos) << m;
  EXPECT_NE(m.find("index 4 is outside [0, 4)"), std::string::npos) << m;
  EXPECT_THROW(embedding_lookup(w, from_vector(std::vector<int64_t>{-1}, {1})), ValueError);
  EXPECT_THROW(embedding_lookup(w, from_vector(std::vector<double>{1.0}, {1})), DTypeError);
}

// Several steps of the same optimizer on a table used twice and a dense weight, once through row
// gradients and once through gather (dense): the tables and the dense weights must agree.
struct Case {
  const char* name;
  std::function<std::unique_ptr<optim::Optimizer>()> make;
  bool updates_rows;  // expected: the step reads the rows without densifying them
  double tol;         // 0 = bit-identical
};

void run_case(const Case& k) {
  SCOPED_TRACE(k.name);
  Tensor table0 = random_f64({12, 4}, 11);
  Tensor v0 = random_f64({4, 3}, 12);
  Tensor t_rows = table0.clone().requires_grad_(), v_rows = v0.clone().requires_grad_();
  Tensor t_dense = table0.clone().requires_grad_(), v_dense = v0.clone().requires_grad_();
  auto opt_rows = k.make();
  auto opt_dense = k.make();
  const std::vector<std::vector<int64_t>> batches = {{3, 0, 3, 7, 3, 11}, {0, 0, 5, 2, 9, 1}, {7, 8, 7, 8, 7, 8}, {11, 4, 0, 6, 2, 3}};
  for (std::size_t s = 0; s < batches.size(); ++s) {
    Tensor idx = from_vector(batches[s], {2, 3});
    Tensor ctx = from_vector(std::vector<int64_t>{static_cast<int64_t>(s), 10}, {2});
    auto loss = [&](const Tensor& t, const Tensor& v, bool rows) {
      auto look = [&](const Tensor& i) { return rows ? embedding_lookup(t, i) : gather(t, i, 0); };
      Tensor h = tanh(matmul(mean(look(idx), {1}), v));  // [2, 3]
      return sum(square(h - 0.5)) + 0.1 * sum(look(ctx) * look(ctx));
    };
    for (Tensor* p : {&t_rows, &v_rows, &t_dense, &v_dense}) p->zero_grad();
    loss(t_rows, v_rows, true).backward();
    loss(t_dense, v_dense, false).backward();
    ASSERT_NE(autograd::row_grad(t_rows), nullptr);
    opt_rows->step({{"table", t_rows}, {"v", v_rows}});
    opt_dense->step({{"table", t_dense}, {"v", v_dense}});
    EXPECT_EQ(autograd::row_grad(t_rows) != nullptr, k.updates_rows) << "step " << s;
    if (k.tol == 0) {
      EXPECT_TRUE(bit_identical(t_rows, t_dense)) << "step " << s << " diff " << max_abs_diff(t_rows, t_dense);
      EXPECT_TRUE(bit_identical(v_rows, v_dense)) << "step " << s;
    } else {
      EXPECT_LE(max_abs_diff(t_rows, t_dense), k.tol) << "step " << s;
      EXPECT_LE(max_abs_diff(v_rows, v_dense), k.tol) << "step " << s;
    }
  }
  // The rows not in any batch (10 only as context, never: none) — and the table moved at all.
  EXPECT_GT(max_abs_diff(t_rows, table0), 0.0);
  for (const auto& [key, slot] : opt_dense->slots()) {
    EXPECT_LE(max_abs_diff(opt_rows->slots().at(key), slot), k.tol) << key;
  }
}

TEST(RowGrad, SgdAndAdagradUpdateOnlyTheRowsAndMatchTheDensePathExactly) {
  run_case({"SGD", [] { return std::make_unique<optim::SGD>(optim::SGDOptions{.learning_rate = 0.3}); }, true, 0});
  run_case({"Adagrad", [] { return std::make_unique<optim::Adagrad>(optim::AdagradOptions{.learning_rate = 0.2}); }, true, 0});
  run_case({"Adagrad clipvalue",
            [] { return std::make_unique<optim::Adagrad>(optim::AdagradOptions{.learning_rate = 0.2, .clipvalue = 0.05}); },
            true, 0});
}

// Clipping by norm sees the rows: the same norm as the dense gradient's up to summation order.
TEST(RowGrad, ClippingByNormSeesTheDenseNorm) {
  run_case({"SGD global_clipnorm",
            [] { return std::make_unique<optim::SGD>(optim::SGDOptions{.learning_rate = 0.3, .global_clipnorm = 0.1}); },
            true, 1e-12});
  run_case({"Adagrad clipnorm",
            [] { return std::make_unique<optim::Adagrad>(optim::AdagradOptions{.learning_rate = 0.2, .clipnorm = 0.05}); },
            true, 1e-12});
}

TEST(RowGrad, OtherOptimizersDensifyAndGiveTheDenseResult) {
  run_case({"SGD momentum",
            [] { return std::make_unique<optim::SGD>(optim::SGDOptions{.learning_rate = 0.3, .momentum = 0.9}); }, false, 0});
  run_case({"Adam", [] { return std::make_unique<optim::Adam>(optim::AdamOptions{.learning_rate = 0.05}); }, false, 0});
  run_case({"AdamW", [] { return std::make_unique<optim::AdamW>(optim::AdamWOptions{.learning_rate = 0.05}); }, false, 0});
  run_case({"RMSprop", [] { return std::make_unique<optim::RMSprop>(optim::RMSpropOptions{.learning_rate = 0.05}); }, false, 0});
  run_case({"Nadam", [] { return std::make_unique<optim::Nadam>(optim::NadamOptions{.learning_rate = 0.05}); }, false, 0});
}

// The Embedding layer (mask_zero, a masked mean, a Dense head) in f32: row updates against the same
// model whose gradients are read densely (.grad()) before each step.
TEST(RowGrad, EmbeddingLayerWithMaskZeroMatchesTheDenseUpdate) {
  for (const char* which : {"SGD", "Adagrad"}) {
    SCOPED_TRACE(which);
    auto make_model = [] {
      manual_seed(42);
      return std::make_unique<nn::Sequential>(std::initializer_list<nn::LayerRef>{
          nn::Input({5}), nn::Embedding({.input_dim = 20, .output_dim = 6, .mask_zero = true}),
          nn::GlobalAveragePooling1D(), nn::Dense({.units = 1})});
    };
    auto rows_model = make_model();
    auto dense_model = make_model();
    auto make_opt = [&]() -> std::unique_ptr<optim::Optimizer> {
      if (std::string(which) == "SGD") return std::make_unique<optim::SGD>(optim::SGDOptions{.learning_rate = 0.5});
      return std::make_unique<optim::Adagrad>(optim::AdagradOptions{.learning_rate = 0.5});
    };
    auto opt_rows = make_opt(), opt_dense = make_opt();
    auto params = [](nn::Model& m) {
      NamedParams ps;
      for (auto& w : m.trainable_weights()) ps.emplace_back(w.name, w.weight->value());
      return ps;
    };
    const std::vector<std::vector<int64_t>> batches = {{3, 3, 7, 0, 0, 1, 19, 3, 0, 0}, {0, 0, 0, 0, 0, 5, 5, 5, 2, 0},
                                                       {19, 18, 17, 3, 3, 7, 7, 0, 0, 0}};
    for (const auto& b : batches) {
      Tensor idx = from_vector(b, {2, 5});
      Tensor target = from_vector(std::vector<float>{1.0f, -1.0f}, {2, 1});
      sum(square((*rows_model)(idx) - target)).backward();
      sum(square((*dense_model)(idx) - target)).backward();
      NamedParams pr = params(*rows_model), pd = params(*dense_model);
      ASSERT_EQ(pr.size(), 3u);
      ASSERT_NE(autograd::row_grad(pr[0].second), nullptr);
      for (auto& [n, p] : pd) (void)p.grad();  // densify: the dense update path
      ASSERT_EQ(autograd::row_grad(pd[0].second), nullptr);
      opt_rows->step(pr);
      opt_dense->step(pd);
      for (std::size_t i = 0; i < pr.size(); ++i) {
        EXPECT_TRUE(bit_identical(pr[i].second, pd[i].second)) << pr[i].first;
        pr[i].second.zero_grad();
        pd[i].second.zero_grad();
      }
    }
  }
}

// An embeddings_regularizer adds a dense term to the table's gradient: the rows meet it and the
// gradient is dense (every row decays), equal to the one gather gives.
TEST(RowGrad, EmbeddingRegularizerMakesTheGradientDense) {
  manual_seed(5);
  nn::Embedding emb({.input_dim = 8, .output_dim = 3, .embeddings_regularizer = nn::regularizers::get("l2")});
  Tensor idx = from_vector(std::vector<int64_t>{2, 2, 7}, {3});
  Tensor y = emb(idx, true);
  (sum(square(y)) + emb.regularization_loss()).backward();
  Tensor table = emb.find_weight("embeddings")->value();
  EXPECT_EQ(autograd::row_grad(table), nullptr);

  Tensor ref = table.detach().clone().requires_grad_();
  (sum(square(gather(ref, idx, 0))) + (*emb.options().embeddings_regularizer)(ref)).backward();
  EXPECT_TRUE(bit_identical(table.grad(), ref.grad())) << max_abs_diff(table.grad(), ref.grad());
}

}  // namespace
}  // namespace ember
