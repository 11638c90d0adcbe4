// The child-process check of untrusted HDF5 files.
//
// Why: Debian 12's libhdf5 (1.10.8) can crash (SEGV under H5Fclose, a wild read in the global-heap
// code) or spin forever (H5HG_read under H5Aread of a vlen string) on a corrupt file, and leaks
// inside H5Fopen on a corrupt superblock (fuzz/README.md, fuzz/known_*). We cannot patch libhdf5
// and cannot validate its on-disk structures ourselves without re-implementing it, so a file opened
// for reading is first opened and walked in a forked child: every object header, every attribute
// (strings read, as the Keras loader reads them), every dataset of numbers read, then closed. The
// parent opens the file itself only when the child exited cleanly; a crash (signal, or a sanitizer
// exit status), a CPU-time or wall-clock limit, or a failed open becomes a FormatError naming the
// file. Cost: one fork and one extra read of the file per open — fine for model and data files.
//
// fork() in a multi-threaded process: only the forking thread exists in the child, and any lock
// another thread held at the fork stays locked there forever. The child therefore calls only
// libhdf5 (Debian's serial build has no locks of its own), glibc's malloc (fork-safe: glibc resets
// its arenas' locks in the child) and system calls; it touches no Ember tensor, allocator, thread
// pool or iostream. libhdf5 is not async-signal-safe, which POSIX would require after fork() in a
// multi-threaded process: we rely on the serial build holding no locks and on the parent using
// libhdf5 from one thread at a time (io/hdf5.hpp's contract), so no libhdf5 state is mid-update at
// the fork. Should a lock still be inherited, the child blocks, the wall-clock alarm kills it, and
// the parent reports a hang: a false "hung", never a hang of the caller.
//
// The child ends with _exit(): no atexit handlers, so libhdf5 does not flush or close files the
// parent has open for writing, and LeakSanitizer does not report libhdf5's leak in a sanitizer
// build. Its stderr goes to /dev/null, so a sanitizer's report of a crash inside libhdf5 does not
// turn the caller's one-line error into pages.
#include "hdf5_check.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "ember/core/error.hpp"

namespace ember::io::h5::detail {

namespace {

constexpr int kCannotOpen = 65;             // child's exit status: H5Fopen failed, the reason is in the pipe
constexpr hsize_t kSlabBytes = 16u << 20;   // datasets are read in slabs of about this size
constexpr hssize_t kMaxAttrElements = hssize_t{1} << 28;  // as Attributes::get (hdf5.cpp)

// libhdf5's innermost error message (as hdf5.cpp's hdf5_reason, without an Ember string type).
std::string innermost_error() {
  std::string text;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        if (n == 0 && e->desc != nullptr) *static_cast<std::string*>(data) = e->desc;
        return 0;
      },
      &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

void read_attribute(hid_t a) {
  hid_t ft = H5Aget_type(a);
  hid_t space = H5Aget_space(a);
  if (ft >= 0 && space >= 0 && H5Sget_simple_extent_type(space) != H5S_NULL) {
    hssize_t n = H5Sget_simple_extent_npoints(space);
    std::size_t size = H5Tget_size(ft);
    // Only what Attributes::get would read: its size checks come first there too.
    bool fits = n > 0 && n <= kMaxAttrElements &&
                static_cast<unsigned __int128>(n) * size <= H5Aget_storage_size(a);
    H5T_class_t cls = H5Tget_class(ft);
    if (fits && cls == H5T_STRING && H5Tis_variable_str(ft) > 0) {
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5Tget_cset(ft));
      std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
      if (H5Aread(a, mt, ptrs.data()) >= 0) H5Dvlen_reclaim(mt, space, H5P_DEFAULT, ptrs.data());
      H5Tclose(mt);
    } else if (fits && (cls == H5T_STRING || cls == H5T_INTEGER || cls == H5T_FLOAT)) {
      hid_t mt = cls == H5T_STRING ? H5Tcopy(ft) : H5Tcopy(cls == H5T_INTEGER ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE);
      std::vector<char> buf(static_cast<std::size_t>(n) * std::max<std::size_t>(H5Tget_size(mt), 1));
      H5Aread(a, mt, buf.data());
      H5Tclose(mt);
    }
  }
  if (space >= 0) H5Sclose(space);
  if (ft >= 0) H5Tclose(ft);
  H5Eclear2(H5E_DEFAULT);
}

void read_attributes(hid_t obj) {
  H5O_info_t info;
  if (H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS) < 0) return;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    hid_t a = H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) break;  // a damaged attribute index: the reader's lookups fail cleanly too
    char name[256];
    H5Aget_name(a, sizeof name, name);
    read_attribute(a);
    H5Aclose(a);
  }
  H5Eclear2(H5E_DEFAULT);
}

// Every number of a dataset of numbers (what Dataset::read reads), in slabs of the first axis, and
// the creation properties Dataset::chunks / compression look at.
void read_dataset(hid_t d) {
  hid_t dcpl = H5Dget_create_plist(d);
  if (dcpl >= 0) {
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
      hsize_t c[H5S_MAX_RANK];
      H5Pget_chunk(dcpl, H5S_MAX_RANK, c);
    }
    int nf = H5Pget_nfilters(dcpl);
    for (int i = 0; i < nf && i < 32; ++i) {
      unsigned flags = 0, config = 0;
      std::size_t nelem = 0;
      H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &nelem, nullptr, 0, nullptr, &config);
    }
    H5Pclose(dcpl);
  }
  hid_t ft = H5Dget_type(d);
  hid_t space = H5Dget_space(d);
  H5T_class_t cls = ft >= 0 ? H5Tget_class(ft) : H5T_NO_CLASS;
  int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if ((cls == H5T_INTEGER || cls == H5T_FLOAT || cls == H5T_ENUM) && rank >= 0 && rank <= H5S_MAX_RANK &&
      H5Sget_simple_extent_type(space) != H5S_NULL) {
    hid_t mt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
    hsize_t dims[H5S_MAX_RANK] = {};
    H5Sget_simple_extent_dims(space, dims, nullptr);
    unsigned __int128 row = mt >= 0 ? H5Tget_size(mt) : 0;
    for (int i = 1; i < rank; ++i) row *= dims[i];
    hsize_t rows = rank == 0 ? 1 : dims[0];
    // Rows per slab; a dataset whose single row is over 1 GiB is not read (neither would it fit
    // Ember's memory budget for a tensor read whole).
    if (mt >= 0 && row > 0 && row <= (static_cast<unsigned __int128>(1) << 30)) {
      hsize_t per = std::max<hsize_t>(1, kSlabBytes / static_cast<hsize_t>(row));
      std::vector<char> buf(static_cast<std::size_t>(row) * std::min<hsize_t>(per, rows));
      for (hsize_t start = 0; start < rows; start += per) {
        hsize_t count = std::min(per, rows - start);
        if (rank == 0) {
          if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) break;
          continue;
        }
        hsize_t offset[H5S_MAX_RANK] = {start}, size[H5S_MAX_RANK];
        for (int i = 0; i < rank; ++i) size[i] = i == 0 ? count : dims[i];
        hid_t fspace = H5Scopy(space);
        hid_t mspace = H5Screate_simple(rank, size, nullptr);
        herr_t r = H5Sselect_hyperslab(fspace, H5S_SELECT_SET, offset, nullptr, size, nullptr);
        if (r >= 0) r = H5Dread(d, mt, mspace, fspace, H5P_DEFAULT, buf.data());
        H5Sclose(mspace);
        H5Sclose(fspace);
        if (r < 0) break;  // a damaged chunk: Dataset::read fails cleanly on it too
      }
    }
    if (mt >= 0) H5Tclose(mt);
  }
  if (space >= 0) H5Sclose(space);
  if (ft >= 0) H5Tclose(ft);
  H5Eclear2(H5E_DEFAULT);
}

herr_t visit_one(hid_t loc, const char* name, const H5O_info_t*, void*) {
  hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
  if (o < 0) {
    H5Eclear2(H5E_DEFAULT);
    return 0;  // unreachable object: the reader reports it as it meets it
  }
  char path[256];
  H5Iget_name(o, path, sizeof path);
  read_attributes(o);
  if (H5Iget_type(o) == H5I_GROUP) {
    // Group::keys (H5Literate) and contains (H5Lexists) walk the link storage by name.
    hsize_t idx = 0;
    H5Literate(o, H5_INDEX_NAME, H5_ITER_INC, &idx, [](hid_t, const char*, const H5L_info_t*, void*) -> herr_t { return 0; },
               nullptr);
  } else if (H5Iget_type(o) == H5I_DATASET) {
    read_dataset(o);
  }
  H5Oclose(o);
  H5Eclear2(H5E_DEFAULT);
  return 0;
}

// The child's whole work; returns its exit status.
int probe(const char* path, int report_fd) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);  // as File opens it
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  if (f < 0) {
    std::string why = innermost_error();
    if (why.empty()) why = "H5Fopen failed";
    (void)!::write(report_fd, why.data(), std::min<std::size_t>(why.size(), 512));
    return kCannotOpen;
  }
  hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
  if (root >= 0) {
    read_attributes(root);
    H5Ovisit2(root, H5_INDEX_NAME, H5_ITER_INC, visit_one, nullptr, H5O_INFO_BASIC);
    H5Eclear2(H5E_DEFAULT);
    H5Gclose(root);
  }
  H5Fclose(f);
  H5Pclose(fapl);
  return 0;
}

}  // namespace

CheckResult check_in_child(const std::string& path) {
  struct stat st {};
  off_t size = ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
  // Limits: a spin in libhdf5 burns CPU, so the main one is CPU time (not flaky on a busy machine):
  // 3 s plus 1 s per 32 MiB of file (a small model file takes milliseconds, under ASan too). The wall-clock alarm only catches a child that blocks.
  const rlim_t cpu_s = 3 + static_cast<rlim_t>(size / (off_t{32} << 20));
  const unsigned wall_s = 60 + 10 * static_cast<unsigned>(cpu_s);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw IOError("HDF5 file '" + path + "': cannot check it: pipe: " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw IOError("HDF5 file '" + path + "': cannot check it: fork: " + std::strerror(e));
  }
  if (pid == 0) {
    ::close(fds[0]);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);
    ::signal(SIGALRM, SIG_DFL);
    ::signal(SIGXCPU, SIG_DFL);
    struct rlimit lim {cpu_s, cpu_s + 1};
    ::setrlimit(RLIMIT_CPU, &lim);
    ::alarm(wall_s);
    ::_exit(probe(path.c_str(), fds[1]));
  }
  ::close(fds[1]);
  std::string message;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0 && message.size() < 1024) message.append(buf, static_cast<std::size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw IOError("HDF5 file '" + path + "': cannot check it: waitpid: " + std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) == kCannotOpen) return {CheckResult::Outcome::cannot_open, message};
  if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGALRM)) {
    return {CheckResult::Outcome::hung, WTERMSIG(status) == SIGXCPU ? "no end after " + std::to_string(cpu_s) + " s of CPU time"
                                                                     : "no end after " + std::to_string(wall_s) + " s"};
  }
  if (WIFSIGNALED(status)) return {CheckResult::Outcome::crashed, std::string("signal ") + ::strsignal(WTERMSIG(status))};
  // A sanitizer build reports a crash by exiting with status 1.
  return {CheckResult::Outcome::crashed, "the checking process exited with status " + std::to_string(WEXITSTATUS(status))};
}

}  // namespace ember::io::h5::detail
