// load_bench PLUGIN CHECKPOINT NZ NGF NDF [REPETITIONS]: the load step of a unit, in-process,
// to set against Python's torch.load + load_state_dict + Optimizer.load_state_dict
// (tests/bench/python_side.py time-resume-load). For each repetition (default 3) the
// plugin's model is built with options nz/ngf/ndf outside the timed region; the timed region
// is exactly what `ckpt-harness run` does for strict-load + optimizer-state of a unit
// (UnitContext::loaded_model, resumed_model): CheckpointSet, the "gan" layout preset,
// check_compatibility, load_strict for each module, load_optimizer_state for each optimizer.
// Prints the median seconds on stdout; each repetition and a check of the loaded tensors on
// stderr. Exit codes: 0 fine, 1 the checkpoint does not load strictly or a check fails, 2 usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <torch/csrc/autograd/grad_mode.h>

#include "engine/apply.hpp"
#include "engine/layout.hpp"
#include "engine/optimizer_state.hpp"
#include "plugin_host/plugin_host.hpp"
#include "scenarios/compatibility.hpp"
#include "tensor/materialize.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Seconds of the phases of the last load_unit, for stderr.
struct Phases {
  double compare = 0, modules = 0, optimizers = 0;
};

// The timed region. Returns the comparison so the caller can check what was loaded.
ckpt::CompatibilityReport load_unit(const std::string& file, const ckpt::Plugin& plugin, ckpt::LoadedModel& model,
                                    ckpt::CheckpointSet& files, Phases& phases) {
  auto t = Clock::now();
  std::vector<std::string> modules, optimizers;
  for (const auto& m : model.model().modules) modules.push_back(m.name);
  for (const auto& o : model.model().optimizers) optimizers.push_back(o.name);
  const ckpt::CheckpointLayout layout = ckpt::layout_preset("gan", modules, optimizers);
  ckpt::CompatibilityReport report = ckpt::check_compatibility(files, plugin, model, layout);
  if (!report.strictly_compatible()) throw Failure(file + " is not strictly compatible with the plugin's model");
  phases.compare = since(t);
  t = Clock::now();
  for (auto& m : model.model().modules) {
    for (const auto& r : report.modules) {
      if (r.comparison.module == m.name) ckpt::load_strict(*m.module, r.comparison, r.state);
    }
  }
  phases.modules = since(t);
  t = Clock::now();
  for (auto& o : model.model().optimizers) {
    for (const auto& r : report.optimizers) {
      if (r.comparison.optimizer != o.name) continue;
      if (!r.saved) throw Failure("no saved state for " + o.name);
      ckpt::load_optimizer_state(o, *r.saved);
    }
  }
  phases.optimizers = since(t);
  return report;
}

// Every module tensor equals the checkpoint's (read again from the file), and every
// optimizer holds state for each of its parameters. Not timed.
void check_loaded(const ckpt::CompatibilityReport& report, ckpt::LoadedModel& model) {
  torch::NoGradGuard no_grad;
  std::size_t tensors = 0;
  for (auto& m : model.model().modules) {
    auto params = m.module->named_parameters();
    auto buffers = m.module->named_buffers();
    for (const auto& r : report.modules) {
      if (r.comparison.module != m.name) continue;
      for (const auto& e : r.state.entries) {
        const at::Tensor* slot = params.find(e.key);
        if (!slot) slot = buffers.find(e.key);
        if (!slot) throw Failure("no slot " + m.name + "." + e.key);
        at::Tensor saved = ckpt::materialize(e.value->tensor);
        if (slot->dim() == 0 && saved.dim() == 1) saved = saved[0];
        if (!slot->equal(saved)) throw Failure(m.name + "." + e.key + " differs from the checkpoint");
        ++tensors;
      }
    }
  }
  std::size_t states = 0;
  for (auto& o : model.model().optimizers) {
    const auto& state = o.optimizer->state();
    std::size_t params = 0;
    for (const auto& g : o.optimizer->param_groups()) params += g.params().size();
    if (state.size() != params) throw Failure(o.name + ": state for " + std::to_string(state.size()) + " of " +
                                              std::to_string(params) + " parameters");
    states += state.size();
  }
  std::fprintf(stderr, "check: %zu module tensors equal the checkpoint's, optimizer state for %zu parameters\n",
               tensors, states);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: load_bench PLUGIN CHECKPOINT NZ NGF NDF [REPETITIONS]\n");
    return 2;
  }
  const std::string plugin_file = argv[1], file = argv[2];
  const ckpt::Options options{{"nz", argv[3]}, {"ngf", argv[4]}, {"ndf", argv[5]}};
  const int repetitions = argc == 7 ? std::max(1, std::atoi(argv[6])) : 3;
  try {
    const std::shared_ptr<ckpt::Plugin> plugin = ckpt::Plugin::load(plugin_file);
    std::vector<double> seconds;
    for (int i = 0; i < repetitions; ++i) {
      const auto built = Clock::now();
      ckpt::LoadedModel model = plugin->build(options);  // not timed: the model exists before the load
      const double build_seconds = since(built);
      const auto t0 = Clock::now();
      ckpt::CheckpointSet files(file);
      Phases phases;
      const ckpt::CompatibilityReport report = load_unit(file, *plugin, model, files, phases);
      seconds.push_back(since(t0));
      std::fprintf(stderr,
                   "repetition %d: %.6f s (compare %.3f s, strict loads %.3f s, optimizer state %.3f s; "
                   "model built before it in %.3f s)\n",
                   i + 1, seconds.back(), phases.compare, phases.modules, phases.optimizers, build_seconds);
      if (i == 0) check_loaded(report, model);
    }
    std::sort(seconds.begin(), seconds.end());
    const std::size_t n = seconds.size();
    std::printf("%.6f\n", n % 2 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_bench: %s\n", e.what());
    return 1;
  }
}
