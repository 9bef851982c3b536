// Applying checkpoints to the dcgan plugin's modules: strict is all or nothing, relaxed
// loads what fits and says what it left, loaded values equal the checkpoint's bit for bit.
#include "engine/apply.hpp"

#include <gtest/gtest.h>

#include <ATen/ops/equal.h>

#include "engine/layout.hpp"
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

}  // namespace
}  // namespace ckpt::test
