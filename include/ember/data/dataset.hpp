#pragma once
// tf.data-style input pipelines: a Dataset is a sequence of elements, each an ordered list of
// tensor components (from_tensor_slices({x, y}) gives elements {x[i], y[i]}), transformed by
// map / filter / shuffle / batch / repeat / take / skip / prefetch / cache / zip / concatenate and
// read with a range-for:
//
//   auto ds = data::Dataset::from_tensor_slices({x, y})
//                 .shuffle(1000, {.seed = 42})
//                 .map([](data::Element e, Generator& g) { ...; return e; }, {.num_parallel_calls = 4, .seed = 7})
//                 .batch(32)
//                 .prefetch(2);
//   for (data::Element& batch : ds) { ... batch[0] ... batch[1] ... }
//
// Value semantics. A Dataset is a cheap handle to an immutable pipeline description (shared nodes);
// copying it shares the description. Each pass (begin(), or iterate()) creates its own iterator
// state, so the same Dataset can be read once per epoch, or by two passes at once.
//
// Determinism. Same seeds => same elements in the same order, independent of the number of worker
// threads and of timing:
//  - parallel map keeps input order, and each element's Generator is seeded from (the map's seed,
//    the pass number of that map node, the element's index in that pass) — never from which thread
//    ran it or when;
//  - shuffle draws from a Generator seeded from (seed, pass number) with reshuffle_each_iteration,
//    or from the seed alone without it (the same order every pass);
//  - a missing seed is drawn from default_generator() when the transformation is created, so
//    ember::manual_seed(s) fixes it too. "Pass number" counts the iterators made of that node
//    (the first pass is 0); repeat() starts a new pass of its input per repetition.
//
// Threads. Background work is done by worker threads that belong to one iterator: a parallel
// map's iterator owns a fixed pool of num_parallel_calls threads, a prefetch's iterator one thread.
// They fill bounded buffers (a parallel map keeps at most 2 x num_parallel_calls elements ahead of
// the consumer, prefetch(n) at most n) and block on a condition variable when the buffer is full,
// so a pipeline ahead of its consumer costs no CPU. Destroying the iterator (the end of a range-for,
// a `break`, an exception) cancels the work, wakes and joins every thread; no thread is detached or
// outlives its iterator. An exception thrown on a worker (in the map function, or by an upstream
// stage) is carried to the consumer's thread and thrown there, at the element where it happened:
// ember::Error subclasses as they are, any other exception wrapped in an ember::Error naming it.
//
// Not oversubscribing the compute threads. Compute parallelism belongs to kernels/ (one OpenMP
// pool, core/threads.hpp), used by the consumer's thread (the training step). Each data worker sets
// its own OpenMP thread count to 1 when it starts (omp_set_num_threads is per thread), so kernels a
// map function calls run serially on that worker and never start a second OpenMP team; the data
// threads add at most data::num_workers() (default 2) busy threads, and only while the buffers
// are not full — once the pipeline is ahead of the training step they sleep.
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "ember/core/generator.hpp"
#include "ember/core/tensor.hpp"

namespace ember::data {

// One element: its components in order (e.g. {features, label}).
using Element = std::vector<Tensor>;

// num_parallel_calls / prefetch buffer size chosen by the library (tf.data.AUTOTUNE): the number
// of data workers, num_workers().
inline constexpr int64_t kAutotune = -1;
// cardinality() results (tf.data.INFINITE_CARDINALITY / UNKNOWN_CARDINALITY).
inline constexpr int64_t kInfiniteCardinality = -1;
inline constexpr int64_t kUnknownCardinality = -2;

// Size of the data worker pool that kAutotune asks for (default 2). n >= 1, else ValueError.
// Results never depend on it (see the header comment).
void set_num_workers(int n);
int num_workers();

struct MapOptions {
  // 1: the function runs on the thread that pulls the element (tf's default). n > 1: a pool of n
  // worker threads per pass, output in input order. kAutotune: num_workers() threads.
  int64_t num_parallel_calls = 1;
  // Seeds the per-element Generators of the (Element, Generator&) form. Unset: drawn from
  // default_generator() when map() is called.
  std::optional<uint64_t> seed;
};

struct ShuffleOptions {
  std::optional<uint64_t> seed;  // unset: drawn from default_generator() when shuffle() is called
  bool reshuffle_each_iteration = true;  // a new order every pass (derived from seed + pass number)
};

class Iterator;
struct DatasetNode;  // the pipeline description (src/data/dataset.cpp)

class Dataset {
 public:
  using MapFn = std::function<Element(Element)>;
  using RandomMapFn = std::function<Element(Element, Generator&)>;
  using Predicate = std::function<bool(const Element&)>;

  // One element holding `components` as they are.
  static Dataset from_tensors(Element components);
  // Element i holds components[c][i] (axis 0 removed) for every c. All components need the same,
  // nonzero-rank first dimension (ShapeError otherwise); at least one component (ValueError).
  static Dataset from_tensor_slices(Element components);
  // 0-d i64 elements start, start + step, ... up to stop (exclusive), like Python's range.
  static Dataset range(int64_t start, int64_t stop, int64_t step = 1);
  static Dataset range(int64_t stop) { return range(0, stop); }
  // Element i is the concatenation of the components of element i of each dataset; ends with the
  // shortest. At least one dataset (ValueError).
  static Dataset zip(const std::vector<Dataset>& datasets);

  // fn(element) -> new element. Exceptions from fn reach the consumer (see the header comment).
  Dataset map(MapFn fn, MapOptions opt = {}) const;
  // fn(element, generator): the generator is seeded from (opt.seed, pass number, element index),
  // so random augmentations repeat exactly for the same seed whatever the thread count.
  Dataset map(RandomMapFn fn, MapOptions opt = {}) const;
  // Keeps the elements for which pred is true (runs on the pulling thread).
  Dataset filter(Predicate pred) const;
  // tf.data's buffered shuffle: a buffer of buffer_size elements, each output drawn uniformly from
  // it and replaced by the next input. buffer_size >= the number of elements gives a uniform
  // permutation; 1 keeps the order. buffer_size >= 1 (ValueError otherwise).
  Dataset shuffle(int64_t buffer_size, ShuffleOptions opt = {}) const;
  // Stacks batch_size consecutive elements, each component along a new axis 0. The last, smaller
  // batch is kept unless drop_remainder. Components must agree in shape and dtype within a batch
  // (ShapeError / DTypeError naming the component and element). batch_size >= 1.
  Dataset batch(int64_t batch_size, bool drop_remainder = false) const;
  // The input count times (-1: forever; 0: empty). An input that yields nothing ends even an
  // endless repeat (as tf.data does), instead of spinning.
  Dataset repeat(int64_t count = -1) const;
  // The first `count` elements (-1: all); the input is not pulled further.
  Dataset take(int64_t count) const;
  // All but the first `count` elements (-1: skips everything).
  Dataset skip(int64_t count) const;
  // A background thread keeps up to buffer_size elements ready (kAutotune: 2). buffer_size >= 1.
  Dataset prefetch(int64_t buffer_size) const;
  // In memory: the first pass that runs to the end records the elements, later passes replay
  // them without running the input again (a pass left early records nothing, as tf.data).
  Dataset cache() const;
  // This dataset's elements, then `other`'s. They must have the same number of components with the
  // same dtypes (checked as `other`'s elements come; ValueError / DTypeError).
  Dataset concatenate(const Dataset& other) const;

  // Number of elements when it is known without iterating, kInfiniteCardinality or
  // kUnknownCardinality (after filter, for instance) otherwise.
  int64_t cardinality() const;

  // A new pass. begin() fetches the first element (for range-for); iterate() fetches nothing yet.
  Iterator begin() const;
  std::default_sentinel_t end() const { return {}; }
  Iterator iterate() const;

 private:
  explicit Dataset(std::shared_ptr<const DatasetNode> node) : node_(std::move(node)) {}
  std::shared_ptr<const DatasetNode> node_;
};

struct IteratorImpl;  // one pass's state (src/data/dataset.cpp)

// One pass over a Dataset. Move-only; destroying it stops and joins its worker threads.
class Iterator {
 public:
  Iterator(Iterator&&) noexcept;
  Iterator& operator=(Iterator&&) noexcept;
  ~Iterator();

  // The next element, or nullopt at the end (and every call after it).
  std::optional<Element> next();

  // Range-for support (input-iterator style): *it is the current element.
  Element& operator*();
  Iterator& operator++();
  bool operator==(std::default_sentinel_t) const { return !current_.has_value(); }

 private:
  friend class Dataset;
  explicit Iterator(std::unique_ptr<IteratorImpl> impl);
  std::unique_ptr<IteratorImpl> impl_;
  std::optional<Element> current_;
  bool done_ = false;
};

}  // namespace ember::data
