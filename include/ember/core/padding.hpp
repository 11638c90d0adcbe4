#pragma once
// TensorFlow padding modes for sliding windows (convolution and pooling). A core vocabulary type:
// kernels take it in their geometry builders, ops and layers in their options, so no layer has to
// include a kernel header to name it.
//
// VALID: no padding, out = ceil((in - (k-1)*dilation) / stride).
// SAME: out = ceil(in / stride); the total padding max((out-1)*stride + (k-1)*dilation + 1 - in, 0) is
// split pad_before = total/2, pad_after = total - pad_before (the extra one goes bottom/right — where
// PyTorch would differ, TensorFlow is followed).
namespace ember {

enum class Padding { Valid, Same };

}  // namespace ember
