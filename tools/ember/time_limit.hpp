#pragma once
// The arithmetic of `ember train --time-limit` (time_limit_plan in train_command.cpp), apart from
// the clock so that tests can drive it: how many epochs fit, and where the cosine schedule stands
// when the plan moves its end.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ember::tool {

// How many epochs a run should train in all, after `done` of them (done >= 1) took `used_s` seconds
// of the `limit_s` since the process started, at `pace_s` seconds per epoch: the epochs already
// done plus those that still fit when each may run 3 % slower than the pace and what follows the
// last (test predictions, files) costs a tenth of one. At least `done`, at most `epochs`.
inline int epochs_that_fit(double limit_s, double used_s, double pace_s, int done, int epochs) {
  if (!(pace_s > 0)) return std::max(done, epochs);
  const double room = std::max(0.0, limit_s - used_s - 0.1 * pace_s);
  const double more = std::floor(room / (1.03 * pace_s));
  return static_cast<int>(std::clamp<double>(done + more, done, std::max(done, epochs)));
}

// The epochs a run trains in all after a re-plan made when `done` epochs are over: `fit`
// (epochs_that_fit's answer) while the plan in force still has epochs to run, and `planned` once
// `done` has reached it. Then the cosine is over and the learning rate 0, so a later epoch would
// change no weight and only cost time (one 30-minute run trained a 24th epoch at rate 0 this way
// and ended 4 s over its limit).
inline int replanned_epochs(int planned, int done, int fit) { return done >= planned ? planned : fit; }

// Where a --time-limit run's cosine stands: it ends at step `total`; from step `anchor` on, its
// progress runs linearly from `anchor_progress` to 1 at `total`. The first plan keeps the anchor at
// the warm-up's end with progress 0 (the curve of a fixed `total`-step schedule); a later re-plan
// anchors at the step it is made with the progress reached, so the rate goes on from where it is.
struct SchedulePlan {
  int64_t total = 0;
  int64_t anchor = 0;
  double anchor_progress = 0;
};

// The plan of a fixed `total`-step schedule after `warmup` warm-up steps: its cosine starts where
// the warm-up ends (at least one step before the end), with progress 0.
inline SchedulePlan fixed_plan(int64_t warmup, int64_t total) {
  return {.total = total, .anchor = std::max<int64_t>(std::min(warmup, total - 1), 0)};
}

// The cosine's progress (0 to 1) at `step` under `plan`; 1 once the plan ends there or before.
inline double schedule_progress(const SchedulePlan& plan, int64_t step) {
  if (plan.total <= plan.anchor) return 1.0;
  const double run = static_cast<double>(step - plan.anchor) / static_cast<double>(plan.total - plan.anchor);
  return std::clamp(plan.anchor_progress + (1.0 - plan.anchor_progress) * run, 0.0, 1.0);
}

}  // namespace ember::tool
