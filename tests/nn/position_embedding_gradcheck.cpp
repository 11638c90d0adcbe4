// f64 gradient check of nn::PositionEmbedding with respect to its table: the gradient of each used
// row is the sum over the batch of the output gradient there, and unused rows get zero.
#include "ember/nn/layers/position_embedding.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

TEST(PositionEmbeddingGradcheck, TableThroughANonlinearLossOfAShorterSequence) {
  nn::PositionEmbedding layer({.sequence_length = 5});
  layer(zeros({2, 3, 4}));  // build: table [5, 4]
  Tensor table = random_f64({5, 4}, 1, -0.5, 0.5);
  Tensor x = random_f64({2, 3, 4}, 2);  // T = 3 < 5: rows 3 and 4 get no gradient
  Tensor weight = random_f64({2, 3, 4}, 3);
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& v) {
        layer.find_weight("embeddings")->value() = v[0];
        return sum(tanh(layer(x) + x) * weight);
      },
      {table}));
}
