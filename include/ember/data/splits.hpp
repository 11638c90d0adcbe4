#pragma once
// Splitting a data set into train/test (scikit-learn's train_test_split) or into parts by fractions
// (the notes' 70/30, 60/20/20, 98/1/1, 99.5/0.4/0.1), and the label utilities that go with them:
// Keras's to_categorical and selecting a subset of classes.
//
// x and y are split along axis 0 together (any dtype, any rank; y may be undefined when there are
// no labels). Randomness comes from a Generator seeded with `seed` (default_generator() when unset),
// so the same seed gives the same parts.
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::data {

// One part of a split: rows of x and the matching rows of y.
struct SplitPart {
  Tensor x;
  Tensor y;
};

struct TrainTestSplitOptions {
  // A double in (0, 1) is a fraction (n_test = ceil(test_size * n), scikit-learn's rounding); an
  // integer is a count of test rows. Either must leave both parts non-empty (ValueError otherwise).
  std::variant<double, int64_t> test_size = 0.25;
  bool shuffle = true;           // false: train = the first rows, test = the last, in order
  std::optional<uint64_t> seed;  // unset: default_generator()
  bool stratify = false;         // keep y's class proportions in both parts (see split_by_fractions)
};

struct TrainTestSplit {
  Tensor x_train, x_test, y_train, y_test;
};

// scikit-learn's train_test_split(x, y, test_size=..., shuffle=..., random_state=..., stratify=y).
// ShapeError when x and y differ in length; ValueError for sizes that leave a part empty or
// exceed n, and for stratify without labels or with labels that are not integers of shape [N].
TrainTestSplit train_test_split(const Tensor& x, const Tensor& y, TrainTestSplitOptions options = {});

struct SplitOptions {
  bool shuffle = true;           // false: consecutive runs of rows in order (stratify: per class)
  std::optional<uint64_t> seed;  // unset: default_generator()
  bool stratify = false;
};

// The part sizes split_by_fractions uses for n rows: largest remainder (Hamilton) rounding — each
// part gets floor(f_i * n), and the rows left over go one each to the parts with the largest
// fractional remainders (the earlier part on a tie), so the sizes add up to n and each is within
// one of f_i * n. Fractions must be positive and sum to 1 within 1e-9; ValueError otherwise, or
// when a part would be empty.
std::vector<int64_t> fraction_sizes(const std::vector<double>& fractions, int64_t n);

// Splits into fraction_sizes(fractions, n) rows per part, in the order of `fractions`
// ({0.6, 0.2, 0.2} -> train, validation, test). With stratify, each part's count of every class c
// is within one of fraction × (count of c in y) while the part sizes stay those above (a rounding
// found by a small max-flow; in the rare case it cannot meet both, the sizes win and a class may be
// off by more). Class counts use the distinct values of y (shape [N], integer or integer-valued).
std::vector<SplitPart> split_by_fractions(const Tensor& x, const Tensor& y, const std::vector<double>& fractions,
                                          SplitOptions options = {});

// Keras's to_categorical: integer labels (any shape; a trailing axis of 1 is dropped, as Keras
// does) -> float32 one-hot with a new last axis of num_classes (default max(y) + 1). ValueError
// naming the position and value for a label outside [0, num_classes) or a non-integer value.
Tensor to_categorical(const Tensor& y, std::optional<int64_t> num_classes = std::nullopt);

struct SelectClassesOptions {
  bool relabel = false;  // true: the kept labels become their positions in `classes` (0..k-1), as i64
};

// The rows whose label (y of shape [N]) is one of `classes`, in their original order — the notes'
// "digits 0, 1, 2 only". ValueError for an empty or repeated class list, ShapeError for mismatched
// lengths. A class absent from y is allowed (it contributes no rows).
SplitPart select_classes(const Tensor& x, const Tensor& y, const std::vector<int64_t>& classes,
                         SelectClassesOptions options = {});

}  // namespace ember::data
