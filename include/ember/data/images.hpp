#pragma once
// Image files (PNG, JPEG, BMP, GIF's first frame, TGA, PNM) decoded with stb_image.
#include <string>

#include "ember/core/tensor.hpp"

namespace ember::data {

// The image as u8 [H, W, C]; channels 0 keeps the file's own (1 grey, 2 grey+alpha, 3 RGB,
// 4 RGBA), 1 converts to grey, 3 to RGB. IOError if unreadable, FormatError (with stb's reason) if
// not a supported image, ValueError for other channel counts. Images over 2^28 pixels are refused
// before decoding (a small file can declare a huge image).
Tensor read_image(const std::string& path, int channels = 0);

}  // namespace ember::data
