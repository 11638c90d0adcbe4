// One SGD step on an embedding table, with the gradient held as rows (ops::embedding_lookup, what
// nn::Embedding uses) against the dense path (gather: a [V, D] scatter-add gradient and a [V, D]
// update). The loss is sum(lookup * c), so the rest of the step is the same in both.
//
//   build/bench/bench_embedding_sparse [V D batch steps threads]     (default 50000 128 1024 50 1)
//   bench/embedding_sparse.sh                                        (this and PyTorch side by side)
//
// Prints the median step time of each path; the peer is bench/embedding_sparse.py (torch.nn.Embedding
// with sparse=True / False and torch.optim.SGD).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ember/ember.hpp"

namespace {

using namespace ember;

double median_step_ms(bool rows, int64_t V, int64_t D, int64_t batch, int steps) {
  Generator gen(1);
  Tensor table = randn({V, D}, {.generator = &gen}).mul(0.01).requires_grad_();
  Tensor c = randn({batch, D}, {.generator = &gen});
  optim::SGD sgd({.learning_rate = 0.01});
  optim::NamedParams params = {{"embeddings", table}};
  std::vector<double> ms;
  for (int s = 0; s < steps + 3; ++s) {
    std::vector<int64_t> idx(static_cast<std::size_t>(batch));
    for (auto& i : idx) i = static_cast<int64_t>(gen.below(static_cast<uint64_t>(V)));
    Tensor ids = from_vector(idx, {batch});
    const auto t0 = std::chrono::steady_clock::now();
    Tensor out = rows ? embedding_lookup(table, ids) : gather(table, ids, 0);
    sum(out * c).backward();
    sgd.step(params);
    table.zero_grad();
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (s >= 3) ms.push_back(t);  // the first steps warm the allocator
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, long long def) { return argc > i ? std::atoll(argv[i]) : def; };
  const int64_t V = arg(1, 50000), D = arg(2, 128), batch = arg(3, 1024);
  const int steps = static_cast<int>(arg(4, 50));
  ember::set_num_threads(static_cast<int>(arg(5, 1)));
  if (V < 1 || D < 1 || batch < 1 || steps < 1) {
    std::fprintf(stderr, "usage: bench_embedding_sparse [V D batch steps threads] (all >= 1)\n");
    return 2;
  }
  const double dense = median_step_ms(false, V, D, batch, steps);
  const double rows = median_step_ms(true, V, D, batch, steps);
  std::printf("embedding SGD step, V=%lld D=%lld batch=%lld, threads=%lld, median of %d steps\n",
              static_cast<long long>(V), static_cast<long long>(D), static_cast<long long>(batch), arg(5, 1), steps);
  std::printf("ember dense (gather):              %8.3f ms\n", dense);
  std::printf("ember rows (embedding_lookup):     %8.3f ms   (%.1fx faster)\n", rows, dense / rows);
  return 0;
}
