// C++ floor for the binding benchmark: the small conv net of torch/bench_test.go and
// bench/python/smallnet.py, calling libtorch directly. Prints the median training step
// time at batch 256 and the median batch-1 inference latency.
//
//   build/bench/smallnet [threads]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

struct Net {
  torch::Tensor c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b;

  torch::Tensor forward(const torch::Tensor& x0) const {
    auto x = at::max_pool2d(at::relu(at::conv2d(x0, c1w, c1b, {1, 1}, {1, 1})), {2, 2}, {2, 2});
    x = at::max_pool2d(at::relu(at::conv2d(x, c2w, c2b, {1, 1}, {1, 1})), {2, 2}, {2, 2});
    x = at::relu(at::linear(x.flatten(1), f1w, f1b));
    return at::linear(x, f2w, f2b);
  }
  std::vector<torch::Tensor> params() const { return {c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b}; }
};

torch::Tensor param(std::vector<int64_t> shape, double bound) {
  return torch::empty(shape).uniform_(-bound, bound).requires_grad_(true);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  Net n{param({32, 1, 3, 3}, 0.33), param({32}, 0.33),     param({64, 32, 3, 3}, 0.06), param({64}, 0.06),
        param({128, 3136}, 0.018),  param({128}, 0.018),   param({10, 128}, 0.09),      param({10}, 0.09)};
  torch::optim::SGD opt(n.params(), torch::optim::SGDOptions(0.01).momentum(0.9));
  auto x = torch::randn({256, 1, 28, 28});
  auto y = torch::randint(0, 10, {256});
  auto step = [&] {
    opt.zero_grad();
    auto loss = at::cross_entropy_loss(n.forward(x), y);
    loss.backward();
    opt.step();
  };
  // SMALLNET_TRAIN_STEPS=0 skips the training benchmark (for profiling inference alone).
  const char* steps_env = std::getenv("SMALLNET_TRAIN_STEPS");
  int steps = steps_env ? std::atoi(steps_env) : 40;
  for (int i = 0; i < 5 && steps > 0; i++) step();
  std::vector<double> times;
  for (int i = 0; i < steps; i++) {
    auto t0 = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (steps > 0)
    std::printf("train step batch 256: median %.2f ms  min %.2f  max %.2f\n", median(times),
              *std::min_element(times.begin(), times.end()), *std::max_element(times.begin(), times.end()));

  auto x1 = torch::randn({1, 1, 28, 28});
  c10::InferenceMode guard;
  for (int i = 0; i < 50; i++) n.forward(x1);
  times.clear();
  for (int i = 0; i < 2000; i++) {
    auto t0 = std::chrono::steady_clock::now();
    n.forward(x1);
    times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("inference batch 1: median %.1f us  min %.1f\n", median(times), *std::min_element(times.begin(), times.end()));

  // Per-operation overhead: 4 × Linear(32→32)+ReLU at batch 1.
  std::vector<torch::Tensor> mw, mb;
  for (int i = 0; i < 4; i++) {
    mw.push_back(torch::randn({32, 32}));
    mb.push_back(torch::randn({32}));
  }
  auto xt = torch::randn({1, 32});
  auto mlp = [&] {
    auto h = xt;
    for (int i = 0; i < 4; i++) h = at::relu(at::linear(h, mw[i], mb[i]));
    return h;
  };
  for (int i = 0; i < 200; i++) mlp();
  times.clear();
  for (int i = 0; i < 20000; i++) {
    auto t0 = std::chrono::steady_clock::now();
    mlp();
    times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("tiny mlp batch 1: median %.1f us  min %.1f\n", median(times), *std::min_element(times.begin(), times.end()));
  return 0;
}
