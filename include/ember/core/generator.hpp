#pragma once
// Seeded random number generation. All randomness in Ember comes from a Generator, so the same
// seed gives the same numbers on every run and every thread count (draws are made serially).
#include <array>
#include <cstdint>

namespace ember {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eedULL) { seed_(seed); }
  void manual_seed(uint64_t seed) { seed_(seed); }
  uint64_t initial_seed() const { return seed_value_; }

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
  State state() const { return {s_, has_spare_, spare_}; }
  void set_state(const State& st) { s_ = st.s; has_spare_ = st.has_spare; spare_ = st.spare; }

 private:
  void seed_(uint64_t seed);
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
