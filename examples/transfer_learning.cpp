// Transfer learning, as the notes describe it, on Fashion-MNIST: a convolutional base trained on
// the first five classes (T-shirt, trouser, pullover, dress, coat) is reused for the other five
// (sandal, shirt, sneaker, bag, ankle boot).
//   1. train the base network on classes 0-4;
//   2. freeze the convolutional base, cache its "bottleneck" features once (predict), and train a
//      new head on the cached features;
//   3. put base and head together and fine-tune the top convolutional block at a 10x lower
//      learning rate.
// Prints the test accuracy on classes 5-9 after steps 2 and 3, and checks that the frozen base's
// weights (BatchNormalization statistics included) are bit-identical before and after step 2.
//
//   example_transfer_learning [images per task: 1000..30000, default 30000] [epochs, default 3]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ember/ember.hpp"

using namespace ember;

namespace {

long parse_arg(const char* text, long low, long high) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > high) {
    std::fprintf(stderr, "usage: example_transfer_learning [images per task: 1000 to 30000] [epochs: 1 to 100], got '%s'\n",
                 text);
    std::exit(2);
  }
  return v;
}

// The images whose label is in [low, low + 5), at most `limit`, with labels shifted to 0-4.
std::pair<Tensor, Tensor> classes(const Tensor& images, const Tensor& labels, int64_t low, int64_t limit) {
  Tensor keep = logical_and(greater_equal(labels, scalar_like(low, labels)), less(labels, scalar_like(low + 5, labels)));
  Tensor x = boolean_mask(images, keep), y = boolean_mask(labels, keep) - low;
  int64_t n = std::min<int64_t>(limit, x.size(0));
  return {x.slice(0, 0, n), y.slice(0, 0, n)};
}

std::vector<Tensor> snapshot(nn::Model& m) {
  std::vector<Tensor> out;
  for (const auto& w : m.named_weights()) out.push_back(w.weight->value().clone());
  return out;
}

bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].numel() != b[i].numel() ||
        std::memcmp(a[i].contiguous().raw_data(), b[i].contiguous().raw_data(), a[i].numel() * sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

void compile(nn::Model& m, double learning_rate) {
  m.compile({.optimizer = optim::Adam({.learning_rate = learning_rate}),
             .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
             .metrics = {"accuracy"}});
}

}  // namespace

int main(int argc, char** argv) try {
  const int64_t per_task = argc > 1 ? parse_arg(argv[1], 1000, 30000) : 30000;
  const int epochs = argc > 2 ? static_cast<int>(parse_arg(argv[2], 1, 100)) : 3;
  manual_seed(42);

  data::TrainTestData ds = data::load_fashion_mnist();
  Tensor train_x = ds.train.images.to(f32).div(255).reshape({-1, 28, 28, 1});
  Tensor test_x = ds.test.images.to(f32).div(255).reshape({-1, 28, 28, 1});
  auto [xa, ya] = classes(train_x, ds.train.labels, 0, per_task);   // task A: classes 0-4
  auto [xb, yb] = classes(train_x, ds.train.labels, 5, per_task);   // task B: classes 5-9
  auto [xb_test, yb_test] = classes(test_x, ds.test.labels, 5, 5000);

  // 1. The base network on task A.
  auto input = nn::Input({28, 28, 1}, "image");
  auto h = nn::Conv2D({.filters = 32, .kernel_size = {3, 3}, .padding = Padding::Same, .name = "block1_conv"})(input);
  h = nn::BatchNormalization({.name = "block1_bn"})(h);
  h = nn::ActivationLayer(Activation::ReLU, "block1_relu")(h);
  h = nn::MaxPooling2D({.pool_size = {2, 2}, .name = "block1_pool"})(h);
  h = nn::Conv2D({.filters = 64, .kernel_size = {3, 3}, .padding = Padding::Same, .name = "block2_conv"})(h);
  h = nn::BatchNormalization({.name = "block2_bn"})(h);
  h = nn::ActivationLayer(Activation::ReLU, "block2_relu")(h);
  auto features = nn::MaxPooling2D({.pool_size = {2, 2}, .name = "block2_pool"})(h);
  auto base = std::make_shared<nn::Model>(input, features, "conv_base");
  auto flat = nn::Flatten("flatten")(features);
  nn::Model source(input, nn::Dense({.units = 5, .name = "source_head"})(flat), "source");
  compile(source, 1e-3);
  std::printf("1. base network on classes 0-4 (%lld images)\n", static_cast<long long>(xa.size(0)));
  source.fit(xa, ya, {.batch_size = 128, .epochs = epochs, .verbose = 2});

  // 2. Frozen base, cached bottleneck features, a new head.
  base->set_trainable(false);
  std::vector<Tensor> before = snapshot(*base);
  Tensor cached = base->predict(xb, {.batch_size = 256});            // the notes' "bottleneck" features
  Tensor cached_test = base->predict(xb_test, {.batch_size = 256});
  auto feat_in = nn::Input({7, 7, 64}, "features");
  auto head_out = nn::Dense({.units = 5, .name = "head_logits"})(
      nn::Dropout({.rate = 0.3, .name = "head_dropout"})(
          nn::Dense({.units = 128, .activation = Activation::ReLU, .name = "head_dense"})(nn::Flatten("head_flatten")(feat_in))));
  auto head = std::make_shared<nn::Model>(feat_in, head_out, "head");
  compile(*head, 1e-3);
  std::printf("2. new head on cached features of classes 5-9 (%lld images)\n", static_cast<long long>(xb.size(0)));
  head->fit(cached, yb, {.batch_size = 128, .epochs = epochs, .verbose = 2});
  double head_acc = head->evaluate(cached_test, yb_test, {.batch_size = 500}).at("accuracy");

  // The whole model, base still frozen: training it leaves the base bit-identical, and the same
  // base runs in inference mode (its BatchNormalization statistics do not move).
  auto image = nn::Input({28, 28, 1}, "image_b");
  nn::Model transfer(image, (*head)((*base)(image)), "transfer");
  compile(transfer, 1e-3);
  transfer.fit(xb.slice(0, 0, 512), yb.slice(0, 0, 512), {.batch_size = 128, .epochs = 1, .verbose = 0});
  bool frozen_kept = same_bits(before, snapshot(*base));

  // 3. Fine-tune the top block's convolution at a lower learning rate. As Keras advises, the
  //    BatchNormalization layers stay frozen (inference mode): re-estimating their statistics on
  //    small fine-tuning batches would undo what the base learned.
  base->set_trainable(true);
  for (const char* name : {"block1_conv", "block1_bn", "block2_bn"}) base->get_layer(name)->set_trainable(false);
  compile(transfer, 1e-4);
  std::printf("3. fine-tuning block2 at learning rate 1e-4\n");
  transfer.fit(xb, yb, {.batch_size = 128, .epochs = epochs, .verbose = 2});
  double tuned_acc = transfer.evaluate(xb_test, yb_test, {.batch_size = 500}).at("accuracy");

  std::printf("frozen base bit-identical after head training: %s\n", frozen_kept ? "yes" : "NO");
  std::printf("head_accuracy=%.4f fine_tuned_accuracy=%.4f\n", head_acc, tuned_acc);
  if (!frozen_kept) return 1;
  if (tuned_acc <= head_acc) {
    std::printf("fine-tuning did not improve the test accuracy\n");
    return 1;
  }
  std::printf("transfer learning example passed\n");
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
