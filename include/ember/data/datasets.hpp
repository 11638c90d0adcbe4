#pragma once
// Data sets named on the command line (DESIGN.md, "The ember command line").
#include <string>

#include "ember/data/idx.hpp"

namespace ember::data {

// "fashion-mnist" (Debian's dataset-fashion-mnist), "mnist:DIR" or "idx:DIR" (IDX files, gzipped
// or not). Other DESIGN.md forms (cifar10:DIR, image folders, CSV) are not implemented yet and
// give a ValueError saying so. Missing directories or files give IOError naming them.
TrainTestData load_dataset(const std::string& spec);

// Images as float32 in [0, 1] with a channel axis: u8 [N, H, W] -> f32 [N, H, W, 1]
// ([N, H, W, C] inputs keep their channels).
Tensor images_to_float(const Tensor& images);

}  // namespace ember::data
