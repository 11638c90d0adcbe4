#include <numeric>
#include <string>
#include <vector>

#include "ember/io/crc32c.hpp"
#include "test_support.hpp"

using namespace ember;

// Expected values: the CRC-32C check value ("123456789", as catalogued for CRC-32/ISCSI) and the
// worked examples of RFC 3720, appendix B.4.
TEST(Crc32c, MatchesTheCheckValueAndRfc3720Examples) {
  EXPECT_EQ(io::crc32c("123456789"), 0xE3069283u);
  std::vector<unsigned char> zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  std::iota(up.begin(), up.end(), 0);
  for (int i = 0; i < 32; ++i) down[static_cast<std::size_t>(i)] = static_cast<unsigned char>(31 - i);
  EXPECT_EQ(io::crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(io::crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(io::crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(io::crc32c(down.data(), 32), 0x113FDB5Cu);
  EXPECT_EQ(io::crc32c("", 0), 0u);
}

TEST(Crc32c, ExtendingEqualsOneCallAndBothImplementationsAgree) {
  std::string s;
  for (int i = 0; i < 1000; ++i) s += static_cast<char>((i * 131 + 7) % 251);
  for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    const uint32_t whole = io::crc32c(s);
    EXPECT_EQ(io::crc32c_extend(io::crc32c(s.data(), split), s.data() + split, s.size() - split), whole) << split;
  }
  // Every length and alignment near the 8-byte steps, hardware path against the table.
  for (std::size_t off = 0; off < 9; ++off) {
    for (std::size_t len = 0; len < 40; ++len) {
      EXPECT_EQ(io::crc32c(s.data() + off, len), io::detail::crc32c_extend_portable(0, s.data() + off, len)) << off << " " << len;
    }
  }
  EXPECT_EQ(io::detail::crc32c_extend_portable(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32c, TfRecordMaskIsInvertible) {
  for (uint32_t c : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu, 0x80000000u}) {
    EXPECT_EQ(io::crc32c_unmask(io::crc32c_mask(c)), c);
  }
  // The mask of TensorFlow's crc32c.h: rotate right by 15, add 0xa282ead8.
  EXPECT_EQ(io::crc32c_mask(0), 0xA282EAD8u);
  EXPECT_EQ(io::crc32c_mask(1u << 15), 0xA282EAD9u);
}
