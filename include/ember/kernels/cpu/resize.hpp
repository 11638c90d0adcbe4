#pragma once
// Raw-memory bilinear image resizing (layer 2: no Tensor), the semantics of
// tf.image.resize(method="bilinear", antialias=False), which Keras's image_dataset_from_directory
// uses: half-pixel centres, so output pixel (y, x) samples the input at
// ((y + 0.5) * in_h / out_h - 0.5, (x + 0.5) * in_w / out_w - 0.5), with coordinates below 0
// taken as 0 and neighbours past the last row/column taken as the last one. PyTorch's
// F.interpolate(mode="bilinear", align_corners=False, antialias=False) is the same map; no
// antialiasing when shrinking (as both with antialias off).
//
// Contracts: src is dense HWC [in_h, in_w, channels], dst dense HWC [out_h, out_w, channels] f32,
// not aliasing src; every size >= 1 (the caller checks). Weights are computed in float, as PyTorch
// does for float images. Instantiated for uint8_t and float sources.
#include <cstdint>

namespace ember::kernels::cpu {

struct ResizeGeometry {
  int64_t in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
};

template <typename T>
void resize_bilinear(const T* src, float* dst, const ResizeGeometry& g);

}  // namespace ember::kernels::cpu
