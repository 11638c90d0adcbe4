#include "ember/data/datasets.hpp"

#include "ember/kernels/cpu/parallel.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::data {

TrainTestData load_dataset(const std::string& spec) {
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
  Tensor x;
  if (images.dtype() == u8 && images.is_contiguous()) {
    // 256 possible bytes: the table holds `to(f32) / 255.0` of each, computed by those very ops, so
    // the lookup is bit-identical to them — in one pass over the pixels instead of two (with an
    // intermediate tensor as large as the result).
    static const Tensor table = arange(256, u8).to(f32) / 255.0;
    const float* lut = table.data<float>();
    x = Tensor::empty(images.shape(), f32);
    const uint8_t* src = images.data<uint8_t>();
    float* dst = x.data<float>();
    const int64_t n = images.numel();
    kernels::cpu::parallel_for(0, n, kernels::cpu::grain_for(1), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = lut[src[i]];
    });
  } else {
    x = images.to(f32) / 255.0;
  }
  return images.dim() == 3 ? unsqueeze(x, 3) : x;
}

}  // namespace ember::data
