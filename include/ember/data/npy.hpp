#pragma once
// NumPy's .npy files (numpy.save / numpy.load), versions 1.0, 2.0 and 3.0, and .npz archives of
// them (numpy.savez / savez_compressed). Here in data/ so the data readers can use it; io/npy.hpp
// adds the atomic file writer.
//
// Read: little- and big-endian bool, uint8, int8, int16, int32, int64, uint16, uint32, float16,
// float32, float64, in C or Fortran order. Ember's dtypes are f32, f64, i32, i64, u8, bool, so
// int8/int16/uint16 are widened to i32, uint32 to i64 and float16 to f32 (exact in every case).
// Refused with FormatError: object arrays (pickles — loading a file never runs code), structured
// dtypes, strings, complex numbers, uint64, and any header or size the bytes do not back up.
// Every declared size is checked against the file's length before anything is allocated.
//
// Write (npy_bytes): version 1.0 (2.0 when the header needs it), C order, little-endian, the header
// padded to a multiple of 64 bytes as numpy does. numpy.load reads it back as the same dtype and
// shape.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::data {

// IOError if the file cannot be read; FormatError (with the path and what was expected) otherwise.
Tensor load_npy(const std::string& path);
// The same from bytes in memory (`what` names them in errors): for fuzzing and for .npz members.
Tensor parse_npy(std::string_view bytes, const std::string& what = "npy data");

std::string npy_bytes(const Tensor& tensor);

// The arrays of an .npz file (a zip archive of .npy members), in the archive's order, named as
// numpy.load names them (the member name without its ".npy"). Members stored or deflated, with
// zip64 extra fields as numpy writes them. Every offset and size in the central directory and the
// local headers is checked against the file, and each member's CRC-32 against its bytes, before
// use; FormatError names the file, the member and the problem (encrypted or other compression
// methods included). IOError if the file cannot be read.
using NamedArrays = std::vector<std::pair<std::string, Tensor>>;
NamedArrays load_npz(const std::string& path);
NamedArrays parse_npz(std::string_view bytes, const std::string& what = "npz data");
// The array named `name` in `arrays`, or nullptr.
const Tensor* find_array(const NamedArrays& arrays, const std::string& name);

}  // namespace ember::data
