// TensorBoard event files (io/event_file.hpp, io/summary.hpp). What Ember writes is checked by an
// independent reader (tests/io/tfevents_check.py: its own CRC-32C, TFRecord and protobuf decoding,
// TensorFlow's histogram rule and PIL for the PNGs) against the values the test wrote, and by the
// published CRC-32C vector and hand-encoded protobuf bytes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cfloat>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ember/io/crc32c.hpp"
#include "ember/io/event_file.hpp"
#include "ember/io/summary.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ember;
namespace tb = ember::io::tensorboard;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_tb_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

int run_checker(const std::string& args) {
  const std::string cmd =
      "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/tfevents_check.py " + args + " 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(EventFile, CrcVectorAndMask) {
  EXPECT_EQ(io::crc32c("123456789"), 0xE3069283u);  // the published CRC-32C check value
  // TensorFlow's mask, by its definition: rotate right by 15, add 0xa282ead8.
  const uint32_t c = 0xE3069283u;
  EXPECT_EQ(io::crc32c_mask(c), static_cast<uint32_t>(((c >> 15) | (c << 17)) + 0xa282ead8u));
}

TEST(EventFile, ProtoWireFormatByHand) {
  tb::ProtoWriter w;
  w.varint(1, 150);  // the protobuf documentation's example: 08 96 01
  w.bytes(2, "testing");
  w.sint(3, -1);  // int64 -1: ten bytes
  w.fixed32(4, 1.0f);
  w.fixed64(5, -2.0);
  EXPECT_EQ(hex(w.str()), "089601" "120774657374696e67" "18ffffffffffffffffff01" "250000803f" "29" "00000000000000c0");
}

TEST(EventFile, RecordFraming) {
  const std::string rec = tb::frame_record("abc");
  ASSERT_EQ(rec.size(), 3u + 16u);
  EXPECT_EQ(hex(rec.substr(0, 8)), "0300000000000000");
  const uint32_t len_crc = io::crc32c_mask(io::crc32c(rec.data(), 8));
  const uint32_t data_crc = io::crc32c_mask(io::crc32c("abc"));
  uint32_t got_len_crc, got_data_crc;
  std::memcpy(&got_len_crc, rec.data() + 8, 4);
  std::memcpy(&got_data_crc, rec.data() + 15, 4);
  EXPECT_EQ(got_len_crc, len_crc);
  EXPECT_EQ(got_data_crc, data_crc);
  EXPECT_EQ(rec.substr(12, 3), "abc");
}

TEST(EventFile, DefaultHistogramBuckets) {
  const auto& limits = tb::default_histogram_limits();
  // 1e-12 * 1.1^k < 1e20 for k <= 774 (log(1e32)/log(1.1) = 773.2...), then DBL_MAX; mirrored; 0.
  ASSERT_EQ(limits.size(), 2u * 775 + 1);
  EXPECT_EQ(limits[775], 0.0);
  EXPECT_EQ(limits[776], 1e-12);
  EXPECT_EQ(limits.back(), DBL_MAX);
  EXPECT_EQ(limits.front(), -DBL_MAX);
  const auto h = tb::make_histogram({0.0, 1.0});
  EXPECT_EQ(h.num, 2);
  EXPECT_EQ(h.sum, 1.0);
  // 0 falls in (0, 1e-12], 1 in the bucket whose limit is the first above 1.0: runs of empty
  // buckets collapse, so the entries alternate empty run / count.
  ASSERT_EQ(h.bucket.size(), 5u);
  EXPECT_EQ(h.bucket[0], 0);
  EXPECT_EQ(h.bucket_limit[0], 0.0);
  EXPECT_EQ(h.bucket[1], 1);
  EXPECT_EQ(h.bucket_limit[1], 1e-12);
  EXPECT_EQ(h.bucket[3], 1);
  EXPECT_GT(h.bucket_limit[3], 1.0);
  EXPECT_LT(h.bucket_limit[3], 1.1);
  EXPECT_EQ(h.bucket_limit[4], DBL_MAX);
}

TEST(EventFile, SummariesReadBackByIndependentReader) {
  const fs::path dir = fresh_dir("all");
  nlohmann::json expected = nlohmann::json::array();
  std::string path;
  {
    io::SummaryWriter w(dir.string());
    path = w.path();
    EXPECT_EQ(fs::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u);
    for (int step = 0; step < 3; ++step) {
      const double v = 1.0 / (step + 3);
      w.scalar("epoch_loss", v, step);
      expected.push_back({{"kind", "scalar"}, {"tag", "epoch_loss"}, {"step", step}, {"value", v}});
    }
    std::vector<double> hv;
    for (int i = 0; i < 200; ++i) hv.push_back(std::sin(i * 0.37) * (i % 7) * 3.1 - 0.5 * (i % 3));
    hv.push_back(0.0);
    hv.push_back(1e-13);
    hv.push_back(-1e25);
    w.histogram("dense/kernel_0", from_vector(hv, {static_cast<int64_t>(hv.size())}, f64), 7);
    expected.push_back({{"kind", "histogram"}, {"tag", "dense/kernel_0"}, {"step", 7}, {"values", hv}});
    // Two RGB 3x5 images (values chosen away from rounding ties) and one more that max_outputs drops.
    std::vector<double> px;
    for (int i = 0; i < 3 * 3 * 5 * 3; ++i) px.push_back(std::fmod(i * 0.0731, 1.2) - 0.1);
    w.image("filters", from_vector(px, {3, 3, 5, 3}, f32), 2, 2);
    for (int i = 0; i < 2; ++i) {
      std::vector<double> one(px.begin() + i * 45, px.begin() + (i + 1) * 45);
      for (auto& x : one) x = static_cast<float>(x);  // written as f32
      expected.push_back({{"kind", "image"}, {"tag", "filters/image/" + std::to_string(i)}, {"step", 2},
                          {"height", 3}, {"width", 5}, {"channels", 3}, {"values", one}});
    }
    w.text("notes", "**hello** TensorBoard", 1);
    expected.push_back({{"kind", "text"}, {"tag", "notes"}, {"step", 1}, {"value", "**hello** TensorBoard"}});

    nn::Sequential model{nn::Input({4}, "x"), nn::Dense({.units = 5, .activation = Activation::ReLU, .name = "d1"}),
                         nn::Dense({.units = 3, .name = "d2"})};
    w.graph(model);
    expected.push_back({{"kind", "graph"},
                        {"nodes",
                         {{{"name", "x"}, {"op", "Placeholder"}, {"inputs", nlohmann::json::array()}},
                          {{"name", "d1/kernel"}, {"op", "VariableV2"}, {"inputs", nlohmann::json::array()}},
                          {{"name", "d1/bias"}, {"op", "VariableV2"}, {"inputs", nlohmann::json::array()}},
                          {{"name", "d1/Dense"}, {"op", "Dense"}, {"inputs", {"x", "d1/kernel", "d1/bias"}}},
                          {{"name", "d2/kernel"}, {"op", "VariableV2"}, {"inputs", nlohmann::json::array()}},
                          {{"name", "d2/bias"}, {"op", "VariableV2"}, {"inputs", nlohmann::json::array()}},
                          {{"name", "d2/Dense"}, {"op", "Dense"}, {"inputs", {"d1/Dense", "d2/kernel", "d2/bias"}}}}}});
    w.close();
  }
  const fs::path exp = dir / "expected.json";
  std::ofstream(exp) << expected.dump();
  EXPECT_EQ(run_checker("expect '" + path + "' '" + exp.string() + "'"), 0) << "the reader disagreed (output above)";

  // Ember's own reader: all records, CRCs valid.
  const auto recs = tb::read_event_records(path);
  EXPECT_FALSE(recs.truncated);
  EXPECT_EQ(recs.payloads.size(), 1u + 3 + 1 + 1 + 1 + 1);  // version, 3 scalars, histo, images, text, graph
  EXPECT_EQ(recs.valid_bytes, fs::file_size(path));
}

TEST(EventFile, TruncatedFileReadsUpToLastWholeRecord) {
  const fs::path dir = fresh_dir("trunc");
  std::string path;
  {
    io::SummaryWriter w(dir.string());
    path = w.path();
    for (int i = 0; i < 5; ++i) w.scalar("x", i, i);
  }
  const std::string bytes = file_bytes(path);
  const auto whole = tb::read_event_records(path);
  ASSERT_EQ(whole.payloads.size(), 6u);
  // Cut inside the last record at every offset from its first byte to one before its end.
  const std::size_t last_start = bytes.size() - (whole.payloads.back().size() + 16);
  for (std::size_t cut = last_start + 1; cut < bytes.size(); cut += 3) {
    const auto r = tb::parse_event_records(std::string_view(bytes).substr(0, cut), "cut");
    EXPECT_TRUE(r.truncated) << cut;
    EXPECT_EQ(r.payloads.size(), 5u) << cut;
    EXPECT_EQ(r.valid_bytes, last_start);
  }
  const fs::path cut = dir / "cut.tfevents";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 7);
  EXPECT_EQ(run_checker("records '" + cut.string() + "' 5 truncated"), 0);
  EXPECT_EQ(run_checker("records '" + path + "' 6"), 0);
}

TEST(EventFile, CorruptRecordIsFormatErrorWithOffset) {
  std::string bytes = tb::frame_record("first") + tb::frame_record("second");
  bytes[bytes.size() - 8] ^= 1;  // inside the second payload
  const auto msg = ember::testing::message_of<FormatError>([&] { tb::parse_event_records(bytes, "f"); });
  EXPECT_NE(msg.find("offset 21"), std::string::npos) << msg;
  std::string bad_len = tb::frame_record("x");
  bad_len[0] = 9;
  const auto msg2 = ember::testing::message_of<FormatError>([&] { tb::parse_event_records(bad_len, "g"); });
  EXPECT_NE(msg2.find("length"), std::string::npos) << msg2;
  EXPECT_THROW(tb::read_event_records("/nonexistent/events"), IOError);
}

TEST(EventFile, BadArgumentsAreErrors) {
  const fs::path dir = fresh_dir("bad");
  io::SummaryWriter w(dir.string());
  EXPECT_THROW(w.image("i", zeros({2, 2}), 0), ShapeError);
  EXPECT_THROW(w.image("i", zeros({1, 2, 2, 2}), 0), ShapeError);
  EXPECT_THROW(w.image("i", zeros({1, 2, 2, 1}), 0, 0), ValueError);
  w.close();
  EXPECT_THROW(w.scalar("x", 1, 0), ValueError);
  std::ofstream(dir / "file") << "x";
  EXPECT_THROW(io::SummaryWriter((dir / "file" / "sub").string()), IOError);
}

TEST(EventFile, KilledWriterLeavesWholeRecords) {
  const fs::path dir = fresh_dir("kill");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // writes (and flushes: flush_secs 0) scalars until killed
    try {
      io::SummaryWriter w(dir.string(), {.flush_secs = 0});
      for (int64_t step = 0;; ++step) w.scalar("loss", 1.0 / static_cast<double>(step + 1), step);
    } catch (...) {
    }
    ::_exit(3);
  }
  // Let it write about 100 kB, then SIGKILL it wherever it is.
  for (int i = 0; i < 6000; ++i) {  // up to 30 s: a busy machine may not run the child at once
    ::usleep(5000);
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
      bool big = false;
      for (const auto& e : fs::directory_iterator(dir)) big = big || fs::file_size(e.path()) > 100000;
      if (big) break;
    }
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  const auto recs = tb::read_event_records(files[0].string());  // throws on any bad CRC
  ASSERT_GE(recs.payloads.size(), 2u);
  EXPECT_EQ(run_checker("records '" + files[0].string() + "' " + std::to_string(recs.payloads.size()) +
                        (recs.truncated ? " truncated" : "")),
            0);
}

// The fuzz target's corpus (fuzz/event_file_fuzz.cpp), replayed in the ordinary build.
TEST(EventFile, FuzzCorpusReadsOrIsAnEmberError) {
  int files = 0;
  for (const auto& e : fs::directory_iterator(ember::testing::source_dir() + "/fuzz/corpus/event_file")) {
    ++files;
    try {
      const auto r = tb::read_event_records(e.path().string());
      EXPECT_LE(r.valid_bytes, fs::file_size(e.path()));
    } catch (const Error&) {
    }
  }
  EXPECT_GE(files, 2);
}

TEST(EventFile, HugeLengthIsNotAnOverflow) {
  // A length near 2^64 with a valid length CRC, and no limit: the reader must see a cut record, not
  // wrap around.
  std::string rec(8, '\xff');
  const uint32_t crc = io::crc32c_mask(io::crc32c(rec.data(), 8));
  for (int i = 0; i < 4; ++i) rec.push_back(static_cast<char>(crc >> (8 * i)));
  rec += "payload";
  const auto r = tb::parse_event_records(rec, "huge", UINT64_MAX);
  EXPECT_TRUE(r.truncated);
  EXPECT_TRUE(r.payloads.empty());
  EXPECT_THROW(tb::parse_event_records(rec, "huge"), FormatError);  // beyond the default limit
}

TEST(EventFile, FunctionalGraphHasBranchesAndSharedLayers) {
  // x -> a -> s(a) -> add(x, s(a), s(s(a))): a branch, and a layer called twice (its second call is
  // node "<layer>/<Class>_1", its weights appear once).
  nn::reset_layer_names();
  auto x = nn::Input({3}, "x");
  auto a = nn::Dense({.units = 3, .name = "a"})(x);
  nn::Dense shared({.units = 3, .use_bias = false, .name = "s"});
  nn::LayerRef s(std::move(shared));
  auto s1 = s(a);
  auto s2 = s(s1);
  auto y = nn::Add("add")({x, s1, s2});
  nn::Model model(x, y, "m");
  const fs::path dir = fresh_dir("functional");
  std::string path;
  {
    io::SummaryWriter w(dir.string());
    path = w.path();
    w.graph(model);
  }
  const nlohmann::json none = nlohmann::json::array();
  const nlohmann::json expected = {
      {{"kind", "graph"},
       {"nodes",
        {{{"name", "x"}, {"op", "Placeholder"}, {"inputs", none}},
         {{"name", "a/kernel"}, {"op", "VariableV2"}, {"inputs", none}},
         {{"name", "a/bias"}, {"op", "VariableV2"}, {"inputs", none}},
         {{"name", "a/Dense"}, {"op", "Dense"}, {"inputs", {"x", "a/kernel", "a/bias"}}},
         {{"name", "s/kernel"}, {"op", "VariableV2"}, {"inputs", none}},
         {{"name", "s/Dense"}, {"op", "Dense"}, {"inputs", {"a/Dense", "s/kernel"}}},
         {{"name", "s/Dense_1"}, {"op", "Dense"}, {"inputs", {"s/Dense", "s/kernel"}}},
         {{"name", "add/Add"}, {"op", "Add"}, {"inputs", {"x", "s/Dense", "s/Dense_1"}}}}}}};
  const fs::path exp = dir / "expected.json";
  std::ofstream(exp) << expected.dump();
  EXPECT_EQ(run_checker("expect '" + path + "' '" + exp.string() + "'"), 0);
}
