// Replays the committed libFuzzer corpora of the CIFAR, CSV and .npz readers (fuzz/corpus/cifar,
// csv, npz) the way their targets call the readers, so fixed findings stay fixed without clang:
// each input reads or throws an ember::Error.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "ember/core/error.hpp"
#include "ember/data/cifar.hpp"
#include "ember/data/csv.hpp"
#include "ember/data/npy.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {

// How many of the corpus's inputs `read` accepted; every other input must throw an ember::Error.
int replay(const std::string& corpus, const std::function<void(const std::string&)>& read, int* files) {
  int ok = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ember::testing::source_dir() + "/fuzz/corpus/" + corpus)) {
    ++*files;
    try {
      read(ember::testing::read_file(entry.path()));
      ++ok;
    } catch (const Error&) {
    }
  }
  return ok;
}

}  // namespace

TEST(FuzzCorpusReplay, CifarCsvNpz) {
  int files = 0;
  int ok = replay("cifar", [](const std::string& b) {
    bool any = false;
    for (auto kind : {data::CifarKind::Cifar10, data::CifarKind::Cifar100}) {
      try {
        (void)data::parse_cifar_batch(b, kind, "corpus");
        any = true;
      } catch (const Error&) {
      }
    }
    if (!any) throw FormatError("neither layout");
  }, &files);
  EXPECT_GE(ok, 2);  // the one-record seeds
  ok = replay("csv", [](const std::string& b) { (void)data::parse_csv(b, {}, "corpus"); }, &files);
  EXPECT_GE(ok, 1);
  ok = replay("npz", [](const std::string& b) { (void)data::parse_npz(b, "corpus"); }, &files);
  EXPECT_GE(ok, 2);
  EXPECT_GE(files, 8);
}
