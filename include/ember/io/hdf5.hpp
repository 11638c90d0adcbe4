#pragma once
// HDF5 files the h5py way, on libhdf5's C API (libhdf5's headers stay out of this header).
//
//   io::h5::File f("data.h5", "w");
//   f.create_dataset("x", arange(100));                      // int64, like np.arange(100)
//   auto g = f.create_group("a/b");                           // intermediate groups are created
//   g.create_dataset("y", y, {.chunks = {64, 10}, .compression = "gzip"});
//   f.attrs().set("note", "written by Ember");                // vlen UTF-8 str, as h5py writes str
//   f.close();                                                // or let f go out of scope
//
// Modes (h5py's): "r" read only; "r+" read/write, must exist; "w" create, truncating; "w-" create,
// fail if the file exists ("x" is the same); "a" read/write if it exists, create otherwise.
//
// Saving is atomic (io/atomic_file.hpp): in every writing mode libhdf5 works on a temporary file
// beside the target ("r+" and "a" first copy the existing file there) and close() — or the File's
// destructor — closes it, fsyncs it and renames it over the target. A crash before that leaves the
// old file (or none) untouched, never a torn one. If the File is destroyed while an exception is
// unwinding the stack, the temporary file is discarded and the target is left as it was. Cost: "r+"
// and "a" copy the whole file once per open.
//
// close() also closes every Group, Dataset and Attributes handle of the file (h5py's f.close());
// using one afterwards throws ValueError. Handles are cheap to copy (they share the object).
//
// Names: "a/b/c" paths are relative to the group; a leading "/" starts at the file's root.
// keys() and visit() follow h5py: links in increasing name order (byte order of the UTF-8 name);
// visit is depth first, pre-order, names relative to the visited group, each object once (a second
// hard link to a visited object is not listed again), the group itself not included.
//
// Element types. A dataset's Ember dtype is what read() gives:
//   HDF5 uint8 -> u8; int8, int16, int32, uint16 -> i32 (int8/int16/uint16 widened: Ember has no
//   narrower signed integer dtype); uint32, int64 -> i64; float16, float32 -> f32 (float16 widened);
//   float64 -> f64; h5py's bool (an enum of int8 FALSE=0 / TRUE=1) -> boolean. uint64 and other
//   types (compound, strings, references) are refused with FormatError. Writing stores u8, i32, i64,
//   f32, f64 as the little-endian type of the same size and boolean as h5py's bool enum, so h5py
//   reads numpy uint8/int32/int64/float32/float64/bool.
//
// Attributes hold an AttrValue: a scalar integer (any HDF5 integer type, read as int64) or float
// (read as double), a string (fixed or variable length, ASCII or UTF-8; fixed-length padding is
// stripped), or a 1-D array of those (a dataspace with any rank is flattened). A string is written
// as h5py writes a Python str (variable-length UTF-8) unless StringOptions say otherwise.
//
// Errors: IOError for files that cannot be opened or created (missing, a directory, permissions)
// and for names that do not exist; FormatError for files that are not HDF5 or are damaged and for
// objects of the wrong kind or type; ValueError for bad arguments (existing names, out-of-range
// slices, a closed file). Every message names the file and the object. libhdf5's own error printing
// is switched off. libhdf5 (Debian's serial build) is not thread-safe: use one thread at a time.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::io::h5 {

namespace detail {
struct Handle;  // one open libhdf5 object (group, dataset, file) of one open file
}

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>,
                               std::vector<std::string>>;

enum class CharSet { ascii, utf8 };

struct StringOptions {
  bool variable_length = true;      // false: fixed length, the longest string's bytes, NUL-padded (numpy 'S')
  CharSet charset = CharSet::utf8;  // h5py: str -> UTF-8, bytes -> ASCII
  std::size_t fixed_size = 0;       // fixed length only: the byte size (0: the longest string's);
                                    // ValueError if a string is longer
};

// The attributes of one file, group or dataset (h5py's .attrs).
class Attributes {
 public:
  bool contains(std::string_view name) const;
  std::vector<std::string> keys() const;  // in name order, like h5py's attrs.keys()
  void remove(std::string_view name);     // IOError if absent

  // Creates or replaces the attribute. Integers are stored as int64, floats as float64 (numpy's
  // defaults); a std::vector<std::string> becomes a 1-D array of strings.
  template <typename T>
    requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
  void set(std::string_view name, T value) { set_value(name, AttrValue(static_cast<int64_t>(value)), {}); }
  template <typename T>
    requires std::is_floating_point_v<T>
  void set(std::string_view name, T value) { set_value(name, AttrValue(static_cast<double>(value)), {}); }
  void set(std::string_view name, std::string_view value, StringOptions opt = {}) {
    set_value(name, AttrValue(std::string(value)), opt);
  }
  void set(std::string_view name, const char* value, StringOptions opt = {}) { set(name, std::string_view(value), opt); }
  void set(std::string_view name, std::vector<int64_t> values) { set_value(name, AttrValue(std::move(values)), {}); }
  void set(std::string_view name, std::vector<double> values) { set_value(name, AttrValue(std::move(values)), {}); }
  void set(std::string_view name, std::vector<std::string> values, StringOptions opt = {}) {
    set_value(name, AttrValue(std::move(values)), opt);
  }
  void set_value(std::string_view name, const AttrValue& value, StringOptions opt = {});

  // The value as stored (see the header comment). IOError if absent; FormatError for other types.
  AttrValue get(std::string_view name) const;
  // Typed getters: FormatError naming the attribute when the stored kind differs. get_double also
  // takes an integer, get_ints/get_doubles/get_strings also take a scalar (a list of one).
  int64_t get_int(std::string_view name) const;
  double get_double(std::string_view name) const;
  std::string get_string(std::string_view name) const;
  std::vector<int64_t> get_ints(std::string_view name) const;
  std::vector<double> get_doubles(std::string_view name) const;
  std::vector<std::string> get_strings(std::string_view name) const;

 private:
  friend class Object;
  explicit Attributes(std::shared_ptr<detail::Handle> h) : h_(std::move(h)) {}
  std::shared_ptr<detail::Handle> h_;
};

class Group;
class Dataset;

// A group or a dataset.
class Object {
 public:
  bool is_group() const;
  bool is_dataset() const;
  Group as_group() const;      // FormatError if this is a dataset
  Dataset as_dataset() const;  // FormatError if this is a group
  std::string name() const;    // full path in the file, "/subgroup/test_numpy"
  std::string file_path() const;
  Attributes attrs() const { return Attributes(h_); }

 protected:
  explicit Object(std::shared_ptr<detail::Handle> h) : h_(std::move(h)) {}
  std::shared_ptr<detail::Handle> h_;
  friend class Group;
};

// Dataset creation options (h5py's create_dataset keywords).
struct DatasetOptions {
  std::vector<int64_t> chunks;    // chunk shape; empty: contiguous, or chosen automatically when
                                  // compression or maxshape need chunking
  std::string compression;        // "" (none) or "gzip"
  int compression_opts = 4;       // gzip level 0..9 (h5py's default 4)
  std::vector<int64_t> maxshape;  // empty: the shape (fixed); -1 in an axis = unlimited
};

class Dataset : public Object {
 public:
  Shape shape() const;
  DType dtype() const;            // the dtype read() returns (see the header comment)
  std::string type_name() const;  // the stored type in numpy's words: "int64", "float16", "bool", ...
  Shape maxshape() const;         // -1 for unlimited axes
  Shape chunks() const;           // empty when contiguous
  std::string compression() const;  // "gzip" or ""

  Tensor read() const;  // the whole dataset
  // `count` rows from row `start` of the first axis (h5py's dset[start:start+count]); ValueError if
  // the range is outside the dataset.
  Tensor read(int64_t start, int64_t count) const;
  // Writes the whole dataset (same shape) or rows from `start` of the first axis; the tensor is
  // converted to the stored type. ShapeError / ValueError when it does not fit.
  void write(const Tensor& data);
  void write(int64_t start, const Tensor& data);
  // New shape; each axis at most its maxshape (-1: any). Needs a chunked dataset (maxshape given).
  void resize(const Shape& shape);

 private:
  friend class Object;
  friend class Group;
  using Object::Object;
};

class Group : public Object {
 public:
  Group create_group(std::string_view name);   // ValueError if the name exists
  Group require_group(std::string_view name);  // open, or create when absent
  Group group(std::string_view name) const;     // IOError if absent, FormatError if a dataset
  Dataset dataset(std::string_view name) const;  // IOError if absent, FormatError if a group
  Object get(std::string_view name) const;      // h5py's g[name]
  bool contains(std::string_view name) const;   // h5py's `name in g`; nested paths allowed
  void remove(std::string_view name);           // h5py's del g[name]; IOError if absent

  Dataset create_dataset(std::string_view name, const Tensor& data, const DatasetOptions& opt = {});
  Dataset create_dataset(std::string_view name, const Shape& shape, DType dtype, const DatasetOptions& opt = {});
  Dataset require_dataset(std::string_view name, const Shape& shape, DType dtype);  // checks shape and dtype

  std::vector<std::string> keys() const;  // member names in name order
  void visit(const std::function<void(const std::string& name)>& fn) const;
  void visititems(const std::function<void(const std::string& name, const Object& obj)>& fn) const;

 protected:
  friend class Object;
  using Object::Object;
};

struct FileOptions {
  // Opening an existing file ("r", "r+", "a"): first open and walk it in a child process (every
  // object header and attribute, every dataset of numbers read) and open it here only if that
  // child ended cleanly. libhdf5 1.10 can crash or spin forever on a damaged file (fuzz/README.md);
  // the check turns that into a FormatError ("libhdf5 crashed/hung while checking it"). Costs a
  // fork and one extra read of the file. false: trusted files (ones this program wrote).
  bool check = true;
};

class File : public Group {
 public:
  // Opens or creates `path` in `mode` (see the header comment). IOError / FormatError / ValueError
  // (unknown mode).
  File(const std::string& path, const std::string& mode = "r", const FileOptions& options = {});
  ~File();  // close(); errors are dropped here: call close() to see them
  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Closes the file and every handle into it; for writing modes, flushes and atomically replaces
  // the target. Idempotent. IOError if the save fails (the target is then left as it was).
  void close();
  bool is_open() const;
  const std::string& path() const;
  const std::string& mode() const;
};

// The number of libhdf5 file objects open in this process (file, group, dataset, attribute and
// named-datatype identifiers, over all files): for leak checks in tests. An open File counts 2
// (the file and its root group), each Group / Dataset handle alive 1 more.
std::size_t open_object_count();

}  // namespace ember::io::h5
