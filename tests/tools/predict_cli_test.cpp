// `ember predict` end to end: a Dense model whose weights the test chooses, inputs as .npy /
// .safetensors / a PNG image, outputs as .npy / CSV / printed top-k — expected values computed here
// from the weights (x·W + b, softmax), not taken from Ember's output. Plus the error contract.
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/io/npy.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/config.hpp"
#include "ember/train/saver.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;
using ember::testing::run_ember;

namespace {

// Dense 4 -> 3 with W[i][j] = (i + 1) * (j - 1) / 4 and b = {0.5, 0, -0.5}.
double weight(int i, int j) { return (i + 1) * (j - 1) / 4.0; }
const double kBias[3] = {0.5, 0, -0.5};

fs::path make_model_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("ember_predict_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "model.json")
      << R"({"class_name": "Sequential", "config": {"name": "sequential", "layers": [)"
         R"({"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "dtype": "float32", "name": "input_1"}},)"
         R"({"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "linear", "use_bias": true}}]}})";
  Tensor w = Tensor::empty({4, 3}, f32), b = Tensor::empty({3}, f32);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) w.data<float>()[i * 3 + j] = static_cast<float>(weight(i, j));
  }
  for (int j = 0; j < 3; ++j) b.data<float>()[j] = static_cast<float>(kBias[j]);
  io::save_safetensors((dir / "model.safetensors").string(), {{"dense/kernel", w}, {"dense/bias", b}});
  return dir;
}

Tensor inputs() {
  Tensor x = Tensor::empty({2, 4}, f32);
  const float v[8] = {1, 0, 0, 0, 0.5f, -1, 2, 0.25f};
  std::copy(v, v + 8, x.data<float>());
  return x;
}

double expected(const Tensor& x, int n, int j) {
  double s = kBias[j];
  for (int i = 0; i < 4; ++i) s += x.data<float>()[n * 4 + i] * weight(i, j);
  return s;
}

}  // namespace

TEST(PredictCli, WritesNpyAndCsvFromNpyInput) {
  fs::path dir = make_model_dir("npy");
  Tensor x = inputs();
  io::save_npy((dir / "x.npy").string(), x);
  auto r = run_ember("predict --model " + dir.string() + " --input " + (dir / "x.npy").string() + " --output " +
                     (dir / "y.npy").string());
  ASSERT_EQ(r.status, 0) << r.err;
  Tensor y = io::load_npy((dir / "y.npy").string());
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  for (int n = 0; n < 2; ++n) {
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(y.data<float>()[n * 3 + j], expected(x, n, j), 1e-6) << n << "," << j;
  }
  r = run_ember("predict --model " + (dir / "model.json").string() + " --input " + (dir / "x.npy").string() +
                " --output " + (dir / "y.csv").string());
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream csv(dir / "y.csv");
  std::string header, row;
  std::getline(csv, header);
  EXPECT_EQ(header, "y0,y1,y2");
  for (int n = 0; n < 2; ++n) {
    ASSERT_TRUE(std::getline(csv, row));
    std::stringstream cells(row);
    std::string cell;
    for (int j = 0; j < 3; ++j) {
      ASSERT_TRUE(std::getline(cells, cell, ','));
      EXPECT_NEAR(std::stod(cell), expected(x, n, j), 1e-6);
    }
  }
  fs::remove_all(dir);
}

TEST(PredictCli, PrintsTopKWithSoftmaxProbabilities) {
  fs::path dir = make_model_dir("topk");
  Tensor x = inputs();
  io::save_safetensors((dir / "x.safetensors").string(), {{"batch", x}});
  auto r = run_ember("predict --model " + (dir / "model.safetensors").string() + " --input " +
                     (dir / "x.safetensors").string() + " --top-k 2");
  ASSERT_EQ(r.status, 0) << r.err;
  std::stringstream out(r.out);
  for (int n = 0; n < 2; ++n) {
    double logits[3], z = 0;
    for (int j = 0; j < 3; ++j) z += std::exp(logits[j] = expected(x, n, j));
    int best = 0, second = -1;
    for (int j = 1; j < 3; ++j) best = logits[j] > logits[best] ? j : best;
    for (int j = 0; j < 3; ++j) second = j != best && (second < 0 || logits[j] > logits[second]) ? j : second;
    char want[160];
    std::snprintf(want, sizeof want, "%d: %d (%.4f), %d (%.4f)", n, best, std::exp(logits[best]) / z, second,
                  std::exp(logits[second]) / z);
    std::string line;
    ASSERT_TRUE(std::getline(out, line));
    EXPECT_EQ(line, want);
  }
  fs::remove_all(dir);
}

TEST(PredictCli, BadInputsAreOneLineErrors) {
  fs::path dir = make_model_dir("bad");
  io::save_npy((dir / "x.npy").string(), inputs());
  io::save_npy((dir / "wrong.npy").string(), zeros({2, 5}, f32));
  const std::string m = " --model " + dir.string();
  struct Case {
    std::string args;
    int status;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"predict" + m + " --input " + (dir / "missing.npy").string(), 1, "missing.npy"},
           {"predict --model " + (dir / "nope").string() + " --input " + (dir / "x.npy").string(), 1, "nope"},
           {"predict" + m + " --input " + (dir / "wrong.npy").string(), 1, "5"},
           {"predict" + m + " --input " + (dir / "model.json").string(), 1, ".npy"},
           {"predict" + m + " --input " + (dir / "x.npy").string() + " --output " + (dir / "y.txt").string(), 2, ".csv"},
           {"predict" + m + " --input " + (dir / "x.npy").string() + " --top-k 0", 2, "top-k"},
           {"predict" + m, 2, "input"},
       }) {
    SCOPED_TRACE(c.args);
    auto r = run_ember(c.args);
    EXPECT_EQ(r.status, c.status) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "y.txt"));
  fs::remove_all(dir);
}

// The same model as a Keras .h5 file, as a checkpoint directory and as a checkpoint path; inputs
// from an HDF5 dataset. Every route gives the outputs computed from the weights.
TEST(PredictCli, ReadsH5ModelsCheckpointsAndH5Inputs) {
  fs::path dir = make_model_dir("routes");
  auto model = nn::model_from_json_file((dir / "model.json").string());
  model->load_weights((dir / "model.safetensors").string());
  model->save((dir / "m.h5").string());
  fs::create_directories(dir / "ck");
  fs::copy_file(dir / "model.json", dir / "ck" / "model.json");
  train::Saver saver;
  saver.save(*model, (dir / "ck" / "ckpt").string(), 7);
  Tensor x = inputs();
  io::save_npy((dir / "x.npy").string(), x);
  {
    std::ofstream py(dir / "to_h5.py");
    py << "import h5py, numpy as np, sys\n"
          "with h5py.File(sys.argv[2], 'w') as f: f.create_dataset('batch/x', data=np.load(sys.argv[1]))\n";
  }
  const std::string cmd = "/usr/bin/python3 " + (dir / "to_h5.py").string() + " " + (dir / "x.npy").string() + " " +
                          (dir / "x.h5").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::vector<std::pair<std::string, std::string>> routes = {
      {(dir / "m.h5").string(), (dir / "x.npy").string()},
      {(dir / "ck").string(), (dir / "x.h5").string()},
      {(dir / "ck" / "ckpt-7").string(), (dir / "x.h5:/batch/x").string()},
  };
  for (const auto& [m, in] : routes) {
    SCOPED_TRACE(m + " " + in);
    fs::remove(dir / "y.npy");
    auto r = run_ember("predict --model " + m + " --input " + in + " --output " + (dir / "y.npy").string());
    ASSERT_EQ(r.status, 0) << r.err;
    Tensor y = io::load_npy((dir / "y.npy").string());
    ASSERT_EQ(y.shape(), (Shape{2, 3}));
    for (int n = 0; n < 2; ++n) {
      for (int j = 0; j < 3; ++j) EXPECT_NEAR(y.data<float>()[n * 3 + j], expected(x, n, j), 1e-6);
    }
  }
  fs::remove_all(dir);
}
