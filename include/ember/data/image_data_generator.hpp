#pragma once
// keras.preprocessing.image.ImageDataGenerator: real-time augmentation and standardisation of NHWC
// image batches, with Keras's option names and defaults.
//
//   data::ImageDataGenerator gen({.featurewise_center = true, .rotation_range = 20,
//                                 .width_shift_range = 0.1, .horizontal_flip = true});
//   gen.fit(x_train);                                  // featurewise mean/std, ZCA
//   Generator rng(42);
//   Tensor img = gen.standardize(gen.random_transform(x_train_image, rng));
//
// Geometry: rotation, shift, shear and zoom are composed into ONE transform per image, about the
// image centre ((w-1)/2, (h-1)/2), and sampled once (as Keras's apply_affine_transform does), with
// ops/image.hpp's resampling. Where Ember differs from Keras, on purpose:
//  - sampling follows TensorFlow's ImageProjectiveTransformV3 rules, not scipy.ndimage's: with
//    fill_mode constant, bilinear taps outside the image read cval (scipy returns cval for any point
//    outside, without blending), and 'wrap' is TF's; 'nearest' and 'reflect' agree with scipy's
//    inside one period;
//  - the centre is ((w-1)/2, (h-1)/2) on both axes (Keras passes (h, w) to
//    transform_matrix_offset_center in swapped roles, the same only for square images);
//  - brightness multiplies the float image by the factor (Keras round-trips through PIL's uint8
//    ImageEnhance.Brightness, which also quantises to 0..255).
// Randomness comes only from the Generator passed in: the same seed draws the same parameters.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/generator.hpp"
#include "ember/core/tensor.hpp"
#include "ember/data/dataset.hpp"
#include "ember/data/image_folder.hpp"
#include "ember/ops/image.hpp"

namespace ember::data {

// Keras's width_shift_range / height_shift_range, whose C++ type says what Keras's Python type says:
//  - a floating value r (0.1, 2.0): t ~ U(-r, r);
//  - an int n (2): t = k * s with k drawn from {0, ..., n-1} and s from {-1, +1} — Keras's
//    np.random.choice(n) * choice([-1, 1]), so 2 gives whole-pixel shifts of -1, 0 or +1 (no
//    resampling blur: integer shifts move pixels exactly);
//  - a list of values: one of them, times a random sign, as Keras draws from a 1-D array.
// When the largest value is below 1, t is a fraction of the image's height (width); else pixels.
struct ShiftRange {
  enum class Kind { Uniform, Integer, Choice };
  Kind kind = Kind::Uniform;
  double range = 0;            // Uniform: r; Integer: n
  std::vector<double> values;  // Choice

  ShiftRange() = default;
  ShiftRange(double r) : range(r) {}                                  // NOLINT: implicit, as Keras's float
  ShiftRange(int n) : kind(Kind::Integer), range(static_cast<double>(n)) {}  // NOLINT: as Keras's int
  explicit ShiftRange(std::vector<double> choices) : kind(Kind::Choice), values(std::move(choices)) {}

  bool is_set() const { return kind == Kind::Choice ? !values.empty() : range != 0; }
  bool operator==(const ShiftRange&) const = default;
  // One draw, in pixels, for an image side of `size` pixels (the fixed draw order documented above).
  double draw(Generator& gen, double size) const;
  // ValueError naming `name` for a negative or non-finite value (an empty choice list is "not set").
  void check(const char* name) const;
};

// Keras's zoom_range: a float z means [1 - z, 1 + z]; a pair is [lower, upper]. A zoom factor > 1
// shows more of the image (the content shrinks), as in Keras.
struct ZoomRange {
  double lower = 1.0, upper = 1.0;
  ZoomRange() = default;
  ZoomRange(double z) : lower(1.0 - z), upper(1.0 + z) {}  // NOLINT: implicit, as Keras's float
  ZoomRange(double lo, double hi) : lower(lo), upper(hi) {}
};

struct ImageDataGeneratorOptions {
  bool featurewise_center = false;             // subtract the channel means of fit()'s data
  bool samplewise_center = false;              // subtract each image's own mean (all pixels and channels)
  bool featurewise_std_normalization = false;  // divide by fit()'s channel std (+1e-6)
  bool samplewise_std_normalization = false;   // divide by each image's std (+1e-6)
  bool zca_whitening = false;                  // multiply flattened images by fit()'s ZCA matrix
  double zca_epsilon = 1e-6;
  double rotation_range = 0;       // degrees; theta ~ U(-r, r), counter-clockwise positive
  ShiftRange width_shift_range;    // see ShiftRange: float ~ U(-r, r), int n: whole pixels in (-n, n)
  ShiftRange height_shift_range;   // likewise for the height
  std::optional<std::array<double, 2>> brightness_range;  // factor ~ U(lo, hi)
  double shear_range = 0;          // degrees, counter-clockwise
  ZoomRange zoom_range = 0.0;      // zx, zy ~ U(lower, upper) independently
  double channel_shift_range = 0;  // intensity ~ U(-r, r), added to all channels, clipped to the image's range
  FillMode fill_mode = FillMode::Nearest;  // Keras's default here (the layers default to reflect)
  double cval = 0;
  bool horizontal_flip = false;    // each with probability 1/2
  bool vertical_flip = false;
  double rescale = 0;              // 0: none; else multiply by it (before anything else in standardize)
  std::function<Tensor(const Tensor&)> preprocessing_function;  // [H, W, C] -> [H, W, C], first in standardize
  double validation_split = 0;     // fraction held out for flow(..., subset "validation")
  Interpolation interpolation = Interpolation::Bilinear;  // Keras's interpolation_order 1
  // Random erasing (Zhong et al. 2017), an Ember addition with torchvision's RandomErasing defaults:
  // with probability erasing_probability one rectangle of every channel is set to erasing_value,
  // after the geometry, channel shift and brightness. Its area is a fraction of the image drawn from
  // U(erasing_scale) and its aspect ratio (height / width) log-uniform in erasing_ratio; up to 10
  // draws until it fits inside the image (else nothing is erased), then a uniform position.
  double erasing_probability = 0;
  std::array<double, 2> erasing_scale = {0.02, 0.33};
  std::array<double, 2> erasing_ratio = {0.3, 3.3};
  double erasing_value = 0;
};

// A rectangle of an image: rows [top, top + height), columns [left, left + width).
struct ImageBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
  bool operator==(const ImageBox&) const = default;
};

// One image's random parameters (Keras's transform_parameters dict, same names and units).
struct TransformParams {
  double theta = 0;  // degrees, counter-clockwise
  double tx = 0;     // height shift in pixels: output row y samples input row y + tx
  double ty = 0;     // width shift in pixels: output column x samples input column x + ty
  double shear = 0;  // degrees
  double zx = 1;     // zoom along the width (x); > 1 shrinks the content
  double zy = 1;     // zoom along the height (y)
  bool flip_horizontal = false;
  bool flip_vertical = false;
  double channel_shift_intensity = 0;
  std::optional<double> brightness;
  std::optional<ImageBox> erase;  // random erasing's rectangle, set to erasing_value
};

// Which part of the data flow() yields when validation_split is set: Keras's subset=None /
// "training" / "validation". The validation part is the FIRST int(N * validation_split) images.
enum class Subset { All, Training, Validation };

struct FlowOptions {
  int64_t batch_size = 32;
  bool shuffle = true;           // reshuffled every pass (epoch), from the seed
  std::optional<uint64_t> seed;  // shuffle and augmentation; unset: drawn from default_generator()
  Subset subset = Subset::All;
};

// flow_from_directory's options: Keras's names and defaults.
struct FlowFromDirectoryOptions {
  std::array<int64_t, 2> target_size = {256, 256};  // every image resized (bilinear) to {height, width}
  ColorMode color_mode = ColorMode::RGB;
  ClassMode class_mode = ClassMode::Categorical;     // labels: f32 one-hot; Int: i64; Binary: f32 0/1; None: no y
  int64_t batch_size = 32;
  bool shuffle = true;
  std::optional<uint64_t> seed;
  Subset subset = Subset::All;
};

class ImageDataGenerator {
 public:
  explicit ImageDataGenerator(ImageDataGeneratorOptions options = {});
  const ImageDataGeneratorOptions& options() const { return opt_; }

  // Computes what the featurewise options and ZCA need from x [N, H, W, C] (float; Keras does not
  // rescale or preprocess here either). augment: fit on `rounds` randomly transformed copies drawn
  // from Generator(seed). Channel count 1, 3 or 4 as Keras warns otherwise — Ember accepts any.
  void fit(const Tensor& x, bool augment = false, int rounds = 1, uint64_t seed = 0);

  // preprocessing_function, rescale, samplewise center/std, featurewise center/std, ZCA, in Keras's
  // order, on one image [H, W, C] or a batch [N, H, W, C]; float64 stays float64, else float32.
  // ValueError when a featurewise option or ZCA is on and fit() was not called.
  Tensor standardize(const Tensor& x) const;

  // Draws one image's parameters, in a fixed order from `gen` (Keras's, then erasing's draws when
  // erasing_probability > 0). image_shape: [H, W, C].
  TransformParams get_random_transform(const Shape& image_shape, Generator& gen) const;
  // The single output-to-input transform of rotation, shift, shear and zoom (and the flips, exact),
  // about the centre, for an h x w image.
  static ProjectiveTransform transform_matrix(const TransformParams& p, int64_t height, int64_t width);
  // Applies p to one image [H, W, C] (geometry in one resampling, then channel shift, brightness,
  // erasing). ValueError when p.erase does not lie inside the image.
  Tensor apply_transform(const Tensor& x, const TransformParams& p) const;
  // apply_transform(x, get_random_transform(x.shape(), gen)).
  Tensor random_transform(const Tensor& x, Generator& gen) const;
  // A batch [N, H, W, C]: image i gets what random_transform would give it with the same draws
  // (parameters drawn image after image from `gen`), but the geometry of all N images is one
  // resampling call — what flow() runs, so the per-image cost is the kernel's, not N op calls.
  Tensor random_transform_batch(const Tensor& x, Generator& gen) const;

  // Keras's flow(x, y): a Dataset of batches {x, y} (or {x} without y) where every image went
  // through random_transform then standardize, each batch with its own Generator seeded from (seed,
  // epoch, batch index) — the same images for the same seed whatever data::num_workers() is. Built as
  // from_tensor_slices -> shuffle -> batch -> map (random_transform_batch and standardize on data
  // workers) -> prefetch; the generator is copied
  // into it (later fit() calls do not change it). preprocessing_function runs on data worker threads.
  // x: [N, H, W, C]; y: N rows (ShapeError otherwise). ValueError for batch_size < 1, or a subset
  // other than All without validation_split.
  Dataset flow(const Tensor& x, const Tensor& y = Tensor(), FlowOptions options = {}) const;

  // Keras's flow_from_directory: a Dataset of batches {x, y} (or {x} with ClassMode::None) read from
  // DIR/<class>/<image> (data/image_folder.hpp: classes in sorted order — list_image_folder(dir)
  // gives their names), each file decoded and resized on the pipeline's worker threads, then
  // batched, then random_transform_batch and standardize as in flow(). x is f32 with values 0..255 (as Keras gives them:
  // use rescale = 1/255). With validation_split, the validation subset is the first
  // int(n * validation_split) files of each class (sorted), the training subset the rest, as Keras
  // splits. A file that cannot be decoded is an error naming it when its element is read. Errors at
  // once: as list_image_folder; ValueError for Binary with other than 2 classes, an empty subset or a
  // subset without validation_split.
  Dataset flow_from_directory(const std::string& dir, FlowFromDirectoryOptions options = {}) const;

  // What fit() computed (undefined Tensors before): mean/std [1, 1, C], principal_components [D, D].
  const Tensor& mean() const { return mean_; }
  const Tensor& std() const { return std_; }
  const Tensor& principal_components() const { return principal_components_; }

 private:
  Dataset augment_batches(Dataset batches, uint64_t seed) const;

  ImageDataGeneratorOptions opt_;
  Tensor mean_, std_, principal_components_;
};

}  // namespace ember::data
