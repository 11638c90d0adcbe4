// Seeded randomness: reproducibility and the distributions' moments, with tolerances derived from
// the standard error of the estimates (about 6 standard errors, so a correct generator fails
// with probability ~1e-9, while a wrong distribution fails for sure).
#include <algorithm>
#include <cmath>
#include <set>

#include "test_support.hpp"

using namespace ember;

namespace {
struct Moments {
  double mean = 0, std = 0, min = 0, max = 0;
};
Moments moments(const Tensor& t) {
  std::vector<double> v = t.to_vector<double>();
  Moments m;
  double s = 0;
  for (double x : v) s += x;
  m.mean = s / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(ss / static_cast<double>(v.size()));
  m.min = *std::min_element(v.begin(), v.end());
  m.max = *std::max_element(v.begin(), v.end());
  return m;
}
constexpr int64_t kN = 100000;
}  // namespace

TEST(Random, SameSeedSameNumbers) {
  Generator a(42), b(42), c(43);
  Tensor x = randn({1000}, {.dtype = f64, .generator = &a}), y = randn({1000}, {.dtype = f64, .generator = &b}), z = randn({1000}, {.dtype = f64, .generator = &c});
  EXPECT_EQ(x.to_vector<double>(), y.to_vector<double>());
  EXPECT_NE(x.to_vector<double>(), z.to_vector<double>());
  // Re-seeding restarts the stream, including the kept Box-Muller spare.
  a.manual_seed(7);
  Tensor p = randn({3}, {.dtype = f64, .generator = &a});
  a.manual_seed(7);
  Tensor q = randn({3}, {.dtype = f64, .generator = &a});
  EXPECT_EQ(p.to_vector<double>(), q.to_vector<double>());
  EXPECT_EQ(a.initial_seed(), 7u);
  // State round trip.
  Generator g(5);
  (void)g.normal();  // leaves a spare
  Generator::State st = g.state();
  double n1 = g.normal(), u1 = g.uniform();
  g.set_state(st);
  EXPECT_EQ(g.normal(), n1);
  EXPECT_EQ(g.uniform(), u1);
}

TEST(Random, ManualSeedResetsTheDefaultGenerator) {
  manual_seed(123);
  Tensor a = rand({50});
  Tensor b = randn({50});
  manual_seed(123);
  Tensor c = rand({50});
  Tensor d = randn({50});
  EXPECT_EQ(a.to_vector<float>(), c.to_vector<float>());
  EXPECT_EQ(b.to_vector<float>(), d.to_vector<float>());
  Tensor e = rand({50});
  EXPECT_NE(a.to_vector<float>(), e.to_vector<float>());
  // An explicit generator seeded the same gives the same numbers as the default one.
  manual_seed(9);
  Generator g(9);
  EXPECT_EQ(rand({10}, {.dtype = f64}).to_vector<double>(), rand({10}, {.dtype = f64, .generator = &g}).to_vector<double>());
}

TEST(Random, RandnHasMeanZeroAndStdOne) {
  Generator g(1);
  Moments m = moments(randn({kN}, {.dtype = f64, .generator = &g}));
  // SE(mean) = 1/sqrt(N) = 0.0032; SE(std) ≈ 1/sqrt(2N) = 0.0022.
  EXPECT_NEAR(m.mean, 0.0, 6 / std::sqrt(double(kN)));
  EXPECT_NEAR(m.std, 1.0, 6 / std::sqrt(2.0 * kN));
  Moments s = moments(randn({kN}, {.mean = 3.0, .stddev = 0.5, .generator = &g}));
  EXPECT_NEAR(s.mean, 3.0, 6 * 0.5 / std::sqrt(double(kN)));
  EXPECT_NEAR(s.std, 0.5, 6 * 0.5 / std::sqrt(2.0 * kN));
  // Tails: P(|z| > 3) = 0.0027; count over N is binomial.
  std::vector<double> v = randn({kN}, {.dtype = f64, .generator = &g}).to_vector<double>();
  double tail = static_cast<double>(std::count_if(v.begin(), v.end(), [](double z) { return std::abs(z) > 3; })) / kN;
  EXPECT_NEAR(tail, 0.0027, 6 * std::sqrt(0.0027 * (1 - 0.0027) / kN));
  EXPECT_THROW(randn({2}, {.dtype = i32}), DTypeError);
}

TEST(Random, RandIsUniformInHalfOpenInterval) {
  Generator g(2);
  for (DType dt : {f32, f64}) {
    Tensor r = rand({kN}, {.low = -2.0, .high = 3.0, .dtype = dt, .generator = &g});
    Moments m = moments(r);
    EXPECT_GE(m.min, -2.0);
    EXPECT_LT(m.max, 3.0);
    // uniform on [a,b): mean (a+b)/2, std (b-a)/sqrt(12)
    double sd = 5 / std::sqrt(12.0);
    EXPECT_NEAR(m.mean, 0.5, 6 * sd / std::sqrt(double(kN)));
    EXPECT_NEAR(m.std, sd, 0.01);
  }
  EXPECT_THROW(rand({2}, {.low = 1.0, .high = 0.0, .generator = &g}), ValueError);
}

TEST(Random, RandFloat32NeverReturnsHigh) {
  // A 53-bit uniform just below 1 rounds to exactly 1.0f when narrowed to float; rand must still
  // stay below `high`. Find such a draw in a generator stream and replay it.
  Generator g(77);
  Generator::State hit;
  bool found = false;
  for (int64_t i = 0; i < (int64_t(1) << 31) && !found; ++i) {
    Generator::State st = g.state();
    if (static_cast<float>(g.uniform()) == 1.0f) { hit = st; found = true; }
  }
  ASSERT_TRUE(found);
  Generator r(0);
  r.set_state(hit);
  EXPECT_LT(rand({1}, {.generator = &r}).item<float>(), 1.0f);
  r.set_state(hit);
  EXPECT_LT(rand({1}, {.low = -1.0, .high = 1.0, .generator = &r}).item<float>(), 1.0f);
}

TEST(Random, TruncatedNormalStaysWithinTwoSigma) {
  Generator g(3);
  const double sigma = 0.5, mu = 1.0;
  Moments m = moments(truncated_normal({kN}, {.mean = mu, .stddev = sigma, .dtype = f64, .generator = &g}));
  EXPECT_GE(m.min, mu - 2 * sigma);
  EXPECT_LE(m.max, mu + 2 * sigma);
  // The normal truncated to ±2σ has std 0.87962566σ.
  EXPECT_NEAR(m.std, 0.87962566 * sigma, 6 * 0.88 * sigma / std::sqrt(2.0 * kN));
  EXPECT_NEAR(m.mean, mu, 6 * 0.88 * sigma / std::sqrt(double(kN)));
  Moments f = moments(truncated_normal({kN}, {.generator = &g}));
  EXPECT_GE(f.min, -2.0);
  EXPECT_LE(f.max, 2.0);
}

TEST(Random, BernoulliMeanIsP) {
  Generator g(4);
  for (double p : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    Tensor b = bernoulli({kN}, p, {.generator = &g});
    std::vector<float> v = b.to_vector<float>();
    for (float x : v) ASSERT_TRUE(x == 0.0f || x == 1.0f);
    double mean = moments(b).mean;
    EXPECT_NEAR(mean, p, 6 * std::sqrt(p * (1 - p) / kN) + 1e-12) << "p=" << p;
  }
  EXPECT_EQ(bernoulli({3}, 0.5, {.dtype = boolean, .generator = &g}).dtype(), boolean);
  EXPECT_THROW(bernoulli({2}, 1.5, {.generator = &g}), ValueError);
  EXPECT_THROW(bernoulli({2}, -0.1, {.generator = &g}), ValueError);
}

TEST(Random, RandpermIsAPermutation) {
  Generator g(5);
  Tensor p = randperm(1000, &g);
  EXPECT_EQ(p.dtype(), i64);
  std::vector<int64_t> v = p.to_vector<int64_t>();
  std::vector<int64_t> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[static_cast<std::size_t>(i)], i);
  std::vector<int64_t> identity(1000);
  for (int64_t i = 0; i < 1000; ++i) identity[static_cast<std::size_t>(i)] = i;
  EXPECT_NE(v, identity);
  // Every position is equally likely to hold element 0: over 6000 permutations of 3 each of the
  // 6 orders appears ~1000 times (SD ~29).
  std::map<std::vector<int64_t>, int> counts;
  for (int i = 0; i < 6000; ++i) ++counts[randperm(3, &g).to_vector<int64_t>()];
  EXPECT_EQ(counts.size(), 6u);
  for (auto& [perm, c] : counts) EXPECT_NEAR(c, 1000, 200);
  EXPECT_EQ(randperm(0, &g).numel(), 0);
  EXPECT_THROW(randperm(-1, &g), ValueError);
}

// ------------------------------------------------------------------ deferred draws

namespace {
// Draws `n` numbers when run; records them.
struct Recorder final : Generator::Deferred {
  explicit Recorder(int n) : n(n) {}
  int n;
  std::vector<uint64_t> got;
  void draw(Generator& g) override {
    for (int i = 0; i < n; ++i) got.push_back(g.next_u64());
  }
};
std::vector<uint64_t> draws(Generator& g, int n) {
  std::vector<uint64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(g.next_u64());
  return v;
}
}  // namespace

TEST(Random, DeferredDrawsAreTheNumbersAnEagerConsumerWouldHaveGot) {
  Generator eager(11);
  std::vector<uint64_t> a = draws(eager, 3), b = draws(eager, 2), after = draws(eager, 4);
  double normal_after = eager.normal();

  Generator g(11);
  auto ra = std::make_shared<Recorder>(3), rb = std::make_shared<Recorder>(2);
  g.defer(ra);
  g.defer(rb);
  EXPECT_TRUE(ra->pending());
  // Running the second first still draws in the order deferred.
  rb->run_now();
  EXPECT_EQ(ra->got, a);
  EXPECT_EQ(rb->got, b);
  EXPECT_FALSE(rb->pending());
  // A foreign draw first makes whatever is pending.
  auto rc = std::make_shared<Recorder>(4);
  g.defer(rc);
  EXPECT_EQ(g.normal(), normal_after);
  EXPECT_EQ(rc->got, after);
}

TEST(Random, ReplacingOrDestroyingTheStateLeavesDeferredDrawsTheirStart) {
  Generator eager(5);
  std::vector<uint64_t> expected = draws(eager, 3);
  Generator fresh(99);
  std::vector<uint64_t> fresh_draws = draws(fresh, 2);

  for (int how = 0; how < 4; ++how) {
    SCOPED_TRACE(how);
    auto g = std::make_unique<Generator>(5);
    auto r = std::make_shared<Recorder>(3);
    g->defer(r);
    if (how == 0) g->manual_seed(99);
    if (how == 1) g->set_state(Generator(99).state());
    if (how == 2) *g = Generator(99);
    if (how == 3) {
      Generator moved = std::move(*g);  // the pending draws follow the state
      EXPECT_TRUE(r->pending());
      g->manual_seed(99);
      r->run_now();
      EXPECT_EQ(r->got, expected);
      continue;
    }
    EXPECT_EQ(draws(*g, 2), fresh_draws);  // the new stream is untouched by the pending draws
    g.reset();
    r->run_now();
    EXPECT_EQ(r->got, expected);
  }
}

TEST(Random, CopiesAndStateIncludeThePendingDraws) {
  Generator eager(8);
  draws(eager, 5);
  Generator::State after = eager.state();
  Generator g(8);
  auto r = std::make_shared<Recorder>(5);
  g.defer(r);
  Generator copy = g;
  EXPECT_FALSE(r->pending());
  EXPECT_EQ(copy.state().s, after.s);
  EXPECT_EQ(g.state().s, after.s);
  // A consumer destroyed before its draws were made drops them.
  auto gone = std::make_shared<Recorder>(3);
  g.defer(gone);
  gone.reset();
  Generator same = copy;
  EXPECT_EQ(draws(g, 2), draws(same, 2));
}
