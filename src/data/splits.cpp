#include "ember/data/splits.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/ops/shape.hpp"

namespace ember::data {

namespace {

int64_t rows_of(const Tensor& x, const Tensor& y, const char* fn) {
  if (!x.defined() || x.dim() == 0) throw ShapeError(std::string(fn) + ": x must have a row axis, got a 0-d or undefined tensor");
  int64_t n = x.size(0);
  if (y.defined() && (y.dim() == 0 || y.size(0) != n)) {
    throw ShapeError(std::string(fn) + ": x has " + std::to_string(n) + " rows but y has shape " +
                     to_string(y.shape()) + " (expected " + std::to_string(n) + " rows)");
  }
  return n;
}

// y of shape [N] as int64 values; ValueError when not integer-valued.
std::vector<int64_t> integer_labels(const Tensor& y, const char* fn) {
  if (!y.defined()) throw ValueError(std::string(fn) + ": needs labels y, got none");
  if (y.dim() != 1) {
    throw ValueError(std::string(fn) + ": labels must have shape [N], got " + to_string(y.shape()));
  }
  std::vector<double> v = y.to_vector<double>();
  std::vector<int64_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!(std::nearbyint(v[i]) == v[i]) || std::abs(v[i]) > 9.0e15) {
      throw ValueError(std::string(fn) + ": label " + std::to_string(i) + " is " + std::to_string(v[i]) +
                       ", expected an integer");
    }
    out[i] = static_cast<int64_t>(v[i]);
  }
  return out;
}

Tensor rows(const Tensor& t, const std::vector<int64_t>& idx) {
  if (!t.defined()) return t;
  autograd::NoGradGuard no_grad;
  return gather(t, from_vector(idx, {static_cast<int64_t>(idx.size())}), 0);
}

void shuffle_in_place(std::vector<int64_t>& v, Generator& gen) {
  // Fisher-Yates from the back, one below() draw per position.
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
}

// counts[k][p]: rows of class k in part p, each floor or ceil of f_p * n_k, row sums n_k and (where
// possible) column sums sizes[p]. Start from the floors; the leftover units of each class go to
// parts with a fractional quota, one per cell, as a bipartite max-flow (augmenting paths, BFS).
std::vector<std::vector<int64_t>> stratified_counts(const std::vector<int64_t>& class_n,
                                                    const std::vector<double>& fractions,
                                                    const std::vector<int64_t>& sizes) {
  const std::size_t K = class_n.size(), P = fractions.size();
  std::vector<std::vector<int64_t>> c(K, std::vector<int64_t>(P));
  std::vector<std::vector<bool>> open(K, std::vector<bool>(P));  // cell may take one more unit
  std::vector<int64_t> row_left(K), col_left(sizes);
  for (std::size_t k = 0; k < K; ++k) {
    int64_t placed = 0;
    for (std::size_t p = 0; p < P; ++p) {
      double q = fractions[p] * static_cast<double>(class_n[k]);
      double fl = std::floor(q + 1e-9);
      c[k][p] = static_cast<int64_t>(fl);
      open[k][p] = q - fl > 1e-9;
      placed += c[k][p];
      col_left[p] -= c[k][p];
    }
    row_left[k] = class_n[k] - placed;
  }
  // used[k][p]: the cell took its extra unit (flow 1 on edge k->p).
  std::vector<std::vector<bool>> used(K, std::vector<bool>(P));
  for (;;) {
    // BFS from rows with units left to a column with room; residual edges: row->col when open and
    // unused, col->row when used.
    std::vector<int> prev_col(K, -2), prev_row(P, -1);
    std::vector<std::size_t> queue;
    for (std::size_t k = 0; k < K; ++k) {
      if (row_left[k] > 0) {
        prev_col[k] = -1;
        queue.push_back(k);
      }
    }
    int end_col = -1;
    for (std::size_t qi = 0; qi < queue.size() && end_col < 0; ++qi) {
      std::size_t k = queue[qi];
      for (std::size_t p = 0; p < P && end_col < 0; ++p) {
        if (!open[k][p] || used[k][p] || prev_row[p] >= 0) continue;
        prev_row[p] = static_cast<int>(k);
        if (col_left[p] > 0) {
          end_col = static_cast<int>(p);
          break;
        }
        for (std::size_t k2 = 0; k2 < K; ++k2) {
          if (used[k2][p] && prev_col[k2] == -2) {
            prev_col[k2] = static_cast<int>(p);
            queue.push_back(k2);
          }
        }
      }
    }
    if (end_col < 0) break;
    // Augment along the path back to a source row.
    int p = end_col;
    col_left[p] -= 1;
    for (;;) {
      int k = prev_row[p];
      used[k][p] = true;
      int back = prev_col[k];
      if (back == -1) {
        row_left[k] -= 1;
        break;
      }
      used[k][back] = false;
      p = back;
    }
  }
  for (std::size_t k = 0; k < K; ++k) {
    for (std::size_t p = 0; p < P; ++p) c[k][p] += used[k][p] ? 1 : 0;
  }
  // Units the flow could not place (a degenerate tie of remainders): the part sizes win.
  for (std::size_t k = 0; k < K; ++k) {
    for (std::size_t p = 0; p < P && row_left[k] > 0; ++p) {
      int64_t t = std::min(row_left[k], col_left[p]);
      c[k][p] += t;
      row_left[k] -= t;
      col_left[p] -= t;
    }
  }
  return c;
}

std::vector<std::vector<int64_t>> part_indices(const Tensor& y, int64_t n, const std::vector<double>& fractions,
                                               const std::vector<int64_t>& sizes, const SplitOptions& o,
                                               const char* fn) {
  std::optional<Generator> own;
  if (o.seed) own.emplace(*o.seed);
  Generator& gen = own ? *own : default_generator();
  std::vector<std::vector<int64_t>> parts(sizes.size());
  if (!o.stratify) {
    std::vector<int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    if (o.shuffle) shuffle_in_place(order, gen);
    int64_t at = 0;
    for (std::size_t p = 0; p < sizes.size(); ++p) {
      parts[p].assign(order.begin() + at, order.begin() + at + sizes[p]);
      at += sizes[p];
    }
    return parts;
  }
  std::vector<int64_t> labels = integer_labels(y, fn);
  std::map<int64_t, std::vector<int64_t>> by_class;  // rows of each class, in order
  for (int64_t i = 0; i < n; ++i) by_class[labels[i]].push_back(i);
  std::vector<int64_t> class_n;
  for (const auto& [label, members] : by_class) class_n.push_back(static_cast<int64_t>(members.size()));
  auto counts = stratified_counts(class_n, fractions, sizes);
  std::size_t k = 0;
  for (auto& [label, members] : by_class) {
    if (o.shuffle) shuffle_in_place(members, gen);
    int64_t at = 0;
    for (std::size_t p = 0; p < sizes.size(); ++p) {
      parts[p].insert(parts[p].end(), members.begin() + at, members.begin() + at + counts[k][p]);
      at += counts[k][p];
    }
    ++k;
  }
  for (auto& part : parts) {
    if (o.shuffle) {
      shuffle_in_place(part, gen);  // interleave the classes
    } else {
      std::sort(part.begin(), part.end());  // input order
    }
  }
  return parts;
}

}  // namespace

std::vector<int64_t> fraction_sizes(const std::vector<double>& fractions, int64_t n) {
  if (fractions.size() < 2) {
    throw ValueError("split_by_fractions: expected at least 2 fractions, got " + std::to_string(fractions.size()));
  }
  double total = 0;
  for (double f : fractions) {
    if (!(f > 0.0 && f < 1.0)) {
      throw ValueError("split_by_fractions: each fraction must be in (0, 1), got " + std::to_string(f));
    }
    total += f;
  }
  if (std::abs(total - 1.0) > 1e-9) {
    throw ValueError("split_by_fractions: the fractions must sum to 1 (within 1e-9), they sum to " +
                     std::to_string(total));
  }
  std::vector<int64_t> sizes(fractions.size());
  std::vector<double> rem(fractions.size());
  int64_t given = 0;
  for (std::size_t i = 0; i < fractions.size(); ++i) {
    double q = fractions[i] * static_cast<double>(n);
    // The tolerance keeps 0.7 * 10 = 7.000000000000001 (or 6.999999999999999) at 7.
    double fl = std::floor(q + 1e-9);
    sizes[i] = static_cast<int64_t>(fl);
    rem[i] = std::max(0.0, q - fl);
    given += sizes[i];
  }
  std::vector<std::size_t> order(fractions.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
  for (std::size_t i = 0; given < n; ++i, ++given) sizes[order[i % order.size()]] += 1;
  // The 1e-9 tolerance can, for very large n, give one row too many: take it from the smallest remainders.
  for (std::size_t i = order.size(); given > n; --given) {
    i = i == 0 ? order.size() - 1 : i - 1;
    if (sizes[order[i]] > 0) sizes[order[i]] -= 1;
    else ++given;
  }
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == 0) {
      throw ValueError("split_by_fractions: part " + std::to_string(i) + " (fraction " + std::to_string(fractions[i]) +
                       ") of " + std::to_string(n) + " rows would be empty");
    }
  }
  return sizes;
}

std::vector<SplitPart> split_by_fractions(const Tensor& x, const Tensor& y, const std::vector<double>& fractions,
                                          SplitOptions options) {
  int64_t n = rows_of(x, y, "split_by_fractions");
  std::vector<int64_t> sizes = fraction_sizes(fractions, n);
  auto idx = part_indices(y, n, fractions, sizes, options, "split_by_fractions");
  std::vector<SplitPart> out;
  for (const auto& part : idx) out.push_back({rows(x, part), rows(y, part)});
  return out;
}

TrainTestSplit train_test_split(const Tensor& x, const Tensor& y, TrainTestSplitOptions options) {
  int64_t n = rows_of(x, y, "train_test_split");
  int64_t n_test = 0;
  double test_fraction = 0;
  if (const double* f = std::get_if<double>(&options.test_size)) {
    if (!(*f > 0.0 && *f < 1.0)) {
      throw ValueError("train_test_split: a fractional test_size must be in (0, 1), got " + std::to_string(*f));
    }
    n_test = static_cast<int64_t>(std::ceil(*f * static_cast<double>(n)));  // scikit-learn's rounding
    test_fraction = *f;
  } else {
    n_test = std::get<int64_t>(options.test_size);
    if (n_test <= 0 || n_test >= n) {
      throw ValueError("train_test_split: test_size " + std::to_string(n_test) + " must be in [1, " +
                       std::to_string(n - 1) + "] for " + std::to_string(n) + " rows (both parts non-empty)");
    }
    test_fraction = static_cast<double>(n_test) / static_cast<double>(n);
  }
  if (n_test <= 0 || n_test >= n) {
    throw ValueError("train_test_split: test_size " + std::to_string(test_fraction) + " of " + std::to_string(n) +
                     " rows gives " + std::to_string(n_test) + " test rows and " + std::to_string(n - n_test) +
                     " train rows; both must be at least 1");
  }
  std::vector<int64_t> sizes{n - n_test, n_test};
  auto idx = part_indices(y, n, {1.0 - test_fraction, test_fraction}, sizes,
                          {.shuffle = options.shuffle, .seed = options.seed, .stratify = options.stratify},
                          "train_test_split");
  return {.x_train = rows(x, idx[0]), .x_test = rows(x, idx[1]), .y_train = rows(y, idx[0]), .y_test = rows(y, idx[1])};
}

Tensor to_categorical(const Tensor& y, std::optional<int64_t> num_classes) {
  if (!y.defined()) throw ValueError("to_categorical: labels are undefined");
  Tensor labels = y;
  // Keras drops a trailing axis of size 1 ([N, 1] labels give [N, C]).
  if (labels.dim() > 1 && labels.shape().back() == 1) labels = labels.reshape(Shape(y.shape().begin(), y.shape().end() - 1));
  std::vector<double> v = labels.to_vector<double>();
  int64_t max_label = -1;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!(std::nearbyint(v[i]) == v[i]) || v[i] < 0 || v[i] > 9.0e15) {
      throw ValueError("to_categorical: label at flat index " + std::to_string(i) + " is " + std::to_string(v[i]) +
                       ", expected a non-negative integer");
    }
    max_label = std::max(max_label, static_cast<int64_t>(v[i]));
  }
  int64_t c = num_classes.value_or(max_label + 1);
  if (c <= 0) throw ValueError("to_categorical: num_classes must be positive, got " + std::to_string(c));
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (static_cast<int64_t>(v[i]) >= c) {
      throw ValueError("to_categorical: label at flat index " + std::to_string(i) + " is " +
                       std::to_string(static_cast<int64_t>(v[i])) + ", expected one in [0, " + std::to_string(c) + ")");
    }
  }
  autograd::NoGradGuard no_grad;
  return one_hot(labels.to(i64), c, f32);
}

SplitPart select_classes(const Tensor& x, const Tensor& y, const std::vector<int64_t>& classes,
                         SelectClassesOptions options) {
  int64_t n = rows_of(x, y, "select_classes");
  if (classes.empty()) throw ValueError("select_classes: expected at least one class, got none");
  std::map<int64_t, int64_t> position;
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (!position.emplace(classes[i], static_cast<int64_t>(i)).second) {
      throw ValueError("select_classes: class " + std::to_string(classes[i]) + " is listed twice");
    }
  }
  std::vector<int64_t> labels = integer_labels(y, "select_classes");
  std::vector<int64_t> keep, relabelled;
  for (int64_t i = 0; i < n; ++i) {
    auto it = position.find(labels[i]);
    if (it == position.end()) continue;
    keep.push_back(i);
    relabelled.push_back(it->second);
  }
  if (options.relabel) return {rows(x, keep), from_vector(relabelled, {static_cast<int64_t>(relabelled.size())})};
  return {rows(x, keep), rows(y, keep)};
}

}  // namespace ember::data
