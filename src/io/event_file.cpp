#include "ember/io/event_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ember/core/error.hpp"
#include "ember/io/crc32c.hpp"

namespace ember::io::tensorboard {

namespace fs = std::filesystem;

// ---- protobuf wire format ----

void ProtoWriter::raw_varint(uint64_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<char>(v));
}

void ProtoWriter::varint(int field, uint64_t value) {
  raw_varint(static_cast<uint64_t>(field) << 3 | 0);
  raw_varint(value);
}

void ProtoWriter::fixed64(int field, double value) {
  raw_varint(static_cast<uint64_t>(field) << 3 | 1);
  uint64_t bits;
  std::memcpy(&bits, &value, 8);
  for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<char>(bits >> (8 * i)));
}

void ProtoWriter::fixed32(int field, float value) {
  raw_varint(static_cast<uint64_t>(field) << 3 | 5);
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  for (int i = 0; i < 4; ++i) buf_.push_back(static_cast<char>(bits >> (8 * i)));
}

void ProtoWriter::bytes(int field, std::string_view value) {
  raw_varint(static_cast<uint64_t>(field) << 3 | 2);
  raw_varint(value.size());
  buf_.append(value);
}

void ProtoWriter::packed_doubles(int field, const std::vector<double>& values) {
  raw_varint(static_cast<uint64_t>(field) << 3 | 2);
  raw_varint(values.size() * 8);
  for (double v : values) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<char>(bits >> (8 * i)));
  }
}

// ---- graph ----

namespace {
std::string encode_shape(const TensorShapeAttr& s) {
  ProtoWriter w;  // TensorShapeProto { dim = 2 { size = 1 } }
  for (int64_t d : s.dims) {
    ProtoWriter dim;
    dim.sint(1, d);
    w.bytes(2, dim.str());
  }
  return w.take();
}
}  // namespace

std::string encode_attr_value(const AttrValue& value) {
  ProtoWriter w;  // AttrValue { s = 2, i = 3, f = 4, b = 5, type = 6, shape = 7 }
  if (auto* s = std::get_if<std::string>(&value)) w.bytes(2, *s);
  else if (auto* i = std::get_if<int64_t>(&value)) w.sint(3, *i);
  else if (auto* f = std::get_if<double>(&value)) w.fixed32(4, static_cast<float>(*f));
  else if (auto* b = std::get_if<bool>(&value)) w.varint(5, *b ? 1 : 0);
  else if (auto* t = std::get_if<TfDType>(&value)) w.varint(6, static_cast<uint64_t>(*t));
  else w.bytes(7, encode_shape(std::get<TensorShapeAttr>(value)));
  return w.take();
}

std::string encode_node_def(const NodeDef& node) {
  ProtoWriter w;  // NodeDef { name = 1, op = 2, input = 3, attr = 5 (map entries {key = 1, value = 2}) }
  w.bytes(1, node.name);
  w.bytes(2, node.op);
  for (const auto& in : node.inputs) w.bytes(3, in);
  for (const auto& [key, value] : node.attrs) {
    ProtoWriter entry;
    entry.bytes(1, key);
    entry.bytes(2, encode_attr_value(value));
    w.bytes(5, entry.str());
  }
  return w.take();
}

std::string encode_graph_def(const std::vector<NodeDef>& nodes) {
  ProtoWriter w;
  for (const auto& n : nodes) w.bytes(1, encode_node_def(n));
  ProtoWriter versions;
  versions.varint(1, 27);  // producer: a GraphDef version TensorBoard's importer accepts
  w.bytes(4, versions.str());
  return w.take();
}

// ---- histograms ----

const std::vector<double>& default_histogram_limits() {
  static const std::vector<double> limits = [] {
    std::vector<double> pos;
    for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) pos.push_back(v);
    pos.push_back(DBL_MAX);
    std::vector<double> all;
    all.reserve(2 * pos.size() + 1);
    for (auto it = pos.rbegin(); it != pos.rend(); ++it) all.push_back(-*it);
    all.push_back(0.0);
    all.insert(all.end(), pos.begin(), pos.end());
    return all;
  }();
  return limits;
}

Histogram make_histogram(const std::vector<double>& values) {
  const auto& limits = default_histogram_limits();
  std::vector<double> counts(limits.size(), 0.0);
  Histogram h;
  h.min = DBL_MAX;  // TF's empty-histogram values
  h.max = -DBL_MAX;
  for (double v : values) {
    if (std::isnan(v)) continue;  // no bucket holds NaN (TF would put it in the last); skipped
    std::size_t b = std::upper_bound(limits.begin(), limits.end(), v) - limits.begin();
    if (b >= counts.size()) b = counts.size() - 1;  // +inf
    counts[b] += 1;
    h.min = std::min(h.min, v);
    h.max = std::max(h.max, v);
    h.num += 1;
    h.sum += v;
    h.sum_squares += v * v;
  }
  for (std::size_t i = 0; i < counts.size();) {
    double end = limits[i], count = counts[i];
    ++i;
    if (count <= 0.0) {
      while (i < counts.size() && counts[i] <= 0.0) {
        end = limits[i];
        count = counts[i];
        ++i;
      }
    }
    h.bucket_limit.push_back(end);
    h.bucket.push_back(count);
  }
  return h;
}

std::string encode_histogram(const Histogram& h) {
  ProtoWriter w;  // HistogramProto { min 1, max 2, num 3, sum 4, sum_squares 5, bucket_limit 6, bucket 7 }
  w.fixed64(1, h.min);
  w.fixed64(2, h.max);
  w.fixed64(3, h.num);
  w.fixed64(4, h.sum);
  w.fixed64(5, h.sum_squares);
  w.packed_doubles(6, h.bucket_limit);
  w.packed_doubles(7, h.bucket);
  return w.take();
}

// ---- events ----

std::string encode_event_file_version(double wall_time) {
  ProtoWriter w;
  w.fixed64(1, wall_time);
  w.bytes(3, "brain.Event:2");
  return w.take();
}

std::string encode_event_graph(double wall_time, int64_t step, std::string_view graph_def) {
  ProtoWriter w;
  w.fixed64(1, wall_time);
  w.sint(2, step);
  w.bytes(4, graph_def);
  return w.take();
}

std::string encode_event_summary(double wall_time, int64_t step, const std::vector<std::string>& summary_values) {
  ProtoWriter summary;  // Summary { value = 1 (repeated) }
  for (const auto& v : summary_values) summary.bytes(1, v);
  ProtoWriter w;
  w.fixed64(1, wall_time);
  w.sint(2, step);
  w.bytes(5, summary.str());
  return w.take();
}

// ---- TFRecord ----

namespace {
void put_le(std::string& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t get_le(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
}  // namespace

std::string frame_record(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 16);
  put_le(out, payload.size(), 8);
  put_le(out, crc32c_mask(crc32c(out.data(), 8)), 4);
  out.append(payload);
  put_le(out, crc32c_mask(crc32c(payload)), 4);
  return out;
}

namespace {
std::atomic<int> g_file_counter{0};

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

EventFileWriter::EventFileWriter(const std::string& logdir, EventFileOptions options) : o_(std::move(options)) {
  std::error_code ec;
  fs::create_directories(logdir, ec);
  if (ec) throw IOError("cannot create the TensorBoard log directory '" + logdir + "': " + ec.message());
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  const auto secs = static_cast<long long>(std::time(nullptr));
  path_ = (fs::path(logdir) / ("events.out.tfevents." + std::to_string(secs) + "." + host + "." +
                               std::to_string(getpid()) + "." + std::to_string(g_file_counter++) + o_.filename_suffix))
              .string();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IOError("cannot create the event file '" + path_ + "': " + std::strerror(errno));
  last_flush_ = std::chrono::steady_clock::now();
  add_event(encode_event_file_version(wall_seconds()));
  flush();  // TensorBoard sees the run at once
}

EventFileWriter::~EventFileWriter() {
  try {
    close();
  } catch (...) {  // a destructor must not throw; close() explicitly to see write errors
  }
}

void EventFileWriter::add_event(std::string_view event) {
  if (fd_ < 0) throw ValueError("the event file '" + path_ + "' is closed");
  pending_ += frame_record(event);
  // steady_clock::now() is a vDSO read, not a system call: per-record cost stays tiny.
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_flush_).count() >= o_.flush_secs || pending_.size() > (8u << 20)) flush();
}

void EventFileWriter::flush() {
  if (fd_ < 0) return;
  last_flush_ = std::chrono::steady_clock::now();
  std::size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      pending_.erase(0, done);
      throw IOError("cannot write the event file '" + path_ + "': " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  pending_.clear();
}

void EventFileWriter::close() {
  if (fd_ < 0) return;
  flush();
  ::fsync(fd_);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw IOError("cannot close the event file '" + path_ + "': " + std::strerror(errno));
}

// ---- reading ----

EventRecords parse_event_records(std::string_view bytes, const std::string& name, uint64_t max_record_bytes) {
  EventRecords out;
  uint64_t pos = 0;
  const uint64_t size = bytes.size();
  while (pos < size) {
    if (size - pos < 12) {
      out.truncated = true;
      break;
    }
    const char* p = bytes.data() + pos;
    const uint64_t len = get_le(p, 8);
    const auto len_crc = static_cast<uint32_t>(get_le(p + 8, 4));
    if (crc32c_mask(crc32c(p, 8)) != len_crc)
      throw FormatError("'" + name + "': record at offset " + std::to_string(pos) +
                        ": the length's CRC-32C does not match (expected a TFRecord file)");
    if (len > max_record_bytes)
      throw FormatError("'" + name + "': record at offset " + std::to_string(pos) + " claims " + std::to_string(len) +
                        " bytes, more than the limit of " + std::to_string(max_record_bytes));
    const uint64_t avail = size - pos - 12;  // bytes after the header (len may be anything: no len + 4)
    if (avail < 4 || len > avail - 4) {
      out.truncated = true;
      break;
    }
    std::string_view payload(p + 12, len);
    const auto data_crc = static_cast<uint32_t>(get_le(p + 12 + len, 4));
    if (crc32c_mask(crc32c(payload)) != data_crc)
      throw FormatError("'" + name + "': record at offset " + std::to_string(pos) + " (" + std::to_string(len) +
                        " bytes): the payload's CRC-32C does not match");
    out.payloads.emplace_back(payload);
    pos += 12 + len + 4;
    out.valid_bytes = pos;
  }
  return out;
}

EventRecords read_event_records(const std::string& path, uint64_t max_record_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("cannot open the event file '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IOError("cannot read the event file '" + path + "'");
  return parse_event_records(bytes, path, max_record_bytes);
}

}  // namespace ember::io::tensorboard
