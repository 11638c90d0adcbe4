// The intra-op pool's size: OpenMP's (Ember's loops, oneDNN) and OpenBLAS's. OpenBLAS's OpenMP
// build follows omp_get_max_threads() only while its own count is above 1, so it is set too.
// The automatic policy (see core/threads.hpp) lives here too.
#include "ember/core/threads.hpp"

#include <fcntl.h>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>

#include "ember/core/error.hpp"

extern "C" void openblas_set_num_threads(int);

namespace ember {

namespace {

std::atomic<bool> g_automatic{true};

void resize_pool(int n) {
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

// The automatic policy resizes OpenMP's pool only: OpenBLAS's OpenMP build follows
// omp_get_max_threads() by itself while its own count is above 1 (set_automatic_threads leaves it at
// all cores), and openblas_set_num_threads may reallocate its buffers — between training steps,
// where nothing may allocate.
void resize_openmp_pool(int n) { omp_set_num_threads(n); }

// The cores this process may run on (its affinity mask), as OpenMP counts them.
int available_cores() { return std::max(1, omp_get_num_procs()); }

// The start of a /proc file, NUL-terminated, read with open/read into the caller's buffer: called
// between training steps, this must not allocate (fopen would: DESIGN's steady-state rule).
bool read_proc_file(const char* path, char* buf, std::size_t size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::read(fd, buf, size - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

// Seconds of CPU the whole machine spent busy (user, nice, system, irq, softirq, steal), from the
// first line of /proc/stat; negative when it cannot be read (then the policy keeps its size).
double machine_busy_seconds() {
  char buf[512];
  if (!read_proc_file("/proc/stat", buf, sizeof buf)) return -1;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  const int got = std::sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait,
                              &irq, &softirq, &steal);
  if (got < 4) return -1;
  static const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(user + nice + system + irq + softirq + steal) / ticks_per_second;
}

// Threads of other processes runnable right now: /proc/loadavg's "running/total" field counts every
// runnable thread on the machine, the caller included. A snapshot, for the first decision only —
// before there is a window to average over. Negative when unreadable.
double others_running_now() {
  char buf[128];
  if (!read_proc_file("/proc/loadavg", buf, sizeof buf)) return -1;
  double l1 = 0, l5 = 0, l15 = 0;
  int running = 0, total = 0;
  if (std::sscanf(buf, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total) != 5) return -1;
  return std::max(0, running - 1);
}

// Seconds of CPU this process has used (all its threads, spinning OpenMP workers included).
double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + 1e-6 * static_cast<double>(tv.tv_usec); };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

struct LoadWindow {
  std::mutex mu;
  bool started = false;
  std::chrono::steady_clock::time_point at;
  double machine = 0, own = 0;
};
LoadWindow& window() {
  static LoadWindow w;
  return w;
}

// Long enough for /proc/stat's 10 ms ticks to give the busy time to a few percent.
constexpr std::chrono::milliseconds kWindow{250};

}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw ValueError("set_num_threads: expected a positive thread count, got " + std::to_string(n));
  g_automatic.store(false);
  resize_pool(n);
}

int get_num_threads() { return omp_get_max_threads(); }

void set_automatic_threads() {
  g_automatic.store(true);
  {
    std::lock_guard<std::mutex> lock(window().mu);
    window().started = false;
  }
  resize_pool(available_cores());
}

bool automatic_threads() { return g_automatic.load(); }

namespace threads_detail {
int free_cores(int cores, double busy_elsewhere) {
  const double free = static_cast<double>(cores) - std::max(0.0, busy_elsewhere);
  return std::clamp(static_cast<int>(std::lround(free)), 1, std::max(1, cores));
}
}  // namespace threads_detail

void adapt_num_threads() {
  if (!g_automatic.load() || omp_in_parallel()) return;
  LoadWindow& w = window();
  std::unique_lock<std::mutex> lock(w.mu, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another thread is measuring right now
  const auto now = std::chrono::steady_clock::now();
  if (w.started && now - w.at < kWindow) return;
  const double machine = machine_busy_seconds(), own = own_cpu_seconds();
  if (machine < 0) return;
  if (w.started) {
    const double seconds = std::chrono::duration<double>(now - w.at).count();
    const double elsewhere = ((machine - w.machine) - (own - w.own)) / seconds;
    const int n = threads_detail::free_cores(available_cores(), elsewhere);
    if (n != omp_get_max_threads()) resize_openmp_pool(n);
  } else {
    // No window yet: start from a snapshot of what else is runnable, so a run next to busy neighbours
    // does not spend its first window — or its data loading — with threads that wait on each other.
    // (This also gives the thread libgomp's own copy of the settings, one allocation, here in the first
    // steps rather than at the first resize in the steady state.)
    const double others = others_running_now();
    resize_openmp_pool(others < 0 ? omp_get_max_threads() : threads_detail::free_cores(available_cores(), others));
  }
  w.started = true;
  w.at = now;
  w.machine = machine;
  w.own = own;
}

}  // namespace ember
