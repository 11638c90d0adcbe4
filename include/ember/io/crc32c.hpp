#pragma once
// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF), the
// checksum of iSCSI (RFC 3720), ext4, Snappy and TensorFlow's TFRecord framing. One implementation
// for every Ember file format: safetensors integrity entries now, TensorBoard event files later.
// Uses the SSE4.2 crc32 instruction when the build targets it, a table otherwise (same results).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ember::io {

// CRC-32C of `size` bytes. crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, std::size_t size);
inline uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

// Continues a checksum over more bytes: crc32c_extend(crc32c(a), b) == crc32c(a + b), and
// crc32c_extend(0, x) == crc32c(x), so 0 is the checksum of nothing.
uint32_t crc32c_extend(uint32_t crc, const void* data, std::size_t size);

// TFRecord's masked form (a CRC of data that itself contains CRCs is weak, so TensorFlow rotates
// and offsets it): ((crc >> 15) | (crc << 17)) + 0xA282EAD8, and its inverse.
constexpr uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }
constexpr uint32_t crc32c_unmask(uint32_t masked) {
  const uint32_t rot = masked - 0xA282EAD8u;
  return (rot >> 17) | (rot << 15);
}

namespace detail {
// The table-driven version, whatever the build targets (so tests can compare both paths).
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, std::size_t size);
}  // namespace detail

}  // namespace ember::io
