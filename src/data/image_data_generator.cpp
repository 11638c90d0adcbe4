// ImageDataGenerator: Keras's parameter draws and standardisation order over ops/ tensors. The one
// resampling per image is ops::image_transform; ZCA's eigendecomposition is kernels' dsyevd.
#include "ember/data/image_data_generator.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/kernels/cpu/eigen.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"

namespace ember::data {

namespace {

constexpr double kStdEpsilon = 1e-6;  // Keras adds it to every std it divides by

double uniform(Generator& gen, double lo, double hi) { return lo + (hi - lo) * gen.uniform(); }

DType float_type(const Tensor& x) { return x.dtype() == f64 ? f64 : f32; }

void check_image(const char* what, const Tensor& x, int rank) {
  if (!x.defined() || x.dim() != rank) {
    throw ShapeError(std::string("ImageDataGenerator.") + what + ": expected a " +
                     (rank == 3 ? "[height, width, channels] image" : "[batch, height, width, channels] batch") +
                     ", got " + (x.defined() ? to_string(x.shape()) : std::string("an undefined tensor")));
  }
}

// Sets box of image [H, W, C] (a view into the tensor to change) to value, on every channel.
void erase_box(Tensor& image, const ImageBox& box, double value, const char* where) {
  const int64_t h = image.size(0), w = image.size(1);
  if (box.top < 0 || box.left < 0 || box.height < 0 || box.width < 0 || box.top + box.height > h || box.left + box.width > w) {
    throw ValueError(std::string("ImageDataGenerator.") + where + ": the erasing box (top " + std::to_string(box.top) +
                     ", left " + std::to_string(box.left) + ", " + std::to_string(box.height) + "x" +
                     std::to_string(box.width) + ") is not inside the " + std::to_string(h) + "x" + std::to_string(w) +
                     " image");
  }
  image.slice(0, box.top, box.top + box.height).slice(1, box.left, box.left + box.width).fill_(value);
}

void check_range(const char* name, double v) {
  if (!std::isfinite(v) || v < 0) {
    throw ValueError(std::string("ImageDataGenerator: ") + name + " must be finite and >= 0, got " + std::to_string(v));
  }
}

double radians(double deg) { return deg * std::numbers::pi / 180.0; }

}  // namespace

double ShiftRange::draw(Generator& gen, double size) const {
  double t = 0, largest = range;
  switch (kind) {
    case Kind::Uniform:
      t = uniform(gen, -range, range);
      break;
    case Kind::Integer: {
      const auto n = static_cast<int64_t>(range);
      t = static_cast<double>(std::min<int64_t>(static_cast<int64_t>(gen.uniform() * static_cast<double>(n)), n - 1));
      t *= gen.uniform() < 0.5 ? -1.0 : 1.0;
      break;
    }
    case Kind::Choice: {
      const auto k = static_cast<int64_t>(values.size());
      t = values[static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(gen.uniform() * static_cast<double>(k)), k - 1))];
      t *= gen.uniform() < 0.5 ? -1.0 : 1.0;
      largest = *std::max_element(values.begin(), values.end());
      break;
    }
  }
  return largest < 1 ? t * size : t;
}

void ShiftRange::check(const char* name) const {
  if (kind == Kind::Choice) {
    for (double v : values) {
      if (!std::isfinite(v)) {
        throw ValueError(std::string("ImageDataGenerator: ") + name + " values must be finite, got " + std::to_string(v));
      }
    }
    return;
  }
  check_range(name, range);
}

ImageDataGenerator::ImageDataGenerator(ImageDataGeneratorOptions options) : opt_(std::move(options)) {
  check_range("rotation_range", opt_.rotation_range);
  opt_.width_shift_range.check("width_shift_range");
  opt_.height_shift_range.check("height_shift_range");
  check_range("shear_range", opt_.shear_range);
  check_range("channel_shift_range", opt_.channel_shift_range);
  check_range("zca_epsilon", opt_.zca_epsilon);
  if (!(opt_.zoom_range.lower > 0) || !(opt_.zoom_range.upper >= opt_.zoom_range.lower) ||
      !std::isfinite(opt_.zoom_range.upper)) {
    throw ValueError("ImageDataGenerator: zoom_range must be 0 < lower <= upper, got [" +
                     std::to_string(opt_.zoom_range.lower) + ", " + std::to_string(opt_.zoom_range.upper) + "]");
  }
  if (opt_.brightness_range &&
      !((*opt_.brightness_range)[0] <= (*opt_.brightness_range)[1] && std::isfinite((*opt_.brightness_range)[1]))) {
    throw ValueError("ImageDataGenerator: brightness_range must be [lower, upper] with lower <= upper, got [" +
                     std::to_string((*opt_.brightness_range)[0]) + ", " + std::to_string((*opt_.brightness_range)[1]) +
                     "]");
  }
  if (!(opt_.validation_split >= 0 && opt_.validation_split < 1)) {
    throw ValueError("ImageDataGenerator: validation_split must be in [0, 1), got " +
                     std::to_string(opt_.validation_split));
  }
  if (!std::isfinite(opt_.rescale)) throw ValueError("ImageDataGenerator: rescale must be finite");
  if (!(opt_.erasing_probability >= 0 && opt_.erasing_probability <= 1)) {
    throw ValueError("ImageDataGenerator: erasing_probability must be in [0, 1], got " +
                     std::to_string(opt_.erasing_probability));
  }
  const auto [scale_lo, scale_hi] = opt_.erasing_scale;
  if (!(scale_lo > 0 && scale_lo <= scale_hi && scale_hi <= 1)) {
    throw ValueError("ImageDataGenerator: erasing_scale must be 0 < lower <= upper <= 1, got [" + std::to_string(scale_lo) +
                     ", " + std::to_string(scale_hi) + "]");
  }
  const auto [ratio_lo, ratio_hi] = opt_.erasing_ratio;
  if (!(ratio_lo > 0 && ratio_lo <= ratio_hi && std::isfinite(ratio_hi))) {
    throw ValueError("ImageDataGenerator: erasing_ratio must be 0 < lower <= upper, got [" + std::to_string(ratio_lo) +
                     ", " + std::to_string(ratio_hi) + "]");
  }
  if (!std::isfinite(opt_.erasing_value)) throw ValueError("ImageDataGenerator: erasing_value must be finite");
}

void ImageDataGenerator::fit(const Tensor& x_in, bool augment, int rounds, uint64_t seed) {
  check_image("fit", x_in, 4);
  if (x_in.size(0) == 0) throw ValueError("ImageDataGenerator.fit: needs at least one image, got " + to_string(x_in.shape()));
  if (rounds < 1) throw ValueError("ImageDataGenerator.fit: rounds must be >= 1, got " + std::to_string(rounds));
  autograd::NoGradGuard no_grad;
  const DType dt = float_type(x_in);
  Tensor x = x_in.to(dt);
  if (augment) {
    Generator gen(seed);
    std::vector<Tensor> copies;
    for (int r = 0; r < rounds; ++r) {
      for (int64_t i = 0; i < x.size(0); ++i) copies.push_back(random_transform(squeeze(slice(x, 0, i, i + 1), 0), gen));
    }
    x = stack(copies, 0);
  }
  if (opt_.featurewise_center) {
    mean_ = ember::mean(x, {0, 1, 2}, true).reshape({1, 1, x.size(3)});
    x = x - mean_;
  }
  if (opt_.featurewise_std_normalization) {
    std_ = ember::std(x, {0, 1, 2}, true).reshape({1, 1, x.size(3)});
    x = x / (std_ + kStdEpsilon);
  }
  if (opt_.zca_whitening) {
    const int64_t n = x.size(0), d = x.size(1) * x.size(2) * x.size(3);
    Tensor flat = x.to(f64).reshape({n, d});
    Tensor sigma = contiguous(matmul(flat, flat, {.transpose_a = true}) / static_cast<double>(n));
    std::vector<double> w(static_cast<size_t>(d));
    kernels::cpu::symmetric_eigen(d, sigma.data<double>(), w.data());  // rows of sigma: eigenvectors
    // PC = U diag(1 / sqrt(s + eps)) U^T with U's columns the eigenvectors (Keras: from the SVD of
    // sigma, which for a symmetric PSD matrix is its eigendecomposition; signs cancel).
    std::vector<double> s_inv(static_cast<size_t>(d));
    for (int64_t i = 0; i < d; ++i) s_inv[i] = 1.0 / std::sqrt(std::max(w[i], 0.0) + opt_.zca_epsilon);
    Tensor ut = sigma;  // [d, d], row i = eigenvector i
    Tensor scaled = ut * from_vector(s_inv, {d, 1}, f64);
    principal_components_ = matmul(ut, scaled, {.transpose_a = true}).to(dt);
  }
}

Tensor ImageDataGenerator::standardize(const Tensor& x_in) const {
  if (!x_in.defined() || (x_in.dim() != 3 && x_in.dim() != 4)) {
    throw ShapeError("ImageDataGenerator.standardize: expected [H, W, C] or [N, H, W, C], got " +
                     (x_in.defined() ? to_string(x_in.shape()) : std::string("an undefined tensor")));
  }
  autograd::NoGradGuard no_grad;
  const bool batch = x_in.dim() == 4;
  Tensor x = x_in.to(float_type(x_in));
  if (opt_.preprocessing_function) {
    if (batch) {
      std::vector<Tensor> out;
      for (int64_t i = 0; i < x.size(0); ++i) out.push_back(opt_.preprocessing_function(squeeze(slice(x, 0, i, i + 1), 0)));
      x = stack(out, 0);
    } else {
      x = opt_.preprocessing_function(x);
    }
    if (!x.defined() || x.dim() != x_in.dim()) {
      throw ShapeError("ImageDataGenerator.standardize: preprocessing_function must return an image of rank 3, got " +
                       (x.defined() ? to_string(x.shape()) : std::string("an undefined tensor")));
    }
    x = x.to(float_type(x_in));
  }
  if (opt_.rescale != 0) x = x * opt_.rescale;
  const Axes image_axes = batch ? Axes{1, 2, 3} : Axes{0, 1, 2};
  if (opt_.samplewise_center) x = x - ember::mean(x, image_axes, true);
  if (opt_.samplewise_std_normalization) x = x / (ember::std(x, image_axes, true) + kStdEpsilon);
  auto need_fit = [](const char* what) {
    return ValueError(std::string("ImageDataGenerator.standardize: ") + what +
                      " is on but fit() has not been called on training data");
  };
  if (opt_.featurewise_center) {
    if (!mean_.defined()) throw need_fit("featurewise_center");
    x = x - mean_.to(x.dtype());
  }
  if (opt_.featurewise_std_normalization) {
    if (!std_.defined()) throw need_fit("featurewise_std_normalization");
    x = x / (std_.to(x.dtype()) + kStdEpsilon);
  }
  if (opt_.zca_whitening) {
    if (!principal_components_.defined()) throw need_fit("zca_whitening");
    const int64_t d = principal_components_.size(0);
    const Shape shape = x.shape();
    const int64_t per_image = batch ? shape[1] * shape[2] * shape[3] : x.numel();
    if (per_image != d) {
      throw ShapeError("ImageDataGenerator.standardize: ZCA was fitted on images of " + std::to_string(d) +
                       " values, got " + to_string(shape));
    }
    x = matmul(x.reshape({-1, d}), principal_components_.to(x.dtype())).reshape(shape);
  }
  return x;
}

TransformParams ImageDataGenerator::get_random_transform(const Shape& image_shape, Generator& gen) const {
  if (image_shape.size() != 3) {
    throw ShapeError("ImageDataGenerator.get_random_transform: expected an image shape [H, W, C], got " +
                     to_string(image_shape));
  }
  const double h = static_cast<double>(image_shape[0]), w = static_cast<double>(image_shape[1]);
  TransformParams p;
  // Draw order as Keras: theta, tx (height), ty (width), shear, zoom (zx, zy), flips, channel shift,
  // brightness. An option that is off draws nothing.
  if (opt_.rotation_range != 0) p.theta = uniform(gen, -opt_.rotation_range, opt_.rotation_range);
  if (opt_.height_shift_range.is_set()) p.tx = opt_.height_shift_range.draw(gen, h);
  if (opt_.width_shift_range.is_set()) p.ty = opt_.width_shift_range.draw(gen, w);
  if (opt_.shear_range != 0) p.shear = uniform(gen, -opt_.shear_range, opt_.shear_range);
  if (opt_.zoom_range.lower != 1 || opt_.zoom_range.upper != 1) {
    p.zx = uniform(gen, opt_.zoom_range.lower, opt_.zoom_range.upper);
    p.zy = uniform(gen, opt_.zoom_range.lower, opt_.zoom_range.upper);
  }
  if (opt_.horizontal_flip) p.flip_horizontal = gen.uniform() < 0.5;
  if (opt_.vertical_flip) p.flip_vertical = gen.uniform() < 0.5;
  if (opt_.channel_shift_range != 0) {
    p.channel_shift_intensity = uniform(gen, -opt_.channel_shift_range, opt_.channel_shift_range);
  }
  if (opt_.brightness_range) p.brightness = uniform(gen, (*opt_.brightness_range)[0], (*opt_.brightness_range)[1]);
  if (opt_.erasing_probability > 0 && gen.uniform() < opt_.erasing_probability) {
    // torchvision's RandomErasing.get_params: area and log aspect ratio drawn until the box fits.
    const double area = h * w;
    const double log_lo = std::log(opt_.erasing_ratio[0]), log_hi = std::log(opt_.erasing_ratio[1]);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double erase_area = area * uniform(gen, opt_.erasing_scale[0], opt_.erasing_scale[1]);
      const double aspect = std::exp(uniform(gen, log_lo, log_hi));
      const auto eh = static_cast<int64_t>(std::lround(std::sqrt(erase_area * aspect)));
      const auto ew = static_cast<int64_t>(std::lround(std::sqrt(erase_area / aspect)));
      if (!(eh > 0 && ew > 0 && eh < image_shape[0] && ew < image_shape[1])) continue;
      const auto top = static_cast<int64_t>(gen.below(static_cast<uint64_t>(image_shape[0] - eh + 1)));
      const auto left = static_cast<int64_t>(gen.below(static_cast<uint64_t>(image_shape[1] - ew + 1)));
      p.erase = ImageBox{top, left, eh, ew};
      break;
    }
  }
  return p;
}

ProjectiveTransform ImageDataGenerator::transform_matrix(const TransformParams& p, int64_t height, int64_t width) {
  // Output-to-input matrices in (x = column, y = row): rotation, then shift, shear, zoom, as Keras's
  // product rotation @ shift @ shear @ zoom, conjugated by the move of the centre to the origin.
  const double t = radians(p.theta), s = radians(p.shear);
  const ProjectiveTransform rotation{std::cos(t), -std::sin(t), 0, std::sin(t), std::cos(t), 0, 0, 0};
  const ProjectiveTransform shift{1, 0, p.ty, 0, 1, p.tx, 0, 0};
  const ProjectiveTransform shear{1, -std::sin(s), 0, 0, std::cos(s), 0, 0, 0};
  const ProjectiveTransform zoom{p.zx, 0, 0, 0, p.zy, 0, 0, 0};
  const double cx = static_cast<double>(width - 1) / 2, cy = static_cast<double>(height - 1) / 2;
  ProjectiveTransform m = compose_transforms(translation_transform(-cx, -cy), rotation);
  m = compose_transforms(compose_transforms(compose_transforms(m, shift), shear), zoom);
  m = compose_transforms(m, translation_transform(cx, cy));
  // Flips act on the transformed image (Keras flips after the affine); folded in, still one sampling.
  return compose_transforms(m, flip_transform(p.flip_horizontal, p.flip_vertical, height, width));
}

Tensor ImageDataGenerator::apply_transform(const Tensor& x_in, const TransformParams& p) const {
  check_image("apply_transform", x_in, 3);
  autograd::NoGradGuard no_grad;
  Tensor x = x_in.to(float_type(x_in));
  const int64_t h = x.size(0), w = x.size(1);
  const ProjectiveTransform m = transform_matrix(p, h, w);
  if (m != identity_transform()) {
    x = squeeze(image_transform(unsqueeze(x, 0), {m},
                                {.interpolation = opt_.interpolation, .fill_mode = opt_.fill_mode, .fill_value = opt_.cval}),
                0);
  }
  if (p.channel_shift_intensity != 0 && x.numel() > 0) {
    // Keras apply_channel_shift: the same intensity on every channel, clipped to the image's range.
    const double lo = min(x).item<double>(), hi = max(x).item<double>();
    x = clip(x + p.channel_shift_intensity, lo, hi);
  }
  if (p.brightness) x = x * *p.brightness;
  if (p.erase) {
    if (x.shares_storage(x_in)) x = x.clone();  // never write into the caller's image
    erase_box(x, *p.erase, opt_.erasing_value, "apply_transform");
  }
  return x;
}

Tensor ImageDataGenerator::random_transform(const Tensor& x, Generator& gen) const {
  check_image("random_transform", x, 3);
  return apply_transform(x, get_random_transform(x.shape(), gen));
}

Tensor ImageDataGenerator::random_transform_batch(const Tensor& x_in, Generator& gen) const {
  check_image("random_transform_batch", x_in, 4);
  autograd::NoGradGuard no_grad;
  Tensor x = x_in.to(float_type(x_in));
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  const Shape image_shape{h, w, x.size(3)};
  std::vector<TransformParams> params;
  std::vector<ProjectiveTransform> matrices;
  params.reserve(static_cast<size_t>(n));
  matrices.reserve(static_cast<size_t>(n));
  bool any_geometry = false, any_intensity = false, any_erase = false;
  for (int64_t i = 0; i < n; ++i) {
    params.push_back(get_random_transform(image_shape, gen));
    matrices.push_back(transform_matrix(params.back(), h, w));
    any_geometry = any_geometry || matrices.back() != identity_transform();
    any_intensity = any_intensity || params.back().channel_shift_intensity != 0 || params.back().brightness;
    any_erase = any_erase || params.back().erase;
  }
  if (any_geometry) {
    // An identity row resamples exactly (integer taps), so mixing identities in changes nothing.
    x = image_transform(x, matrices,
                        {.interpolation = opt_.interpolation, .fill_mode = opt_.fill_mode, .fill_value = opt_.cval});
  }
  if (any_intensity) {
    // Channel shift and brightness are per-image scalars on a few options only: per image, as
    // apply_transform does them.
    std::vector<Tensor> images;
    images.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      TransformParams intensity_only;
      intensity_only.channel_shift_intensity = params[static_cast<size_t>(i)].channel_shift_intensity;
      intensity_only.brightness = params[static_cast<size_t>(i)].brightness;
      images.push_back(apply_transform(squeeze(slice(x, 0, i, i + 1), 0), intensity_only));
    }
    x = stack(images, 0);
  }
  if (any_erase) {
    if (x.shares_storage(x_in)) x = x.clone();  // never write into the caller's batch
    for (int64_t i = 0; i < n; ++i) {
      if (const auto& box = params[static_cast<size_t>(i)].erase) {
        Tensor image = x.slice(0, i, i + 1).squeeze(0);
        erase_box(image, *box, opt_.erasing_value, "random_transform_batch");
      }
    }
  }
  return x;
}

// flow's and flow_from_directory's common tail: each batch through random_transform_batch and
// standardize on the data workers, with a Generator per (seed, epoch, batch), then prefetch.
Dataset ImageDataGenerator::augment_batches(Dataset batches, uint64_t seed) const {
  const ImageDataGenerator self = *this;  // the pipeline keeps its own copy (Tensors are shared handles)
  return batches
      .map(
          [self](Element e, Generator& gen) {
            e[0] = self.standardize(self.random_transform_batch(e[0], gen));
            return e;
          },
          {.num_parallel_calls = kAutotune, .seed = seed ^ 0x9e3779b97f4a7c15ULL})
      .prefetch(kAutotune);
}

Dataset ImageDataGenerator::flow(const Tensor& x_in, const Tensor& y_in, FlowOptions options) const {
  check_image("flow", x_in, 4);
  if (options.batch_size < 1) {
    throw ValueError("ImageDataGenerator.flow: batch_size must be >= 1, got " + std::to_string(options.batch_size));
  }
  if (y_in.defined() && (y_in.dim() < 1 || y_in.size(0) != x_in.size(0))) {
    throw ShapeError("ImageDataGenerator.flow: x and y must have the same length, got x " + to_string(x_in.shape()) +
                     ", y " + to_string(y_in.shape()));
  }
  Tensor x = x_in.to(float_type(x_in)), y = y_in;
  if (options.subset != Subset::All) {
    if (opt_.validation_split == 0) {
      throw ValueError("ImageDataGenerator.flow: a training/validation subset needs validation_split > 0");
    }
    const int64_t n = x.size(0);
    const auto split = static_cast<int64_t>(static_cast<double>(n) * opt_.validation_split);
    const int64_t lo = options.subset == Subset::Validation ? 0 : split;
    const int64_t hi = options.subset == Subset::Validation ? split : n;
    if (lo == hi) {
      throw ValueError("ImageDataGenerator.flow: the " +
                       std::string(options.subset == Subset::Validation ? "validation" : "training") +
                       " subset of " + std::to_string(n) + " images with validation_split " +
                       std::to_string(opt_.validation_split) + " is empty");
    }
    x = slice(x, 0, lo, hi);
    if (y.defined()) y = slice(y, 0, lo, hi);
  }
  // One seed for both stages, kept apart by a fixed offset (an unseeded flow draws it once).
  const uint64_t seed = options.seed ? *options.seed : default_generator().next_u64();
  Dataset ds = y.defined() ? Dataset::from_tensor_slices({x, y}) : Dataset::from_tensor_slices({x});
  if (options.shuffle) ds = ds.shuffle(x.size(0), {.seed = seed});
  ds = ds.batch(options.batch_size);
  return augment_batches(std::move(ds), seed);
}

}  // namespace ember::data

namespace ember::data {

Dataset ImageDataGenerator::flow_from_directory(const std::string& dir, FlowFromDirectoryOptions options) const {
  if (options.batch_size < 1) {
    throw ValueError("ImageDataGenerator.flow_from_directory: batch_size must be >= 1, got " + std::to_string(options.batch_size));
  }
  if (options.target_size[0] < 1 || options.target_size[1] < 1) {
    throw ValueError("ImageDataGenerator.flow_from_directory: target_size must be positive, got (" +
                     std::to_string(options.target_size[0]) + ", " + std::to_string(options.target_size[1]) + ")");
  }
  ImageFolderListing listing = list_image_folder(dir);
  const auto classes = static_cast<int64_t>(listing.class_names.size());
  if (options.class_mode == ClassMode::Binary && classes != 2) {
    throw ValueError("ImageDataGenerator.flow_from_directory: class_mode binary needs 2 class folders, '" + dir + "' has " +
                     std::to_string(classes));
  }
  if (options.subset != Subset::All && opt_.validation_split == 0) {
    throw ValueError("ImageDataGenerator.flow_from_directory: a training/validation subset needs validation_split > 0");
  }
  // Keras's split: per class, files in sorted order, the first int(n * validation_split) validate.
  std::vector<std::pair<std::string, int64_t>> files;
  for (int64_t c = 0; c < classes; ++c) {
    std::vector<std::pair<std::string, int64_t>> of_class;
    for (const auto& f : listing.files) {
      if (f.second == c) of_class.push_back(f);
    }
    const auto n = static_cast<int64_t>(of_class.size());
    const auto split = options.subset == Subset::All ? 0 : static_cast<int64_t>(static_cast<double>(n) * opt_.validation_split);
    const int64_t lo = options.subset == Subset::Training ? split : 0;
    const int64_t hi = options.subset == Subset::Validation ? split : n;
    files.insert(files.end(), of_class.begin() + lo, of_class.begin() + hi);
  }
  const auto count = static_cast<int64_t>(files.size());
  if (count == 0) {
    throw ValueError("ImageDataGenerator.flow_from_directory: the selected subset of '" + dir + "' holds no images");
  }
  Tensor index = arange(count, i64), labels = Tensor::empty({count}, i64);
  for (int64_t i = 0; i < count; ++i) labels.data<int64_t>()[i] = files[static_cast<std::size_t>(i)].second;

  const uint64_t seed = options.seed ? *options.seed : default_generator().next_u64();
  Dataset ds = Dataset::from_tensor_slices({index, labels});
  if (options.shuffle) ds = ds.shuffle(count, {.seed = seed});
  const ImageFolderOptions decode{.target_size = options.target_size, .color_mode = options.color_mode, .progress = false};
  const ClassMode mode = options.class_mode;
  auto shared_files = std::make_shared<const std::vector<std::pair<std::string, int64_t>>>(std::move(files));
  ds = ds.map(
      [decode, mode, classes, shared_files](Element e, Generator&) {
        const std::string& path = (*shared_files)[static_cast<std::size_t>(e[0].item<int64_t>())].first;
        Element out{decode_image_for_folder(path, decode).to(f32)};
        if (mode == ClassMode::Int) {
          out.push_back(e[1]);
        } else if (mode == ClassMode::Binary) {
          out.push_back(e[1].to(f32));
        } else if (mode == ClassMode::Categorical) {
          Tensor one_hot = zeros({classes}, f32);
          one_hot.data<float>()[e[1].item<int64_t>()] = 1.0F;
          out.push_back(one_hot);
        }
        return out;
      },
      {.num_parallel_calls = kAutotune});
  return augment_batches(ds.batch(options.batch_size), seed);
}

}  // namespace ember::data
