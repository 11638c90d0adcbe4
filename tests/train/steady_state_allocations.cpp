// Steady-state training makes no call to the system allocator (issue 10, DESIGN.md "No allocation in
// the steady state").
//
// This file is its own executable (test_train_allocations, labels train;alloc; see
// tests/CMakeLists.txt) because it replaces the global operator new/delete — every form: plain,
// array, nothrow, sized, aligned — and, outside AddressSanitizer, malloc and its family, with
// versions that count the calls made while a window is "armed". Nothing here leaks into other test
// binaries.
//
// The warm-up is documented by kWarmupSteps: the first steps create the optimizer slots, fill the
// Storage cache and the object pools, and size the reusable buffers (engine, graveyard, logs). After
// it, kMeasuredSteps whole steps of Model::fit (from one on_train_batch_begin to the next: batch
// gather, forward, loss, backward, Adam, metrics, logs, callbacks, progress output) and of
// Model::train_on_batch must make zero calls to operator new, zero malloc-family calls and zero new
// Storage blocks. Progress output: verbose 0 and 2 (one line per epoch) and verbose 1 both off a
// terminal (one line per epoch) and on one (the bar redrawn in place, through a pseudo-terminal).
//
// Calls made inside oneDNN's own functions (its sgemm allocates packing buffers and a std::function
// per call, primitive execution an argument map) cannot be removed from Ember and are counted apart:
// printed with the other counts, not asserted. A failure prints the counts and the backtraces of the
// first calls (EMBER_ALLOC_TRACES=N for more).
//
// Under AddressSanitizer (EMBER_SANITIZE=ON) the Storage cache is off on purpose (src/core/storage.cpp:
// ASan must see every use-after-free), so every step takes its tensor buffers from the system, and
// ASan owns malloc, so this file does not replace it. There the test checks operator new only (the
// pools, small vectors and reusable buffers are all still in force) and checks that the Storage
// count does move — so the run says what it did not check instead of silently skipping it.
#include <execinfo.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "ember/ember.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/session.hpp"
#include "ember/graph/train.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/progress.hpp"
#include "ember/train/training.hpp"

#include "ember/core/sanitizers.hpp"
#define EMBER_TEST_ASAN EMBER_ASAN

namespace {

// ---- the counting hooks ----------------------------------------------------------------------------

std::atomic<bool> g_armed{false};
std::atomic<long> g_new_calls{0}, g_new_bytes{0}, g_malloc_calls{0}, g_onednn_calls{0};

// oneDNN allocates inside its own functions on every call — dnnl_sgemm its packing buffers and a
// std::function per parallel region, dnnl_primitive_execute its argument map — and Ember cannot
// change that (no allocator hook in oneDNN 2.6). A call made while a oneDNN function is on the stack
// is therefore counted apart (g_onednn_calls, printed, not asserted); Ember never runs code called
// back from oneDNN, so every such call is oneDNN's own. The address ranges of libdnnl are read once.
struct Range {
  uintptr_t lo = 0, hi = 0;
};
Range g_onednn[8];
int g_onednn_ranges = 0;

int find_onednn(dl_phdr_info* info, std::size_t, void*) {
  if (!info->dlpi_name || !std::strstr(info->dlpi_name, "libdnnl")) return 0;
  for (int i = 0; i < info->dlpi_phnum && g_onednn_ranges < 8; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    g_onednn[g_onednn_ranges++] = {info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz};
  }
  return 0;
}

bool inside_onednn(void* const* frames, int n) {
  for (int i = 0; i < n; ++i) {
    const auto a = reinterpret_cast<uintptr_t>(frames[i]);
    for (int r = 0; r < g_onednn_ranges; ++r) {
      if (a >= g_onednn[r].lo && a < g_onednn[r].hi) return true;
    }
  }
  return false;
}

// The first kMaxTraces counted calls keep a backtrace; EMBER_ALLOC_TRACES=N prints N of them on a
// failure (default 6), for hunting allocations down.
constexpr int kMaxTraces = 4096, kTraceDepth = 24;
void* g_traces[kMaxTraces][kTraceDepth];
int g_trace_depth[kMaxTraces];
const char* g_trace_kind[kMaxTraces];
std::atomic<int> g_traces_taken{0};
thread_local bool t_in_hook = false;  // backtrace() may itself allocate: do not count or trace that

void note(const char* kind, std::size_t bytes, std::atomic<long>& counter) {
  if (!g_armed.load(std::memory_order_relaxed) || t_in_hook) return;
  t_in_hook = true;
  void* frames[64];
  const int depth = backtrace(frames, 64);
  if (inside_onednn(frames, depth)) {
    g_onednn_calls.fetch_add(1, std::memory_order_relaxed);
  } else {
    counter.fetch_add(1, std::memory_order_relaxed);
    g_new_bytes.fetch_add(static_cast<long>(bytes), std::memory_order_relaxed);
    int slot = g_traces_taken.fetch_add(1, std::memory_order_relaxed);
    if (slot < kMaxTraces) {
      g_trace_kind[slot] = kind;
      g_trace_depth[slot] = std::min(depth, kTraceDepth);
      std::memcpy(g_traces[slot], frames, sizeof(void*) * static_cast<std::size_t>(g_trace_depth[slot]));
    }
  }
  t_in_hook = false;
}

}  // namespace

#if !EMBER_TEST_ASAN
// glibc's own entry points, so the replacements below only count and forward.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) {
  note("malloc", n, g_malloc_calls);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  note("calloc", n * size, g_malloc_calls);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  note("realloc", n, g_malloc_calls);
  return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  note("aligned_alloc", n, g_malloc_calls);
  return __libc_memalign(align, n);
}
void* memalign(std::size_t align, std::size_t n) {
  note("memalign", n, g_malloc_calls);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  note("posix_memalign", n, g_malloc_calls);
  void* p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) { __libc_free(p); }
}
#endif

namespace {
// The system allocator behind operator new: glibc's directly, so an operator new is not counted a
// second time as a malloc (under ASan: malloc, which ASan intercepts).
void* system_malloc(std::size_t n) {
#if EMBER_TEST_ASAN
  return std::malloc(n);
#else
  return __libc_malloc(n);
#endif
}
void* system_memalign(std::size_t align, std::size_t n) {
#if EMBER_TEST_ASAN
  void* p = nullptr;
  return posix_memalign(&p, align, n) == 0 ? p : nullptr;
#else
  return __libc_memalign(align, n);
#endif
}

void* counted_new(std::size_t n) {
  note("operator new", n, g_new_calls);
  if (void* p = system_malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_new_aligned(std::size_t n, std::align_val_t al) {
  note("operator new (aligned)", n, g_new_calls);
  std::size_t a = static_cast<std::size_t>(al);
  if (a < sizeof(void*)) a = sizeof(void*);
  if (void* p = system_memalign(a, n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a) { return counted_new_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_new_aligned(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_new_aligned(n, a);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_new_aligned(n, a);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace ember;

// What happened inside one armed window.
struct Counts {
  long new_calls = 0, new_bytes = 0, malloc_calls = 0;
  long onednn_calls = 0;  // made inside oneDNN's own functions (see g_onednn_calls)
  std::size_t storage_blocks = 0;  // new blocks the Storage cache took from the system
};

void arm() {
  g_new_calls = 0;
  g_new_bytes = 0;
  g_malloc_calls = 0;
  g_onednn_calls = 0;
  g_traces_taken = 0;
  g_armed = true;
}

Counts disarm(std::size_t storage_before) {
  g_armed = false;
  return {g_new_calls.load(), g_new_bytes.load(), g_malloc_calls.load(), g_onednn_calls.load(),
          allocator_stats().system_allocations - storage_before};
}

// Where the first few counted calls came from (backtrace_symbols_fd writes without allocating).
void print_traces() {
  const char* env = std::getenv("EMBER_ALLOC_TRACES");
  int n = std::min({g_traces_taken.load(), kMaxTraces, env ? std::atoi(env) : 6});
  for (int i = 0; i < n; ++i) {
    std::fprintf(stderr, "---- allocation %d (%s), innermost frame first:\n", i + 1, g_trace_kind[i]);
    std::fflush(stderr);
    backtrace_symbols_fd(g_traces[i], g_trace_depth[i], STDERR_FILENO);
  }
}

// Asserts the window was allocation-free; prints the counts and the first call sites otherwise.
// `makes_tensors`: the window creates tensors (under ASan their buffers must then come from the system).
void expect_none(const Counts& c, const char* what, bool makes_tensors = true) {
  std::printf("%s: %ld operator new, %ld malloc-family and %zu new Storage blocks from Ember's code; %ld inside "
              "oneDNN's own functions (not asserted)\n",
              what, c.new_calls, c.malloc_calls, c.storage_blocks, c.onednn_calls);
  const bool ok = c.new_calls == 0 && (EMBER_TEST_ASAN || (c.malloc_calls == 0 && c.storage_blocks == 0));
  if (!ok) print_traces();
  EXPECT_EQ(c.new_calls, 0) << what << ": operator new was called " << c.new_calls << " times (" << c.new_bytes
                            << " bytes in all, malloc family included) — see the backtraces above";
#if EMBER_TEST_ASAN
  // The Storage cache is disabled under ASan, so tensor buffers do come from the system: check that
  // this is what happened rather than skip the check silently.
  if (makes_tensors) {
    EXPECT_GT(c.storage_blocks, 0u) << what << ": expected the uncached Storage allocations of an ASan build";
  }
#else
  EXPECT_EQ(c.malloc_calls, 0) << what << ": malloc/calloc/realloc/aligned_alloc were called " << c.malloc_calls
                               << " times — see the backtraces above";
  EXPECT_EQ(c.storage_blocks, 0u) << what << ": the Storage cache took " << c.storage_blocks
                                  << " new blocks from the system";
#endif
}

constexpr int64_t kBatch = 128;
constexpr int kWarmupSteps = 3;    // documented warm-up (see the file comment)
constexpr int kMeasuredSteps = 4;  // whole steps counted after it
constexpr int kSteps = kWarmupSteps + kMeasuredSteps + 1;

// Random 28x28x1 "images" in [0, 1) and labels 0..9 (u8, as the Fashion-MNIST loader gives them).
struct Synthetic {
  Tensor x, y;
};
Synthetic synthetic(int64_t n) {
  Generator g(7);
  Tensor x = rand({n, 28, 28, 1}, {.generator = &g});
  Tensor y = (rand({n}, {.low = 0, .high = 10, .generator = &g})).to(u8);
  return {x, y};
}

// The built-in model compiled as `ember train` compiles it: Adam with a cosine decay, sparse
// categorical cross-entropy from logits, accuracy.
std::shared_ptr<nn::Model> compiled(const std::string& name, int64_t total_steps) {
  manual_seed(1);
  nn::reset_layer_names();
  auto model = nn::builtin_model(name);
  std::shared_ptr<optim::Optimizer> opt = optim::make_optimizer("adam", 1e-3);
  opt->set_learning_rate(optim::CosineDecay({.initial_learning_rate = 1e-3, .decay_steps = total_steps}));
  model->compile({.optimizer = opt,
                  .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
                  .metrics = {"accuracy"}});
  return model;
}

// Arms the counters at the start of batch kWarmupSteps and reads them at the start of batch
// kWarmupSteps + kMeasuredSteps, so the window holds whole steps of fit's loop.
class AllocationWindow : public callbacks::Callback {
 public:
  void on_train_batch_begin(int batch, const callbacks::Logs&) override {
    if (batch == kWarmupSteps) {
      before_ = allocator_stats().system_allocations;
      arm();
    } else if (batch == kWarmupSteps + kMeasuredSteps) {
      counts = disarm(before_);
      measured = true;
    }
  }
  Counts counts;
  bool measured = false;

 private:
  std::size_t before_ = 0;
};

// The mlp written with the functional API (Input -> layer calls -> Model), as a Keras JSON model
// loads: its graph evaluation has its own allocation-free path (Model::call_all_into).
std::shared_ptr<nn::Model> functional_mlp() {
  nn::SymbolicTensor in = nn::Input({28, 28, 1});
  nn::SymbolicTensor x = nn::Flatten()(in);
  x = nn::Dense({.units = 64, .activation = Activation::ReLU})(x);
  nn::SymbolicTensor out = nn::Dense({.units = 10})(x);
  return std::make_shared<nn::Model>(in, out, "functional_mlp");
}

// The built-in model compiled as `ember train` compiles it ("functional": functional_mlp()).
std::shared_ptr<nn::Model> compiled_model(const std::string& name, int64_t total_steps) {
  if (name != "functional") return compiled(name, total_steps);
  manual_seed(1);
  nn::reset_layer_names();
  auto model = functional_mlp();
  model->compile({.optimizer = "adam",
                  .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
                  .metrics = {"accuracy"}});
  return model;
}

// `bytes`: the images as u8 [N, 28, 28], turned into floats batch by batch (FitOptions::x_transform =
// data::images_to_float), as `ember train` feeds byte images.
void check_fit(const std::string& model_name, int verbose, bool bytes = false) {
  Synthetic d = synthetic(kBatch * kSteps);
  if (bytes) d.x = (d.x * 256.0).reshape({kBatch * kSteps, 28, 28}).to(u8);
  auto model = compiled_model(model_name, kSteps);
  auto window = std::make_shared<AllocationWindow>();
  train::FitOptions options{.batch_size = kBatch, .epochs = 1, .verbose = verbose, .callbacks = {window}};
  if (bytes) options.x_transform = data::images_to_float;
  model->fit(d.x, d.y, options);
  ASSERT_TRUE(window->measured);
  std::string what = model_name + " fit (verbose " + std::to_string(verbose) + (bytes ? ", u8 images" : "") + "), " +
                     std::to_string(kMeasuredSteps) + " steps after " + std::to_string(kWarmupSteps);
  expect_none(window->counts, what.c_str());
}

void check_train_on_batch(const std::string& model_name) {
  Synthetic d = synthetic(kBatch * kSteps);
  auto model = compiled(model_name, kSteps);
  std::vector<Tensor> xs, ys;
  for (int s = 0; s < kSteps; ++s) {
    xs.push_back(d.x.slice(0, s * kBatch, (s + 1) * kBatch));
    ys.push_back(d.y.slice(0, s * kBatch, (s + 1) * kBatch));
  }
  callbacks::Logs logs;
  for (int s = 0; s < kWarmupSteps; ++s) model->train_on_batch(xs[s], ys[s], logs);
  std::size_t before = allocator_stats().system_allocations;
  arm();
  for (int s = kWarmupSteps; s < kWarmupSteps + kMeasuredSteps; ++s) model->train_on_batch(xs[s], ys[s], logs);
  Counts c = disarm(before);
  EXPECT_TRUE(std::isfinite(logs.at("loss")));
  expect_none(c, (model_name + " train_on_batch").c_str());
}

// The hooks see what they should: one deliberate allocation in the window is counted and traced.
TEST(SteadyStateAllocations, CountsADeliberateAllocation) {
  std::size_t before = allocator_stats().system_allocations;
  arm();
  auto* p = new std::vector<int>(100);
  Counts c = disarm(before);
  delete p;
  EXPECT_EQ(c.new_calls, 2);  // the vector object and its buffer
  EXPECT_GE(c.new_bytes, 400);
  EXPECT_EQ(g_traces_taken.load(), 2);
}

// fit's progress output with verbose 1 on a terminal is the bar redrawn in place, at most 20 times a
// second (ProgressBar::update; off a terminal, verbose 1 prints once per epoch). Through a
// pseudo-terminal: redraws after the first make no allocation.
TEST(SteadyStateAllocations, ProgressBarRedrawsOnATerminal) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  std::FILE* tty = fdopen(slave, "w");
  ASSERT_NE(tty, nullptr);
  fcntl(master, F_SETFL, O_NONBLOCK);
  callbacks::Logs logs{{"loss", 0.5}, {"accuracy", 0.8}, {"val_loss", 0.6}, {"val_accuracy", 0.75}, {"lr", 1e-3}};
  Counts c;
  {
    train::ProgressBar bar(tty, 1);
    bar.begin_epoch(0, 1, 100);
    auto redraw = [&](int64_t step) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));  // past the 50 ms throttle
      bar.update(step, logs);
    };
    redraw(1);  // sizes the bar's line buffer and the stream's buffer
    const std::size_t before = allocator_stats().system_allocations;
    arm();
    for (int64_t step = 2; step <= 4; ++step) redraw(step);
    c = disarm(before);
  }
  // The terminal hands the output over asynchronously: read until the last redraw arrived (or 5 s).
  char text[4096] = {};
  std::size_t n = 0;
  for (int tries = 0; tries < 500 && !std::strstr(text, "4/100 ["); ++tries) {
    const ssize_t got = read(master, text + n, sizeof text - 1 - n);
    if (got > 0) n += static_cast<std::size_t>(got);
    text[n] = 0;
    if (got <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fclose(tty);
  close(master);
  EXPECT_NE(std::strstr(text, "4/100 ["), nullptr) << text;  // the redraws did happen
  EXPECT_NE(std::strstr(text, "loss: 0.5000 - accuracy: 0.8000 - val_loss: 0.6000"), nullptr) << text;
  expect_none(c, "progress bar on a terminal, 3 redraws", /*makes_tensors=*/false);
}

TEST(SteadyStateAllocations, MlpFitSilent) { check_fit("mlp", 0); }
TEST(SteadyStateAllocations, MlpFitOneLinePerEpoch) { check_fit("mlp", 2); }
TEST(SteadyStateAllocations, MlpFitProgressBar) { check_fit("mlp", 1); }
TEST(SteadyStateAllocations, MlpTrainOnBatch) { check_train_on_batch("mlp"); }
TEST(SteadyStateAllocations, FunctionalModelFit) { check_fit("functional", 0); }
TEST(SteadyStateAllocations, CnnFitProgressBar) { check_fit("cnn", 1); }
TEST(SteadyStateAllocations, MlpFitFromBytes) { check_fit("mlp", 2, true); }
TEST(SteadyStateAllocations, CnnFitFromBytes) { check_fit("cnn", 2, true); }
TEST(SteadyStateAllocations, CnnTrainOnBatch) { check_train_on_batch("cnn"); }

// ---- graph mode (issue 14) ----------------------------------------------------------------------------

// A TF1 training step in a Session — `sess.run([train_op, cost], feed_dict)` through run_into with
// the fetch, feed and result lists kept from step to step, the batch tensors swapped in — makes no
// call to the system allocator after the same warm-up: the Session plans the run once (graph/
// session.hpp) and the nodes run the eager ops. The networks are the notes' (002): the two-layer MLP
// and the TF-tutorial CNN with dropout fed keep_prob 0.5, Adam, one-hot labels.
void check_graph_step(bool cnn) {
  namespace g = ember::graph;
  Synthetic d = synthetic(kBatch * kSteps);
  Tensor labels = one_hot(d.y.to(i64), 10);
  Generator gen(3);
  auto w = [&](Shape s, double scale) { return g::Variable(ember::mul(randn(s, {.generator = &gen}), full({}, scale, f32))); };
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Output x = g::placeholder(f32, {-1, 28, 28, 1}, "x");
  g::Output y = g::placeholder(f32, {-1, 10}, "y");
  g::Output kp = g::placeholder(f32, {}, "keep_prob");
  g::Output logits;
  if (cnn) {
    const Conv2dOptions same{.strides = {1, 1}, .padding = Padding::Same};
    const Pool2dOptions pool{.pool_size = {2, 2}, .strides = std::array<int64_t, 2>{2, 2}, .padding = Padding::Same};
    g::Variable w1 = w({5, 5, 1, 32}, 0.1), b1 = w({32}, 0.1), w2 = w({5, 5, 32, 64}, 0.1), b2 = w({64}, 0.1);
    g::Variable w3 = w({7 * 7 * 64, 1024}, 0.01), b3 = w({1024}, 0.1), w4 = w({1024, 10}, 0.1), b4 = w({10}, 0.1);
    g::Output h1 = g::nn::max_pool(g::nn::relu(g::nn::bias_add(g::nn::conv2d(x, w1, same), b1)), pool);
    g::Output h2 = g::nn::max_pool(g::nn::relu(g::nn::bias_add(g::nn::conv2d(h1, w2, same), b2)), pool);
    g::Output h3 = g::nn::relu(g::add(g::matmul(g::reshape(h2, {-1, 7 * 7 * 64}), w3), b3));
    logits = g::add(g::matmul(g::nn::dropout(h3, kp), w4), b4);
  } else {
    g::Variable w1 = w({784, 256}, 0.05), b1 = w({256}, 0.1), w2 = w({256, 10}, 0.1), b2 = w({10}, 0.1);
    g::Output h = g::nn::relu(g::add(g::matmul(g::reshape(x, {-1, 784}), w1), b1));
    logits = g::add(g::matmul(g::nn::dropout(h, kp), w2), b2);
  }
  g::Output cost = g::reduce_mean(g::nn::softmax_cross_entropy_with_logits(y, logits));
  g::Operation train = g::AdamOptimizer({.learning_rate = 1e-3}).minimize(cost);
  g::Session sess(graph);
  sess.run(g::global_variables_initializer());

  std::vector<g::Fetch> fetches{train, cost};
  g::FeedDict feeds{{x, d.x.slice(0, 0, kBatch)}, {y, labels.slice(0, 0, kBatch)}, {kp, 0.5}};
  std::vector<g::Value> results;
  std::vector<float> losses;
  auto step = [&](int s) {
    feeds[0].second = g::FeedValue(d.x.slice(0, s * kBatch, (s + 1) * kBatch));
    feeds[1].second = g::FeedValue(labels.slice(0, s * kBatch, (s + 1) * kBatch));
    sess.run_into(fetches, feeds, results);
  };
  for (int s = 0; s < kWarmupSteps; ++s) step(s);
  losses.reserve(kMeasuredSteps);
  const std::size_t before = allocator_stats().system_allocations;
  arm();
  for (int s = kWarmupSteps; s < kWarmupSteps + kMeasuredSteps; ++s) {
    step(s);
    losses.push_back(g::as_tensor(results[1]).item<float>());
  }
  Counts c = disarm(before);
  for (float l : losses) EXPECT_TRUE(std::isfinite(l));
  expect_none(c, cnn ? "graph-mode cnn Session step" : "graph-mode mlp Session step");
}

TEST(SteadyStateAllocations, GraphMlpSessionStep) { check_graph_step(false); }
TEST(SteadyStateAllocations, GraphCnnSessionStep) { check_graph_step(true); }

}  // namespace

int main(int argc, char** argv) {
  // backtrace() loads the unwinder on its first call, which allocates: do that before any window.
  void* frames[4];
  backtrace(frames, 4);
  dl_iterate_phdr(find_onednn, nullptr);
  // The thread pool keeps its size for the whole run. With automatic threads, fit and train_on_batch
  // resize it when the load from other processes changes (ctest -j runs neighbours that start and
  // stop), and a new size builds new oneDNN primitives and per-thread buffers once: a change of
  // regime, not the steady state this file measures. Resizing is tested in tests/kernels/threads_test.cpp.
  ember::set_num_threads(ember::get_num_threads());
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
