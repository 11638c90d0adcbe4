#pragma once
// TensorBoard event files, written without protoc: a tiny protobuf wire encoder, the messages
// TensorBoard reads (Event, Summary, HistogramProto, GraphDef/NodeDef/AttrValue) as byte builders,
// and the TFRecord framing (u64 length, masked CRC-32C of the length, payload, masked CRC-32C of
// the payload) in an append-only file. summary.hpp builds the tf.summary-style API on top.
// Field numbers are TensorFlow's (tensorflow/core/util/event.proto, framework/summary.proto,
// graph.proto, node_def.proto, attr_value.proto, tensor.proto, tensor_shape.proto).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ember::io::tensorboard {

// Appends protobuf wire-format fields to a byte string. Each call writes one field (tag + value);
// nested messages are written as bytes (their own encoding).
class ProtoWriter {
 public:
  void varint(int field, uint64_t value);                  // wire type 0 (int32/int64/bool/enum)
  void sint(int field, int64_t value) { varint(field, static_cast<uint64_t>(value)); }  // int64, two's complement
  void fixed64(int field, double value);                   // wire type 1 (double)
  void fixed32(int field, float value);                    // wire type 5 (float)
  void bytes(int field, std::string_view value);           // wire type 2 (string, bytes, message)
  void packed_doubles(int field, const std::vector<double>& values);  // repeated double, packed
  const std::string& str() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  void raw_varint(uint64_t v);
  std::string buf_;
};

// ---- graph messages (issue 14's graph/ layer writes its GraphDef through these too) ----

// TensorFlow's DataType enum values that Ember's graphs use.
enum class TfDType : int { Float = 1, Double = 2, Int32 = 3, UInt8 = 4, String = 7, Int64 = 9, Bool = 10 };

struct TensorShapeAttr {
  std::vector<int64_t> dims;  // -1 for an unknown size (Keras's None)
};
// An AttrValue: a string, int, float, bool, dtype or shape (attr_value.proto fields s, i, f, b,
// type, shape).
using AttrValue = std::variant<std::string, int64_t, double, bool, TfDType, TensorShapeAttr>;

struct NodeDef {
  std::string name;                 // scoped names ("dense/kernel") group in TensorBoard's graph view
  std::string op;                   // "Placeholder", "VariableV2", "MatMul", "Dense", ...
  std::vector<std::string> inputs;  // names of the nodes whose outputs feed this one (the edges)
  std::vector<std::pair<std::string, AttrValue>> attrs;
};

std::string encode_attr_value(const AttrValue& value);
std::string encode_node_def(const NodeDef& node);
// GraphDef { node = 1 (repeated), versions = 4 { producer = 1 } }.
std::string encode_graph_def(const std::vector<NodeDef>& nodes);

// ---- summaries ----

// HistogramProto with TensorFlow's default buckets (tensorflow/core/lib/histogram/histogram.cc):
// limits 1e-12 · 1.1^k up to 1e20, mirrored negative, then 0 and ±DBL_MAX; a value v counts in
// the first bucket whose limit exceeds v. Encoded as TF does: runs of empty buckets collapsed
// into one entry carrying the run's last limit.
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit, bucket;
};
Histogram make_histogram(const std::vector<double>& values);
const std::vector<double>& default_histogram_limits();
std::string encode_histogram(const Histogram& h);

// Event { wall_time = 1, step = 2, then one of file_version = 3, graph_def = 4, summary = 5 }.
// `summary_values` are encoded Summary.Value messages.
std::string encode_event_file_version(double wall_time);
std::string encode_event_graph(double wall_time, int64_t step, std::string_view graph_def);
std::string encode_event_summary(double wall_time, int64_t step, const std::vector<std::string>& summary_values);

// ---- TFRecord files ----

// One TFRecord frame around `payload`.
std::string frame_record(std::string_view payload);

struct EventFileOptions {
  double flush_secs = 120;  // TF/Keras default; records are also written on flush() and close()
  std::string filename_suffix;  // appended to the file name
};

// An append-only events.out.tfevents.<seconds>.<host>.<pid>.<n><suffix> file in `logdir`
// (created with its parents), beginning with the file_version "brain.Event:2" record. Records are
// buffered in memory and written whole by one write(2) per flush, so a process killed at any
// moment leaves a file whose complete records read back (at most one partial record at the end).
// IOError when the directory or file cannot be created or written.
class EventFileWriter {
 public:
  explicit EventFileWriter(const std::string& logdir, EventFileOptions options = {});
  ~EventFileWriter();  // close(), errors swallowed
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  // Queues one encoded Event; writes out the queue when flush_secs have passed since the last write.
  void add_event(std::string_view event);
  void flush();
  void close();  // flush, fsync, close; further add_event throws ValueError
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  EventFileOptions o_;
  int fd_ = -1;
  std::string pending_;
  std::chrono::steady_clock::time_point last_flush_;
};

// ---- reading (tests, the report, tools) ----

struct EventRecords {
  std::vector<std::string> payloads;  // every complete record's payload, in order
  bool truncated = false;             // the file ends inside a record (a writer killed mid-write)
  uint64_t valid_bytes = 0;           // bytes up to the end of the last complete record
};
// Reads every complete record of a TFRecord file. A record cut short at the end of the file is
// not an error (truncated = true); a CRC that does not match is (FormatError with the file
// offset), and so is a length beyond max_record_bytes. IOError if the file cannot be read.
EventRecords read_event_records(const std::string& path, uint64_t max_record_bytes = uint64_t{1} << 31);
// The same over bytes in memory (`name` is used in messages).
EventRecords parse_event_records(std::string_view bytes, const std::string& name, uint64_t max_record_bytes = uint64_t{1} << 31);

}  // namespace ember::io::tensorboard
