#pragma once
// Internal to train/: hands io/ the functions that write and read the compiled state of .h5 model
// files (training_config, /optimizer_weights; ember/io/keras_h5.hpp). training.cpp calls it during
// static initialisation, so any program that can compile a model also saves and restores it.
namespace ember::train::detail {
void register_keras_h5_training();
}
