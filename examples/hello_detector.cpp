// The notes' "hello" detector: a SimpleRNN reads a stream of typed letters, one per step, and must
// fire exactly when "hello" has just been typed — a job for the recurrent state, since no single
// letter tells. Embedding(26 letters → 8) → SimpleRNN(32, return_sequences) → Dense(1) per step,
// trained with binary cross-entropy on the per-step targets.
//
//   example_hello_detector [training sequences: 200..20000, default 4000] [epochs, default 8]
//
// Prints the detection recall and the false-alarm rate on a fresh stream.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ember/ember.hpp"

using namespace ember;

namespace {

constexpr int64_t kSteps = 40;

long parse_arg(const char* text, long low, long high) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > high) {
    std::fprintf(stderr, "usage: example_hello_detector [sequences: 200 to 20000] [epochs: 1 to 100], got '%s'\n", text);
    std::exit(2);
  }
  return v;
}

// `n` streams of kSteps random letters in which "hello" is typed now and then (often enough to
// learn from: about one stream in two has one), plus near misses ("hell", "jello", "helo") that
// must not fire. Targets: 1 at the step where the "o" of "hello" was typed.
std::pair<Tensor, Tensor> streams(int64_t n, Generator& gen) {
  std::vector<int64_t> letters(n * kSteps);
  std::vector<double> targets(n * kSteps, 0.0);
  const std::vector<std::string> words = {"hello", "hell", "jello", "helo", "hello"};
  for (int64_t s = 0; s < n; ++s) {
    std::string text;
    while (static_cast<int64_t>(text.size()) < kSteps) {
      if (gen.uniform() < 0.15) {
        text += words[static_cast<std::size_t>(gen.uniform() * words.size()) % words.size()];
      } else {
        text += static_cast<char>('a' + static_cast<int>(gen.uniform() * 26) % 26);
      }
    }
    text.resize(kSteps);
    for (int64_t t = 0; t < kSteps; ++t) {
      letters[s * kSteps + t] = text[t] - 'a';
      if (t >= 4 && text.compare(t - 4, 5, "hello") == 0) targets[s * kSteps + t] = 1.0;
    }
  }
  return {from_vector(letters, {n, kSteps}, i64), from_vector(targets, {n, kSteps, 1}, f32)};
}

}  // namespace

int main(int argc, char** argv) try {
  const int64_t n = argc > 1 ? parse_arg(argv[1], 200, 20000) : 4000;
  const int epochs = argc > 2 ? static_cast<int>(parse_arg(argv[2], 1, 100)) : 8;
  manual_seed(7);
  Generator data_gen(11);
  auto [x, y] = streams(n, data_gen);
  auto [x_test, y_test] = streams(1000, data_gen);

  nn::Sequential model{
      nn::Input({kSteps}, "letters", i64),
      nn::Embedding({.input_dim = 26, .output_dim = 8, .name = "embedding"}),
      nn::SimpleRNN({.units = 32, .return_sequences = true, .name = "simple_rnn"}),
      nn::Dense({.units = 1, .name = "fire"}),  // one logit per step
  };
  model.compile({.optimizer = optim::Adam({.learning_rate = 1e-2}),
                 .loss = losses::BinaryCrossentropy({.from_logits = true})});
  model.summary();
  model.fit(x, y, {.batch_size = 64, .epochs = epochs, .verbose = 2});

  // Fires where the logit is positive (probability > 0.5).
  Tensor fired = greater(model.predict(x_test, {.batch_size = 250}), zeros({}, f32));
  std::vector<uint8_t> f = cast(fired, u8).to_vector<uint8_t>();
  std::vector<float> t = y_test.to_vector<float>();
  int64_t hits = 0, hellos = 0, false_alarms = 0, quiet_steps = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] > 0.5f) {
      ++hellos;
      hits += f[i];
    } else {
      ++quiet_steps;
      false_alarms += f[i];
    }
  }
  const double recall = hellos ? static_cast<double>(hits) / hellos : 0.0;
  const double false_alarm_rate = static_cast<double>(false_alarms) / quiet_steps;
  std::printf("'hello' typed %lld times in the test streams: detected %lld (recall %.4f); false alarms %lld of %lld "
              "other steps (rate %.5f)\n",
              static_cast<long long>(hellos), static_cast<long long>(hits), recall, static_cast<long long>(false_alarms),
              static_cast<long long>(quiet_steps), false_alarm_rate);
  if (recall < 0.95 || false_alarm_rate > 0.005) {
    std::printf("the detector is not good enough yet\n");
    return 1;
  }
  std::printf("hello detector example passed\n");
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
