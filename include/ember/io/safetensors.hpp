#pragma once
// safetensors files (the Hugging Face format): an 8-byte little-endian header length N, N bytes of
// UTF-8 JSON mapping each tensor name to {dtype, shape, data_offsets} (plus an optional
// "__metadata__" object of strings), then the raw little-endian, row-major data. Opens in PyTorch /
// Hugging Face tooling and cannot execute code.
//
// Integrity: every file Ember writes carries one metadata entry, "ember.crc32c", whose value is a
// compact JSON object (as a string) of 8-lowercase-hex-digit CRC-32Cs (io/crc32c.hpp):
//   "__metadata__" (always first): the other metadata entries, each in key order as key length
//                                  (u64 little-endian), key, value length, value;
//   each tensor name (file order):  its data bytes, then its dtype name, rank and dimensions (u64
//                                  little-endian) — so a changed shape or dtype is caught too.
// A file that carries the entry has every tensor and the metadata verified on load; one flipped
// bit anywhere in such a file (header, padding or data) is a FormatError (tests/io). Files from
// other writers have no entry and load with the structural checks only.
#include <map>
#include <string>
#include <string_view>

#include "ember/core/tensor.hpp"

namespace ember::io {

using TensorMap = std::map<std::string, Tensor>;

// The metadata key of Ember's checksums (reserved: a caller's metadata may not use it).
inline constexpr std::string_view kSafetensorsCrcKey = "ember.crc32c";
// The reference implementation's limit on the JSON header, kept by the reader and the writer.
inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

// Writes atomically and durably (io/atomic_file.hpp), laid out as the reference writer does:
// "__metadata__" first, tensors sorted by dtype (descending, in the reference's order: I64, F64,
// F32, I32, U8, BOOL for Ember's dtypes) then by name, data in that order, the header padded with
// spaces to a multiple of 8 — so the same tensors and metadata give the same bytes. Metadata keys
// are written in sorted order. Throws ValueError for a tensor named "__metadata__", a metadata key
// "ember.crc32c", names or values that are not UTF-8, or a header over 100 MB; IOError on failure.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;  // without the "ember.crc32c" entry
  bool checksummed = false;                     // the file had "ember.crc32c" and all of it matched
};

// Reads and validates the file before allocating any tensor, with the reference implementation's
// checks: header length <= 100 MB and inside the file; header valid UTF-8 JSON beginning with '{';
// no duplicate keys in any object; metadata values strings; each tensor's dtype known, shape and
// offsets non-negative integers; element count and byte size computed with overflow checks;
// data_offsets, sorted, contiguous from 0 with no gap or overlap; byte count = elements × dtype
// size; the last tensor ends exactly at the end of the file. Then each tensor is read (and its
// CRC-32C checked when the file carries "ember.crc32c").
//
// dtypes: F32, F64, I32, I64, U8 and BOOL load as themselves (BOOL: any non-zero byte is true);
// F16 and BF16 load as f32, I8, I16 and U16 as i32, U32 as i64 (all exact). Other reference dtypes
// (U64, C64, F8_*, F4, F6_*) are refused with a FormatError naming the tensor.
//
// Throws IOError if the file cannot be opened or read, FormatError naming the path and the tensor,
// offset or size otherwise.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace ember::io
