#include "test_support.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

namespace ember::testing {

const Tensor& FixtureCase::at(const std::string& key) const {
  auto it = tensors.find(key);
  if (it == tensors.end()) throw ValueError("fixture case " + name + " has no tensor '" + key + "'");
  return it->second;
}

std::vector<FixtureCase> load_fixture(const std::string& file) {
  std::string path = std::string(EMBER_FIXTURE_DIR) + "/" + file;
  std::ifstream in(path);
  if (!in) throw IOError("cannot open fixture " + path);
  nlohmann::json j = nlohmann::json::parse(in);
  std::vector<FixtureCase> cases;
  for (const auto& c : j.at("cases")) {
    FixtureCase fc;
    fc.name = c.at("name").get<std::string>();
    fc.attrs = c.value("attrs", nlohmann::json::object());
    for (const auto& [key, t] : c.at("tensors").items()) {
      Shape shape = t.at("shape").get<Shape>();
      std::vector<double> data = t.at("data").get<std::vector<double>>();
      fc.tensors[key] = from_vector(data, shape, f64);
    }
    cases.push_back(std::move(fc));
  }
  return cases;
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << to_string(actual.shape()) << " != expected "
                                         << to_string(expected.shape());
  }
  std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double worst = 0;
  std::size_t wi = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    double err = std::abs(a[i] - e[i]) / (atol + rtol * std::abs(e[i]));
    if (std::isnan(a[i]) != std::isnan(e[i])) err = INFINITY;
    if (err > worst) { worst = err; wi = i; }
  }
  if (worst <= 1.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << wi << ": got " << a[wi] << ", expected " << e[wi]
                                       << " (rtol " << rtol << ", atol " << atol << ")";
}

::testing::AssertionResult gradcheck_ok(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                        const std::vector<Tensor>& inputs, double tol) {
  GradcheckResult r = gradcheck(f, inputs, {.eps = 1e-6, .tol = tol});
  if (r.passed) return ::testing::AssertionSuccess() << r.message;
  return ::testing::AssertionFailure() << r.message;
}

Tensor random_f64(const Shape& shape, uint64_t seed, double low, double high) {
  Generator g(seed);
  return rand(shape, f64, &g, low, high);
}

std::string tool_path() { return EMBER_TOOL_PATH; }
std::string source_dir() { return EMBER_SOURCE_DIR; }

}  // namespace ember::testing
