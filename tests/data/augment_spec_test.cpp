// `--augment SPEC` parsing (data/augment_spec.hpp): each item sets the Keras option it names.
#include <gtest/gtest.h>

#include "ember/core/error.hpp"
#include "ember/data/augment_spec.hpp"

using namespace ember;
using namespace ember::data;

TEST(AugmentSpec, EachItemSetsItsKerasOption) {
  ImageDataGeneratorOptions o = augmentation_from_spec("flip,rotate=15,shift=0.1,zoom=0.2");
  EXPECT_TRUE(o.horizontal_flip);
  EXPECT_FALSE(o.vertical_flip);
  EXPECT_EQ(o.rotation_range, 15);
  EXPECT_EQ(o.width_shift_range, 0.1);
  EXPECT_EQ(o.height_shift_range, 0.1);
  EXPECT_DOUBLE_EQ(o.zoom_range.lower, 0.8);
  EXPECT_DOUBLE_EQ(o.zoom_range.upper, 1.2);

  o = augmentation_from_spec("vflip,wshift=3,hshift=0.25,shear=8,brightness=0.5,channel_shift=20,fill=wrap,cval=0.5");
  EXPECT_FALSE(o.horizontal_flip);
  EXPECT_TRUE(o.vertical_flip);
  EXPECT_EQ(o.width_shift_range, ShiftRange(3));  // digits only: Keras's int (whole pixels)
  EXPECT_EQ(o.width_shift_range.kind, ShiftRange::Kind::Integer);
  EXPECT_EQ(o.height_shift_range, 0.25);
  EXPECT_EQ(o.shear_range, 8);
  ASSERT_TRUE(o.brightness_range.has_value());
  EXPECT_EQ((*o.brightness_range)[0], 0.5);
  EXPECT_EQ((*o.brightness_range)[1], 1.5);
  EXPECT_EQ(o.channel_shift_range, 20);
  EXPECT_EQ(o.fill_mode, FillMode::Wrap);
  EXPECT_EQ(o.cval, 0.5);

  // Untouched options keep Keras's defaults.
  o = augmentation_from_spec("hflip");
  EXPECT_TRUE(o.horizontal_flip);
  EXPECT_EQ(o.rotation_range, 0);
  EXPECT_EQ(o.fill_mode, FillMode::Nearest);
  EXPECT_DOUBLE_EQ(o.zoom_range.lower, 1.0);
  EXPECT_EQ(o.erasing_probability, 0);
  o = augmentation_from_spec("flip,erase=0.5");
  EXPECT_EQ(o.erasing_probability, 0.5);
  EXPECT_EQ(o.erasing_scale[0], 0.02);  // torchvision's RandomErasing defaults
  EXPECT_EQ(o.erasing_scale[1], 0.33);
  EXPECT_EQ(o.erasing_value, 0);
  o = augmentation_from_spec("shift=2.0");  // a float: U(-2, 2) pixels
  EXPECT_EQ(o.width_shift_range.kind, ShiftRange::Kind::Uniform);
  EXPECT_EQ(o.height_shift_range.range, 2.0);
}

TEST(AugmentSpec, BadItemsAreValueErrorsNamingThem) {
  auto message = [](const std::string& spec) {
    try {
      augmentation_from_spec(spec);
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("flip,spin=3").find("unknown item 'spin'"), std::string::npos);
  EXPECT_NE(message("rotate").find("'rotate' needs a value"), std::string::npos);
  EXPECT_NE(message("rotate=1x").find("expects a number, got '1x'"), std::string::npos);
  EXPECT_NE(message("shift=-0.1").find("must be >= 0"), std::string::npos);
  EXPECT_NE(message("zoom=1").find("zoom must be below 1"), std::string::npos);
  EXPECT_NE(message("brightness=2").find("brightness must be below 1"), std::string::npos);
  EXPECT_NE(message("erase=2").find("erase is a probability in [0, 1]"), std::string::npos);
  EXPECT_NE(message("flip=yes").find("takes no value"), std::string::npos);
  EXPECT_NE(message("fill=mirror").find("nearest, constant, reflect or wrap"), std::string::npos);
  EXPECT_NE(message("flip,,zoom=0.1").find("empty item"), std::string::npos);
  EXPECT_NE(message("").find("expected a list"), std::string::npos);
  EXPECT_NE(message("rotate=nan").find("expects a number"), std::string::npos);
}
