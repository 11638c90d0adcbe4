// ember_peak_rss PROGRAM [ARGS...]: runs PROGRAM and prints its peak resident set in KiB on stderr's
// last line ("peak_rss_kib N"), exiting with its status (128 + signal when a signal ended it).
//
// Why a separate process: a test cannot read one child's peak from getrusage(RUSAGE_CHILDREN), which
// keeps the maximum over every child the test process ever waited for, and Linux also counts in a
// child's peak the memory of the process it was forked from, up to its exec. This helper is small
// when it forks, and wait4() gives the rusage of that one child only.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ember_peak_rss PROGRAM [ARGS...]\n");
    return 2;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("ember_peak_rss: fork");
    return 2;
  }
  if (pid == 0) {
    execv(argv[1], argv + 1);
    std::perror("ember_peak_rss: exec");
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  if (wait4(pid, &status, 0, &ru) != pid) {
    std::perror("ember_peak_rss: wait4");
    return 2;
  }
  std::fprintf(stderr, "peak_rss_kib %ld\n", ru.ru_maxrss);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 2;
}
