// Graph, placeholders, constants and Session.run with feeds: the notes' feed_dict basics (000, 002).
#include <gtest/gtest.h>

#include "ember/graph/graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/session.hpp"
#include "test_support.hpp"

using namespace ember;
namespace g = ember::graph;
using ember::testing::message_of;

namespace {

// Random integer matrix in [0, 10) as int64 (np.random.randint(0, 10, size)).
Tensor randint10(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  std::vector<int64_t> v(static_cast<size_t>(numel(s)));
  for (auto& x : v) x = static_cast<int64_t>(gen.uniform() * 10);
  return from_vector(v, s);
}

// Reference matmul of integer matrices computed here in exact integer arithmetic.
std::vector<double> int_matmul(const Tensor& a, const Tensor& b) {
  auto av = a.to_vector<int64_t>(), bv = b.to_vector<int64_t>();
  int64_t n = a.shape()[0], k = a.shape()[1], m = b.shape()[1];
  std::vector<double> c(static_cast<size_t>(n * m), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j)
      for (int64_t p = 0; p < k; ++p) c[i * m + j] += double(av[i * k + p] * bv[p * m + j]);
  return c;
}

}  // namespace

// Notes 000: A = placeholder(float32, [3,5]); B = placeholder(float32, [5,None]); C = matmul(A, B)
// run with randint matrices fed; the integers are converted to float32 as TF does.
TEST(GraphSession, NotesMatmulOfFedRandintMatrices) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto A = g::placeholder(f32, {3, 5});
  auto B = g::placeholder(f32, {5, -1});
  auto C = g::matmul(A, B);
  EXPECT_EQ(C.shape().str(), "(3, ?)");
  EXPECT_EQ(C.name(), "MatMul:0");
  EXPECT_EQ(B.name(), "Placeholder_1:0");
  g::Session s(graph);
  Tensor a = randint10({3, 5}, 1), b = randint10({5, 5}, 2);
  Tensor res = s.run(C, {{A, a}, {B, b}});
  ASSERT_EQ(res.dtype(), f32);
  ASSERT_EQ(res.shape(), (Shape{3, 5}));
  std::vector<float> got = res.to_vector<float>();
  std::vector<double> want = int_matmul(a, b);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << i;
  // The unknown dimension takes another size on the next run.
  Tensor b7 = randint10({5, 7}, 3);
  EXPECT_EQ(s.run(C, {{A, a}, {B, b7}}).shape(), (Shape{3, 7}));
}

TEST(GraphSession, AddOfFedTensorsAndOperators) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto a = g::placeholder(f32, {-1}, "a");
  auto b = g::placeholder(f32, {-1}, "b");
  auto c = a + b * g::constant(2.0);
  g::Session s(graph);
  Tensor r = s.run(c, {{a, from_vector(std::vector<float>{1, 2, 3}, {3})}, {b, from_vector(std::vector<float>{10, 20, 30}, {3})}});
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{21, 42, 63}));
}

// Notes 002: string / int / float placeholders fed in one run; the string comes back.
TEST(GraphSession, NotesStringIntFloatFeeds) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto x = g::string_placeholder();
  auto y = g::placeholder(i32);
  auto z = g::placeholder(f32);
  g::Session s(graph);
  std::vector<g::Value> out = s.run({x, y, z}, {{x, "Test string"}, {y, 12}, {z, 1.2}});
  EXPECT_EQ(g::as_string(out[0]), "Test string");
  EXPECT_EQ(g::as_tensor(out[1]).dtype(), i32);
  EXPECT_EQ(g::as_tensor(out[1]).item<int32_t>(), 12);
  EXPECT_EQ(g::as_tensor(out[2]).item<float>(), 1.2f);
  // A string constant fetched.
  auto hello = g::constant(std::string("Hello, TensorFlow!"));
  EXPECT_EQ(g::as_string(s.run_value(hello)), "Hello, TensorFlow!");
  // TF refuses a value of another type.
  EXPECT_NE(message_of<DTypeError>([&] { s.run_value(y, {{y, 1.5}}); }).find("Placeholder_1"), std::string::npos);
  EXPECT_NE(message_of<DTypeError>([&] { s.run_value(x, {{x, 3}}); }).find("Placeholder:0"), std::string::npos);
}

TEST(GraphSession, FeedShapeAndDtypeErrorsNameThePlaceholder) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto x = g::placeholder(f32, {-1, 784}, "x");
  auto y = g::reduce_sum(x);
  g::Session s(graph);
  std::string m = message_of<ShapeError>([&] { s.run(y, {{x, zeros({2, 783})}}); });
  EXPECT_NE(m.find("'x:0'"), std::string::npos) << m;
  EXPECT_NE(m.find("(?, 784)"), std::string::npos) << m;
  EXPECT_NE(m.find("[2,783]"), std::string::npos) << m;
  m = message_of<DTypeError>([&] { s.run(y, {{x, zeros({2, 784}, f64)}}); });
  EXPECT_NE(m.find("'x:0'"), std::string::npos) << m;
  EXPECT_NE(m.find("float64"), std::string::npos) << m;
  // Unfed and needed.
  m = message_of<ValueError>([&] { s.run(y); });
  EXPECT_NE(m.find("'x'"), std::string::npos) << m;
  EXPECT_EQ(s.run(y, {{x, full({3, 784}, 1.0)}}).item<float>(), 3 * 784.0f);
}

TEST(GraphSession, OnlyTheNeededSubgraphRuns) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto x = g::placeholder(f32, {}, "x");
  auto unused = g::placeholder(f32, {}, "unused");
  auto y = x * g::constant(3.0);
  auto z = y + unused;  // needs `unused`; not fetched
  (void)z;
  g::Session s(graph);
  EXPECT_EQ(s.run(y, {{x, 2.0}}).item<float>(), 6.0f);
}

TEST(GraphSession, FloatPlusIntIsABuildTimeDTypeError) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto a = g::constant(1.0, f32, "a");
  auto b = g::constant(2.0, i32, "b");
  std::string m = message_of<DTypeError>([&] { g::add(a, b); });
  EXPECT_NE(m.find("'a:0'"), std::string::npos) << m;
  EXPECT_NE(m.find("'b:0'"), std::string::npos) << m;
  // With a cast it works.
  g::Session s(graph);
  EXPECT_EQ(s.run(a + g::cast(b, f32)).item<float>(), 3.0f);
}

TEST(GraphSession, BuildTimeShapeErrorNamesBothInputs) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto a = g::placeholder(f32, {-1, 784}, "images");
  auto w = g::constant(zeros({780, 10}), "W");
  // The batch is unknown but the inner dimensions certainly disagree.
  std::string m = message_of<ShapeError>([&] { g::matmul(a, w, "logits"); });
  EXPECT_NE(m.find("'logits'"), std::string::npos) << m;
  EXPECT_NE(m.find("'images:0' (?, 784)"), std::string::npos) << m;
  EXPECT_NE(m.find("'W:0' (780, 10)"), std::string::npos) << m;
  // Not certain: [None] + [5] works when None is 5 (or 1); inferred as (5,) by TF, unknown here
  // only if no probe size fits.
  auto v = g::placeholder(f32, {-1}, "v");
  auto five = g::constant(zeros({5}), "five");
  EXPECT_NO_THROW(g::add(v, five));
  // Fully known and wrong: a build-time error too.
  EXPECT_THROW(g::add(g::constant(zeros({2, 3})), g::constant(zeros({4}))), ShapeError);
}

TEST(GraphSession, FetchFromAnotherGraphIsAnError) {
  g::Graph g1, g2;
  g::Output c1;
  {
    g::GraphScope scope(g1);
    c1 = g::constant(1.0, f32, "c1");
  }
  g::Session s(g2);
  std::string m = message_of<ValueError>([&] { s.run(c1); });
  EXPECT_NE(m.find("c1"), std::string::npos) << m;
  EXPECT_NE(m.find("another graph"), std::string::npos) << m;
}

TEST(GraphSession, NamesScopesAndLookup) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Output x, x2, inner;
  {
    g::NameScope ns("layer1");
    x = g::placeholder(f32, {}, "x");
    x2 = g::placeholder(f32, {}, "x");
    {
      g::NameScope ns2("inner");
      inner = x + x2;
    }
  }
  g::Output again;
  {
    g::NameScope ns("layer1");
    again = g::constant(1.0);
  }
  EXPECT_EQ(x.name(), "layer1/x:0");
  EXPECT_EQ(x2.name(), "layer1/x_1:0");
  EXPECT_EQ(inner.name(), "layer1/inner/add:0");
  EXPECT_EQ(again.name(), "layer1_1/Const:0");
  EXPECT_EQ(graph.get_tensor_by_name("layer1/x_1:0"), x2);
  EXPECT_EQ(graph.get_operation_by_name("layer1/inner/add").type(), "Add");
  EXPECT_NE(message_of<ValueError>([&] { graph.get_tensor_by_name("layer1/y:0"); }).find("layer1/y"), std::string::npos);
  EXPECT_THROW(graph.get_tensor_by_name("layer1/x:1"), ValueError);
}

TEST(GraphSession, FetchListAndMapAndOperations) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto a = g::constant(2.0);
  auto b = g::constant(5.0);
  auto c = a * b;
  auto noop = g::group({c.op()});
  g::Session s(graph);
  auto out = s.run({c, noop, a});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(g::as_tensor(out[0]).item<float>(), 10.0f);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(out[1]));
  auto m = s.run(std::map<std::string, g::Fetch>{{"prod", c}, {"b", b}});
  EXPECT_EQ(g::as_tensor(m.at("prod")).item<float>(), 10.0f);
  EXPECT_EQ(g::as_tensor(m.at("b")).item<float>(), 5.0f);
}

// tf.nn.dropout(x, keep_prob) with keep_prob fed at run time: kept elements are scaled by 1/keep_prob.
TEST(GraphSession, DropoutWithFedKeepProb) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto x = g::placeholder(f32, {-1, 100}, "x");
  auto keep_prob = g::placeholder(f32, {}, "keep_prob");
  auto y = g::nn::dropout(x, keep_prob);
  EXPECT_EQ(y.shape().str(), "(?, 100)");
  g::Session s(graph);
  Tensor ones = full({40, 100}, 1.0);
  std::vector<float> v = s.run(y, {{x, ones}, {keep_prob, 0.5}}).to_vector<float>();
  int zeros_seen = 0;
  for (float e : v) {
    ASSERT_TRUE(e == 0.0f || e == 2.0f) << e;
    zeros_seen += e == 0.0f;
  }
  // 4000 Bernoulli(0.5) draws: within 5 standard deviations (sd = sqrt(4000)/2 ~ 31.6) of 2000.
  EXPECT_NEAR(zeros_seen, 2000, 160);
  EXPECT_EQ(s.run(y, {{x, ones}, {keep_prob, 1.0}}).to_vector<float>(), ones.to_vector<float>());
  std::string m = message_of<ValueError>([&] { s.run(y, {{x, ones}, {keep_prob, 0.0}}); });
  EXPECT_NE(m.find("keep_prob"), std::string::npos) << m;
}

// TF lets any tensor be fed: the fed value replaces it, and what only it needed is not run.
TEST(GraphSession, FeedingAnIntermediateTensorCutsItsInputs) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto a = g::placeholder(f32, {}, "a");
  auto c = a * g::constant(2.0);
  auto d = c + g::constant(1.0);
  g::Session s(graph);
  EXPECT_EQ(s.run(d, {{c, 10.0}}).item<float>(), 11.0f);  // `a` is not needed, so not required
  EXPECT_EQ(s.run(d, {{a, 10.0}}).item<float>(), 21.0f);
  EXPECT_THROW(s.run(d, {{c, zeros({2})}}), ShapeError);  // c's static shape is ()
}

// DESIGN.md's spelling: g.placeholder / g.constant / g.variable build on `g` whatever the default
// graph is; g.as_default() and g.name_scope() are the `with` blocks.
TEST(GraphSession, GraphMemberSpellingsBuildOnThatGraph) {
  g::Graph graph;
  const size_t default_ops = g::get_default_graph().operations().size();
  auto x = graph.placeholder(f32, {-1, 2}, "x");
  auto w = graph.variable(from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}), {.name = "w"});
  auto b = graph.constant(from_vector(std::vector<float>{10, 20, 30}, {3}), "b");
  auto y = g::add(g::matmul(x, w), b);
  EXPECT_EQ(&y.graph(), &graph);
  EXPECT_EQ(x.name(), "x:0");
  EXPECT_EQ(w.name(), "w");
  EXPECT_EQ(g::get_default_graph().operations().size(), default_ops);  // nothing leaked into the default graph
  {
    auto scope = graph.as_default();
    EXPECT_EQ(&g::get_default_graph(), &graph);
    auto ns = graph.name_scope("layer1");
    EXPECT_EQ(g::constant(1.0).name(), "layer1/Const:0");
  }
  EXPECT_NE(&g::get_default_graph(), &graph);
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  // [1, 1] · [[1, 2, 3], [4, 5, 6]] + [10, 20, 30] = [15, 27, 39]
  EXPECT_EQ(s.run(y, {{x, from_vector(std::vector<float>{1, 1}, {1, 2})}}).to_vector<float>(), (std::vector<float>{15, 27, 39}));
  g::Graph other;
  std::string m = message_of<ValueError>([&] { other.variable(y); });
  EXPECT_NE(m.find("another graph"), std::string::npos) << m;
}

// Planned runs: each fetch/feed list has its own plan, kept across runs; a run that fails midway
// leaves the session usable, and values do not leak from one run into the next.
TEST(GraphSession, PlansPerFetchAndFeedListAndRecoveryAfterAFailedRun) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto a = g::placeholder(f32, {-1, -1}, "a");
  auto b = g::placeholder(f32, {-1, -1}, "b");
  auto c = g::matmul(a, b);
  auto d = c * g::constant(2.0);
  g::Session s(graph);
  Tensor one = full({1, 1}, 1.0), three = full({1, 1}, 3.0);
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(s.run(d, {{a, one}, {b, three}}).item<float>(), 6.0f);
    EXPECT_EQ(s.run(d, {{b, three}, {a, three}}).item<float>(), 18.0f);  // another feed order: another plan
    EXPECT_EQ(s.run(d, {{c, three}}).item<float>(), 6.0f);               // the intermediate fed: no placeholder needed
    auto both = s.run({c, d}, {{a, three}, {b, three}});
    EXPECT_EQ(g::as_tensor(both[0]).item<float>(), 9.0f);
    EXPECT_EQ(g::as_tensor(both[1]).item<float>(), 18.0f);
  }
  // Shapes that only the run can check: the error, then the same plan runs fine.
  EXPECT_THROW(s.run(d, {{a, full({2, 3}, 1.0)}, {b, full({2, 3}, 1.0)}}), ShapeError);
  EXPECT_EQ(s.run(d, {{a, full({2, 3}, 1.0)}, {b, full({3, 2}, 1.0)}}).to_vector<float>(), (std::vector<float>{6, 6, 6, 6}));
  // The unfed placeholder is still reported for the list that needs it.
  std::string m = message_of<ValueError>([&] { s.run(d, {{a, one}}); });
  EXPECT_NE(m.find("'b'"), std::string::npos) << m;
}

// RunOptions(trace_level=FULL_TRACE) fills RunMetadata with every op that ran, in order, with its
// output shapes; without it the metadata is left empty. timeout_in_ms stops a long run.
TEST(GraphSession, RunOptionsTraceAndTimeout) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto x = g::placeholder(f32, {-1, 3}, "x");
  g::Output h;
  {
    g::NameScope ns("layer1");
    h = g::nn::relu(g::matmul(x, g::constant(full({3, 4}, 1.0), "w")));
  }
  auto total = g::reduce_sum(h);
  g::Session s(graph);
  g::RunMetadata meta;
  g::RunOptions trace{.trace_level = g::RunOptions::TraceLevel::FullTrace};
  Tensor value = s.run(total, {{x, full({2, 3}, 1.0)}}, trace, &meta);
  EXPECT_EQ(value.item<float>(), 24.0f);
  std::vector<std::string> names;
  for (const g::NodeExecStats& st : meta.step_stats) {
    names.push_back(st.node_name);
    EXPECT_GE(st.elapsed_micros, 0.0) << st.node_name;
    EXPECT_GE(st.start_micros, 0.0) << st.node_name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"layer1/w", "layer1/MatMul", "layer1/Relu", "Sum"}));
  ASSERT_EQ(meta.step_stats.size(), 4u);
  EXPECT_EQ(meta.step_stats[1].op, "MatMul");
  EXPECT_EQ(meta.step_stats[1].output_shapes, (std::vector<std::string>{to_string(Shape{2, 4})}));
  for (size_t i = 1; i < meta.step_stats.size(); ++i)
    EXPECT_GE(meta.step_stats[i].start_micros, meta.step_stats[i - 1].start_micros);
  s.run(total, {{x, full({2, 3}, 1.0)}}, {}, &meta);
  EXPECT_TRUE(meta.step_stats.empty());

  // A chain of 40 matmuls of 512x512 (about 10 GFLOP) cannot finish in 1 ms: it stops between ops.
  g::Output chain = g::placeholder(f32, {512, 512}, "m");
  g::Output feed = chain;
  for (int i = 0; i < 40; ++i) chain = g::matmul(chain, feed);
  std::string m = message_of<g::DeadlineExceededError>(
      [&] { s.run(chain, {{feed, full({512, 512}, 1e-3)}}, {.timeout_in_ms = 1}); });
  EXPECT_NE(m.find("timeout of 1 ms"), std::string::npos) << m;
  EXPECT_NE(m.find("MatMul"), std::string::npos) << m;
}
