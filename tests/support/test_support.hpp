#pragma once
// Shared helpers for Ember's tests: fixture loading, tensor comparison, gradcheck assertions.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/ember.hpp"

namespace ember::testing {

// A PyTorch-generated fixture file from tests/fixtures/ (see tests/fixtures/gen/).
struct FixtureCase {
  std::string name;
  nlohmann::json attrs;
  std::map<std::string, Tensor> tensors;  // float64
  const Tensor& at(const std::string& key) const;
};
std::vector<FixtureCase> load_fixture(const std::string& file);  // e.g. "conv2d.json"

// Max over elements of |a - b| / (atol + rtol |b|) <= 1; reports the worst element on failure.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol = 1e-5,
                                     double atol = 1e-6);

// Runs ember::gradcheck with the notes' criterion and reports the result as an assertion.
::testing::AssertionResult gradcheck_ok(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                        const std::vector<Tensor>& inputs, double tol = 1e-7);

// Random f64 tensor in [low, high) from a fixed seed.
Tensor random_f64(const Shape& shape, uint64_t seed, double low = -1, double high = 1);

// Whether `text` contains `part` (error messages, tool output).
inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The message of the E that f() throws; a test failure (and "") if it throws nothing.
template <typename E, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected exception not thrown";
  return "";
}

// Path of the built `ember` tool and of the source tree.
std::string tool_path();
std::string source_dir();

// ‖a − b‖₂ / (‖a‖₂ + ‖b‖₂), the notes' gradient-check measure (NaN when both are zero, so a
// comparison against a tolerance fails rather than passes vacuously). a and b have one size.
double rel_error(const std::vector<double>& a, const std::vector<double>& b);

// Two-sided finite differences of loss() w.r.t. every element of p: (L(p_i + h) − L(p_i − h)) / 2h.
// p is perturbed in place, one element at a time, and restored.
std::vector<double> numeric_gradient(const std::function<double()>& loss, std::vector<double>& p, double h = 1e-6);

// One run of the built `ember` tool: `ember <args>` through the shell, stdin from /dev/null, stdout
// and stderr captured. status is the exit status, or 128 + the signal number when a signal ended it
// (the shell's convention, so a crash never looks like status 0, 1 or 2).
struct ToolRun {
  int status = -1;
  std::string out, err;
};
ToolRun run_ember(const std::string& args);

// run_ember, and the tool process's own peak resident set in KiB (through the ember_peak_rss helper:
// getrusage(RUSAGE_CHILDREN) would also count every earlier child of the test and the test itself).
ToolRun run_ember_measuring_peak_rss(const std::string& args, long& peak_rss_kib);

// The whole file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& p);

// A tiny learnable IDX data set (gzipped, 28x28 images: class k has a bright row 2k) in a fresh
// temporary directory named after `name`; labels in [0, label_max]; the training label file gets
// `label_count_delta` extra (or fewer) labels, for error tests. Returns the directory.
std::filesystem::path make_idx_dir(const std::string& name, int n_train, int n_test, int label_max = 9,
                                   int label_count_delta = 0);

// An empty directory <tmp>/ember_<name>_<pid> (removed first if it exists).
std::filesystem::path fresh_temp_dir(const std::string& name);
// Writes `bytes` to `p`, creating its parent directories.
void write_file(const std::filesystem::path& p, const std::string& bytes);

// An 8-bit PNG file's bytes, written by hand (zlib for IDAT, CRC-32 from zlib): colour type 0 (grey)
// when channels is 1, 2 (RGB) when 3; pixels row by row, interleaved.
std::string make_png(int w, int h, int channels, const std::vector<unsigned char>& pixels);

}  // namespace ember::testing
