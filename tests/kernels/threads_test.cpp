// The thread-pool policy (core/threads.hpp): fixed sizes, and the automatic mode that follows the
// cores other processes leave free.
#include <gtest/gtest.h>
#include <omp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/threads.hpp"

using namespace ember;

namespace {
// Restores the policy a test changed.
struct PolicyGuard {
  bool automatic = automatic_threads();
  int threads = get_num_threads();
  ~PolicyGuard() {
    if (automatic) set_automatic_threads();
    else set_num_threads(threads);
  }
};
}  // namespace

TEST(Threads, FreeCoresRoundsWhatOthersLeave) {
  using threads_detail::free_cores;
  EXPECT_EQ(free_cores(2, 0.0), 2);
  EXPECT_EQ(free_cores(2, 0.05), 2);   // background noise
  EXPECT_EQ(free_cores(2, 0.67), 1);   // one neighbour sharing the cores with our two threads
  EXPECT_EQ(free_cores(2, 1.0), 1);    // one busy neighbour
  EXPECT_EQ(free_cores(2, 2.0), 1);    // never below one
  EXPECT_EQ(free_cores(2, 5.0), 1);
  EXPECT_EQ(free_cores(8, 2.6), 5);
  EXPECT_EQ(free_cores(8, -1.0), 8);   // a counter that went backwards reads as idle
  EXPECT_EQ(free_cores(1, 0.0), 1);
}

TEST(Threads, FixedSizeIsNotAdapted) {
  PolicyGuard guard;
  set_num_threads(1);
  EXPECT_FALSE(automatic_threads());
  EXPECT_EQ(get_num_threads(), 1);
  for (int i = 0; i < 3; ++i) {
    adapt_num_threads();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  adapt_num_threads();
  EXPECT_EQ(get_num_threads(), 1);
  EXPECT_THROW(set_num_threads(0), ValueError);
}

TEST(Threads, AutomaticStartsWithEveryCore) {
  PolicyGuard guard;
  set_num_threads(1);
  set_automatic_threads();
  EXPECT_TRUE(automatic_threads());
  EXPECT_EQ(get_num_threads(), omp_get_num_procs());
}

// Busy child processes (as `yes > /dev/null` would be) on every core: the automatic pool shrinks to
// one thread, so its team never waits on a thread that lost its core.
TEST(Threads, AutomaticShrinksNextToBusyProcesses) {
  const int cores = omp_get_num_procs();
  if (cores < 2) GTEST_SKIP() << "one core: nothing to shrink";
  PolicyGuard guard;
  set_automatic_threads();
  std::vector<pid_t> children;
  for (int i = 0; i < cores; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      volatile unsigned long spin = 0;
      for (;;) spin = spin + 1;  // killed by the parent
    }
    children.push_back(pid);
  }
  int seen = get_num_threads();
  for (int i = 0; i < 12 && seen > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    adapt_num_threads();
    seen = get_num_threads();
  }
  for (pid_t pid : children) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  EXPECT_EQ(seen, 1) << cores << " busy processes on " << cores << " cores";
}
