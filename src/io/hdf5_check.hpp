#pragma once
// Private to src/io: the child-process check of an untrusted HDF5 file (see hdf5_check.cpp).
#include <string>

namespace ember::io::h5::detail {

// What a check found: ok, or libhdf5 could not open the file (a clean failure, `reason` says why),
// or the checking process crashed or ran out of time (`reason` says which).
struct CheckResult {
  enum class Outcome { ok, cannot_open, crashed, hung } outcome = Outcome::ok;
  std::string reason;
};

// Opens `path` read-only in a forked child and walks everything a reader could touch: every object
// header, every attribute (strings read), every dataset of numbers read. IOError when no child can
// be started.
CheckResult check_in_child(const std::string& path);

}  // namespace ember::io::h5::detail
