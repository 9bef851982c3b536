// Applying checkpoints to the dcgan plugin's modules: strict is all or nothing, relaxed
// loads what fits and says what it left, loaded values equal the checkpoint's bit for bit.
#include "engine/optimizer_state_key.hpp"
#include "engine/apply.hpp"

#include <gtest/gtest.h>

#include <ATen/ops/equal.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include "engine/layout.hpp"
#include "engine/optimizer_state.hpp"
#include "engine/torch_schema.hpp"
#include "plugin_host/plugin_host.hpp"
#include "support/test_paths.hpp"
#include "tensor/materialize.hpp"

namespace ckpt::test {
namespace {

const Options kSmall{{"nz", "16"}, {"ngf", "4"}, {"ndf", "4"}, {"nc", "3"}};

struct Loaded {
  LoadedModel model;
  std::unique_ptr<CheckpointSet> files;
  StateDict state;
  ModuleComparison comparison;
  torch::nn::Module& generator() { return *model.model().modules.at(0).module; }
};

Loaded prepare(const std::string& file) {
  static auto plugin = Plugin::load(CKPT_DCGAN_PLUGIN);
  Loaded l{plugin->build(kSmall), std::make_unique<CheckpointSet>(fixture(file)), {}, {}};
  l.state = extract_state_dict(*l.files, {"", {{"generator"}}, ""}, {});
  l.comparison = compare_module(schema_of("generator", l.generator()), l.state);
  return l;
}

std::map<std::string, at::Tensor> snapshot(torch::nn::Module& m) {
  std::map<std::string, at::Tensor> out;
  for (auto& p : m.named_parameters()) out[p.key()] = p.value().clone();
  for (auto& b : m.named_buffers()) out[b.key()] = b.value().clone();
  return out;
}

TEST(Apply, StrictLoadCopiesEveryTensorBitForBit) {
  Loaded l = prepare("dcgan/current.pt");
  const LoadReport r = load_strict(l.generator(), l.comparison, l.state);
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(r.tensors_loaded, r.tensors_total);
  EXPECT_TRUE(r.left_at_initialisation.empty());
  const auto now = snapshot(l.generator());
  for (const auto& e : l.state.entries) {
    EXPECT_TRUE(at::equal(now.at(e.key), materialize(e.value->tensor))) << e.key;
  }
}

TEST(Apply, StrictLoadOfAnIncompatibleCheckpointTouchesNothing) {
  Loaded l = prepare("dcgan/widened.pt");
  const auto before = snapshot(l.generator());
  const LoadReport r = load_strict(l.generator(), l.comparison, l.state);
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(r.tensors_loaded, 0u);
  EXPECT_EQ(r.skipped.size(), 21u);
  for (const auto& [key, t] : snapshot(l.generator())) EXPECT_TRUE(at::equal(t, before.at(key))) << key;
}

TEST(Apply, RelaxedLoadReportsWhatFitsAndWhatStays) {
  Loaded l = prepare("dcgan/widened.pt");
  const LoadReport r = load_relaxed(l.generator(), l.comparison, l.state);
  EXPECT_EQ(r.tensors_total, 25u);
  EXPECT_EQ(r.tensors_loaded, 4u);  // the four num_batches_tracked counters have the same shape
  EXPECT_EQ(r.left_at_initialisation.size(), 21u);
  EXPECT_NEAR(r.fraction_by_tensors(), 4.0 / 25.0, 1e-12);
  EXPECT_LT(r.fraction_by_elements(), 0.001);
}

TEST(Apply, BatchNormVersionOneCountersStartAtZero) {
  Loaded l = prepare("dcgan/batchnorm_v1.pt");
  ASSERT_EQ(l.comparison.migrated.size(), 4u);
  const LoadReport r = load_strict(l.generator(), l.comparison, l.state);
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(snapshot(l.generator()).at("main.1.num_batches_tracked").item<std::int64_t>(), 0);
}

TEST(Apply, DtypePolicy) {
  Loaded cast = prepare("dcgan/fp16.pt");
  const LoadReport like_pytorch = load_relaxed(cast.generator(), cast.comparison, cast.state);
  EXPECT_EQ(like_pytorch.cast.size(), 21u);
  EXPECT_EQ(like_pytorch.tensors_loaded, 25u);
  Loaded exact = prepare("dcgan/fp16.pt");
  const LoadReport r = load_relaxed(exact.generator(), exact.comparison, exact.state, DTypePolicy::kExact);
  EXPECT_EQ(r.tensors_loaded, 4u);  // only the int64 counters
  EXPECT_EQ(r.skipped.size(), 21u);
  EXPECT_NE(r.skipped[0].find("dtype float16 not cast to float32"), std::string::npos) << r.skipped[0];
}

// torch::save(optimizer) keys state by tensor address; params/<i> give the order.
TEST(OptimizerState, LibTorchArchiveLoadsIntoAnAdamOfTheSameShapes) {
  const Checkpoint archive = read_checkpoint(fixture("libtorch/adam_optimizer.pt"));
  const SavedOptimizerState saved = read_saved_optimizer(archive.root());
  EXPECT_EQ(saved.format, "libtorch");
  ASSERT_EQ(saved.groups.size(), 1u);
  EXPECT_EQ(saved.groups[0].positions.size(), 4u);
  EXPECT_EQ(saved.state.size(), 4u);
  EXPECT_EQ(implied_optimizer_class(saved), "Adam or AdamW");

  std::vector<at::Tensor> params{torch::zeros({8, 8, 4, 4}, torch::requires_grad()), torch::zeros({8}, torch::requires_grad()),
                                 torch::zeros({8}, torch::requires_grad()), torch::zeros({8, 1, 4, 4}, torch::requires_grad())};
  Optimizer optimizer{"generator_optimizer", {"w0", "b1", "w1", "w3"},
                      std::make_shared<torch::optim::Adam>(params, torch::optim::AdamOptions(1e-3))};
  const OptimizerComparison c = compare_optimizer(optimizer, &saved, "adam_optimizer.pt");
  EXPECT_TRUE(c.loadable()) << (c.problems.empty() ? "" : c.problems.front());
  ASSERT_EQ(c.hyper_differences.size(), 2u);  // lr 2e-4 vs 1e-3, beta1 0.5 vs 0.9
  load_optimizer_state(optimizer, saved);
  const auto& options = static_cast<torch::optim::AdamOptions&>(optimizer.optimizer->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(options.lr(), 0.0002);
  const auto& state = static_cast<torch::optim::AdamParamState&>(
      *optimizer.optimizer->state().at(optimizer_state_key(params[0])));
  EXPECT_EQ(state.step(), 2);
  EXPECT_TRUE(at::equal(state.exp_avg(), materialize(saved.state.at(0).at("exp_avg")->tensor)));
  for (auto& p : params) p.mutable_grad() = torch::ones_like(p);
  optimizer.optimizer->step();  // and training goes on from there
  EXPECT_EQ(static_cast<torch::optim::AdamParamState&>(
                *optimizer.optimizer->state().at(optimizer_state_key(params[0])))
                .step(),
            3);
}

// get_state_dict's optimizer state names its parameters: names must be the model's, up to a
// module prefix (the two-rank DCP fixture saved G alone: 'main.0.weight').
TEST(OptimizerState, StateSavedByNameMustNameTheModelsParameters) {
  const Checkpoint dcp = read_checkpoint(fixture("pytorch2/dcp/gan_two_ranks"));
  const SavedOptimizerState saved = read_saved_optimizer(*dcp.root().find("generator_optimizer"));
  std::vector<std::string> names = saved.parameter_names;
  std::vector<at::Tensor> params;
  for (const auto& [position, state] : saved.state) {
    params.push_back(torch::zeros(state.at("exp_avg")->tensor.sizes, torch::requires_grad()));
  }
  for (auto& n : names) n = "generator." + n;
  Optimizer same{"generator_optimizer", names, std::make_shared<torch::optim::Adam>(params, torch::optim::AdamOptions(2e-4))};
  const OptimizerComparison c = compare_optimizer(same, &saved, "gan_two_ranks");
  EXPECT_TRUE(c.loadable()) << (c.problems.empty() ? "" : c.problems.front());
  std::swap(names[0], names[5]);  // two parameters trade places in the model
  Optimizer renamed{"generator_optimizer", names, std::make_shared<torch::optim::Adam>(params, torch::optim::AdamOptions(2e-4))};
  const OptimizerComparison r = compare_optimizer(renamed, &saved, "gan_two_ranks");
  EXPECT_FALSE(r.loadable());
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems[0], "parameter #0 is 'main.0.weight' in the checkpoint, '" + names[0] +
                               "' in the model: state saved by parameter name goes to the parameter of that name");
}

TEST(OptimizerState, WrongShapesAndClassesAreProblemsNotExceptions) {
  const Checkpoint archive = read_checkpoint(fixture("libtorch/adam_optimizer.pt"));
  const SavedOptimizerState saved = read_saved_optimizer(archive.root());
  std::vector<at::Tensor> params{torch::zeros({2}), torch::zeros({8}), torch::zeros({8}), torch::zeros({8, 1, 4, 4})};
  Optimizer sgd{"o", {"a", "b", "c", "d"}, std::make_shared<torch::optim::SGD>(params, torch::optim::SGDOptions(0.1))};
  const OptimizerComparison c = compare_optimizer(sgd, &saved, "adam_optimizer.pt");
  EXPECT_FALSE(c.loadable());
  EXPECT_NE(c.problems.front().find("the saved state is Adam or AdamW's, the model's optimizer is SGD"), std::string::npos);
  Optimizer adam{"o", {"a", "b", "c", "d"}, std::make_shared<torch::optim::Adam>(params, torch::optim::AdamOptions(0.1))};
  const OptimizerComparison shapes = compare_optimizer(adam, &saved, "adam_optimizer.pt");
  ASSERT_EQ(shapes.problems.size(), 2u);  // exp_avg and exp_avg_sq of parameter a
  EXPECT_EQ(shapes.problems[0], "a: state 'exp_avg' has shape [8, 8, 4, 4], the parameter has [2]");
  EXPECT_FALSE(compare_optimizer(adam, nullptr, "").present);
}

}  // namespace
}  // namespace ckpt::test
