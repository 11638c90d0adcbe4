// Convolution kernels: TensorFlow geometry, a worked example, fast f32 paths vs the f64 reference,
// and a finite-difference check of the reference backward kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/kernels/cpu/conv.hpp"
#include "test_support.hpp"

namespace {

using namespace ember::kernels::cpu;
using ember::testing::numeric_gradient;
using ember::testing::rel_error;
using detail::ConvF32Algo;

std::vector<double> random_vec(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  std::vector<double> v(n);
  for (auto& e : v) e = d(rng);
  return v;
}
std::vector<float> to_f32(const std::vector<double>& v) { return {v.begin(), v.end()}; }

int64_t x_size(const Conv2dGeometry& g) { return g.batch * g.in_h * g.in_w * g.in_c; }
int64_t w_size(const Conv2dGeometry& g) { return g.k_h * g.k_w * (g.in_c / g.groups) * g.out_c; }
int64_t y_size(const Conv2dGeometry& g) { return g.batch * g.out_h * g.out_w * g.out_c; }

// Restores the process-wide algorithm choice when a test ends.
struct AlgoGuard {
  ConvF32Algo saved = detail::conv2d_f32_algo();
  explicit AlgoGuard(ConvF32Algo a) { detail::set_conv2d_f32_algo(a); }
  ~AlgoGuard() { detail::set_conv2d_f32_algo(saved); }
};

const ConvF32Algo kAlgos[] = {ConvF32Algo::Auto,       ConvF32Algo::DnnlDirect,     ConvF32Algo::DnnlBlocked,
                              ConvF32Algo::Im2colGemm, ConvF32Algo::DnnlAnyWeights, ConvF32Algo::DnnlWinograd,
                              ConvF32Algo::EmberWinograd, ConvF32Algo::EmberWinogradAvx2};

TEST(ConvGeometry, TensorFlowRules) {
  auto g = make_conv2d_geometry({.batch = 1, .in_h = 28, .in_w = 28, .in_c = 1, .k_h = 5, .k_w = 5, .out_c = 32, .padding = Padding::Same});
  EXPECT_EQ(g.out_h, 28);
  EXPECT_EQ(g.out_w, 28);
  EXPECT_EQ(g.pad_top, 2);
  EXPECT_EQ(g.pad_bottom, 2);
  EXPECT_EQ(g.pad_left, 2);
  EXPECT_EQ(g.pad_right, 2);

  g = make_conv2d_geometry({.batch = 1, .in_h = 200, .in_w = 200, .in_c = 1, .k_h = 2, .k_w = 2, .out_c = 1, .stride_h = 2, .stride_w = 2});
  EXPECT_EQ(g.out_h, 100);
  EXPECT_EQ(g.out_w, 100);
  EXPECT_EQ(g.pad_top + g.pad_bottom + g.pad_left + g.pad_right, 0);

  g = make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .stride_h = 2, .stride_w = 2, .padding = Padding::Same});
  EXPECT_EQ(g.out_h, 3);
  EXPECT_EQ(g.pad_top, 1);
  EXPECT_EQ(g.pad_bottom, 1);

  g = make_conv2d_geometry({.batch = 1, .in_h = 6, .in_w = 6, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .stride_h = 2, .stride_w = 2, .padding = Padding::Same});
  EXPECT_EQ(g.out_h, 3);
  EXPECT_EQ(g.pad_top, 0);
  EXPECT_EQ(g.pad_bottom, 1);  // the extra padding goes bottom/right

  // VALID with dilation: ceil((10 - 2*2) / 3) = 2.
  g = make_conv2d_geometry({.batch = 1, .in_h = 10, .in_w = 10, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .stride_h = 3, .stride_w = 3, .dilation_h = 2, .dilation_w = 2});
  EXPECT_EQ(g.out_h, 2);
  // conv1d as conv2d.
  g = make_conv2d_geometry({.batch = 2, .in_h = 1, .in_w = 9, .in_c = 3, .k_h = 1, .k_w = 4, .out_c = 5, .stride_w = 2, .padding = Padding::Same});
  EXPECT_EQ(g.out_h, 1);
  EXPECT_EQ(g.pad_top + g.pad_bottom, 0);
  EXPECT_EQ(g.out_w, 5);
}

TEST(ConvGeometry, BadArgumentsThrow) {
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .stride_h = 0, .padding = Padding::Same}), ember::ValueError);
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .stride_w = -1}), ember::ValueError);
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .dilation_h = 0}), ember::ValueError);
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 0, .in_w = 5, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .padding = Padding::Same}), ember::ValueError);
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 0, .k_h = 3, .k_w = 3, .out_c = 1, .padding = Padding::Same}), ember::ValueError);
  EXPECT_THROW(make_conv2d_geometry({.batch = -1, .in_h = 5, .in_w = 5, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .padding = Padding::Same}), ember::ValueError);
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 1, .k_h = 6, .k_w = 3, .out_c = 1}), ember::ShapeError);
  // 3 taps at dilation 3 span 7 > 5.
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1, .dilation_h = 3, .dilation_w = 3}), ember::ShapeError);
  try {
    make_conv2d_geometry({.batch = 1, .in_h = 4, .in_w = 5, .in_c = 1, .k_h = 6, .k_w = 3, .out_c = 1});
    FAIL() << "expected ShapeError";
  } catch (const ember::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find('6'), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find('4'), std::string::npos) << e.what();
  }
  // Kernel larger than the input is fine with SAME padding.
  EXPECT_NO_THROW(make_conv2d_geometry({.batch = 1, .in_h = 2, .in_w = 2, .in_c = 1, .k_h = 5, .k_w = 5, .out_c = 1, .padding = Padding::Same}));
}

// The notes' example: 5x5 input, vertical-edge 3x3 filter, VALID, stride 1 (cross-correlation).
// Filter columns are (-1, 0, +1), so y[i][j] = sum over rows r=i..i+2 of (x[r][j+2] - x[r][j]):
//   y00 = (2-2) + (3-1) + (4-4) =  2    y01 = (3-1) + (1-2) + (6-2) = 5    y02 = (4-2) + (3-3) + (7-4) = 5
//   y10 = (3-1) + (4-4) + (3-6) = -1    y11 = (1-2) + (6-2) + (3-4) = 2    y12 = (3-3) + (7-4) + (1-3) = 1
//   y20 = (4-4) + (3-6) + (1-5) = -7    y21 = (6-2) + (3-4) + (4-2) = 5    y22 = (7-4) + (1-3) + (3-1) = 3
TEST(ConvKernels, WorkedExample) {
  const std::vector<double> x = {2, 1, 2, 3, 4, 1, 2, 3, 1, 3, 4, 2, 4, 6, 7, 6, 4, 3, 3, 1, 5, 2, 1, 4, 3};
  const std::vector<double> w = {-1, 0, 1, -1, 0, 1, -1, 0, 1};
  const std::vector<double> expected = {2, 5, 5, -1, 2, 1, -7, 5, 3};
  const auto g = make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 1, .k_h = 3, .k_w = 3, .out_c = 1});
  ASSERT_EQ(g.out_h, 3);
  ASSERT_EQ(g.out_w, 3);

  std::vector<double> y(9);
  conv2d_forward_ref(g, x.data(), w.data(), y.data());
  EXPECT_EQ(y, expected);

  const auto xf = to_f32(x), wf = to_f32(w), ef = to_f32(expected);
  std::vector<float> yf(9);
  conv2d_forward_ref(g, xf.data(), wf.data(), yf.data());
  EXPECT_EQ(yf, ef);
  for (ConvF32Algo a : kAlgos) {
    AlgoGuard guard(a);
    std::fill(yf.begin(), yf.end(), -100.0f);
    conv2d_forward_f32(g, xf.data(), wf.data(), yf.data());
    if (a == ConvF32Algo::EmberWinograd || a == ConvF32Algo::EmberWinogradAvx2) {
      // Winograd's transforms scale by 1/4, 1/6, 1/24: exact only up to float32 rounding.
      for (size_t i = 0; i < ef.size(); ++i) EXPECT_NEAR(yf[i], ef[i], 1e-5) << "at " << i;
    } else {
      EXPECT_EQ(yf, ef) << "algo " << static_cast<int>(a);
    }
  }
}

struct Case {
  int64_t n, h, w, c, kh, kw, o, sh, sw, dh, dw;
  Padding pad;
};

const Case kCases[] = {
    {2, 7, 9, 3, 3, 3, 5, 1, 1, 1, 1, Padding::Same},
    {2, 7, 9, 3, 3, 3, 5, 1, 1, 1, 1, Padding::Valid},
    {3, 11, 10, 4, 3, 2, 6, 2, 2, 1, 1, Padding::Same},
    {3, 11, 10, 4, 3, 3, 6, 2, 3, 1, 1, Padding::Valid},
    {1, 13, 13, 2, 5, 5, 7, 3, 3, 1, 1, Padding::Same},
    {2, 12, 9, 5, 3, 3, 4, 1, 1, 2, 2, Padding::Same},
    {2, 12, 9, 5, 3, 2, 4, 1, 2, 2, 2, Padding::Valid},
    {2, 6, 6, 8, 1, 1, 16, 1, 1, 1, 1, Padding::Same},   // pointwise
    {2, 6, 7, 8, 1, 1, 3, 2, 2, 1, 1, Padding::Valid},   // strided 1x1
    {3, 1, 17, 4, 1, 3, 5, 1, 1, 1, 1, Padding::Same},   // conv1d
    {3, 1, 17, 4, 1, 4, 5, 1, 2, 1, 1, Padding::Valid},  // conv1d strided
    {2, 1, 20, 3, 1, 3, 2, 1, 1, 1, 3, Padding::Same},   // conv1d dilated
    {4, 8, 8, 16, 5, 5, 17, 1, 1, 1, 1, Padding::Same},
    {2, 3, 3, 2, 5, 5, 3, 1, 1, 1, 1, Padding::Same},    // kernel larger than input
    {2, 9, 9, 3, 2, 2, 4, 3, 3, 1, 1, Padding::Same},    // stride larger than kernel
    {3, 12, 10, 1, 5, 5, 8, 1, 1, 1, 1, Padding::Same},  // one input channel (the one-channel dx kernel)
    {2, 9, 7, 1, 3, 2, 4, 1, 1, 1, 1, Padding::Valid},
    {2, 6, 5, 1, 4, 2, 3, 1, 1, 1, 1, Padding::Same},    // even kernel: asymmetric padding
    {2, 3, 4, 1, 5, 5, 3, 1, 1, 1, 1, Padding::Same},    // kernel larger than input
    // 3x3 stride 1 with >= 16 channels: the Winograd kernels (Auto takes them for the forward pass only
    // from batch x output pixels >= 8192, as the first case has; DnnlWinograd always).
    {32, 16, 16, 16, 3, 3, 32, 1, 1, 1, 1, Padding::Same},
    {3, 13, 11, 24, 3, 3, 20, 1, 1, 1, 1, Padding::Same},   // ragged tiles, channels not a multiple of 16
    {2, 10, 9, 16, 3, 3, 16, 1, 1, 1, 1, Padding::Valid},
    // 5x5 stride 1 with >= 16 channels: our Winograd F(4x4, 5x5) (ragged tiles, channels not a multiple
    // of 8, VALID)
    {3, 13, 11, 24, 5, 5, 20, 1, 1, 1, 1, Padding::Same},
    {2, 10, 9, 19, 5, 5, 16, 1, 1, 1, 1, Padding::Valid},
    {48, 14, 14, 16, 5, 5, 16, 1, 1, 1, 1, Padding::Same},  // batch x pixels >= 8192: Auto's forward too
};

double max_abs(const std::vector<double>& v) {
  double m = 1.0;
  for (double e : v) m = std::max(m, std::abs(e));
  return m;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const char* what, int algo) {
  ASSERT_EQ(got.size(), want.size());
  const double tol = 1e-4 * max_abs(want);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol) << what << " algo " << algo << " at " << i;
  }
}

// Every f32 implementation, and the f32 reference, against the f64 reference on random data.
void check_fast_against_reference(const Conv2dGeometry& g, std::mt19937& rng) {
  const auto x = random_vec(x_size(g), rng), w = random_vec(w_size(g), rng), dy = random_vec(y_size(g), rng);
  std::vector<double> y(y_size(g)), dx(x_size(g)), dw(w_size(g));
  conv2d_forward_ref(g, x.data(), w.data(), y.data());
  conv2d_backward_input_ref(g, dy.data(), w.data(), dx.data());
  conv2d_backward_filter_ref(g, x.data(), dy.data(), dw.data());
  const auto xf = to_f32(x), wf = to_f32(w), dyf = to_f32(dy);
  for (ConvF32Algo a : kAlgos) {
    AlgoGuard guard(a);
    std::vector<float> yf(y.size(), NAN), dxf(dx.size(), NAN), dwf(dw.size(), NAN);
    conv2d_forward_f32(g, xf.data(), wf.data(), yf.data());
    conv2d_backward_input_f32(g, dyf.data(), wf.data(), dxf.data());
    conv2d_backward_filter_f32(g, xf.data(), dyf.data(), dwf.data());
    expect_close(yf, y, "forward", static_cast<int>(a));
    expect_close(dxf, dx, "backward_input", static_cast<int>(a));
    expect_close(dwf, dw, "backward_filter", static_cast<int>(a));
  }
  // The f32 reference agrees as well.
  std::vector<float> yr(y.size());
  conv2d_forward_ref(g, xf.data(), wf.data(), yr.data());
  expect_close(yr, y, "forward_ref_f32", -1);
}

TEST(ConvKernels, FastMatchesReference) {
  std::mt19937 rng(42);
  for (const Case& k : kCases) {
    const auto g = make_conv2d_geometry({.batch = k.n, .in_h = k.h, .in_w = k.w, .in_c = k.c, .k_h = k.kh, .k_w = k.kw, .out_c = k.o, .stride_h = k.sh, .stride_w = k.sw, .dilation_h = k.dh, .dilation_w = k.dw, .padding = k.pad});
    SCOPED_TRACE(testing::Message() << "case n" << k.n << " " << k.h << "x" << k.w << "x" << k.c << " k" << k.kh << "x"
                                    << k.kw << " o" << k.o << " s" << k.sh << "," << k.sw << " d" << k.dh << ","
                                    << k.dw << (k.pad == Padding::Same ? " SAME" : " VALID"));
    check_fast_against_reference(g, rng);
  }
}

TEST(ConvKernels, RepeatedCallsAreBitIdentical) {
  std::mt19937 rng(7);
  for (const int64_t k : {5, 3}) {  // 3x3: the Winograd kernels of Auto and DnnlWinograd
  const auto g = make_conv2d_geometry({.batch = 8, .in_h = 14, .in_w = 14, .in_c = 16, .k_h = k, .k_w = k, .out_c = 32, .padding = Padding::Same});
  const auto x = to_f32(random_vec(x_size(g), rng)), w = to_f32(random_vec(w_size(g), rng));
  const auto dy = to_f32(random_vec(y_size(g), rng));
  for (ConvF32Algo a : kAlgos) {
    AlgoGuard guard(a);
    std::vector<float> y1(y_size(g)), y2(y_size(g)), dx1(x_size(g)), dx2(x_size(g)), dw1(w_size(g)), dw2(w_size(g));
    conv2d_forward_f32(g, x.data(), w.data(), y1.data());
    conv2d_backward_input_f32(g, dy.data(), w.data(), dx1.data());
    conv2d_backward_filter_f32(g, x.data(), dy.data(), dw1.data());
    conv2d_forward_f32(g, x.data(), w.data(), y2.data());
    conv2d_backward_input_f32(g, dy.data(), w.data(), dx2.data());
    conv2d_backward_filter_f32(g, x.data(), dy.data(), dw2.data());
    EXPECT_EQ(y1, y2);
    EXPECT_EQ(dx1, dx2);
    EXPECT_EQ(dw1, dw2);
  }
  }
}

// Our Winograd's AVX-512 code (channel counts that are multiples of 16, on CPUs that have it) does
// per lane what its AVX2 code does, in the same order: the results agree bit for bit, with bias and
// ReLU too. (On a CPU without AVX-512 both settings run the AVX2 code.)
TEST(ConvKernels, WinogradAvx512AndAvx2AgreeBitForBit) {
  std::mt19937 rng(11);
  for (const int64_t k : {3, 5}) {
    const auto g = make_conv2d_geometry({.batch = 3, .in_h = 13, .in_w = 11, .in_c = 32, .k_h = k, .k_w = k, .out_c = 48, .padding = Padding::Same});
    const auto x = to_f32(random_vec(x_size(g), rng)), w = to_f32(random_vec(w_size(g), rng));
    const auto dy = to_f32(random_vec(y_size(g), rng)), bias = to_f32(random_vec(48, rng));
    std::vector<float> y[2], dx[2], dw[2];
    int i = 0;
    for (ConvF32Algo a : {ConvF32Algo::EmberWinograd, ConvF32Algo::EmberWinogradAvx2}) {
      AlgoGuard guard(a);
      y[i].resize(y_size(g)), dx[i].resize(x_size(g)), dw[i].resize(w_size(g));
      conv2d_forward_f32(g, x.data(), w.data(), y[i].data(), bias.data(), BiasAct::ReLU);
      conv2d_backward_input_f32(g, dy.data(), w.data(), dx[i].data());
      conv2d_backward_filter_f32(g, x.data(), dy.data(), dw[i].data());
      ++i;
    }
    EXPECT_EQ(y[0], y[1]) << k;
    EXPECT_EQ(dx[0], dx[1]) << k;
    EXPECT_EQ(dw[0], dw[1]) << k;
    EXPECT_GT(*std::max_element(y[0].begin(), y[0].end()), 0.0f);  // the ReLU left something
  }
}

TEST(ConvKernels, EmptyBatch) {
  const auto g = make_conv2d_geometry({.batch = 0, .in_h = 5, .in_w = 5, .in_c = 2, .k_h = 3, .k_w = 3, .out_c = 4, .padding = Padding::Same});
  std::vector<float> w(w_size(g), 1.0f), dw(w_size(g), 5.0f);
  conv2d_forward_f32(g, nullptr, w.data(), nullptr);
  conv2d_backward_input_f32(g, nullptr, w.data(), nullptr);
  conv2d_backward_filter_f32(g, nullptr, nullptr, dw.data());
  for (float v : dw) EXPECT_EQ(v, 0.0f);
}

// L = sum(conv(x, w) * r): dL/dx = backward_input(r), dL/dw = backward_filter(x, r).
TEST(ConvKernels, ReferenceBackwardMatchesFiniteDifferences) {
  std::mt19937 rng(3);
  const auto g = make_conv2d_geometry({.batch = 2, .in_h = 6, .in_w = 5, .in_c = 3, .k_h = 3, .k_w = 2, .out_c = 4, .stride_h = 2, .dilation_w = 2, .padding = Padding::Same});
  auto x = random_vec(x_size(g), rng), w = random_vec(w_size(g), rng);
  const auto r = random_vec(y_size(g), rng);
  auto loss = [&] {
    std::vector<double> y(y_size(g));
    conv2d_forward_ref(g, x.data(), w.data(), y.data());
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
    return s;
  };
  std::vector<double> dx(x.size()), dw(w.size());
  conv2d_backward_input_ref(g, r.data(), w.data(), dx.data());
  conv2d_backward_filter_ref(g, x.data(), r.data(), dw.data());
  auto numeric = [&](std::vector<double>& p) { return numeric_gradient(loss, p, 1e-6); };
  EXPECT_LT(rel_error(dx, numeric(x)), 1e-7);
  EXPECT_LT(rel_error(dw, numeric(w)), 1e-7);
}

// ---------------------------------------------------------------- grouped / depthwise (issue 16)

struct GroupedCase {
  int64_t n, h, w, c, kh, kw, o, groups, s, d;
  Padding pad;
};

const GroupedCase kGroupedCases[] = {
    {2, 7, 6, 3, 3, 3, 3, 3, 1, 1, Padding::Same},    // depthwise, multiplier 1
    {2, 7, 6, 3, 3, 3, 6, 3, 2, 1, Padding::Same},    // depthwise, multiplier 2, strided
    {2, 9, 8, 4, 3, 2, 4, 4, 1, 2, Padding::Valid},   // depthwise, dilated
    {3, 6, 7, 6, 3, 3, 4, 2, 1, 1, Padding::Same},    // two groups of 3 -> 2
    {2, 10, 10, 16, 3, 3, 32, 16, 1, 1, Padding::Same},  // a MobileNet-like depthwise block
};

Conv2dGeometry grouped_geometry(const GroupedCase& k) {
  return make_conv2d_geometry({.batch = k.n, .in_h = k.h, .in_w = k.w, .in_c = k.c, .k_h = k.kh, .k_w = k.kw,
                               .out_c = k.o, .stride_h = k.s, .stride_w = k.s, .dilation_h = k.d, .dilation_w = k.d,
                               .padding = k.pad, .groups = k.groups});
}

// The grouped filter [kh, kw, C / G, O] as the dense [kh, kw, C, O] one that is zero outside the groups.
std::vector<double> dense_filter(const Conv2dGeometry& g, const std::vector<double>& wg) {
  const int64_t cg = g.in_c / g.groups, og = g.out_c / g.groups;
  std::vector<double> w(g.k_h * g.k_w * g.in_c * g.out_c, 0.0);
  for (int64_t kk = 0; kk < g.k_h * g.k_w; ++kk) {
    for (int64_t c = 0; c < cg; ++c) {
      for (int64_t o = 0; o < g.out_c; ++o) {
        const int64_t ic = (o / og) * cg + c;
        w[(kk * g.in_c + ic) * g.out_c + o] = wg[(kk * cg + c) * g.out_c + o];
      }
    }
  }
  return w;
}

TEST(ConvKernels, GroupedReferenceMatchesDenseBlockDiagonalFilter) {
  std::mt19937 rng(11);
  for (const GroupedCase& k : kGroupedCases) {
    const auto g = grouped_geometry(k);
    Conv2dGeometry dense = g;
    dense.groups = 1;
    SCOPED_TRACE(testing::Message() << "case c" << k.c << " o" << k.o << " groups " << k.groups);
    const int64_t wg_size = w_size(g);
    const auto x = random_vec(x_size(g), rng), wg = random_vec(wg_size, rng), dy = random_vec(y_size(g), rng);
    const auto wd = dense_filter(g, wg);
    std::vector<double> y(y_size(g)), yd(y_size(g)), dx(x_size(g)), dxd(x_size(g)), dw(wg_size), dwd(w_size(dense));
    conv2d_forward_ref(g, x.data(), wg.data(), y.data());
    conv2d_forward_ref(dense, x.data(), wd.data(), yd.data());
    conv2d_backward_input_ref(g, dy.data(), wg.data(), dx.data());
    conv2d_backward_input_ref(dense, dy.data(), wd.data(), dxd.data());
    conv2d_backward_filter_ref(g, x.data(), dy.data(), dw.data());
    conv2d_backward_filter_ref(dense, x.data(), dy.data(), dwd.data());
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], yd[i], 1e-12) << "forward at " << i;
    for (size_t i = 0; i < dx.size(); ++i) ASSERT_NEAR(dx[i], dxd[i], 1e-12) << "backward_input at " << i;
    // The grouped filter gradient is the dense one's entries inside the groups.
    std::vector<double> dw_in_groups(wg_size);
    const int64_t cg = g.in_c / g.groups, og = g.out_c / g.groups;
    for (int64_t kk = 0; kk < g.k_h * g.k_w; ++kk) {
      for (int64_t c = 0; c < cg; ++c) {
        for (int64_t o = 0; o < g.out_c; ++o) {
          dw_in_groups[(kk * cg + c) * g.out_c + o] = dwd[(kk * g.in_c + (o / og) * cg + c) * g.out_c + o];
        }
      }
    }
    for (size_t i = 0; i < dw.size(); ++i) ASSERT_NEAR(dw[i], dw_in_groups[i], 1e-12) << "backward_filter at " << i;
  }
}

TEST(ConvKernels, GroupedFastMatchesReference) {
  std::mt19937 rng(12);
  for (const GroupedCase& k : kGroupedCases) {  // every algorithm choice runs oneDNN's grouped primitives
    SCOPED_TRACE(testing::Message() << "case c" << k.c << " o" << k.o << " groups " << k.groups);
    check_fast_against_reference(grouped_geometry(k), rng);
  }
}

TEST(ConvKernels, GroupedEmptyBatchZeroesTheFilterGradient) {
  const auto g = make_conv2d_geometry({.batch = 0, .in_h = 5, .in_w = 5, .in_c = 4, .k_h = 3, .k_w = 3, .out_c = 8,
                                       .padding = Padding::Same, .groups = 4});
  std::vector<float> dw(w_size(g), 5.0f);  // [3, 3, 1, 8]: the grouped size, written exactly
  conv2d_backward_filter_f32(g, nullptr, nullptr, dw.data());
  for (float v : dw) EXPECT_EQ(v, 0.0f);
}

TEST(ConvGeometry, GroupsMustDivideTheChannels) {
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 3, .k_h = 3, .k_w = 3, .out_c = 4, .groups = 3}),
               ember::ValueError);
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 4, .k_h = 3, .k_w = 3, .out_c = 6, .groups = 4}),
               ember::ValueError);
  EXPECT_THROW(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 4, .k_h = 3, .k_w = 3, .out_c = 4, .groups = 0}),
               ember::ValueError);
  EXPECT_EQ(make_conv2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .in_c = 4, .k_h = 3, .k_w = 3, .out_c = 8, .groups = 4}).groups, 4);
}

}  // namespace
