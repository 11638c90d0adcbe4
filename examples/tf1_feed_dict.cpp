// The notes' TF1 feed_dict basics in graph mode (notes 000 and 002):
//   A = tf.placeholder(tf.float32, [3, 5]); B = tf.placeholder(tf.float32, [5, None])
//   C = tf.matmul(A, B); s.run(C, feed_dict={A: randint(0, 10, (3, 5)), B: randint(0, 10, (5, 5))})
//   x = tf.placeholder(tf.string); y = tf.placeholder(tf.int32); z = tf.placeholder(tf.float32)
//   sess.run(x, feed_dict={x: 'Test string', y: 12, z: 1.2})
// Exits 1 unless C equals the integer product of the fed matrices and the string comes back.
#include <cstdio>

#include "ember/ember.hpp"

using namespace ember;
namespace tf = ember::graph;

int main() try {
  manual_seed(0);
  tf::Graph graph;
  tf::GraphScope as_default(graph);

  auto A = tf::placeholder(f32, {3, 5});
  auto B = tf::placeholder(f32, {5, -1});  // None: any width
  auto C = tf::matmul(A, B);
  std::printf("C = %s, static shape %s\n", C.name().c_str(), C.shape().str().c_str());

  // np.random.randint(0, 10, size): int64 matrices, converted to float32 by the feed as in TF.
  Tensor a = cast(rand({3, 5}, {.low = 0, .high = 10}), i64);
  Tensor b = cast(rand({5, 5}, {.low = 0, .high = 10}), i64);
  tf::Session s(graph);
  Tensor res = s.run(C, {{A, a}, {B, b}});
  std::printf("%s\n", res.to_string().c_str());

  bool ok = res.shape() == Shape{3, 5};
  auto av = a.to_vector<int64_t>(), bv = b.to_vector<int64_t>();
  auto rv = res.to_vector<float>();
  for (int i = 0; i < 3 && ok; ++i)
    for (int j = 0; j < 5; ++j) {
      int64_t want = 0;
      for (int k = 0; k < 5; ++k) want += av[i * 5 + k] * bv[k * 5 + j];
      ok = ok && rv[i * 5 + j] == static_cast<float>(want);
    }

  auto x = tf::string_placeholder();
  auto y = tf::placeholder(i32);
  auto z = tf::placeholder(f32);
  std::string out = tf::as_string(s.run_value(x, {{x, "Test string"}, {y, 12}, {z, 1.2}}));
  std::printf("%s\n", out.c_str());
  ok = ok && out == "Test string";

  // float + int: TF1 refuses; a cast makes it work.
  try {
    tf::add(A, tf::constant(1.0, i32));
    ok = false;
  } catch (const DTypeError& e) {
    std::printf("float + int: %s\n", e.what());
  }
  if (!ok) {
    std::fprintf(stderr, "tf1 feed_dict example FAILED\n");
    return 1;
  }
  std::printf("tf1 feed_dict example passed\n");
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "example_tf1_feed_dict: %s\n", e.what());
  return 1;
}
