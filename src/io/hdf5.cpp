// io::h5 on libhdf5's C API. Every libhdf5 id is owned by an RAII object (Id below, or a Handle
// for the objects users hold); every failing call becomes an ember::Error that names the file and
// the object, with libhdf5's innermost error message appended.
#include "ember/io/hdf5.hpp"

#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>

#include "ember/io/atomic_file.hpp"
#include "hdf5_check.hpp"

namespace ember::io::h5 {

namespace detail {

struct FileState {
  hid_t fid = -1;
  std::string path;
  std::string mode;
  bool open = false;
  bool writable = false;
  int uncaught_at_open = 0;
  std::unique_ptr<AtomicFile> atomic;  // writing modes: libhdf5 works on atomic->temp_path()
  std::vector<std::weak_ptr<Handle>> handles;

  FileState() = default;
  FileState(const FileState&) = delete;
  FileState& operator=(const FileState&) = delete;
  ~FileState() {
    try {
      close(false);  // only reached open when a File constructor failed half way
    } catch (...) {
    }
  }
  void close(bool commit);
};

struct Handle {
  hid_t id = -1;
  std::shared_ptr<FileState> file;
  Handle(hid_t i, std::shared_ptr<FileState> f) : id(i), file(std::move(f)) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id >= 0 && file && file->open) H5Oclose(id);
  }
};

}  // namespace detail

namespace {

using detail::FileState;
using detail::Handle;

// Silences libhdf5's printing of its error stack (we report errors ourselves) once per process.
void init_library() {
  static const bool done = [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

// libhdf5's innermost error description (the root cause), then the stack is cleared.
std::string hdf5_reason() {
  std::string text;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        auto* out = static_cast<std::string*>(data);
        if (n == 0 && e->desc != nullptr) *out = e->desc;
        return 0;
      },
      &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? std::string() : " (libhdf5: " + text + ")";
}

std::string where(const std::string& path, std::string_view object) {
  std::string s = "HDF5 file '" + path + "'";
  if (!object.empty()) s += ", object '" + std::string(object) + "'";
  return s;
}

template <typename E>
[[noreturn]] void fail(const std::string& path, std::string_view object, const std::string& what) {
  throw E(where(path, object) + ": " + what + hdf5_reason());
}

// An owned libhdf5 id of any kind, closed with the matching H5?close.
class Id {
 public:
  Id() = default;
  Id(hid_t id, herr_t (*closer)(hid_t)) : id_(id), close_(closer) {}
  Id(Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  ~Id() { reset(); }
  void reset() {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

Id type_id(hid_t id) { return Id(id, H5Tclose); }
Id space_id(hid_t id) { return Id(id, H5Sclose); }
Id plist_id(hid_t id) { return Id(id, H5Pclose); }
Id attr_id(hid_t id) { return Id(id, H5Aclose); }

std::string object_name(hid_t id) {
  ssize_t n = H5Iget_name(id, nullptr, 0);
  if (n <= 0) return "?";
  std::string s(static_cast<std::size_t>(n) + 1, '\0');
  H5Iget_name(id, s.data(), s.size());
  s.resize(static_cast<std::size_t>(n));
  return s;
}

const Handle& live(const std::shared_ptr<Handle>& h) {
  if (!h) throw ValueError("HDF5: use of an empty handle (a moved-from File?)");
  if (!h->file->open || h->id < 0) {
    throw ValueError(where(h->file->path, "") + ": the file is closed (use the object before File::close())");
  }
  return *h;
}

void require_writable(const Handle& h, std::string_view object) {
  if (!h.file->writable) {
    throw ValueError(where(h.file->path, object) + ": the file is open read-only (mode '" + h.file->mode + "')");
  }
}

std::shared_ptr<Handle> make_handle(const std::shared_ptr<FileState>& file, hid_t id) {
  auto h = std::make_shared<Handle>(id, file);
  auto& v = file->handles;
  if (v.size() >= 64 && (v.size() & (v.size() - 1)) == 0) {  // sweep expired entries now and then
    v.erase(std::remove_if(v.begin(), v.end(), [](const auto& w) { return w.expired(); }), v.end());
  }
  v.push_back(h);
  return h;
}

std::string join(const Handle& h, std::string_view name) {
  std::string base = object_name(h.id);
  if (!name.empty() && name.front() == '/') return std::string(name);
  if (base == "/") return "/" + std::string(name);
  return base + "/" + std::string(name);
}

std::string check_name(const Handle& h, std::string_view name) {
  if (name.empty()) throw ValueError(where(h.file->path, object_name(h.id)) + ": empty object name");
  if (name.find('\0') != std::string_view::npos) {
    throw ValueError(where(h.file->path, object_name(h.id)) + ": object name contains a NUL byte");
  }
  return std::string(name);
}

// h5py's `name in group`: every component of the path must exist, the ones before the last as
// links that resolve (a dangling soft link is not "in" the group).
bool path_exists(hid_t loc, const std::string& name) {
  std::string prefix;
  std::size_t pos = 0;
  if (name.front() == '/') {
    prefix = "/";
    pos = 1;
  }
  while (pos <= name.size()) {
    std::size_t next = name.find('/', pos);
    if (next == std::string::npos) next = name.size();
    if (next > pos) {
      if (!prefix.empty() && prefix.back() != '/') prefix += '/';
      prefix.append(name, pos, next - pos);
      if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0 || H5Oexists_by_name(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
    }
    pos = next + 1;
  }
  return true;
}

// ---- element types ----

struct ElemType {
  DType dtype = f32;
  std::string numpy;  // the stored type in numpy's words
};

// h5py's bool: an enum over int8 with FALSE = 0, TRUE = 1.
Id bool_enum_type() {
  Id t = type_id(H5Tenum_create(H5T_NATIVE_INT8));
  int8_t v = 0;
  H5Tenum_insert(t.get(), "FALSE", &v);
  v = 1;
  H5Tenum_insert(t.get(), "TRUE", &v);
  return t;
}

bool is_bool_enum(hid_t t) {
  if (H5Tget_nmembers(t) != 2) return false;
  Id base = type_id(H5Tget_super(t));
  if (!base.ok() || H5Tget_class(base.get()) != H5T_INTEGER || H5Tget_size(base.get()) != 1) return false;
  bool seen_false = false, seen_true = false;
  for (unsigned i = 0; i < 2; ++i) {
    char* n = H5Tget_member_name(t, i);
    if (n == nullptr) return false;
    std::string name(n);
    H5free_memory(n);
    int8_t value = -1;
    if (H5Tget_member_value(t, i, &value) < 0) return false;
    if (name == "FALSE" && value == 0) seen_false = true;
    if (name == "TRUE" && value == 1) seen_true = true;
  }
  return seen_false && seen_true;
}

// The Ember dtype that a dataset of stored type `t` reads as; FormatError for the others.
ElemType classify(hid_t t, const std::string& path, const std::string& object) {
  H5T_class_t cls = H5Tget_class(t);
  std::size_t size = H5Tget_size(t);
  if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(t) == H5T_SGN_2;
    switch (size) {
      case 1: return is_signed ? ElemType{i32, "int8"} : ElemType{u8, "uint8"};
      case 2: return is_signed ? ElemType{i32, "int16"} : ElemType{i32, "uint16"};
      case 4: return is_signed ? ElemType{i32, "int32"} : ElemType{i64, "uint32"};
      case 8:
        if (is_signed) return ElemType{i64, "int64"};
        fail<FormatError>(path, object, "uint64 data is not supported (Ember's widest integer is int64)");
      default: break;
    }
    fail<FormatError>(path, object, "unsupported integer size " + std::to_string(size) + " bytes");
  }
  if (cls == H5T_FLOAT) {
    switch (size) {
      case 2: return ElemType{f32, "float16"};
      case 4: return ElemType{f32, "float32"};
      case 8: return ElemType{f64, "float64"};
      default: break;
    }
    fail<FormatError>(path, object, "unsupported float size " + std::to_string(size) + " bytes");
  }
  if (cls == H5T_ENUM && is_bool_enum(t)) return ElemType{boolean, "bool"};
  static const char* names[] = {"integer", "float", "time", "string", "bitfield", "opaque", "compound",
                                "reference", "enum", "variable-length", "array"};
  std::string what = cls >= 0 && cls < 11 ? names[cls] : "unknown";
  fail<FormatError>(path, object, "unsupported element type (" + what + "); expected numbers or bool");
}

// The in-memory libhdf5 type of an Ember dtype (a new enum for bool, owned by the caller's Id).
Id memory_type(DType dt) {
  switch (dt) {
    case DType::f32: return type_id(H5Tcopy(H5T_NATIVE_FLOAT));
    case DType::f64: return type_id(H5Tcopy(H5T_NATIVE_DOUBLE));
    case DType::i32: return type_id(H5Tcopy(H5T_NATIVE_INT32));
    case DType::i64: return type_id(H5Tcopy(H5T_NATIVE_INT64));
    case DType::u8: return type_id(H5Tcopy(H5T_NATIVE_UINT8));
    case DType::b8: return bool_enum_type();
  }
  throw DTypeError("HDF5: unknown dtype");
}

// The stored type of an Ember dtype: little-endian standard types, as numpy/h5py write them.
Id file_type(DType dt) {
  switch (dt) {
    case DType::f32: return type_id(H5Tcopy(H5T_IEEE_F32LE));
    case DType::f64: return type_id(H5Tcopy(H5T_IEEE_F64LE));
    case DType::i32: return type_id(H5Tcopy(H5T_STD_I32LE));
    case DType::i64: return type_id(H5Tcopy(H5T_STD_I64LE));
    case DType::u8: return type_id(H5Tcopy(H5T_STD_U8LE));
    case DType::b8: return bool_enum_type();
  }
  throw DTypeError("HDF5: unknown dtype");
}

Shape read_dims(hid_t space, const std::string& path, const std::string& object) {
  H5S_class_t cls = H5Sget_simple_extent_type(space);
  if (cls == H5S_SCALAR) return Shape{};
  if (cls != H5S_SIMPLE) fail<FormatError>(path, object, "the dataset has no data (null dataspace)");
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail<FormatError>(path, object, "cannot read the dataspace");
  if (rank > kMaxDims) {
    fail<FormatError>(path, object, "rank " + std::to_string(rank) + " exceeds Ember's " + std::to_string(kMaxDims) + " dimensions");
  }
  hsize_t dims[H5S_MAX_RANK];
  H5Sget_simple_extent_dims(space, dims, nullptr);
  Shape s;
  unsigned __int128 total = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] > static_cast<hsize_t>(INT64_MAX)) fail<FormatError>(path, object, "dimension too large");
    s.push_back(static_cast<int64_t>(dims[i]));
    total *= dims[i];
    if (total > static_cast<unsigned __int128>(INT64_MAX)) fail<FormatError>(path, object, "element count overflows int64");
  }
  return s;
}

std::vector<hsize_t> to_hsize(const Shape& s) { return std::vector<hsize_t>(s.begin(), s.end()); }

Id make_space(const Shape& s) {
  if (s.empty()) return space_id(H5Screate(H5S_SCALAR));
  auto d = to_hsize(s);
  return space_id(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr));
}

// A contiguous copy of `t` with dtype `dt` (the layout libhdf5 reads from).
Tensor contiguous_as(const Tensor& t, DType dt) {
  if (t.dtype() == dt && t.is_contiguous() && !t.requires_grad()) return t;
  Tensor c = Tensor::empty(t.shape(), dt);
  c.copy_(t.detach());
  return c;
}

// A chunk shape for a dataset that needs one: h5py-like, about 64 KiB, never larger than the axis
// (a zero or unlimited axis of size 0 gets chunk 1, since chunk sizes must be positive).
std::vector<hsize_t> guess_chunks(const Shape& shape, std::size_t item) {
  std::vector<hsize_t> c;
  for (int64_t d : shape) c.push_back(static_cast<hsize_t>(std::max<int64_t>(d, 1)));
  const double target = 64 * 1024;
  for (int iter = 0; iter < 200; ++iter) {
    double bytes = static_cast<double>(item);
    for (hsize_t v : c) bytes *= static_cast<double>(v);
    if (bytes <= target) break;
    auto it = std::max_element(c.begin(), c.end());
    if (*it <= 1) break;
    *it = (*it + 1) / 2;
  }
  return c;
}

// ---- attributes ----

Id vlen_string_type(CharSet cs) {
  Id t = type_id(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), cs == CharSet::utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
  return t;
}

std::vector<std::string> read_strings(hid_t attr, hid_t ftype, hsize_t n, const std::string& path, const std::string& object) {
  std::vector<std::string> out;
  if (n == 0) return out;
  if (H5Tis_variable_str(ftype) > 0) {
    Id mt = type_id(H5Tcopy(H5T_C_S1));
    H5Tset_size(mt.get(), H5T_VARIABLE);
    H5Tset_cset(mt.get(), H5Tget_cset(ftype));
    std::vector<char*> ptrs(n, nullptr);
    if (H5Aread(attr, mt.get(), ptrs.data()) < 0) fail<FormatError>(path, object, "cannot read the string attribute");
    for (char* p : ptrs) out.emplace_back(p != nullptr ? p : "");
    Id space = space_id(H5Aget_space(attr));
    H5Dvlen_reclaim(mt.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  std::size_t size = H5Tget_size(ftype);
  if (size == 0 || n > (std::size_t{1} << 31) / size) fail<FormatError>(path, object, "string attribute too large");
  std::vector<char> buf(n * size, '\0');
  Id mt = type_id(H5Tcopy(ftype));
  if (H5Aread(attr, mt.get(), buf.data()) < 0) fail<FormatError>(path, object, "cannot read the string attribute");
  H5T_str_t pad = H5Tget_strpad(ftype);
  for (hsize_t i = 0; i < n; ++i) {
    std::string s(buf.data() + i * size, size);
    if (pad == H5T_STR_SPACEPAD) {
      s.erase(s.find_last_not_of(' ') + 1);
    } else {
      std::size_t z = s.find('\0');
      if (z != std::string::npos) s.resize(z);
    }
    out.push_back(std::move(s));
  }
  return out;
}

AttrValue read_attr(const Handle& h, std::string_view name) {
  const std::string& path = h.file->path;
  std::string object = object_name(h.id) + "' attribute '" + std::string(name);
  std::string key(name);
  htri_t exists = H5Aexists(h.id, key.c_str());
  if (exists < 0) fail<FormatError>(path, object, "cannot look up the attribute");
  if (exists == 0) fail<IOError>(path, object, "no such attribute");
  Id a = attr_id(H5Aopen(h.id, key.c_str(), H5P_DEFAULT));
  if (!a.ok()) fail<FormatError>(path, object, "cannot open the attribute");
  Id ft = type_id(H5Aget_type(a.get()));
  Id space = space_id(H5Aget_space(a.get()));
  if (!ft.ok() || !space.ok()) fail<FormatError>(path, object, "cannot read the attribute's type");
  H5S_class_t sc = H5Sget_simple_extent_type(space.get());
  bool scalar = sc == H5S_SCALAR;
  hssize_t np = sc == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space.get());
  if (np < 0 || np > (hssize_t{1} << 28)) fail<FormatError>(path, object, "bad attribute size");
  hsize_t n = static_cast<hsize_t>(np);
  // The declared element count must fit in the bytes the attribute actually stores (a damaged or
  // hostile header cannot make us allocate more).
  const hsize_t stored = H5Aget_storage_size(a.get());
  if (n > 0 && static_cast<unsigned __int128>(n) * H5Tget_size(ft.get()) > stored) {
    fail<FormatError>(path, object, "declares " + std::to_string(n) + " elements but stores only " + std::to_string(stored) + " bytes");
  }
  switch (H5Tget_class(ft.get())) {
    case H5T_INTEGER: {
      std::vector<int64_t> v(n);
      if (n > 0 && H5Aread(a.get(), H5T_NATIVE_INT64, v.data()) < 0) fail<FormatError>(path, object, "cannot read the attribute");
      if (scalar) return v.at(0);
      return v;
    }
    case H5T_FLOAT: {
      std::vector<double> v(n);
      if (n > 0 && H5Aread(a.get(), H5T_NATIVE_DOUBLE, v.data()) < 0) fail<FormatError>(path, object, "cannot read the attribute");
      if (scalar) return v.at(0);
      return v;
    }
    case H5T_STRING: {
      auto v = read_strings(a.get(), ft.get(), n, path, object);
      if (scalar) return v.at(0);
      return v;
    }
    default: break;
  }
  fail<FormatError>(path, object, "unsupported attribute type (expected numbers or strings)");
}

void write_attr(const Handle& h, std::string_view name, const AttrValue& value, StringOptions opt) {
  const std::string& path = h.file->path;
  std::string key = check_name(h, name);
  std::string object = object_name(h.id) + "' attribute '" + key;
  require_writable(h, object);
  if (H5Aexists(h.id, key.c_str()) > 0 && H5Adelete(h.id, key.c_str()) < 0) {
    fail<FormatError>(path, object, "cannot replace the attribute");
  }
  auto create = [&](hid_t ftype, const Id& space) {
    Id a = attr_id(H5Acreate2(h.id, key.c_str(), ftype, space.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!a.ok()) fail<IOError>(path, object, "cannot create the attribute");
    return a;
  };
  auto vector_space = [](std::size_t n) {
    hsize_t d = n;
    return space_id(H5Screate_simple(1, &d, nullptr));
  };
  auto write_numbers = [&](hid_t ftype, hid_t mtype, const void* data, bool scalar, std::size_t n) {
    Id space = scalar ? space_id(H5Screate(H5S_SCALAR)) : vector_space(n);
    Id a = create(ftype, space);
    if (n > 0 && H5Awrite(a.get(), mtype, data) < 0) fail<IOError>(path, object, "cannot write the attribute");
  };
  auto write_strings = [&](const std::vector<std::string>& v, bool scalar) {
    Id space = scalar ? space_id(H5Screate(H5S_SCALAR)) : vector_space(v.size());
    if (opt.variable_length) {
      Id t = vlen_string_type(opt.charset);
      Id a = create(t.get(), space);
      std::vector<const char*> ptrs;
      for (const auto& s : v) ptrs.push_back(s.c_str());
      if (!v.empty() && H5Awrite(a.get(), t.get(), ptrs.data()) < 0) fail<IOError>(path, object, "cannot write the attribute");
      return;
    }
    // numpy 'S' arrays: fixed length = the longest string (at least 1), NUL-padded.
    std::size_t len = std::max<std::size_t>(opt.fixed_size, 1);
    for (const auto& s : v) {
      if (opt.fixed_size != 0 && s.size() > opt.fixed_size) {
        throw ValueError(where(path, object) + ": a string of " + std::to_string(s.size()) + " bytes exceeds the fixed size " +
                         std::to_string(opt.fixed_size));
      }
      len = std::max(len, s.size());
    }
    Id t = type_id(H5Tcopy(H5T_C_S1));
    H5Tset_size(t.get(), len);
    H5Tset_strpad(t.get(), H5T_STR_NULLPAD);
    H5Tset_cset(t.get(), opt.charset == CharSet::utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    Id a = create(t.get(), space);
    std::vector<char> buf(v.size() * len, '\0');
    for (std::size_t i = 0; i < v.size(); ++i) std::memcpy(buf.data() + i * len, v[i].data(), v[i].size());
    if (!v.empty() && H5Awrite(a.get(), t.get(), buf.data()) < 0) fail<IOError>(path, object, "cannot write the attribute");
  };
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          write_numbers(H5T_STD_I64LE, H5T_NATIVE_INT64, &x, true, 1);
        } else if constexpr (std::is_same_v<T, double>) {
          write_numbers(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &x, true, 1);
        } else if constexpr (std::is_same_v<T, std::string>) {
          write_strings({x}, true);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          write_numbers(H5T_STD_I64LE, H5T_NATIVE_INT64, x.data(), false, x.size());
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          write_numbers(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x.data(), false, x.size());
        } else {
          write_strings(x, false);
        }
      },
      value);
}

[[noreturn]] void wrong_kind(const Handle& h, std::string_view name, const char* want, const AttrValue& got) {
  static const char* kinds[] = {"an integer", "a float", "a string", "an integer array", "a float array", "a string array"};
  throw FormatError(where(h.file->path, object_name(h.id) + "' attribute '" + std::string(name)) + ": expected " + want +
                    ", found " + kinds[got.index()]);
}

// ---- files ----

void check_existing(const std::string& path, bool write) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IOError(where(path, "") + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IOError(where(path, "") + ": cannot open: it is a directory");
  if (!S_ISREG(st.st_mode)) throw IOError(where(path, "") + ": cannot open: not a regular file");
  if (::access(path.c_str(), write ? (R_OK | W_OK) : R_OK) != 0) {
    throw IOError(where(path, "") + ": cannot open for " + (write ? "writing" : "reading") + ": " + std::strerror(errno));
  }
  htri_t is = H5Fis_hdf5(path.c_str());
  if (is <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw FormatError(where(path, "") + ": not an HDF5 file (no HDF5 signature found)");
  }
}

// The file is opened and walked in a child process first (hdf5_check.cpp): libhdf5 can crash or
// hang on a damaged file, and this turns that into an error instead.
void check_before_open(const std::string& path) {
  detail::CheckResult r = detail::check_in_child(path);
  using Outcome = detail::CheckResult::Outcome;
  switch (r.outcome) {
    case Outcome::ok: return;
    case Outcome::cannot_open:
      throw FormatError(where(path, "") + ": cannot open: damaged or truncated HDF5 file (libhdf5: " + r.reason + ")");
    case Outcome::crashed:
      throw FormatError(where(path, "") + ": damaged HDF5 file: libhdf5 crashed while checking it (" + r.reason + "); not opened");
    case Outcome::hung:
      throw FormatError(where(path, "") + ": damaged HDF5 file: libhdf5 hung while checking it (" + r.reason + "); not opened");
  }
}

Id file_access_plist() {
  Id fapl = plist_id(H5Pcreate(H5P_FILE_ACCESS));
  // Closing the file closes every object still open in it (h5py's f.close()).
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  return fapl;
}

}  // namespace

void detail::FileState::close(bool commit) {
  if (!open) return;
  open = false;
  for (auto& w : handles) {
    if (auto h = w.lock(); h && h->id >= 0) {
      H5Oclose(h->id);
      h->id = -1;
    }
  }
  handles.clear();
  herr_t status = H5Fclose(fid);
  fid = -1;
  if (status < 0) {
    std::string reason = hdf5_reason();
    atomic.reset();  // drops the temporary file: the target keeps its old content
    throw IOError(where(path, "") + ": closing the file failed" + reason);
  }
  if (atomic) {
    std::unique_ptr<AtomicFile> a = std::move(atomic);
    if (commit) a->commit();
  }
}

// ---- Object ----

bool Object::is_group() const { return H5Iget_type(live(h_).id) == H5I_GROUP; }
bool Object::is_dataset() const { return H5Iget_type(live(h_).id) == H5I_DATASET; }
Group Object::as_group() const {
  if (!is_group()) throw FormatError(where(h_->file->path, name()) + ": expected a group, found a dataset");
  return Group(h_);
}
Dataset Object::as_dataset() const {
  if (!is_dataset()) throw FormatError(where(h_->file->path, name()) + ": expected a dataset, found a group");
  return Dataset(h_);
}
std::string Object::name() const { return object_name(live(h_).id); }
std::string Object::file_path() const {
  if (!h_) throw ValueError("HDF5: use of an empty handle");
  return h_->file->path;
}

// ---- Attributes ----

bool Attributes::contains(std::string_view name) const {
  const Handle& h = live(h_);
  std::string key(name);
  htri_t r = H5Aexists(h.id, key.c_str());
  if (r < 0) fail<FormatError>(h.file->path, object_name(h.id), "cannot look up attribute '" + key + "'");
  return r > 0;
}

std::vector<std::string> Attributes::keys() const {
  const Handle& h = live(h_);
  std::vector<std::string> out;
  hsize_t idx = 0;
  herr_t r = H5Aiterate2(
      h.id, H5_INDEX_NAME, H5_ITER_INC, &idx,
      [](hid_t, const char* n, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(n);
        return 0;
      },
      &out);
  if (r < 0) fail<FormatError>(h.file->path, object_name(h.id), "cannot list the attributes");
  return out;
}

void Attributes::remove(std::string_view name) {
  const Handle& h = live(h_);
  std::string key(name);
  std::string object = object_name(h.id) + "' attribute '" + key;
  require_writable(h, object);
  if (!contains(name)) throw IOError(where(h.file->path, object) + ": no such attribute");
  if (H5Adelete(h.id, key.c_str()) < 0) fail<FormatError>(h.file->path, object, "cannot delete the attribute");
}

void Attributes::set_value(std::string_view name, const AttrValue& value, StringOptions opt) {
  write_attr(live(h_), name, value, opt);
}

AttrValue Attributes::get(std::string_view name) const { return read_attr(live(h_), name); }

int64_t Attributes::get_int(std::string_view name) const {
  AttrValue v = get(name);
  if (auto* p = std::get_if<int64_t>(&v)) return *p;
  wrong_kind(*h_, name, "an integer", v);
}
double Attributes::get_double(std::string_view name) const {
  AttrValue v = get(name);
  if (auto* p = std::get_if<double>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  wrong_kind(*h_, name, "a number", v);
}
std::string Attributes::get_string(std::string_view name) const {
  AttrValue v = get(name);
  if (auto* p = std::get_if<std::string>(&v)) return *p;
  wrong_kind(*h_, name, "a string", v);
}
std::vector<int64_t> Attributes::get_ints(std::string_view name) const {
  AttrValue v = get(name);
  if (auto* p = std::get_if<std::vector<int64_t>>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return {*p};
  // An empty array written by numpy without a dtype hint is float64 (np.asarray([])).
  if (auto* p = std::get_if<std::vector<double>>(&v); p && p->empty()) return {};
  wrong_kind(*h_, name, "integers", v);
}
std::vector<double> Attributes::get_doubles(std::string_view name) const {
  AttrValue v = get(name);
  if (auto* p = std::get_if<std::vector<double>>(&v)) return *p;
  if (auto* p = std::get_if<double>(&v)) return {*p};
  if (auto* p = std::get_if<std::vector<int64_t>>(&v)) return std::vector<double>(p->begin(), p->end());
  if (auto* p = std::get_if<int64_t>(&v)) return {static_cast<double>(*p)};
  wrong_kind(*h_, name, "numbers", v);
}
std::vector<std::string> Attributes::get_strings(std::string_view name) const {
  AttrValue v = get(name);
  if (auto* p = std::get_if<std::vector<std::string>>(&v)) return *p;
  if (auto* p = std::get_if<std::string>(&v)) return {*p};
  // Keras stores an empty name list as np.asarray([]): an empty float64 array.
  if (auto* p = std::get_if<std::vector<double>>(&v); p && p->empty()) return {};
  wrong_kind(*h_, name, "strings", v);
}

// ---- Dataset ----

namespace {

struct OpenedType {
  Id type;
  ElemType elem;
};

OpenedType dataset_type(const Handle& h) {
  Id t = type_id(H5Dget_type(h.id));
  if (!t.ok()) fail<FormatError>(h.file->path, object_name(h.id), "cannot read the element type");
  ElemType e = classify(t.get(), h.file->path, object_name(h.id));
  return {std::move(t), e};
}

Id dataset_space(const Handle& h) {
  Id s = space_id(H5Dget_space(h.id));
  if (!s.ok()) fail<FormatError>(h.file->path, object_name(h.id), "cannot read the dataspace");
  return s;
}

// Checks a dataset's declared size against the bytes the file holds for it, before anything is
// allocated, so that a damaged or hostile file (100 bytes declaring a terabyte) fails fast:
//  - contiguous data must be stored in full, inside the file;
//  - chunked data can expand at most as gzip does (about 1032x; chunks never written read as the
//    fill value), so more than 1100x the stored bytes plus 256 MiB of fill is refused.
// The size in memory must also fit in 62 bits (Ember's byte counts).
// `shape` is the dataset's, `selected` the part being read (rows of the first axis).
void check_storage(const Handle& h, hid_t ftype, const Shape& shape, const Shape& selected, DType dtype) {
  const unsigned __int128 elements = static_cast<uint64_t>(numel(selected));
  if (elements * itemsize(dtype) > (static_cast<unsigned __int128>(1) << 62)) {
    fail<FormatError>(h.file->path, object_name(h.id), "declares " + to_string(selected) + " elements: too large for memory");
  }
  Id dcpl = plist_id(H5Dget_create_plist(h.id));
  if (!dcpl.ok()) return;
  hsize_t stored = H5Dget_storage_size(h.id);
  const unsigned __int128 want = elements * H5Tget_size(ftype);
  if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
    const unsigned __int128 limit = static_cast<unsigned __int128>(stored) * 1100 + (static_cast<unsigned __int128>(256) << 20);
    if (want > limit) {
      fail<FormatError>(h.file->path, object_name(h.id),
                        "declares " + std::to_string(static_cast<uint64_t>(want)) + " bytes but stores " + std::to_string(stored) +
                            " compressed bytes, more than decompression or fill values can account for");
    }
    return;
  }
  if (H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS) return;
  if (stored == 0 && want > (static_cast<unsigned __int128>(256) << 20)) {
    fail<FormatError>(h.file->path, object_name(h.id),
                      "declares " + std::to_string(static_cast<uint64_t>(want)) + " bytes and stores none (more than 256 MiB of fill values)");
  }
  const unsigned __int128 whole = static_cast<unsigned __int128>(static_cast<uint64_t>(numel(shape))) * H5Tget_size(ftype);
  if (stored != 0 && stored < whole) {
    fail<FormatError>(h.file->path, object_name(h.id),
                      "declares " + std::to_string(static_cast<uint64_t>(whole)) + " bytes but stores " + std::to_string(stored));
  }
  haddr_t offset = H5Dget_offset(h.id);
  if (stored != 0 && offset != HADDR_UNDEF) {
    std::error_code ec;
    auto size = std::filesystem::file_size(h.file->atomic ? h.file->atomic->temp_path() : h.file->path, ec);
    if (!ec && offset + stored > size) {
      fail<FormatError>(h.file->path, object_name(h.id),
                        "data at offset " + std::to_string(offset) + " (" + std::to_string(stored) +
                            " bytes) runs past the end of the file (" + std::to_string(size) + " bytes): truncated?");
    }
  }
}

Tensor read_rows(const Handle& h, std::optional<std::pair<int64_t, int64_t>> rows) {
  std::string object = object_name(h.id);
  OpenedType t = dataset_type(h);
  Id fspace = dataset_space(h);
  Shape shape = read_dims(fspace.get(), h.file->path, object);
  Shape out_shape = shape;
  if (rows) {
    auto [start, count] = *rows;
    if (shape.empty()) throw ValueError(where(h.file->path, object) + ": cannot slice rows of a scalar dataset");
    if (start < 0 || count < 0 || start > shape[0] || count > shape[0] - start) {
      throw ValueError(where(h.file->path, object) + ": rows [" + std::to_string(start) + ", " + std::to_string(start + count) +
                       ") outside the dataset's " + std::to_string(shape[0]) + " rows");
    }
    out_shape[0] = count;
    std::vector<hsize_t> off(shape.size(), 0), cnt = to_hsize(out_shape);
    off[0] = static_cast<hsize_t>(start);
    if (H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, off.data(), nullptr, cnt.data(), nullptr) < 0) {
      fail<FormatError>(h.file->path, object, "cannot select rows");
    }
  }
  check_storage(h, t.type.get(), shape, out_shape, t.elem.dtype);
  Tensor out = Tensor::empty(out_shape, t.elem.dtype);
  if (out.numel() == 0) return out;
  Id mspace = make_space(out_shape);
  Id mtype = memory_type(t.elem.dtype);
  if (H5Dread(h.id, mtype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, out.raw_data()) < 0) {
    fail<FormatError>(h.file->path, object, "cannot read the data (damaged or truncated file?)");
  }
  if (t.elem.dtype == boolean) {  // never let a byte other than 0/1 into a bool tensor
    auto* p = static_cast<unsigned char*>(out.raw_data());
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = p[i] != 0;
  }
  return out;
}

}  // namespace

Shape Dataset::shape() const {
  const Handle& h = live(h_);
  Id s = dataset_space(h);
  return read_dims(s.get(), h.file->path, object_name(h.id));
}

DType Dataset::dtype() const { return dataset_type(live(h_)).elem.dtype; }
std::string Dataset::type_name() const { return dataset_type(live(h_)).elem.numpy; }

Shape Dataset::maxshape() const {
  const Handle& h = live(h_);
  Id s = dataset_space(h);
  Shape shape = read_dims(s.get(), h.file->path, object_name(h.id));
  hsize_t dims[H5S_MAX_RANK], maxd[H5S_MAX_RANK];
  H5Sget_simple_extent_dims(s.get(), dims, maxd);
  Shape out;
  for (std::size_t i = 0; i < shape.size(); ++i) out.push_back(maxd[i] == H5S_UNLIMITED ? -1 : static_cast<int64_t>(maxd[i]));
  return out;
}

Shape Dataset::chunks() const {
  const Handle& h = live(h_);
  Id dcpl = plist_id(H5Dget_create_plist(h.id));
  if (!dcpl.ok() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return {};
  hsize_t c[H5S_MAX_RANK];
  int rank = H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, c);
  Shape out;
  for (int i = 0; i < rank && i < kMaxDims; ++i) out.push_back(static_cast<int64_t>(c[i]));
  return out;
}

std::string Dataset::compression() const {
  const Handle& h = live(h_);
  Id dcpl = plist_id(H5Dget_create_plist(h.id));
  int n = dcpl.ok() ? H5Pget_nfilters(dcpl.get()) : 0;
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0;
    std::size_t nelem = 0;
    unsigned filter_config = 0;
    H5Z_filter_t f = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nelem, nullptr, 0, nullptr, &filter_config);
    if (f == H5Z_FILTER_DEFLATE) return "gzip";
  }
  return "";
}

Tensor Dataset::read() const { return read_rows(live(h_), std::nullopt); }
Tensor Dataset::read(int64_t start, int64_t count) const { return read_rows(live(h_), std::make_pair(start, count)); }

void Dataset::write(const Tensor& data) {
  const Handle& h = live(h_);
  std::string object = object_name(h.id);
  require_writable(h, object);
  Shape shape = this->shape();
  if (data.shape() != shape) {
    throw ShapeError(where(h.file->path, object) + ": cannot write data of shape " + to_string(data.shape()) +
                     " into a dataset of shape " + to_string(shape));
  }
  DType dt = dtype();
  Tensor c = contiguous_as(data, dt);
  if (c.numel() == 0) return;
  Id mtype = memory_type(dt);
  if (H5Dwrite(h.id, mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, c.raw_data()) < 0) {
    fail<IOError>(h.file->path, object, "cannot write the data");
  }
}

void Dataset::write(int64_t start, const Tensor& data) {
  const Handle& h = live(h_);
  std::string object = object_name(h.id);
  require_writable(h, object);
  Shape shape = this->shape();
  if (shape.empty() || data.dim() != static_cast<int>(shape.size()) ||
      !std::equal(shape.begin() + 1, shape.end(), data.shape().begin() + 1)) {
    throw ShapeError(where(h.file->path, object) + ": cannot write rows of shape " + to_string(data.shape()) +
                     " into a dataset of shape " + to_string(shape));
  }
  int64_t count = data.shape()[0];
  if (start < 0 || start > shape[0] || count > shape[0] - start) {
    throw ValueError(where(h.file->path, object) + ": rows [" + std::to_string(start) + ", " + std::to_string(start + count) +
                     ") outside the dataset's " + std::to_string(shape[0]) + " rows (resize it first)");
  }
  DType dt = dtype();
  Tensor c = contiguous_as(data, dt);
  if (c.numel() == 0) return;
  Id fspace = dataset_space(h);
  std::vector<hsize_t> off(shape.size(), 0), cnt = to_hsize(c.shape());
  off[0] = static_cast<hsize_t>(start);
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, off.data(), nullptr, cnt.data(), nullptr);
  Id mspace = make_space(c.shape());
  Id mtype = memory_type(dt);
  if (H5Dwrite(h.id, mtype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, c.raw_data()) < 0) {
    fail<IOError>(h.file->path, object, "cannot write the rows");
  }
}

void Dataset::resize(const Shape& new_shape) {
  const Handle& h = live(h_);
  std::string object = object_name(h.id);
  require_writable(h, object);
  Shape maxs = maxshape();
  if (new_shape.size() != maxs.size()) {
    throw ShapeError(where(h.file->path, object) + ": resize to " + to_string(new_shape) + " changes the rank " +
                     std::to_string(maxs.size()));
  }
  if (chunks().empty()) {
    throw ValueError(where(h.file->path, object) + ": the dataset is not resizable (create it with maxshape)");
  }
  for (std::size_t i = 0; i < maxs.size(); ++i) {
    if (new_shape[i] < 0 || (maxs[i] >= 0 && new_shape[i] > maxs[i])) {
      throw ValueError(where(h.file->path, object) + ": resize to " + to_string(new_shape) + " exceeds maxshape " +
                       to_string(maxs) + " (-1 = unlimited)");
    }
  }
  auto d = to_hsize(new_shape);
  if (H5Dset_extent(h.id, d.data()) < 0) fail<IOError>(h.file->path, object, "cannot resize");
}

// ---- Group ----

Group Group::create_group(std::string_view name) {
  const Handle& h = live(h_);
  std::string n = check_name(h, name);
  require_writable(h, join(h, n));
  if (path_exists(h.id, n)) throw ValueError(where(h.file->path, join(h, n)) + ": cannot create group: name already exists");
  Id lcpl = plist_id(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5Pset_char_encoding(lcpl.get(), H5T_CSET_UTF8);
  hid_t g = H5Gcreate2(h.id, n.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) fail<IOError>(h.file->path, join(h, n), "cannot create group");
  return Group(make_handle(h.file, g));
}

Group Group::require_group(std::string_view name) {
  const Handle& h = live(h_);
  std::string n = check_name(h, name);
  if (path_exists(h.id, n)) return group(n);
  return create_group(n);
}

Object Group::get(std::string_view name) const {
  const Handle& h = live(h_);
  std::string n = check_name(h, name);
  if (!path_exists(h.id, n)) throw IOError(where(h.file->path, join(h, n)) + ": no such object");
  hid_t o = H5Oopen(h.id, n.c_str(), H5P_DEFAULT);
  if (o < 0) fail<FormatError>(h.file->path, join(h, n), "cannot open the object");
  auto handle = make_handle(h.file, o);
  H5I_type_t type = H5Iget_type(o);
  if (type != H5I_GROUP && type != H5I_DATASET) {
    throw FormatError(where(h.file->path, join(h, n)) + ": not a group or a dataset (a named datatype?)");
  }
  return Object(handle);
}

Group Group::group(std::string_view name) const { return get(name).as_group(); }
Dataset Group::dataset(std::string_view name) const { return get(name).as_dataset(); }

bool Group::contains(std::string_view name) const {
  const Handle& h = live(h_);
  if (name.empty() || name.find('\0') != std::string_view::npos) return false;
  return path_exists(h.id, std::string(name));
}

void Group::remove(std::string_view name) {
  const Handle& h = live(h_);
  std::string n = check_name(h, name);
  require_writable(h, join(h, n));
  if (!path_exists(h.id, n)) throw IOError(where(h.file->path, join(h, n)) + ": cannot delete: no such object");
  if (H5Ldelete(h.id, n.c_str(), H5P_DEFAULT) < 0) fail<FormatError>(h.file->path, join(h, n), "cannot delete");
}

Dataset Group::create_dataset(std::string_view name, const Shape& shape, DType dtype, const DatasetOptions& opt) {
  const Handle& h = live(h_);
  std::string n = check_name(h, name);
  std::string object = join(h, n);
  const std::string& path = h.file->path;
  require_writable(h, object);
  check_shape(shape, "HDF5 dataset");
  if (path_exists(h.id, n)) throw ValueError(where(path, object) + ": cannot create dataset: name already exists");
  auto bad = [&](const std::string& what) { throw ValueError(where(path, object) + ": " + what); };
  const std::size_t rank = shape.size();
  std::vector<hsize_t> dims = to_hsize(shape), maxdims = dims;
  if (!opt.maxshape.empty()) {
    if (opt.maxshape.size() != rank) bad("maxshape has " + std::to_string(opt.maxshape.size()) + " axes, the shape " + std::to_string(rank));
    for (std::size_t i = 0; i < rank; ++i) {
      if (opt.maxshape[i] == -1) {
        maxdims[i] = H5S_UNLIMITED;
      } else if (opt.maxshape[i] < shape[i]) {
        bad("maxshape " + std::to_string(opt.maxshape[i]) + " is smaller than the shape " + to_string(shape) + " in axis " + std::to_string(i));
      } else {
        maxdims[i] = static_cast<hsize_t>(opt.maxshape[i]);
      }
    }
  }
  if (!opt.compression.empty() && opt.compression != "gzip") bad("compression '" + opt.compression + "' is not supported (use \"gzip\" or \"\")");
  if (opt.compression_opts < 0 || opt.compression_opts > 9) bad("gzip level " + std::to_string(opt.compression_opts) + " outside 0..9");
  bool chunked = !opt.chunks.empty() || !opt.compression.empty() || maxdims != dims;
  if (chunked && rank == 0) bad("a scalar dataset cannot be chunked, compressed or resizable");
  Id dcpl = plist_id(H5Pcreate(H5P_DATASET_CREATE));
  if (chunked) {
    std::vector<hsize_t> chunks;
    if (!opt.chunks.empty()) {
      if (opt.chunks.size() != rank) bad("chunks have " + std::to_string(opt.chunks.size()) + " axes, the shape " + std::to_string(rank));
      for (std::size_t i = 0; i < rank; ++i) {
        if (opt.chunks[i] <= 0) bad("chunk sizes must be positive");
        if (maxdims[i] != H5S_UNLIMITED && static_cast<hsize_t>(opt.chunks[i]) > maxdims[i]) {
          bad("chunk " + std::to_string(opt.chunks[i]) + " exceeds the maximum size of axis " + std::to_string(i));
        }
        chunks.push_back(static_cast<hsize_t>(opt.chunks[i]));
      }
    } else {
      chunks = guess_chunks(shape, itemsize(dtype));
    }
    H5Pset_chunk(dcpl.get(), static_cast<int>(rank), chunks.data());
    if (!opt.compression.empty()) H5Pset_deflate(dcpl.get(), static_cast<unsigned>(opt.compression_opts));
  }
  Id space = space_id(rank == 0 ? H5Screate(H5S_SCALAR)
                                : H5Screate_simple(static_cast<int>(rank), dims.data(), maxdims.data()));
  Id ftype = file_type(dtype);
  Id lcpl = plist_id(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5Pset_char_encoding(lcpl.get(), H5T_CSET_UTF8);
  hid_t d = H5Dcreate2(h.id, n.c_str(), ftype.get(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT);
  if (d < 0) fail<IOError>(path, object, "cannot create dataset");
  return Dataset(make_handle(h.file, d));
}

Dataset Group::create_dataset(std::string_view name, const Tensor& data, const DatasetOptions& opt) {
  if (!data.defined()) throw ValueError(where(h_ ? h_->file->path : "", name) + ": cannot store an undefined tensor");
  Dataset d = create_dataset(name, data.shape(), data.dtype(), opt);
  d.write(data);
  return d;
}

Dataset Group::require_dataset(std::string_view name, const Shape& shape, DType dtype) {
  const Handle& h = live(h_);
  if (!contains(name)) return create_dataset(name, shape, dtype);
  Dataset d = dataset(name);
  if (d.shape() != shape || d.dtype() != dtype) {
    throw FormatError(where(h.file->path, d.name()) + ": exists with shape " + to_string(d.shape()) + " and dtype " +
                      std::string(dtype_name(d.dtype())) + ", expected " + to_string(shape) + " and " +
                      std::string(dtype_name(dtype)));
  }
  return d;
}

std::vector<std::string> Group::keys() const {
  const Handle& h = live(h_);
  std::vector<std::string> out;
  hsize_t idx = 0;
  herr_t r = H5Literate(
      h.id, H5_INDEX_NAME, H5_ITER_INC, &idx,
      [](hid_t, const char* n, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(n);
        return 0;
      },
      &out);
  if (r < 0) fail<FormatError>(h.file->path, object_name(h.id), "cannot list the group's members");
  return out;
}

namespace {

struct VisitState {
  const Handle* group;
  const std::function<void(const std::string&, hid_t)>* fn;
  std::exception_ptr error;
};

// libhdf5's recursive visit (what h5py's visit uses): depth first, each object once. A C++
// exception must not cross libhdf5's frames: it is caught, the walk stops, and it is rethrown.
void visit_objects(const Handle& h, const std::function<void(const std::string&, hid_t)>& fn) {
  VisitState st{&h, &fn, nullptr};
  herr_t r = H5Ovisit2(
      h.id, H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t obj, const char* name, const H5O_info_t*, void* data) -> herr_t {
        auto* s = static_cast<VisitState*>(data);
        if (std::strcmp(name, ".") == 0) return 0;  // the group itself: h5py leaves it out
        try {
          (*s->fn)(name, obj);
        } catch (...) {
          s->error = std::current_exception();
          return -1;
        }
        return 0;
      },
      &st, H5O_INFO_BASIC);
  if (st.error) {
    H5Eclear2(H5E_DEFAULT);
    std::rethrow_exception(st.error);
  }
  if (r < 0) fail<FormatError>(h.file->path, object_name(h.id), "cannot visit the group's members");
}

}  // namespace

void Group::visit(const std::function<void(const std::string& name)>& fn) const {
  visit_objects(live(h_), [&](const std::string& name, hid_t) { fn(name); });
}

void Group::visititems(const std::function<void(const std::string& name, const Object& obj)>& fn) const {
  const Handle& h = live(h_);
  visit_objects(h, [&](const std::string& name, hid_t loc) {
    hid_t o = H5Oopen(loc, name.c_str(), H5P_DEFAULT);
    if (o < 0) fail<FormatError>(h.file->path, join(h, name), "cannot open the object");
    Object obj(make_handle(h.file, o));
    fn(name, obj);
  });
}

// ---- File ----

File::File(const std::string& path, const std::string& mode, const FileOptions& options) : Group(nullptr) {
  init_library();
  auto st = std::make_shared<FileState>();
  st->path = path;
  st->mode = mode;
  st->uncaught_at_open = std::uncaught_exceptions();
  if (mode != "r" && mode != "r+" && mode != "w" && mode != "w-" && mode != "x" && mode != "a") {
    throw ValueError(where(path, "") + ": unknown mode '" + mode + "' (expected r, r+, w, w-, a)");
  }
  if (path.empty()) throw IOError("HDF5: empty file name");
  std::error_code ec;
  bool exists = std::filesystem::exists(path, ec);
  Id fapl = file_access_plist();
  bool create = mode == "w" || ((mode == "w-" || mode == "x") && true) || (mode == "a" && !exists);
  if ((mode == "w-" || mode == "x") && exists) throw IOError(where(path, "") + ": cannot create: the file exists (mode '" + mode + "')");
  if (create) {
    if (std::filesystem::is_directory(path, ec)) throw IOError(where(path, "") + ": cannot create: it is a directory");
    st->atomic = std::make_unique<AtomicFile>(path);
    st->fid = H5Fcreate(st->atomic->temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
    if (st->fid < 0) fail<IOError>(path, "", "cannot create the file");
    st->writable = true;
  } else {
    bool write = mode != "r";
    check_existing(path, write);
    if (options.check) check_before_open(path);
    std::string open_path = path;
    if (write) {
      // Work on a copy, so the target changes only when close() commits the finished file.
      st->atomic = std::make_unique<AtomicFile>(path);
      std::filesystem::copy_file(path, st->atomic->temp_path(), std::filesystem::copy_options::overwrite_existing, ec);
      if (ec) throw IOError(where(path, "") + ": cannot copy the file for writing: " + ec.message());
      open_path = st->atomic->temp_path();
    }
    st->fid = H5Fopen(open_path.c_str(), write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get());
    if (st->fid < 0) fail<FormatError>(path, "", "cannot open: damaged or truncated HDF5 file");
    st->writable = write;
  }
  st->open = true;
  hid_t root = H5Gopen2(st->fid, "/", H5P_DEFAULT);
  if (root < 0) {
    std::string reason = hdf5_reason();
    st->close(false);
    throw FormatError(where(path, "/") + ": cannot open the root group" + reason);
  }
  h_ = make_handle(st, root);
}

std::size_t open_object_count() {
  init_library();
  ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

File::~File() {
  if (!h_) return;
  auto st = h_->file;
  try {
    // Destroyed by an exception: keep the target as it was rather than commit a half-written file.
    st->close(std::uncaught_exceptions() <= st->uncaught_at_open);
  } catch (...) {
  }
}

void File::close() {
  if (!h_) return;
  h_->file->close(true);
}

bool File::is_open() const { return h_ && h_->file->open; }
const std::string& File::path() const {
  if (!h_) throw ValueError("HDF5: use of a moved-from File");
  return h_->file->path;
}
const std::string& File::mode() const {
  if (!h_) throw ValueError("HDF5: use of a moved-from File");
  return h_->file->mode;
}

}  // namespace ember::io::h5
