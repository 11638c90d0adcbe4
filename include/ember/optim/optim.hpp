#pragma once
// Layer 6: optimizers, learning-rate schedules, gradient clipping, moving averages.
#include "ember/optim/clip.hpp"
#include "ember/optim/ema.hpp"
#include "ember/optim/optimizer.hpp"
#include "ember/optim/schedules.hpp"
