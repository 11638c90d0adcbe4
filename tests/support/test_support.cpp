#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
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
  return rand(shape, {.low = low, .high = high, .dtype = f64, .generator = &g});
}

std::string tool_path() { return EMBER_TOOL_PATH; }
std::string source_dir() { return EMBER_SOURCE_DIR; }

double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += (a[i] - b[i]) * (a[i] - b[i]);
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return std::sqrt(d) / (std::sqrt(na) + std::sqrt(nb));
}

std::vector<double> numeric_gradient(const std::function<double()>& loss, std::vector<double>& p, double h) {
  std::vector<double> g(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double saved = p[i];
    p[i] = saved + h;
    const double lp = loss();
    p[i] = saved - h;
    const double lm = loss();
    p[i] = saved;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

ToolRun run_tool_command(const std::string& program_prefix, const std::string& args) {
  static int counter = 0;  // tests in one process run one at a time
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ember_tool_run_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  const std::string cmd = program_prefix + "'" + tool_path() + "' " + args + " >'" + (dir / "out").string() +
                          "' 2>'" + (dir / "err").string() + "' </dev/null";
  const int raw = std::system(cmd.c_str());
  ToolRun r;
  if (raw != -1 && WIFEXITED(raw)) r.status = WEXITSTATUS(raw);
  else if (raw != -1 && WIFSIGNALED(raw)) r.status = 128 + WTERMSIG(raw);
  r.out = read_file(dir / "out");
  r.err = read_file(dir / "err");
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace

ToolRun run_ember(const std::string& args) { return run_tool_command("", args); }

ToolRun run_ember_measuring_peak_rss(const std::string& args, long& peak_rss_kib) {
  ToolRun r = run_tool_command("'" + std::string(EMBER_PEAK_RSS_PATH) + "' ", args);
  // The helper's report is the last line of stderr; take it off so that r.err is the tool's alone.
  peak_rss_kib = -1;
  const std::string key = "peak_rss_kib ";
  const std::size_t at = r.err.rfind(key);
  if (at != std::string::npos && (at == 0 || r.err[at - 1] == '\n')) {
    peak_rss_kib = std::stol(r.err.substr(at + key.size()));
    r.err.erase(at);
  }
  return r;
}

namespace {

void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

void chunk(std::string& png, const char* type, const std::string& data) {
  put32(png, static_cast<uint32_t>(data.size()));
  std::string td = std::string(type, 4) + data;
  png += td;
  put32(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(td.data()), static_cast<uInt>(td.size()))));
}

void write_idx(const std::filesystem::path& path, unsigned char type, const std::vector<uint32_t>& dims,
               const std::vector<unsigned char>& data) {
  std::vector<unsigned char> b = {0, 0, type, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  }
  b.insert(b.end(), data.begin(), data.end());
  gzFile f = gzopen(path.string().c_str(), "wb");
  gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}

}  // namespace

std::filesystem::path make_idx_dir(const std::string& name, int n_train, int n_test, int label_max, int label_count_delta) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ember_cli_data_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::create_directories(dir);
  auto make = [&](const std::string& prefix, int n, int delta) {
    std::vector<unsigned char> images, labels;
    Generator g(static_cast<uint64_t>(n));
    for (int i = 0; i < n; ++i) {
      int label = static_cast<int>(g.below(static_cast<uint64_t>(label_max + 1)));
      labels.push_back(static_cast<unsigned char>(label));
      for (int r = 0; r < 28; ++r) {
        for (int c = 0; c < 28; ++c) {
          images.push_back(static_cast<unsigned char>(r == label * 2 ? 200 + g.below(50) : g.below(40)));
        }
      }
    }
    labels.resize(static_cast<std::size_t>(n + delta), 0);
    write_idx(dir / (prefix + "-images-idx3-ubyte.gz"), 0x08, {static_cast<uint32_t>(n), 28, 28}, images);
    write_idx(dir / (prefix + "-labels-idx1-ubyte.gz"), 0x08, {static_cast<uint32_t>(n + delta)}, labels);
  };
  make("train", n_train, label_count_delta);
  make("t10k", n_test, 0);
  return dir;
}


// An 8-bit PNG of colour type 0 (grey) or 2 (RGB), filter 0 on every row.
std::filesystem::path fresh_temp_dir(const std::string& name) {
  std::filesystem::path d = std::filesystem::temp_directory_path() / ("ember_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

void write_file(const std::filesystem::path& p, const std::string& bytes) {
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string make_png(int w, int h, int channels, const std::vector<unsigned char>& pixels) {
  std::string png("\x89PNG\r\n\x1a\n", 8), ihdr;
  put32(ihdr, static_cast<uint32_t>(w));
  put32(ihdr, static_cast<uint32_t>(h));
  ihdr += std::string{8, static_cast<char>(channels == 1 ? 0 : 2), 0, 0, 0};
  chunk(png, "IHDR", ihdr);
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw += '\0';
    raw.append(reinterpret_cast<const char*>(pixels.data()) + y * w * channels, static_cast<std::size_t>(w * channels));
  }
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  std::string z(n, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()));
  z.resize(n);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

}  // namespace ember::testing
