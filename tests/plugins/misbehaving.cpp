// A plugin whose model loads a Linear(2, 2) state dict ('weight', 'bias') and then
// misbehaves in one way an option chooses, so each behaviour scenario is seen to fail:
//   dropout_in_eval       dropout stays on after eval()              -> eval-mode
//   batch_stats_in_eval   normalises by the batch, in eval too      -> eval-mode
//   stuck_training        a submodule ignores eval()                -> eval-mode
//   stuck_eval            a submodule ignores train()               -> train-mode
//   nondeterministic      the training step adds unseeded noise     -> resume-determinism
// and, for the worker's tests, `log = PATH`: each model appends "built VERSION" to PATH when
// it is made and "freed VERSION" when it is destroyed (CKPT_TEST_MISBEHAVING_VERSION builds
// a second version of this plugin).
#include <torch/nn/functional/linear.h>

#include "linear_model.hpp"

#include <fstream>
#include <random>

#ifndef CKPT_TEST_MISBEHAVING_VERSION
#define CKPT_TEST_MISBEHAVING_VERSION "1.0.0"
#endif

namespace {

struct Faults {
  bool dropout_in_eval = false, batch_stats_in_eval = false, stuck_training = false, stuck_eval = false,
       nondeterministic = false;
};

// A parameterless submodule whose mode can be made to stick.
struct Head : torch::nn::Module {
  int stuck = 0;  // 1: always training, -1: never training
  void train(bool on) override { torch::nn::Module::train(stuck == 0 ? on : stuck > 0); }
};

// Appends "built VERSION" to the log when made, "freed VERSION" when destroyed.
struct LifeLog {
  std::string path;
  explicit LifeLog(std::string p) : path(std::move(p)) { write("built"); }
  ~LifeLog() { write("freed"); }
  void write(const char* what) const {
    if (!path.empty()) std::ofstream(path, std::ios::app) << what << " " << CKPT_TEST_MISBEHAVING_VERSION << "\n";
  }
};

struct Net : torch::nn::Module {
  torch::Tensor weight, bias;
  std::shared_ptr<Head> head = std::make_shared<Head>();
  Faults faults;
  LifeLog life;
  Net(const Faults& f, const std::string& log) : faults(f), life(log) {
    weight = register_parameter("weight", torch::randn({2, 2}));
    bias = register_parameter("bias", torch::zeros({2}));
    register_module("head", head);
    head->stuck = f.stuck_training ? 1 : f.stuck_eval ? -1 : 0;
    head->train(true);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::nn::functional::linear(x, weight, bias);
    if (faults.dropout_in_eval) y = torch::dropout(y, 0.5, /*train=*/true);
    if (faults.batch_stats_in_eval) y = y - y.mean(0, /*keepdim=*/true);
    return y;
  }
};

bool flag(const ckpt::Options& options, const char* key) {
  auto it = options.find(key);
  return it != options.end() && it->second == "true";
}

class Misbehaving : public ckpt::Architecture {
 public:
  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt::check_known_options(options, {"dropout_in_eval", "batch_stats_in_eval", "stuck_training", "stuck_eval",
                                        "nondeterministic", "log"});
    Faults f{flag(options, "dropout_in_eval"), flag(options, "batch_stats_in_eval"), flag(options, "stuck_training"),
             flag(options, "stuck_eval"), flag(options, "nondeterministic")};
    torch::manual_seed(0);
    return ckpt_test::one_module_model(std::make_shared<Net>(f, options.count("log") ? options.at("log") : ""));
  }

  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    torch::manual_seed(1234);
    return torch::randn({batch, 2});
  }

  bool train_step(ckpt::Model& model, std::int64_t step) const override {
    auto net = std::dynamic_pointer_cast<Net>(model.modules.at(0).module);
    auto& sgd = *model.optimizers.at(0).optimizer;
    sgd.zero_grad();
    torch::manual_seed(step);
    torch::Tensor loss = net->forward(torch::randn({3, 2})).pow(2).mean();
    if (net->faults.nondeterministic) loss = loss * (1.0 + std::random_device{}() % 1000 / 1000.0);
    loss.backward();
    sgd.step();
    return true;
  }
};

}  // namespace

CKPT_PLUGIN(Misbehaving, "misbehaving", CKPT_TEST_MISBEHAVING_VERSION, "Loads a Linear(2, 2) state dict, then misbehaves as its options say")
