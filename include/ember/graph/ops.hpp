#pragma once
// Symbolic versions of the eager ops (ops/*.hpp) for graph mode, with TF1's names where they
// differ (reduce_mean, tf.nn.*). Each one adds a node that calls the eager function at run time.
// TF1 dtype strictness: binary ops require both inputs to have the same dtype (DTypeError naming
// both nodes) — eager mode would promote; use cast().
#include <cstdint>
#include <string>
#include <vector>

#include "ember/graph/graph.hpp"
#include "ember/ops/conv.hpp"
#include "ember/ops/pool.hpp"
#include "ember/ops/reduce.hpp"

namespace ember::graph {

Output add(const Output& a, const Output& b, const std::string& name = "add");
Output subtract(const Output& a, const Output& b, const std::string& name = "sub");
Output multiply(const Output& a, const Output& b, const std::string& name = "mul");
Output divide(const Output& a, const Output& b, const std::string& name = "truediv");
Output maximum(const Output& a, const Output& b, const std::string& name = "Maximum");
Output minimum(const Output& a, const Output& b, const std::string& name = "Minimum");
Output pow(const Output& a, const Output& b, const std::string& name = "pow");
Output equal(const Output& a, const Output& b, const std::string& name = "Equal");
Output not_equal(const Output& a, const Output& b, const std::string& name = "NotEqual");
Output less(const Output& a, const Output& b, const std::string& name = "Less");
Output greater(const Output& a, const Output& b, const std::string& name = "Greater");
Output greater_equal(const Output& a, const Output& b, const std::string& name = "GreaterEqual");
Output less_equal(const Output& a, const Output& b, const std::string& name = "LessEqual");
Output logical_and(const Output& a, const Output& b, const std::string& name = "LogicalAnd");
Output logical_or(const Output& a, const Output& b, const std::string& name = "LogicalOr");
Output logical_not(const Output& x, const std::string& name = "LogicalNot");
Output where(const Output& cond, const Output& a, const Output& b, const std::string& name = "Select");
Output matmul(const Output& a, const Output& b, const std::string& name = "MatMul");

Output negative(const Output& x, const std::string& name = "Neg");
Output exp(const Output& x, const std::string& name = "Exp");
Output log(const Output& x, const std::string& name = "Log");
Output sqrt(const Output& x, const std::string& name = "Sqrt");
Output square(const Output& x, const std::string& name = "Square");
Output abs(const Output& x, const std::string& name = "Abs");
Output rsqrt(const Output& x, const std::string& name = "Rsqrt");
Output sign(const Output& x, const std::string& name = "Sign");
Output clip_by_value(const Output& x, double low, double high, const std::string& name = "clip_by_value");
Output cast(const Output& x, DType dtype, const std::string& name = "Cast");

Output reduce_sum(const Output& x, const Axes& axes = {}, bool keepdims = false, const std::string& name = "Sum");
Output reduce_mean(const Output& x, const Axes& axes = {}, bool keepdims = false, const std::string& name = "Mean");
Output reduce_max(const Output& x, const Axes& axes = {}, bool keepdims = false, const std::string& name = "Max");
Output reduce_min(const Output& x, const Axes& axes = {}, bool keepdims = false, const std::string& name = "Min");
Output reduce_prod(const Output& x, const Axes& axes = {}, bool keepdims = false, const std::string& name = "Prod");
Output argmax(const Output& x, int64_t axis, const std::string& name = "ArgMax");
Output argmin(const Output& x, int64_t axis, const std::string& name = "ArgMin");
Output transpose(const Output& x, const Axes& perm, const std::string& name = "transpose");
Output squeeze(const Output& x, int64_t axis, const std::string& name = "Squeeze");
Output expand_dims(const Output& x, int64_t axis, const std::string& name = "ExpandDims");
Output concat(const std::vector<Output>& xs, int64_t axis, const std::string& name = "concat");
Output reshape(const Output& x, const std::vector<int64_t>& shape, const std::string& name = "Reshape");
Output one_hot(const Output& indices, int64_t depth, const std::string& name = "one_hot");

// Random sources: a fresh draw on every run (TF's stateful random ops), from the default generator.
Output truncated_normal(const std::vector<int64_t>& shape, double stddev = 1.0, double mean = 0.0,
                        const std::string& name = "truncated_normal");
Output random_normal(const std::vector<int64_t>& shape, double stddev = 1.0, double mean = 0.0,
                     const std::string& name = "random_normal");
// Uniform on [minval, maxval).
Output random_uniform(const std::vector<int64_t>& shape, double minval = 0.0, double maxval = 1.0,
                      const std::string& name = "random_uniform");
Output zeros(const std::vector<int64_t>& shape, DType dtype = f32, const std::string& name = "zeros");

// tf.nn
namespace nn {
Output relu(const Output& x, const std::string& name = "Relu");
Output sigmoid(const Output& x, const std::string& name = "Sigmoid");
Output tanh(const Output& x, const std::string& name = "Tanh");
Output elu(const Output& x, const std::string& name = "Elu");
Output leaky_relu(const Output& x, double alpha = 0.2, const std::string& name = "LeakyRelu");
Output softplus(const Output& x, const std::string& name = "Softplus");
Output swish(const Output& x, const std::string& name = "swish");
Output softmax(const Output& logits, const std::string& name = "Softmax");
Output log_softmax(const Output& logits, const std::string& name = "LogSoftmax");
Output sigmoid_cross_entropy_with_logits(const Output& labels, const Output& logits,
                                         const std::string& name = "logistic_loss");
// NHWC input, HWIO filter; the options of ops/conv.hpp and ops/pool.hpp.
Output conv2d(const Output& x, const Output& filter, Conv2dOptions opt = {}, const std::string& name = "Conv2D");
Output bias_add(const Output& x, const Output& bias, const std::string& name = "BiasAdd");
Output max_pool(const Output& x, Pool2dOptions opt = {}, const std::string& name = "MaxPool");
Output avg_pool(const Output& x, Pool2dOptions opt = {}, const std::string& name = "AvgPool");
// Per example (no reduction), like TF.
Output softmax_cross_entropy_with_logits(const Output& labels, const Output& logits,
                                         const std::string& name = "softmax_cross_entropy_with_logits");
Output sparse_softmax_cross_entropy_with_logits(const Output& labels, const Output& logits,
                                                const std::string& name = "SparseSoftmaxCrossEntropyWithLogits");
// tf.nn.dropout(x, keep_prob): keep_prob is a scalar tensor (usually a fed placeholder); elements
// are kept with that probability and scaled by 1/keep_prob. keep_prob = 1 passes x through.
Output dropout(const Output& x, const Output& keep_prob, const std::string& name = "dropout");
}  // namespace nn

Output operator+(const Output& a, const Output& b);
Output operator-(const Output& a, const Output& b);
Output operator*(const Output& a, const Output& b);
Output operator/(const Output& a, const Output& b);
Output operator-(const Output& x);

}  // namespace ember::graph
