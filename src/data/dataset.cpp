// tf.data-style pipelines (see the header). Each transformation is a node; a pass builds a chain of
// node iterators with a pull interface, next(out) -> false at the end. Only ParallelMap and
// Prefetch iterators own threads; everything else runs on the thread that pulls.
#include "ember/data/dataset.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/ops/shape.hpp"

namespace ember::data {

using autograd::NoGradGuard;

namespace {

std::atomic<int> g_num_workers{2};

// splitmix64 finaliser: mixes a seed with a pass number and an element index into a Generator
// seed, so nearby (pass, index) pairs give unrelated streams.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
uint64_t derive_seed(uint64_t seed, uint64_t pass, uint64_t index) { return mix(mix(mix(seed) ^ pass) ^ index); }

uint64_t seed_or_draw(const std::optional<uint64_t>& seed) { return seed ? *seed : default_generator().next_u64(); }

// An exception from user code or a worker, as the consumer sees it: ember::Error subclasses pass
// unchanged; anything else becomes an ember::Error naming where it came from.
[[noreturn]] void rethrow_as_ember(std::exception_ptr e, const char* where) {
  try {
    std::rethrow_exception(e);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw Error(std::string(where) + " threw: " + ex.what());
  } catch (...) {
    throw Error(std::string(where) + " threw a non-standard exception");
  }
}

// Runs user code; non-ember exceptions come out as ember::Error.
template <typename F>
auto call_user(const char* where, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (...) {
    rethrow_as_ember(std::current_exception(), where);
  }
}

// Worker threads run kernels serially: the compute pool is the consumer's (header comment).
void init_worker_thread() { omp_set_num_threads(1); }

// The threads of one iterator, with the lock and condition variable they wait on. The owner calls
// stop() in its destructor, before the members the threads use are destroyed.
struct WorkerGroup {
  std::mutex mu;
  std::condition_variable cv;
  bool cancelled = false;  // guarded by mu
  std::vector<std::thread> threads;

  template <typename F>
  void start(int64_t n, F body) {
    try {
      for (int64_t t = 0; t < n; ++t)
        threads.emplace_back([body] {
          init_worker_thread();
          autograd::NoGradGuard no_grad;
          body();
        });
    } catch (...) {
      stop();  // could not start them all: join those that did start
      throw;
    }
  }
  // Cancels, wakes and joins every thread.
  void stop() {
    {
      std::lock_guard lk(mu);
      cancelled = true;
    }
    cv.notify_all();
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

}  // namespace

void set_num_workers(int n) {
  if (n < 1) throw ValueError("data::set_num_workers: expected n >= 1, got " + std::to_string(n));
  g_num_workers.store(n);
}
int num_workers() { return g_num_workers.load(); }

// ------------------------------------------------------------------ nodes and iterators

struct NodeIterator {
  virtual ~NodeIterator() = default;
  virtual bool next(Element& out) = 0;
};

struct DatasetNode {
  virtual ~DatasetNode() = default;
  // A new pass; `pass` is this node's pass number (how many iterators were made of it before).
  virtual std::unique_ptr<NodeIterator> make(uint64_t pass) const = 0;
  virtual int64_t cardinality() const = 0;
  std::unique_ptr<NodeIterator> iterate() const { return make(passes_.fetch_add(1)); }

 private:
  mutable std::atomic<uint64_t> passes_{0};
};

struct IteratorImpl {
  std::unique_ptr<NodeIterator> root;
};

namespace {

using NodePtr = std::shared_ptr<const DatasetNode>;

// in.next(e) on a worker: what it throws goes to `err` (and counts as the end).
bool pull(NodeIterator& in, Element& e, std::exception_ptr& err) {
  try {
    return in.next(e);
  } catch (...) {
    err = std::current_exception();
    return false;
  }
}

// ---- from_tensors / from_tensor_slices

struct TensorsNode final : DatasetNode {
  Element components;
  bool slices = false;
  int64_t n = 1;

  struct It final : NodeIterator {
    const TensorsNode& node;
    int64_t i = 0;
    explicit It(const TensorsNode& nd) : node(nd) {}
    bool next(Element& out) override {
      if (i >= node.n) return false;
      Element e;
      e.reserve(node.components.size());
      for (const Tensor& c : node.components) {
        if (!node.slices) {
          e.push_back(c);
          continue;
        }
        Shape rest(c.shape().begin() + 1, c.shape().end());
        e.push_back(c.slice(0, i, i + 1).reshape(rest));
      }
      ++i;
      out = std::move(e);
      return true;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override { return n; }
};

// ---- range

struct RangeNode final : DatasetNode {
  int64_t start, stop, step;
  RangeNode(int64_t a, int64_t b, int64_t s) : start(a), stop(b), step(s) {}
  struct It final : NodeIterator {
    const RangeNode& node;
    int64_t v;
    explicit It(const RangeNode& nd) : node(nd), v(nd.start) {}
    bool next(Element& out) override {
      if (node.step > 0 ? v >= node.stop : v <= node.stop) return false;
      out = Element{scalar_tensor(v, i64)};
      v += node.step;
      return true;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override {
    if (step > 0) return stop > start ? (stop - start + step - 1) / step : 0;
    return start > stop ? (start - stop - step - 1) / -step : 0;
  }
};

// ---- map

struct MapNode final : DatasetNode {
  NodePtr input;
  Dataset::RandomMapFn fn;  // the plain form ignores its generator
  bool random = false;
  int64_t threads = 1;
  uint64_t seed = 0;

  Element apply(Element e, uint64_t pass, uint64_t index) const {
    return call_user("data::Dataset::map function", [&] {
      if (!random) {
        Generator unused(0);
        return fn(std::move(e), unused);
      }
      Generator g(derive_seed(seed, pass, index));
      return fn(std::move(e), g);
    });
  }

  struct SerialIt final : NodeIterator {
    const MapNode& node;
    std::unique_ptr<NodeIterator> in;
    uint64_t pass, index = 0;
    SerialIt(const MapNode& nd, uint64_t p) : node(nd), in(nd.input->iterate()), pass(p) {}
    bool next(Element& out) override {
      Element e;
      if (!in->next(e)) return false;
      out = node.apply(std::move(e), pass, index++);
      return true;
    }
  };

  // A fixed pool of `threads` workers per pass. Each worker takes the next input element (input
  // pulls are serialised, so element k is the k-th input), runs fn on it unlocked, and files the
  // result under k; the consumer takes results in index order. At most `window` elements are taken
  // and not yet consumed, which bounds memory and makes idle workers block.
  struct ParallelIt final : NodeIterator {
    const MapNode& node;
    const uint64_t pass;
    const uint64_t window;
    std::unique_ptr<NodeIterator> in;
    WorkerGroup group;
    std::mutex& mu = group.mu;
    std::condition_variable& cv = group.cv;
    bool& cancelled = group.cancelled;
    std::mutex in_mu;  // serialises pulls from `in`; guards the two below
    uint64_t pulled = 0;      // index the next pull gets
    bool exhausted = false;   // `in` ended or threw
    // Guarded by mu:
    uint64_t taken = 0;       // window slots claimed by workers (>= elements pulled)
    uint64_t next_out = 0;    // index the consumer wants next
    bool in_done = false;     // no index >= end_index will be produced
    uint64_t end_index = 0;   // valid once in_done
    std::map<uint64_t, Element> ready;
    std::map<uint64_t, std::exception_ptr> failed;  // by index; an input failure sits at end_index

    ParallelIt(const MapNode& nd, uint64_t p)
        : node(nd), pass(p), window(2 * static_cast<uint64_t>(nd.threads)), in(nd.input->iterate()) {
      group.start(nd.threads, [this] { work(); });
    }
    ~ParallelIt() override { group.stop(); }

    void work() {
      for (;;) {
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return cancelled || in_done || taken - next_out < window; });
          if (cancelled || in_done) return;
          ++taken;  // a slot in the window, before the pull (so at most `window` are ahead)
        }
        // Pull under in_mu, which alone numbers the elements: element k is the k-th input.
        uint64_t k = 0;
        Element e;
        bool got = false;
        std::exception_ptr err;
        {
          std::lock_guard in_lk(in_mu);
          if (exhausted) return;
          k = pulled++;
          got = pull(*in, e, err);
          if (!got) exhausted = true;
        }
        if (!got) {
          {
            std::lock_guard lk(mu);
            if (!in_done) {
              in_done = true;
              end_index = k;
              if (err) failed[k] = err;
            }
          }
          cv.notify_all();
          return;
        }
        Element r;
        try {
          r = node.apply(std::move(e), pass, k);
        } catch (...) {
          err = std::current_exception();
        }
        {
          std::lock_guard lk(mu);
          if (err)
            failed[k] = err;
          else
            ready.emplace(k, std::move(r));
        }
        cv.notify_all();
      }
    }

    bool next(Element& out) override {
      std::unique_lock lk(mu);
      const uint64_t k = next_out;
      cv.wait(lk, [&] { return ready.count(k) || failed.count(k) || (in_done && k >= end_index); });
      if (auto f = failed.find(k); f != failed.end()) {
        std::exception_ptr e = f->second;
        failed.erase(f);
        // Later results are dropped: the pass ends with this exception (a retry gives the end).
        in_done = true;
        end_index = k;
        lk.unlock();
        cv.notify_all();
        rethrow_as_ember(e, "data::Dataset::map function");
      }
      auto r = ready.find(k);
      if (r == ready.end()) return false;
      out = std::move(r->second);
      ready.erase(r);
      ++next_out;
      lk.unlock();
      cv.notify_all();
      return true;
    }
  };

  std::unique_ptr<NodeIterator> make(uint64_t pass) const override {
    if (threads <= 1) return std::make_unique<SerialIt>(*this, pass);
    return std::make_unique<ParallelIt>(*this, pass);
  }
  int64_t cardinality() const override { return input->cardinality(); }
};

// ---- filter

struct FilterNode final : DatasetNode {
  NodePtr input;
  Dataset::Predicate pred;
  struct It final : NodeIterator {
    const FilterNode& node;
    std::unique_ptr<NodeIterator> in;
    explicit It(const FilterNode& nd) : node(nd), in(nd.input->iterate()) {}
    bool next(Element& out) override {
      Element e;
      while (in->next(e)) {
        if (call_user("data::Dataset::filter predicate", [&] { return node.pred(e); })) {
          out = std::move(e);
          return true;
        }
      }
      return false;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    return n == kInfiniteCardinality ? n : kUnknownCardinality;
  }
};

// ---- shuffle

struct ShuffleNode final : DatasetNode {
  NodePtr input;
  int64_t buffer_size = 1;
  uint64_t seed = 0;
  bool reshuffle = true;
  struct It final : NodeIterator {
    std::unique_ptr<NodeIterator> in;
    const std::size_t cap;
    Generator gen;
    std::vector<Element> buf;
    bool in_done = false;
    It(const ShuffleNode& nd, uint64_t pass)
        : in(nd.input->iterate()),
          cap(static_cast<std::size_t>(nd.buffer_size)),
          gen(derive_seed(nd.seed, nd.reshuffle ? pass : 0, ~0ULL)) {}
    bool next(Element& out) override {
      while (!in_done && buf.size() < cap) {
        Element e;
        if (!in->next(e)) {
          in_done = true;
          break;
        }
        buf.push_back(std::move(e));
      }
      if (buf.empty()) return false;
      std::size_t i = static_cast<std::size_t>(gen.below(buf.size()));
      out = std::move(buf[i]);
      // The next input takes the freed slot (filled at the next call); at the end the last slot moves in.
      if (i + 1 != buf.size()) buf[i] = std::move(buf.back());
      buf.pop_back();
      return true;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t pass) const override { return std::make_unique<It>(*this, pass); }
  int64_t cardinality() const override { return input->cardinality(); }
};

// ---- batch

struct BatchNode final : DatasetNode {
  NodePtr input;
  int64_t size = 1;
  bool drop_remainder = false;
  struct It final : NodeIterator {
    const BatchNode& node;
    std::unique_ptr<NodeIterator> in;
    bool in_done = false;
    explicit It(const BatchNode& nd) : node(nd), in(nd.input->iterate()) {}
    bool next(Element& out) override {
      std::vector<Element> items;
      items.reserve(static_cast<std::size_t>(node.size));
      while (!in_done && static_cast<int64_t>(items.size()) < node.size) {
        Element e;
        if (!in->next(e)) {
          in_done = true;
          break;
        }
        if (!items.empty()) check(items.front(), e, static_cast<int64_t>(items.size()));
        items.push_back(std::move(e));
      }
      if (items.empty() || (node.drop_remainder && static_cast<int64_t>(items.size()) < node.size)) return false;
      NoGradGuard no_grad;
      Element b;
      const std::size_t nc = items.front().size();
      b.reserve(nc);
      std::vector<Tensor> parts(items.size());
      for (std::size_t c = 0; c < nc; ++c) {
        for (std::size_t i = 0; i < items.size(); ++i) parts[i] = items[i][c];
        b.push_back(stack(parts, 0));
      }
      out = std::move(b);
      return true;
    }
    static void check(const Element& first, const Element& e, int64_t at) {
      if (e.size() != first.size())
        throw ValueError("data::Dataset::batch: element " + std::to_string(at) + " of the batch has " +
                         std::to_string(e.size()) + " components, the first had " + std::to_string(first.size()));
      for (std::size_t c = 0; c < e.size(); ++c) {
        if (e[c].dtype() != first[c].dtype())
          throw DTypeError("data::Dataset::batch: component " + std::to_string(c) + " of element " +
                           std::to_string(at) + " of the batch is " + std::string(dtype_name(e[c].dtype())) +
                           ", the first element's is " + std::string(dtype_name(first[c].dtype())));
        if (e[c].shape() != first[c].shape())
          throw ShapeError("data::Dataset::batch: cannot batch tensors of different shapes in component " +
                           std::to_string(c) + ": the first element had shape " + to_string(first[c].shape()) +
                           " and element " + std::to_string(at) + " of the batch had shape " +
                           to_string(e[c].shape()));
      }
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    if (n < 0) return n;
    return drop_remainder ? n / size : (n + size - 1) / size;
  }
};

// ---- repeat

struct RepeatNode final : DatasetNode {
  NodePtr input;
  int64_t count = -1;
  struct It final : NodeIterator {
    const RepeatNode& node;
    std::unique_ptr<NodeIterator> in;
    int64_t done_reps = 0;
    bool got_any = false;  // in this repetition
    explicit It(const RepeatNode& nd) : node(nd) {
      if (nd.count != 0) in = nd.input->iterate();
    }
    bool next(Element& out) override {
      while (in) {
        if (in->next(out)) {
          got_any = true;
          return true;
        }
        ++done_reps;
        in.reset();
        if (!got_any || (node.count >= 0 && done_reps >= node.count)) return false;  // empty input: stop
        got_any = false;
        in = node.input->iterate();
      }
      return false;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    if (count == 0 || n == 0) return 0;
    if (count < 0) return n == kUnknownCardinality ? n : kInfiniteCardinality;
    return n < 0 ? n : n * count;
  }
};

// ---- take / skip

struct TakeNode final : DatasetNode {
  NodePtr input;
  int64_t count = -1;
  struct It final : NodeIterator {
    const TakeNode& node;
    std::unique_ptr<NodeIterator> in;
    int64_t taken = 0;
    explicit It(const TakeNode& nd) : node(nd), in(nd.input->iterate()) {}
    bool next(Element& out) override {
      if (node.count >= 0 && taken >= node.count) return false;
      if (!in->next(out)) return false;
      ++taken;
      return true;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    if (count < 0) return n;
    if (n == kUnknownCardinality) return count == 0 ? 0 : n;
    return n == kInfiniteCardinality ? count : std::min(n, count);
  }
};

struct SkipNode final : DatasetNode {
  NodePtr input;
  int64_t count = 0;
  struct It final : NodeIterator {
    const SkipNode& node;
    std::unique_ptr<NodeIterator> in;
    bool skipped = false;
    explicit It(const SkipNode& nd) : node(nd), in(nd.input->iterate()) {}
    bool next(Element& out) override {
      if (!skipped) {
        skipped = true;
        if (node.count < 0) return false;  // skip(-1): everything
        for (int64_t i = 0; i < node.count; ++i)
          if (!in->next(out)) return false;
      }
      if (node.count < 0) return false;
      return in->next(out);
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    if (count < 0) return 0;
    if (n < 0) return n;
    return std::max<int64_t>(0, n - count);
  }
};

// ---- prefetch

// One producer thread fills a queue of at most `cap` elements; the consumer pops. A failure of the
// input is queued in order and thrown when the consumer reaches it.
struct PrefetchNode final : DatasetNode {
  NodePtr input;
  int64_t buffer_size = 1;
  struct It final : NodeIterator {
    std::unique_ptr<NodeIterator> in;
    const std::size_t cap;
    WorkerGroup group;
    std::mutex& mu = group.mu;
    std::condition_variable& cv = group.cv;
    std::deque<Element> queue;  // guarded by mu, like the two below
    bool in_done = false;
    std::exception_ptr error;  // thrown after the queue drains

    explicit It(const PrefetchNode& nd) : in(nd.input->iterate()), cap(static_cast<std::size_t>(nd.buffer_size)) {
      group.start(1, [this] { work(); });
    }
    ~It() override { group.stop(); }
    void work() {
      for (;;) {
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return group.cancelled || queue.size() < cap; });
          if (group.cancelled) return;
        }
        Element e;
        std::exception_ptr err;
        const bool got = pull(*in, e, err);
        {
          std::lock_guard lk(mu);
          if (got) {
            queue.push_back(std::move(e));
          } else {
            in_done = true;
            error = err;
          }
        }
        cv.notify_all();
        if (!got) return;
      }
    }
    bool next(Element& out) override {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return !queue.empty() || in_done; });
      if (queue.empty()) {
        if (error) {
          std::exception_ptr e = std::exchange(error, nullptr);
          lk.unlock();
          rethrow_as_ember(e, "data::Dataset input");
        }
        return false;
      }
      out = std::move(queue.front());
      queue.pop_front();
      lk.unlock();
      cv.notify_all();
      return true;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override { return input->cardinality(); }
};

// ---- cache

struct CacheNode final : DatasetNode {
  NodePtr input;
  mutable std::mutex mu;
  mutable std::shared_ptr<const std::vector<Element>> filled;  // set by the first complete pass

  struct It final : NodeIterator {
    const CacheNode& node;
    std::shared_ptr<const std::vector<Element>> replay;
    std::size_t pos = 0;
    std::unique_ptr<NodeIterator> in;
    std::vector<Element> recording;
    explicit It(const CacheNode& nd) : node(nd) {
      std::lock_guard lk(nd.mu);
      replay = nd.filled;
      if (!replay) in = nd.input->iterate();
    }
    bool next(Element& out) override {
      if (replay) {
        if (pos >= replay->size()) return false;
        out = (*replay)[pos++];
        return true;
      }
      if (!in) return false;
      if (in->next(out)) {
        recording.push_back(out);
        return true;
      }
      in.reset();
      std::lock_guard lk(node.mu);
      if (!node.filled) node.filled = std::make_shared<const std::vector<Element>>(std::move(recording));
      return false;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override { return input->cardinality(); }
};

// ---- zip / concatenate

struct ZipNode final : DatasetNode {
  std::vector<NodePtr> inputs;
  struct It final : NodeIterator {
    std::vector<std::unique_ptr<NodeIterator>> in;
    bool done = false;
    explicit It(const ZipNode& nd) {
      for (const auto& i : nd.inputs) in.push_back(i->iterate());
    }
    bool next(Element& out) override {
      if (done) return false;
      Element z;
      for (auto& i : in) {
        Element e;
        if (!i->next(e)) {
          done = true;
          return false;
        }
        for (Tensor& t : e) z.push_back(std::move(t));
      }
      out = std::move(z);
      return true;
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override {
    int64_t best = kInfiniteCardinality;
    bool unknown = false;
    for (const auto& i : inputs) {
      int64_t n = i->cardinality();
      if (n == kUnknownCardinality) unknown = true;
      else if (n >= 0) best = best < 0 ? n : std::min(best, n);
    }
    if (unknown) return best == 0 ? 0 : kUnknownCardinality;
    return best;
  }
};

struct ConcatNode final : DatasetNode {
  NodePtr first, second;
  struct It final : NodeIterator {
    const ConcatNode& node;
    std::unique_ptr<NodeIterator> in;
    bool on_second = false;
    std::optional<Element> proto;  // the first element seen: its component count and dtypes
    explicit It(const ConcatNode& nd) : node(nd), in(nd.first->iterate()) {}
    bool next(Element& out) override {
      for (;;) {
        if (!in) return false;
        if (in->next(out)) {
          if (!proto) {
            proto = out;
          } else if (on_second) {
            check(out);
          }
          return true;
        }
        in.reset();
        if (on_second) return false;
        on_second = true;
        in = node.second->iterate();
      }
    }
    void check(const Element& e) const {
      if (e.size() != proto->size())
        throw ValueError("data::Dataset::concatenate: the second dataset's elements have " + std::to_string(e.size()) +
                         " components, the first's " + std::to_string(proto->size()));
      for (std::size_t c = 0; c < e.size(); ++c)
        if (e[c].dtype() != (*proto)[c].dtype())
          throw DTypeError("data::Dataset::concatenate: component " + std::to_string(c) + " is " +
                           std::string(dtype_name(e[c].dtype())) + " in the second dataset, " +
                           std::string(dtype_name((*proto)[c].dtype())) + " in the first");
    }
  };
  std::unique_ptr<NodeIterator> make(uint64_t) const override { return std::make_unique<It>(*this); }
  int64_t cardinality() const override {
    int64_t a = first->cardinality(), b = second->cardinality();
    if (a == kInfiniteCardinality || b == kInfiniteCardinality) return kInfiniteCardinality;
    if (a < 0 || b < 0) return kUnknownCardinality;
    return a + b;
  }
};

void check_fn(bool ok, const char* what) {
  if (!ok) throw ValueError(std::string("data::Dataset::") + what + ": expected a callable, got an empty function");
}

}  // namespace

// ------------------------------------------------------------------ Dataset

Dataset Dataset::from_tensors(Element components) {
  auto n = std::make_shared<TensorsNode>();
  for (const Tensor& c : components)
    if (!c.defined()) throw ValueError("data::Dataset::from_tensors: a component is an undefined tensor");
  n->components = std::move(components);
  return Dataset(std::move(n));
}

Dataset Dataset::from_tensor_slices(Element components) {
  if (components.empty())
    throw ValueError("data::Dataset::from_tensor_slices: expected at least one component, got none");
  int64_t n = -1;
  for (std::size_t c = 0; c < components.size(); ++c) {
    const Tensor& t = components[c];
    if (!t.defined())
      throw ValueError("data::Dataset::from_tensor_slices: component " + std::to_string(c) + " is an undefined tensor");
    if (t.dim() == 0)
      throw ShapeError("data::Dataset::from_tensor_slices: component " + std::to_string(c) +
                       " is a scalar; expected at least one axis to slice");
    if (n >= 0 && t.size(0) != n)
      throw ShapeError("data::Dataset::from_tensor_slices: components must have the same first dimension: "
                       "component 0 has shape " + to_string(components[0].shape()) + ", component " +
                       std::to_string(c) + " has shape " + to_string(t.shape()));
    n = t.size(0);
  }
  auto node = std::make_shared<TensorsNode>();
  {
    NoGradGuard no_grad;  // elements are data: no autograd history from the user's tensors
    for (Tensor& t : components) t = t.detach();
  }
  node->components = std::move(components);
  node->slices = true;
  node->n = n;
  return Dataset(std::move(node));
}

Dataset Dataset::range(int64_t start, int64_t stop, int64_t step) {
  if (step == 0) throw ValueError("data::Dataset::range: step must not be 0");
  return Dataset(std::make_shared<RangeNode>(start, stop, step));
}

Dataset Dataset::zip(const std::vector<Dataset>& datasets) {
  if (datasets.empty()) throw ValueError("data::Dataset::zip: expected at least one dataset, got none");
  auto n = std::make_shared<ZipNode>();
  for (const Dataset& d : datasets) n->inputs.push_back(d.node_);
  return Dataset(std::move(n));
}

namespace {
int64_t resolve_threads(int64_t n, const char* what) {
  if (n == kAutotune) return num_workers();
  if (n < 1)
    throw ValueError(std::string("data::Dataset::") + what + ": expected num_parallel_calls >= 1 or kAutotune, got " +
                     std::to_string(n));
  return n;
}
}  // namespace

namespace {
// `random`: the function uses its generator, seeded per element; otherwise none is seeded.
std::shared_ptr<MapNode> map_node(const NodePtr& input, Dataset::RandomMapFn fn, const MapOptions& opt, bool random) {
  check_fn(static_cast<bool>(fn), "map");
  auto n = std::make_shared<MapNode>();
  n->input = input;
  n->threads = resolve_threads(opt.num_parallel_calls, "map");
  n->fn = std::move(fn);
  n->random = random;
  if (random) n->seed = seed_or_draw(opt.seed);
  return n;
}
}  // namespace

Dataset Dataset::map(MapFn fn, MapOptions opt) const {
  check_fn(static_cast<bool>(fn), "map");
  return Dataset(map_node(node_, [f = std::move(fn)](Element e, Generator&) { return f(std::move(e)); }, opt, false));
}

Dataset Dataset::map(RandomMapFn fn, MapOptions opt) const { return Dataset(map_node(node_, std::move(fn), opt, true)); }

Dataset Dataset::filter(Predicate pred) const {
  check_fn(static_cast<bool>(pred), "filter");
  auto n = std::make_shared<FilterNode>();
  n->input = node_;
  n->pred = std::move(pred);
  return Dataset(std::move(n));
}

namespace {
void require_positive(int64_t v, const char* what, const char* arg) {
  if (v < 1)
    throw ValueError(std::string("data::Dataset::") + what + ": expected " + arg + " >= 1, got " + std::to_string(v));
}
}  // namespace

Dataset Dataset::shuffle(int64_t buffer_size, ShuffleOptions opt) const {
  require_positive(buffer_size, "shuffle", "buffer_size");
  auto n = std::make_shared<ShuffleNode>();
  n->input = node_;
  n->buffer_size = buffer_size;
  n->seed = seed_or_draw(opt.seed);
  n->reshuffle = opt.reshuffle_each_iteration;
  return Dataset(std::move(n));
}

Dataset Dataset::batch(int64_t batch_size, bool drop_remainder) const {
  require_positive(batch_size, "batch", "batch_size");
  auto n = std::make_shared<BatchNode>();
  n->input = node_;
  n->size = batch_size;
  n->drop_remainder = drop_remainder;
  return Dataset(std::move(n));
}

namespace {
// repeat / take / skip: a node with an input and a count >= -1 (-1: no limit).
template <typename N>
std::shared_ptr<N> counted_node(const NodePtr& input, int64_t count, const char* what) {
  if (count < -1)
    throw ValueError(std::string("data::Dataset::") + what + ": expected count >= -1, got " + std::to_string(count));
  auto n = std::make_shared<N>();
  n->input = input;
  n->count = count;
  return n;
}
}  // namespace

Dataset Dataset::repeat(int64_t count) const { return Dataset(counted_node<RepeatNode>(node_, count, "repeat")); }
Dataset Dataset::take(int64_t count) const { return Dataset(counted_node<TakeNode>(node_, count, "take")); }
Dataset Dataset::skip(int64_t count) const { return Dataset(counted_node<SkipNode>(node_, count, "skip")); }

Dataset Dataset::prefetch(int64_t buffer_size) const {
  if (buffer_size == kAutotune) buffer_size = 2;
  require_positive(buffer_size, "prefetch", "buffer_size (or kAutotune)");
  auto n = std::make_shared<PrefetchNode>();
  n->input = node_;
  n->buffer_size = buffer_size;
  return Dataset(std::move(n));
}

Dataset Dataset::cache() const {
  auto n = std::make_shared<CacheNode>();
  n->input = node_;
  return Dataset(std::move(n));
}

Dataset Dataset::concatenate(const Dataset& other) const {
  auto n = std::make_shared<ConcatNode>();
  n->first = node_;
  n->second = other.node_;
  return Dataset(std::move(n));
}

int64_t Dataset::cardinality() const { return node_->cardinality(); }

Iterator Dataset::iterate() const {
  auto impl = std::make_unique<IteratorImpl>();
  impl->root = node_->iterate();
  return Iterator(std::move(impl));
}

Iterator Dataset::begin() const {
  Iterator it = iterate();
  ++it;
  return it;
}

// ------------------------------------------------------------------ Iterator

Iterator::Iterator(std::unique_ptr<IteratorImpl> impl) : impl_(std::move(impl)) {}
Iterator::Iterator(Iterator&&) noexcept = default;
Iterator& Iterator::operator=(Iterator&&) noexcept = default;
Iterator::~Iterator() = default;

std::optional<Element> Iterator::next() {
  if (done_ || !impl_) return std::nullopt;
  Element e;
  bool got = false;
  try {
    got = impl_->root->next(e);
  } catch (...) {
    done_ = true;  // a pass that threw is over; its threads stop with the iterator
    throw;
  }
  if (!got) {
    done_ = true;
    impl_.reset();  // joins the worker threads now rather than when the iterator goes
    return std::nullopt;
  }
  return e;
}

Element& Iterator::operator*() {
  if (!current_) throw ValueError("data::Iterator: dereferenced past the end of the pass");
  return *current_;
}

Iterator& Iterator::operator++() {
  current_ = next();
  return *this;
}

}  // namespace ember::data
