#pragma once
// Keras 2 HDF5 model files (keras/saving/legacy/hdf5_format.py's layout), on io::h5.
//
// A saved model (Model::save, save_model_h5) holds:
//   root attributes  keras_version ("2.13.1"), backend ("tensorflow") as str; model_config, the
//                    Keras JSON {"class_name", "config"}, as UTF-8 bytes (vlen, as Keras's encode())
//   /model_weights   attributes layer_names (every layer of model.layers, in order), backend,
//                    keras_version; one group per layer (also for layers without weights) with the
//                    attribute weight_names ("dense/kernel:0", ...: trainable weights first, then
//                    non-trainable; an empty list stored as Keras stores it, an empty float64 array)
//                    and the datasets /model_weights/<layer>/<layer>/<weight>:0.
// A weights file (save_weights_h5) is the /model_weights part at the file's root.
//
// Lists of names are fixed-length byte-string arrays (numpy 'S'); a list over HDF5's object-header
// limit (64512 bytes, Keras's HDF5_OBJECT_HEADER_LIMIT) is split into attributes name0, name1, ...
// as np.array_split does, and read back either way.
//
// A compiled model also gets, as Keras 2 writes them:
//   root attribute   training_config, JSON {"loss", "metrics", "weighted_metrics", "loss_weights",
//                    "optimizer_config": {"class_name", "config"}} as UTF-8 bytes
//   /optimizer_weights  attribute weight_names ("Adam/iter:0", then the slots "Adam/dense/kernel/m:0",
//                    ...: Keras 2's variable names) and one dataset per name (nested groups, as h5py
//                    makes of the slashes).
// (Not for an optimizer on a learning-rate schedule: Ember writes no schedule config yet, so such a
// model is saved uncompiled.) load_model_h5 compiles the model from training_config and restores the optimizer's iteration
// count and slots, so fit() continues as if never stopped. Both parts belong to train/ (above io/):
// train/ registers them as KerasH5TrainingHooks (src/train/keras_h5_training.cpp); without train/
// linked in, compiled state is neither written nor read.
//
// Loading never runs code: Lambda layers (and TFOpLambda / SlicingOpLambda) are refused with a
// FormatError naming the layer. Errors name the file, the object and what was expected.
#include <memory>
#include <string>
#include <vector>

#include "ember/io/hdf5.hpp"
#include "ember/nn/model.hpp"

namespace ember::io {

// Keras's HDF5_OBJECT_HEADER_LIMIT: the byte size above which a name list is split.
inline constexpr std::size_t kKerasAttributeLimit = 64512;

void save_model_h5(nn::Model& model, const std::string& path);
std::shared_ptr<nn::Model> load_model_h5(const std::string& path);
// The architecture only (model_config), freshly initialised: nothing of model_weights is read.
std::shared_ptr<nn::Model> load_model_config_h5(const std::string& path);
void save_weights_h5(nn::Model& model, const std::string& path);
void load_weights_h5(nn::Model& model, const std::string& path, const nn::LoadWeightsOptions& options = {});

// The compiled state of a .h5 model file, written and read by train/ (the layer that owns
// compile()); see above. save: called by save_model_h5 with the open file, does nothing for an
// uncompiled model. load: called by load_model_h5 after the weights are in, does nothing for a file
// without training_config; FormatError naming the file for a training_config or optimizer weights
// it cannot use.
struct KerasH5TrainingHooks {
  void (*save)(h5::File& file, nn::Model& model) = nullptr;
  void (*load)(const h5::File& file, nn::Model& model) = nullptr;
};
void set_keras_h5_training_hooks(KerasH5TrainingHooks hooks);

// The pieces, for files that hold a model inside a larger layout (checkpoints).
void save_weights_to_group(h5::Group group, nn::Model& model);
void load_weights_from_group(const h5::Group& group, nn::Model& model, const nn::LoadWeightsOptions& options = {});
// Keras's save_attributes_to_hdf5_group / load_attributes_from_hdf5_group. ValueError if one name
// alone exceeds the limit.
void save_name_list(h5::Attributes attrs, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> load_name_list(const h5::Attributes& attrs, const std::string& name);

}  // namespace ember::io
