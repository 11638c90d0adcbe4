#pragma once
// PyTorch-layout weights (Model::save_weights / load_weights with {.layout = WeightLayout::torch}):
// a .safetensors file that PyTorch loads with
//     model.load_state_dict(safetensors.torch.load_file("w.safetensors"))   # strict
// into the equivalent torch.nn model whose submodules are named like the Keras layers
// (torch.nn.ModuleDict or setattr(module, "<layer name>", ...)). Per layer, in model.layers order:
//
//   Keras layer          Ember weight (layout)                 state_dict entry (layout)
//   Dense                <l>/kernel [in, out]                  <l>.weight [out, in]  (transposed)
//                        <l>/bias [out]                        <l>.bias [out]
//   Conv2D               <l>/kernel [kh, kw, in, out] (HWIO)   <l>.weight [out, in, kh, kw] (OIHW)
//                        <l>/bias [out]                        <l>.bias [out]
//   BatchNormalization   <l>/gamma, <l>/beta                   <l>.weight, <l>.bias
//                        <l>/moving_mean, moving_variance      <l>.running_mean, <l>.running_var
//                        (none)                                <l>.num_batches_tracked (int64 0-d,
//                                                              written as 0, ignored on reading)
//   layers without weights (Input, Flatten, Activation, Dropout, pooling, ...): nothing
//   any other layer with weights (LSTM, Embedding, nested models, ...): ValueError naming it
//
// What the torch model has to match (not checked by the file, documented for its author):
//   - BatchNormalization: Keras's epsilon is 1e-3, torch's default 1e-5: build
//     torch.nn.BatchNorm2d(c, eps=1e-3) (and momentum = 1 - keras momentum for training).
//   - Conv2D padding "same": torch's padding="same" (stride 1) or explicit padding.
//   - Ember's images are NHWC, torch's NCHW: the torch model gets x.permute(0, 3, 1, 2). A Dense
//     after a Flatten of NHWC data was trained on the NHWC order, so the torch model flattens
//     in that order too: x.permute(0, 2, 3, 1).flatten(1) before the Linear.
//
// Names are the layer names as they are ("conv2d_1.weight"); a layer name containing '.' is refused
// (torch module names cannot hold one). Reading is strict like load_state_dict(strict=True): every
// expected tensor present with the torch shape and a floating type, no unexpected tensor (apart
// from num_batches_tracked); FormatError naming the tensor otherwise.
#include <string>

#include "ember/io/safetensors.hpp"
#include "ember/nn/model.hpp"

namespace ember::io {

// The state_dict of `model` (materialises its weights). ValueError for an unmapped layer.
TensorMap torch_state_dict(nn::Model& model);
// Assigns a state_dict to `model` (nothing is assigned unless everything fits). `path` names the
// source in errors.
void load_torch_state_dict(nn::Model& model, const TensorMap& tensors, const std::string& path);

void save_weights_torch(nn::Model& model, const std::string& path);
void load_weights_torch(nn::Model& model, const std::string& path);

}  // namespace ember::io
