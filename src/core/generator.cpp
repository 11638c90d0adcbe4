#include "ember/core/generator.hpp"

#include <cmath>

namespace ember {
namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

void Generator::seed_(uint64_t seed) {
  seed_value_ = seed;
  uint64_t x = seed;
  for (auto& w : s_) w = splitmix64(x);
  has_spare_ = false;
  spare_ = 0.0;
}

// ------------------------------------------------------------------ deferred draws

namespace detail {

// The draws postponed on one generator, in order. `gen` is where they will be drawn from: the
// generator itself, or `own`, a private copy of its state once that state was replaced.
struct DeferredQueue {
  Generator* gen = nullptr;
  std::unique_ptr<Generator> own;
  std::deque<std::weak_ptr<Generator::Deferred>> items;

  // Makes the pending draws in order, up to and including `until` (all of them when null).
  static void run(const std::shared_ptr<DeferredQueue>& q, const Generator::Deferred* until) {
    Generator& g = *q->gen;
    // Take the queue off the generator while drawing, so that the draws below do not re-enter it;
    // what is left (after `until`, or after an exception) goes back.
    std::shared_ptr<DeferredQueue> held = g.queue_ == q ? std::move(g.queue_) : nullptr;
    struct Restore {
      Generator& g;
      std::shared_ptr<DeferredQueue>& held;
      ~Restore() {
        if (held && !held->items.empty() && !g.queue_) g.queue_ = std::move(held);
      }
    } restore{g, held};
    while (!q->items.empty()) {
      std::shared_ptr<Generator::Deferred> d = q->items.front().lock();
      q->items.pop_front();
      if (!d) continue;  // its consumer is gone: the draws are dropped
      d->queue_.reset();
      d->draw(g);
      if (d.get() == until) break;
    }
  }
};

}  // namespace detail

void Generator::Deferred::run_now() {
  if (!queue_) return;
  std::shared_ptr<detail::DeferredQueue> q = queue_;
  detail::DeferredQueue::run(q, this);
}

void Generator::defer(const std::shared_ptr<Deferred>& d) {
  if (!queue_) {
    queue_ = std::make_shared<detail::DeferredQueue>();
    queue_->gen = this;
  }
  d->queue_ = queue_;
  queue_->items.push_back(d);
}

void Generator::run_deferred_slow() {
  std::shared_ptr<detail::DeferredQueue> q = queue_;  // run() moves queue_ out while it draws
  detail::DeferredQueue::run(q, nullptr);
}

void Generator::detach_deferred() {
  if (!queue_) return;
  auto own = std::make_unique<Generator>(0);
  own->seed_value_ = seed_value_;
  own->s_ = s_;
  own->has_spare_ = has_spare_;
  own->spare_ = spare_;
  queue_->gen = own.get();
  queue_->own = std::move(own);
  queue_.reset();
}

Generator::~Generator() { detach_deferred(); }

Generator::Generator(const Generator& other) {
  // Logically const: the pending draws are already "made" as far as anyone can observe.
  const_cast<Generator&>(other).run_deferred();
  seed_value_ = other.seed_value_;
  s_ = other.s_;
  has_spare_ = other.has_spare_;
  spare_ = other.spare_;
}

Generator::Generator(Generator&& other) noexcept
    : queue_(std::move(other.queue_)), seed_value_(other.seed_value_), s_(other.s_), has_spare_(other.has_spare_),
      spare_(other.spare_) {
  if (queue_) queue_->gen = this;
}

Generator& Generator::operator=(const Generator& other) {
  if (this == &other) return *this;
  const_cast<Generator&>(other).run_deferred();
  detach_deferred();
  seed_value_ = other.seed_value_;
  s_ = other.s_;
  has_spare_ = other.has_spare_;
  spare_ = other.spare_;
  return *this;
}

Generator& Generator::operator=(Generator&& other) noexcept {
  if (this == &other) return *this;
  detach_deferred();
  queue_ = std::move(other.queue_);
  if (queue_) queue_->gen = this;
  seed_value_ = other.seed_value_;
  s_ = other.s_;
  has_spare_ = other.has_spare_;
  spare_ = other.spare_;
  return *this;
}

Generator::State Generator::state() const {
  const_cast<Generator*>(this)->run_deferred();
  return {s_, has_spare_, spare_};
}

void Generator::set_state(const State& st) {
  detach_deferred();
  s_ = st.s;
  has_spare_ = st.has_spare;
  spare_ = st.spare;
}

// ------------------------------------------------------------------ draws

uint64_t Generator::next_u64() {
  run_deferred();
  return step_();
}

uint64_t Generator::step_() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  run_deferred();  // before the spare: a pending draw may be the one that consumes it
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = 0.0;
  while (u1 <= 0.0) u1 = uniform();
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * M_PI * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

uint64_t Generator::below(uint64_t n) {
  if (n <= 1) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // reject the biased tail
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

Generator& default_generator() {
  static Generator g(0x5eedULL);
  return g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace ember
