// The CNN equivalence of cnn_equivalence_test.cpp at the notes' sizes: 28x28x1 inputs, conv
// 5x5x1x32 and 5x5x32x64, dense 7*7*64 -> 1024, 10 classes, batches of 32, 50 Adam steps with
// keep_prob 0.5. Its own executable (label slow): tens of seconds on a loaded 2-core machine.
#define EMBER_CNN_FULL_SIZE
#include "cnn_equivalence_test.cpp"

TEST(GraphEquivalence, NotesSizeCnnWithDropoutBitIdenticalToEagerOver50Steps) {
  check_cnn_equivalence({.batch = 32, .size = 28, .c1 = 32, .c2 = 64, .dense = 1024});
}
