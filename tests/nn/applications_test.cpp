// The classic networks (nn/applications): parameter counts against the reference numbers published
// for Keras's and torchvision's models, or computed here from the layer formulas (k·k·cin·cout + cout
// per convolution, in·out + out per dense layer) — never from Ember's own output; the shapes at every
// stage of the notes' AlexNet and VGG; bad options. Counting never allocates the weights.
#include <gtest/gtest.h>

#include <string>

#include "ember/nn/applications.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

namespace app = nn::applications;

int64_t conv(int64_t k, int64_t cin, int64_t cout, bool bias = true) { return k * k * cin * cout + (bias ? cout : 0); }
int64_t dense(int64_t in, int64_t out) { return in * out + out; }

int64_t trainable_count(nn::Model& m) {
  int64_t n = 0;
  for (const auto& w : m.trainable_weights()) n += w.weight->numel();
  return n;
}

TEST(Applications, VggCountsAreKerasAndTorchvisionNumbers) {
  auto vgg16 = app::VGG16();
  EXPECT_EQ(vgg16->count_params(), 138357544);  // keras.applications.VGG16
  for (const auto& w : vgg16->named_weights()) EXPECT_FALSE(w.weight->materialized()) << w.name;  // 553 MB not allocated
  EXPECT_EQ(app::VGG19()->count_params(), 143667240);  // keras.applications.VGG19
  EXPECT_EQ(app::VGG11()->count_params(), 132863336);  // torchvision.models.vgg11
  EXPECT_EQ(app::VGG13()->count_params(), 133047848);  // torchvision.models.vgg13
  // The notes' vgg(conv_arch) on 1-channel images with 10 classes (the number).
  auto notes = app::vgg({{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}},
                        {.input_shape = Shape{224, 224, 1}, .classes = 10});
  EXPECT_EQ(notes->count_params(), 134300362);
}

TEST(Applications, ResNetCounts) {
  auto r50 = app::ResNet50();
  EXPECT_EQ(r50->count_params(), 25636712);  // keras.applications.ResNet50: total
  EXPECT_EQ(trainable_count(*r50), 25583592);  // and trainable (53,120 BN statistics are not)
  EXPECT_EQ(trainable_count(*app::ResNet18()), 11689512);  // torchvision.models.resnet18 parameters()
  EXPECT_EQ(trainable_count(*app::ResNet34()), 21797672);  // torchvision.models.resnet34
  // CIFAR-style ResNet-18 (3x3 stem, no max-pool, 10 classes): the well-known 11,173,962.
  auto cifar = app::ResNet18({.input_shape = Shape{32, 32, 3}, .classes = 10, .small_input = true});
  EXPECT_EQ(trainable_count(*cifar), 11173962);
}

TEST(Applications, MobileNetV2CountsAreKeras) {
  auto m = app::MobileNetV2();
  EXPECT_EQ(m->count_params(), 3538984);     // keras.applications.MobileNetV2(alpha=1.0): total
  EXPECT_EQ(trainable_count(*m), 3504872);   // and trainable (34,112 BN statistics are not)
  auto small = app::MobileNetV2({.input_shape = Shape{32, 32, 3}, .classes = 10, .classifier_activation = "linear"});
  EXPECT_EQ((*small)(zeros({2, 32, 32, 3})).shape(), (Shape{2, 10}));
  EXPECT_THROW(app::MobileNetV2({.alpha = 0}), ValueError);
}

TEST(Applications, AlexNetLeNetGoogLeNetCountsFromTheLayerFormulas) {
  const int64_t alexnet = conv(11, 3, 96) + conv(5, 96, 256) + conv(3, 256, 384) + conv(3, 384, 384) +
                          conv(3, 384, 256) + dense(9216, 4096) + dense(4096, 4096) + dense(4096, 1000);
  EXPECT_EQ(app::AlexNet()->count_params(), alexnet);
  EXPECT_EQ(alexnet, 62378344);
  const int64_t lenet = conv(5, 1, 6) + conv(5, 6, 16) + dense(16 * 5 * 5, 120) + dense(120, 84) + dense(84, 10);
  EXPECT_EQ(app::LeNet5()->count_params(), lenet);
  EXPECT_EQ(lenet, 61706);
  // GoogLeNet: the paper's inception table; each block is 1x1 | 1x1->3x3 | 1x1->5x5 | pool->1x1.
  struct Inc {
    int64_t c1, r3, c3, r5, c5, pp;
  };
  const Inc table[] = {{64, 96, 128, 16, 32, 32},    {128, 128, 192, 32, 96, 64},  {192, 96, 208, 16, 48, 64},
                       {160, 112, 224, 24, 64, 64},  {128, 128, 256, 24, 64, 64},  {112, 144, 288, 32, 64, 64},
                       {256, 160, 320, 32, 128, 128}, {256, 160, 320, 32, 128, 128}, {384, 192, 384, 48, 128, 128}};
  int64_t total = conv(7, 3, 64) + conv(1, 64, 64) + conv(3, 64, 192), c = 192;
  for (const Inc& b : table) {
    total += conv(1, c, b.c1) + conv(1, c, b.r3) + conv(3, b.r3, b.c3) + conv(1, c, b.r5) + conv(5, b.r5, b.c5) +
             conv(1, c, b.pp);
    c = b.c1 + b.c3 + b.c5 + b.pp;
  }
  total += dense(c, 1000);
  EXPECT_EQ(app::GoogLeNet()->count_params(), total);
}

// Every expected "(None, ...)" string appears in the summary, in this order.
void expect_shapes_in_order(nn::Model& m, const std::vector<std::string>& shapes) {
  const std::string s = m.summary_string();
  std::size_t at = 0;
  for (const std::string& want : shapes) {
    std::size_t found = s.find(want, at);
    ASSERT_NE(found, std::string::npos) << "missing " << want << " after offset " << at << " in\n" << s;
    at = found + want.size();
  }
}

TEST(Applications, AlexNetShapesAreTheNotesFigures) {
  // The notes: 227x227x3 -> 55x55x96 -> pool 27x27x96 -> 27x27x256 -> pool 13x13x256 -> 3x3 convs
  // 13x13x384, 13x13x384, 13x13x256 -> pool 6x6x256 -> 9216 -> 4096 -> 4096 -> 1000.
  auto m = app::AlexNet();
  expect_shapes_in_order(*m, {"(None, 55, 55, 96)", "(None, 27, 27, 96)", "(None, 27, 27, 256)",
                              "(None, 13, 13, 256)", "(None, 13, 13, 384)", "(None, 13, 13, 384)",
                              "(None, 13, 13, 256)", "(None, 6, 6, 256)", "(None, 9216)", "(None, 4096)",
                              "(None, 4096)", "(None, 1000)"});
}

TEST(Applications, VggShapesAreTheNotesFigures) {
  // Five vgg_blocks halve 224 to 7 while the channels go 64, 128, 256, 512, 512: 7x7x512 flattened.
  auto m = app::VGG16();
  expect_shapes_in_order(*m, {"(None, 112, 112, 64)", "(None, 56, 56, 128)", "(None, 28, 28, 256)",
                              "(None, 14, 14, 512)", "(None, 7, 7, 512)", "(None, 1000)"});
  EXPECT_EQ(m->layers().size(), 6u);  // five vgg_block Sequentials and the classifier
}

TEST(Applications, WithoutTopAndPooling) {
  auto base = app::ResNet50({.include_top = false, .input_shape = Shape{64, 64, 3}, .pooling = "avg"});
  EXPECT_EQ(base->symbolic_outputs()[0].shape(), (Shape{-1, 2048}));
  auto conv_base = app::VGG16({.include_top = false, .input_shape = Shape{32, 32, 3}});
  EXPECT_EQ(conv_base->symbolic_outputs()[0].shape(), (Shape{-1, 1, 1, 512}));
  EXPECT_EQ(conv_base->count_params(), 14714688);  // keras VGG16(include_top=False)
  // A small ResNet runs forward.
  auto small = app::ResNet18({.input_shape = Shape{28, 28, 1}, .classes = 10, .classifier_activation = "linear",
                              .small_input = true});
  Tensor y = (*small)(zeros({2, 28, 28, 1}));
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
}

TEST(Applications, BadOptionsNameTheModel) {
  auto expect_error = [](auto&& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error([] { app::VGG16({.input_shape = Shape{16, 16, 3}}); }, "vgg16: input_shape (None, 16, 16, 3) is smaller than the minimum 32x32");
  expect_error([] { app::AlexNet({.input_shape = Shape{64, 64, 3}}); }, "alexnet");
  expect_error([] { app::ResNet50({.input_shape = Shape{224, 224}}); }, "(height, width, channels)");
  expect_error([] { app::ResNet18({.classes = 0}); }, "classes must be >= 1");
  expect_error([] { app::GoogLeNet({.include_top = false, .pooling = "mean"}); }, "pooling");
  expect_error([] { app::application("resnet101"); }, "unknown application 'resnet101'");
  expect_error([] { app::vgg_block(0, 64); }, "num_convs");
}

TEST(Applications, EmberSummaryByName) {
  auto run = testing::run_ember("summary resnet50");
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("Total params: 25,636,712"), std::string::npos) << run.out;
  auto bad = testing::run_ember("summary resnet5");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("resnet50"), std::string::npos) << bad.err;  // the error lists the known names
}

}  // namespace
}  // namespace ember
