#pragma once
// CIFAR-10 and CIFAR-100 in their "binary version" (the *-binary.tar.gz archives, unpacked).
// CIFAR-10 records are 3073 bytes: the label, then 1024 red, 1024 green and 1024 blue bytes of a
// 32x32 image in row order. CIFAR-100 records are 3074 bytes: the coarse label, the fine label,
// then the same 3072 pixel bytes. Images come back NHWC u8 [N, 32, 32, 3], as Keras's
// cifar10.load_data() gives them.
#include <string>
#include <string_view>

#include "ember/data/idx.hpp"

namespace ember::data {

struct CifarBatch {
  Tensor images;         // u8 [N, 32, 32, 3]
  Tensor labels;         // u8 [N]: CIFAR-10's label, or CIFAR-100's fine label
  Tensor coarse_labels;  // u8 [N]: CIFAR-100 only (undefined for CIFAR-10)
};

enum class CifarKind { Cifar10, Cifar100 };

// One batch file. FormatError naming the file if its size is not a whole number of records (the
// size is checked before anything is allocated) or a label is out of range (>= 10 for CIFAR-10,
// coarse >= 20 or fine >= 100 for CIFAR-100), with the record number and byte offset; IOError if
// it cannot be read.
CifarBatch read_cifar_batch(const std::string& path, CifarKind kind = CifarKind::Cifar10);
// The same on bytes in memory (`what` names them in errors): for fuzzing.
CifarBatch parse_cifar_batch(std::string_view bytes, CifarKind kind, const std::string& what);

namespace cifar10 {
// data_batch_1.bin .. data_batch_5.bin (train, 50000 images) and test_batch.bin from `dir` (the
// cifar-10-batches-bin folder). IOError naming the directory and the missing file.
TrainTestData load_data(const std::string& dir);
}  // namespace cifar10

namespace cifar100 {
enum class LabelMode { Fine, Coarse };
// train.bin and test.bin from `dir` (the cifar-100-binary folder); labels fine (100 classes) or
// coarse (20), as keras.datasets.cifar100.load_data(label_mode=...).
TrainTestData load_data(const std::string& dir, LabelMode label_mode = LabelMode::Fine);
}  // namespace cifar100

}  // namespace ember::data
