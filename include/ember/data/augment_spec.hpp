#pragma once
// `ember train --augment SPEC`: an ImageDataGenerator configuration written as a comma-separated
// list, e.g. "flip,rotate=15,shift=0.1,zoom=0.1".
#include <string>

#include "ember/data/image_data_generator.hpp"

namespace ember::data {

// Items (Keras option in brackets):
//   flip | hflip          horizontal flips            (horizontal_flip)
//   vflip                 vertical flips              (vertical_flip)
//   rotate=DEG            rotation in [-DEG, DEG]     (rotation_range)
//   shift=F               width and height shift      (width_shift_range, height_shift_range)
//   wshift=F, hshift=F    one of them                 (F < 1: fraction of the size, else pixels;
//                         digits only, e.g. shift=3, is Keras's int: whole pixels in -2..2)
//   zoom=Z                zoom in [1-Z, 1+Z]          (zoom_range)
//   shear=DEG             shear angle                 (shear_range)
//   brightness=B          factor in [1-B, 1+B]        (brightness_range)
//   channel_shift=V       intensity shift in [-V, V]  (channel_shift_range)
//   erase=P               random erasing with probability P, torchvision's defaults otherwise
//                         (erasing_probability; not a Keras option)
//   fill=MODE             nearest (default), constant, reflect, wrap   (fill_mode)
//   cval=V                the constant fill value      (cval)
// ValueError naming the item for an unknown name, a missing or extra value, a value that is not a
// number, or one out of range (negative ranges, zoom >= 1, brightness >= 1, erase > 1). An empty SPEC is
// refused too (it would silently mean no augmentation).
ImageDataGeneratorOptions augmentation_from_spec(const std::string& spec);

}  // namespace ember::data
