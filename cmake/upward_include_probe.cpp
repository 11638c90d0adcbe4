// Deliberately wrong: an ops-layer file that includes an nn header (a layer above ops). The CTest
// layering.upward_include_fails builds this with the ops layer's include roots and passes only if
// the compiler cannot find the header — the layer table is enforced by the build.
#include "ember/nn/layer.hpp"
