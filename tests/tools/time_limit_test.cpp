// epochs_that_fit and schedule_progress: the plan of `ember train --time-limit`, with made-up clocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include "../../tools/ember/time_limit.hpp"

using ember::tool::epochs_that_fit;
using ember::tool::replanned_epochs;

TEST(TimeLimitPlan, KeepsTheEpochsThatFitWithTheMargins) {
  // 30 min, the first epoch took 100 s of the 110 used: 1800 - 110 - 10 = 1680 s of room for epochs
  // of 103 s (3 % margin): 16 more.
  EXPECT_EQ(epochs_that_fit(1800, 110, 100, 1, 26), 17);
  // Room for exactly 16 epochs of 103 s (1648 s) gives 16 more; a tenth of a second less, 15.
  EXPECT_EQ(epochs_that_fit(1800, 1800 - 10 - 1648, 100, 1, 26), 17);
  EXPECT_EQ(epochs_that_fit(1800, 1800 - 10 - 1647.9, 100, 1, 26), 16);
}

TEST(TimeLimitPlan, FollowsThePaceOfLaterEpochs) {
  // After 5 epochs and 510 s (1280 s of room at 100 s per epoch): at 100 s per epoch 12 more fit
  // (1280 / 103 = 12.4); at 90 s, 13 more (1281 / 92.7 = 13.8); at 110 s, 11 more (1279 / 113.3 = 11.3).
  const double limit = 1800, used = 510;
  EXPECT_EQ(epochs_that_fit(limit, used, 100, 5, 26), 5 + 12);
  EXPECT_EQ(epochs_that_fit(limit, used, 90, 5, 26), 5 + 13);
  EXPECT_EQ(epochs_that_fit(limit, used, 110, 5, 26), 5 + 11);
}

TEST(TimeLimitPlan, NeverBelowTheEpochsDoneNorAboveTheRecipe) {
  EXPECT_EQ(epochs_that_fit(60, 300, 100, 3, 26), 3);   // already over: stop now
  EXPECT_EQ(epochs_that_fit(1e6, 10, 1, 1, 26), 26);    // everything fits
  EXPECT_EQ(epochs_that_fit(1800, 10, 0, 1, 26), 26);   // no measurable pace: no limit
  EXPECT_EQ(epochs_that_fit(1800, 10, 100, 30, 26), 30);  // done beyond the recipe (a resumed run)
}

using ember::tool::schedule_progress;
using ember::tool::SchedulePlan;

TEST(TimeLimitPlan, AFirstPlanIsTheFixedScheduleOfItsLength) {
  // Anchored at the warm-up's end (step 10) with progress 0: (step - 10) / (total - 10), exactly.
  const SchedulePlan plan{.total = 110, .anchor = 10};
  for (int64_t step : {10, 11, 35, 60, 109, 110}) {
    EXPECT_EQ(schedule_progress(plan, step), std::min(1.0, static_cast<double>(step - 10) / 100.0)) << step;
  }
  EXPECT_EQ(schedule_progress(plan, 500), 1.0);  // past the end: the cosine stays at 0
}

TEST(TimeLimitPlan, ALaterPlanGoesOnFromTheProgressReached) {
  // 100 steps planned; at step 40 (progress 0.4) the plan grows to 160 steps: the progress is still
  // 0.4 there, then covers the remaining 0.6 in 120 steps (0.005 per step) and reaches 1 at 160.
  const SchedulePlan first{.total = 100, .anchor = 0};
  const double reached = schedule_progress(first, 40);
  EXPECT_DOUBLE_EQ(reached, 0.4);
  const SchedulePlan longer{.total = 160, .anchor = 40, .anchor_progress = reached};
  EXPECT_DOUBLE_EQ(schedule_progress(longer, 40), 0.4);
  EXPECT_DOUBLE_EQ(schedule_progress(longer, 100), 0.7);
  EXPECT_DOUBLE_EQ(schedule_progress(longer, 160), 1.0);
  // A plan squeezed to end where it is made: the schedule has ended.
  EXPECT_EQ(schedule_progress({.total = 40, .anchor = 40, .anchor_progress = reached}, 40), 1.0);
}

TEST(TimeLimitPlan, AFixedPlanStartsItsCosineAfterTheWarmUp) {
  EXPECT_EQ(ember::tool::fixed_plan(10, 110).anchor, 10);
  EXPECT_EQ(ember::tool::fixed_plan(0, 110).anchor, 0);
  EXPECT_EQ(ember::tool::fixed_plan(200, 110).anchor, 109);  // a warm-up longer than the plan: its last step
}

TEST(TimeLimitPlan, AFinishedScheduleIsNotExtended) {
  // Planned 23 epochs; after 22 the pace allows 24: the rest of the cosine is stretched to 24.
  EXPECT_EQ(replanned_epochs(23, 22, 24), 24);
  EXPECT_EQ(replanned_epochs(23, 22, 22), 22);
  // After the 23rd the cosine is over (rate 0): however much time is left, the run ends there.
  EXPECT_EQ(replanned_epochs(23, 23, 24), 23);
  EXPECT_EQ(replanned_epochs(23, 23, 26), 23);
}
