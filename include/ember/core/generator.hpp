#pragma once
// Seeded random number generation. All randomness in Ember comes from a Generator, so the same
// seed gives the same numbers on every run and every thread count (draws are made serially).
//
// Deferred draws. A consumer that must draw "now" but would rather not do the work yet (nn's lazily
// materialised weights: a model read from a file should not allocate its weights to print a summary)
// registers a Generator::Deferred with defer(). The generator then behaves as if those draws had been
// made at that moment: before it hands out any other number, before its state is read or copied, they
// are made, in the order deferred; when its state is replaced (manual_seed, set_state, assignment) or
// it is destroyed, the pending draws keep a private copy of the state they start from. So deferring
// never changes which numbers anyone gets. A Deferred destroyed before its draws were made drops them
// (later draws then differ from an eager run; a weight that is never used is the only such consumer).
#include <array>
#include <cstdint>
#include <deque>
#include <memory>

namespace ember {

class Generator;

namespace detail {
struct DeferredQueue;
}

class Generator {
 public:
  // A postponed consumer of draws (see the header comment).
  class Deferred {
   public:
    virtual ~Deferred() = default;
    // Makes this consumer's draws now, with those deferred before it on the same generator, unless
    // they were made already. Exceptions from draw() propagate; the draws are then not retried.
    void run_now();
    bool pending() const { return queue_ != nullptr; }

   protected:
    // Makes exactly the draws that were postponed, from `gen`.
    virtual void draw(Generator& gen) = 0;

   private:
    friend class Generator;
    friend struct detail::DeferredQueue;
    std::shared_ptr<detail::DeferredQueue> queue_;  // null once drawn
  };

  explicit Generator(uint64_t seed = 0x5eedULL) { seed_(seed); }
  ~Generator();
  // Copying first makes the source's pending draws, so the copy continues where it would be.
  Generator(const Generator& other);
  Generator(Generator&& other) noexcept;
  Generator& operator=(const Generator& other);
  Generator& operator=(Generator&& other) noexcept;

  void manual_seed(uint64_t seed) {
    detach_deferred();
    seed_(seed);
  }
  uint64_t initial_seed() const { return seed_value_; }

  // Postpones `d`'s draws to the next use of this generator (see the header comment).
  void defer(const std::shared_ptr<Deferred>& d);

  uint64_t next_u64();          // xoshiro256** step
  double uniform();             // [0, 1) with 53 random bits
  double normal();              // standard normal (Box-Muller; the spare value is kept)
  uint64_t below(uint64_t n);   // uniform integer in [0, n), unbiased

  // Full state, for checkpoints.
  struct State {
    std::array<uint64_t, 4> s{};
    bool has_spare = false;
    double spare = 0.0;
  };
  State state() const;  // after the pending deferred draws
  void set_state(const State& st);

 private:
  friend struct detail::DeferredQueue;
  void seed_(uint64_t seed);
  uint64_t step_();
  // Makes every pending deferred draw (a no-op without any; this is the check every draw starts with).
  void run_deferred() {
    if (queue_) [[unlikely]] run_deferred_slow();
  }
  void run_deferred_slow();
  // The state is about to be replaced: the pending draws get a copy of the one they start from.
  void detach_deferred();

  std::shared_ptr<detail::DeferredQueue> queue_;  // null when nothing is pending
  uint64_t seed_value_ = 0;
  std::array<uint64_t, 4> s_{};
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The process-wide default generator used when none is passed explicitly.
Generator& default_generator();
// Re-seeds the default generator (like torch.manual_seed / tf.random.set_seed).
void manual_seed(uint64_t seed);

}  // namespace ember
