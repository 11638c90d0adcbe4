#pragma once
// Per-call timing shared by bench/predict_bench.cpp (Ember) and bench/libtorch_train.cpp (libtorch),
// so that both sides of the predict comparison are timed by the same code. Header-only: the two
// programs belong to different CMake projects.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace bench {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median seconds per call of fn() over at least min_calls calls and min_s seconds, after 5 warm-up
// calls; also returns the number of timed calls.
inline std::pair<double, int64_t> time_calls(const std::function<void()>& fn, double min_s, int64_t min_calls) {
  for (int i = 0; i < 5; ++i) fn();
  std::vector<double> times;
  const double start = now();
  while (static_cast<int64_t>(times.size()) < min_calls || now() - start < min_s) {
    const double t0 = now();
    fn();
    times.push_back(now() - t0);
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], static_cast<int64_t>(times.size())};
}

}  // namespace bench
