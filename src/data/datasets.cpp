#include "ember/data/datasets.hpp"

#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::data {

Dataset load_dataset(const std::string& spec) {
  if (spec == "fashion-mnist" || spec == "fashion_mnist") return load_fashion_mnist();
  auto colon = spec.find(':');
  std::string kind = colon == std::string::npos ? spec : spec.substr(0, colon);
  std::string dir = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "fashion-mnist" && !dir.empty()) return load_fashion_mnist(dir);
  if (kind == "mnist" || kind == "idx") {
    if (dir.empty()) throw ValueError("data '" + spec + "': expected " + kind + ":DIR");
    return load_idx_dir(dir);
  }
  if (kind == "cifar10" || kind == "csv") {
    throw ValueError("data '" + spec + "': the " + kind + " reader is not implemented yet");
  }
  throw ValueError("unknown data '" + spec + "'; expected fashion-mnist, mnist:DIR or idx:DIR");
}

Tensor images_to_float(const Tensor& images) {
  if (images.dim() != 3 && images.dim() != 4) {
    throw ShapeError("images_to_float: expected [N, H, W] or [N, H, W, C] images, got " + to_string(images.shape()));
  }
  Tensor x = images.to(f32) / 255.0;
  return images.dim() == 3 ? unsqueeze(x, 3) : x;
}

}  // namespace ember::data
