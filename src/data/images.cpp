#include "ember/data/images.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

// stb_image compiled here, its functions private to this file (no clash with another copy of stb in
// a program that links Ember).
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#define STBI_MAX_DIMENSIONS (1 << 20)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace ember::data {

Tensor read_image(const std::string& path, int channels) {
  if (channels != 0 && channels != 1 && channels != 3) {
    throw ValueError("read_image: channels must be 0 (as stored), 1 or 3, got " + std::to_string(channels));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path)) throw IOError("cannot open image '" + path + "'");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), {});
  if (bytes.size() > static_cast<std::size_t>(1) << 31) throw FormatError("image '" + path + "' is over 2 GiB");
  const int n = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes.data(), n, &w, &h, &c)) {
    throw FormatError("'" + path + "' is not an image Ember can read (" + stbi_failure_reason() +
                      "; expected PNG, JPEG, BMP, GIF, TGA or PNM)");
  }
  if (static_cast<int64_t>(w) * h > (int64_t{1} << 28)) {
    throw FormatError("image '" + path + "' declares " + std::to_string(w) + "x" + std::to_string(h) +
                      " pixels (over 2^28, refused before decoding)");
  }
  unsigned char* pixels = stbi_load_from_memory(bytes.data(), n, &w, &h, &c, channels);
  if (!pixels) throw FormatError("cannot decode image '" + path + "': " + stbi_failure_reason());
  const int out_c = channels ? channels : c;
  Tensor t = Tensor::empty({h, w, out_c}, u8);
  std::memcpy(t.data<uint8_t>(), pixels, static_cast<std::size_t>(h) * w * out_c);
  stbi_image_free(pixels);
  return t;
}

}  // namespace ember::data
