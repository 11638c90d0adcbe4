#include "ember/data/augment_spec.hpp"

#include <cmath>
#include <cstdlib>
#include <string_view>

#include "ember/core/error.hpp"

namespace ember::data {

namespace {

struct Item {
  std::string name;
  std::string value;
  bool has_value = false;
};

Item split_item(std::string_view text) {
  Item item;
  std::size_t eq = text.find('=');
  item.name = std::string(text.substr(0, eq));
  if (eq != std::string_view::npos) {
    item.has_value = true;
    item.value = std::string(text.substr(eq + 1));
  }
  return item;
}

double number(const Item& item, const std::string& spec) {
  if (!item.has_value || item.value.empty()) {
    throw ValueError("augmentation '" + spec + "': '" + item.name + "' needs a value, e.g. " + item.name + "=0.1");
  }
  char* end = nullptr;
  double v = std::strtod(item.value.c_str(), &end);
  if (end != item.value.c_str() + item.value.size() || !std::isfinite(v)) {
    throw ValueError("augmentation '" + spec + "': " + item.name + " expects a number, got '" + item.value + "'");
  }
  if (v < 0) throw ValueError("augmentation '" + spec + "': " + item.name + " must be >= 0, got " + item.value);
  return v;
}

// shift values keep Keras's type distinction: "2" (digits only) is an int — whole-pixel shifts
// of -1, 0 or +1 — while "2.0" or "0.1" is a float range.
ShiftRange shift_range(const Item& item, const std::string& spec) {
  const double v = number(item, spec);
  const bool digits_only = item.value.find_first_not_of("0123456789") == std::string::npos;
  if (digits_only && v <= 1e6) return ShiftRange(static_cast<int>(v));
  return ShiftRange(v);
}

void no_value(const Item& item, const std::string& spec) {
  if (item.has_value) throw ValueError("augmentation '" + spec + "': '" + item.name + "' takes no value, got '=" + item.value + "'");
}

}  // namespace

ImageDataGeneratorOptions augmentation_from_spec(const std::string& spec) {
  if (spec.empty()) throw ValueError("augmentation: expected a list such as flip,rotate=15,shift=0.1,zoom=0.1, got ''");
  ImageDataGeneratorOptions o;
  std::string_view rest = spec;
  while (true) {
    std::size_t comma = rest.find(',');
    std::string_view text = rest.substr(0, comma);
    if (text.empty()) throw ValueError("augmentation '" + spec + "': empty item");
    Item item = split_item(text);
    const std::string& n = item.name;
    if (n == "flip" || n == "hflip") {
      no_value(item, spec);
      o.horizontal_flip = true;
    } else if (n == "vflip") {
      no_value(item, spec);
      o.vertical_flip = true;
    } else if (n == "rotate") {
      o.rotation_range = number(item, spec);
    } else if (n == "shift") {
      o.width_shift_range = o.height_shift_range = shift_range(item, spec);
    } else if (n == "wshift") {
      o.width_shift_range = shift_range(item, spec);
    } else if (n == "hshift") {
      o.height_shift_range = shift_range(item, spec);
    } else if (n == "zoom") {
      double z = number(item, spec);
      if (z >= 1) throw ValueError("augmentation '" + spec + "': zoom must be below 1 (the range is [1-z, 1+z]), got " + item.value);
      o.zoom_range = ZoomRange(z);
    } else if (n == "shear") {
      o.shear_range = number(item, spec);
    } else if (n == "brightness") {
      double b = number(item, spec);
      if (b >= 1) throw ValueError("augmentation '" + spec + "': brightness must be below 1 (the factor is in [1-b, 1+b]), got " + item.value);
      o.brightness_range = std::array<double, 2>{1 - b, 1 + b};
    } else if (n == "channel_shift") {
      o.channel_shift_range = number(item, spec);
    } else if (n == "erase") {
      double e = number(item, spec);
      if (e > 1) throw ValueError("augmentation '" + spec + "': erase is a probability in [0, 1], got " + item.value);
      o.erasing_probability = e;
    } else if (n == "cval") {
      o.cval = number(item, spec);
    } else if (n == "fill") {
      if (item.value == "nearest") o.fill_mode = FillMode::Nearest;
      else if (item.value == "constant") o.fill_mode = FillMode::Constant;
      else if (item.value == "reflect") o.fill_mode = FillMode::Reflect;
      else if (item.value == "wrap") o.fill_mode = FillMode::Wrap;
      else throw ValueError("augmentation '" + spec + "': fill expects nearest, constant, reflect or wrap, got '" + item.value + "'");
    } else {
      throw ValueError("augmentation '" + spec + "': unknown item '" + n +
                       "' (expected flip, vflip, rotate=, shift=, wshift=, hshift=, zoom=, shear=, brightness=, channel_shift=, erase=, fill=, cval=)");
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return o;
}

}  // namespace ember::data
