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
// Not written yet: training_config and /optimizer_weights (a compiled model is saved without its
// optimizer state; files that have them load, and those parts are ignored).
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

// The pieces, for files that hold a model inside a larger layout (checkpoints).
void save_weights_to_group(h5::Group group, nn::Model& model);
void load_weights_from_group(const h5::Group& group, nn::Model& model, const nn::LoadWeightsOptions& options = {});
// Keras's save_attributes_to_hdf5_group / load_attributes_from_hdf5_group. ValueError if one name
// alone exceeds the limit.
void save_name_list(h5::Attributes attrs, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> load_name_list(const h5::Attributes& attrs, const std::string& name);

}  // namespace ember::io
