// Facts about the committed fixtures (written by Python torch.save) that the reader must
// get right beyond what the differential test compares.
#include <gtest/gtest.h>

#include "reader/checkpoint.hpp"
#include "reader/checkpoint_summary.hpp"
#include "support/test_paths.hpp"

namespace ckpt::test {
namespace {

TEST(Fixtures, GanLayoutWithAdamStates) {
  const Checkpoint c = read_checkpoint(fixture("gan_dcgan_adam.pt"));
  EXPECT_EQ(c.format(), CheckpointFormat::kTorchZip);
  EXPECT_EQ(c.properties().at("version"), "3");
  const Value& root = c.root();
  for (const char* key : {"generator", "discriminator", "generator_optimizer", "discriminator_optimizer"}) {
    ASSERT_NE(root.find(key), nullptr) << key;
  }
  EXPECT_EQ(root.find("epoch")->integer, 7);
  EXPECT_EQ(root.find("loss_g")->kind, ValueKind::kFloat);
  const Value& g = *root.find("generator");
  EXPECT_TRUE(g.ordered);
  ASSERT_NE(g.metadata(), nullptr);
  const Value* w = g.find("main.0.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->tensor.dtype, DType::kFloat32);
  EXPECT_EQ(w->tensor.sizes, (std::vector<std::int64_t>{8, 8, 4, 4}));
  OptimizerSummary opt;
  ASSERT_TRUE(summarize_optimizer(*root.find("generator_optimizer"), opt));
  EXPECT_EQ(opt.likely_class, "Adam or AdamW");
  EXPECT_EQ(opt.state_keys, "exp_avg, exp_avg_sq, step");
  EXPECT_TRUE(c.findings().empty());
}

TEST(Fixtures, LegacyFormatReadsLikeZip) {
  const Checkpoint legacy = read_checkpoint(fixture("legacy_gan.pt"));
  const Checkpoint zip = read_checkpoint(fixture("gan_dcgan_adam.pt"));
  EXPECT_EQ(legacy.format(), CheckpointFormat::kTorchLegacy);
  const CheckpointSummary a = summarize(legacy.root()), b = summarize(zip.root());
  EXPECT_EQ(a.tensors, b.tensors);
  EXPECT_EQ(a.storage_bytes, b.storage_bytes);
}

TEST(Fixtures, TiedWeightsAndViewsShareOneStorage) {
  const Checkpoint c = read_checkpoint(fixture("tied_and_views.pt"));
  const Value& root = c.root();
  const TensorRef& embed = root.find("embed")->tensor;
  EXPECT_EQ(embed.storage, root.find("proj")->tensor.storage);
  EXPECT_EQ(embed.storage, root.find("row")->tensor.storage);
  EXPECT_EQ(root.find("row")->tensor.storage_offset, 3);
  EXPECT_FALSE(root.find("transposed")->tensor.is_contiguous());
  EXPECT_EQ(root.find("expanded")->tensor.strides, (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(summarize(root).storages, 3u);
}

TEST(Fixtures, ParameterSavedDirectly) {
  const Checkpoint c = read_checkpoint(fixture("parameter.pt"));
  EXPECT_EQ(c.root().kind, ValueKind::kTensor);
  EXPECT_TRUE(c.root().tensor.is_parameter);
  EXPECT_TRUE(c.root().tensor.requires_grad);
  const Checkpoint frozen = read_checkpoint(fixture("parameter_no_grad.pt"));
  EXPECT_TRUE(frozen.root().tensor.is_parameter);
  EXPECT_FALSE(frozen.root().tensor.requires_grad);
}

TEST(Fixtures, CudaLocationIsKeptAsAFact) {
  const Checkpoint c = read_checkpoint(fixture("cuda_location.pt"));
  bool seen = false;
  for (const auto& e : c.root().entries) {
    if (e.value->kind == ValueKind::kTensor) {
      EXPECT_EQ(e.value->tensor.storage->location, "cuda:0");
      seen = true;
    }
  }
  EXPECT_TRUE(seen);
}

TEST(Fixtures, BatchNormVersionOneMetadata) {
  const Checkpoint c = read_checkpoint(fixture("batchnorm_v1_metadata.pt"));
  const Value* meta = c.root().metadata();
  ASSERT_NE(meta, nullptr);
  ASSERT_NE(meta->find("bn"), nullptr);
  EXPECT_EQ(meta->find("bn")->find("version")->integer, 1);
  EXPECT_EQ(c.root().find("bn.num_batches_tracked"), nullptr);
}

TEST(Fixtures, NamespaceArgsReadAndReported) {
  const Checkpoint c = read_checkpoint(fixture("namespace_args.pt"));
  const Value& args = *c.root().find("args");
  EXPECT_EQ(args.kind, ValueKind::kObject);
  EXPECT_EQ(args.text, "argparse.Namespace");
  EXPECT_EQ(args.state->find("dataset")->text, "celeba");
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_FALSE(c.findings()[0].dangerous);
  EXPECT_EQ(c.findings()[0].path, "['args']");
}

TEST(Fixtures, NumpyValues) {
  const Checkpoint c = read_checkpoint(fixture("numpy_values.pt"));
  EXPECT_DOUBLE_EQ(c.root().find("f64")->real, 1.5);
  EXPECT_EQ(c.root().find("f64")->note, "numpy.float64");
  EXPECT_EQ(c.root().find("i32")->integer, 9);
  const Value& arr = *c.root().find("arr_f32");
  EXPECT_EQ(arr.kind, ValueKind::kNdarray);
  EXPECT_EQ(arr.ndarray->shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_TRUE(c.findings().empty());
}

TEST(Fixtures, HostileGlobalsAreFlaggedNotRun) {
  const Checkpoint c = read_checkpoint(fixture("hostile/evil_system.pt"));
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_EQ(c.findings()[0].global, "posix.system");
  EXPECT_EQ(c.findings()[0].path, "['evil']");
  EXPECT_TRUE(c.findings()[0].dangerous);
  const Checkpoint e = read_checkpoint(fixture("hostile/evil_eval.pt"));
  ASSERT_EQ(e.findings().size(), 1u);
  EXPECT_EQ(e.findings()[0].global, "__builtin__.eval");
}

TEST(Fixtures, SafetensorsSingleAndSharded) {
  const Checkpoint single = read_checkpoint(fixture("safetensors/model.safetensors"));
  EXPECT_EQ(single.format(), CheckpointFormat::kSafetensors);
  EXPECT_EQ(single.properties().at("__metadata__.format"), "pt");
  const Checkpoint sharded = read_checkpoint(fixture("safetensors/sharded/model.safetensors.index.json"));
  EXPECT_EQ(sharded.format(), CheckpointFormat::kSafetensorsIndex);
  EXPECT_EQ(sharded.properties().at("shards"), "2");
  EXPECT_EQ(summarize(sharded.root()).tensors, 8u);
}

// LibTorch archives written by fixtures/tools/write_libtorch_archives.cpp (torch::save).
TEST(LibTorchFixtures, ModuleArchiveIsReadAsData) {
  const Checkpoint c = read_checkpoint(fixture("libtorch/generator_module.pt"));
  EXPECT_EQ(c.format(), CheckpointFormat::kTorchScriptArchive);
  EXPECT_TRUE(c.findings().empty());  // __torch__ classes are data here, not code
  const Value& main = *c.root().state->find("main");
  const Value& conv = *main.state->find("0");
  EXPECT_EQ(conv.state->find("weight")->tensor.sizes, (std::vector<std::int64_t>{8, 8, 4, 4}));
  const Value& bn = *main.state->find("1");
  EXPECT_EQ(bn.state->find("num_batches_tracked")->tensor.dtype, DType::kInt64);
}

TEST(LibTorchFixtures, OptimizerArchiveKeepsStateAndOptions) {
  const Checkpoint c = read_checkpoint(fixture("libtorch/adam_optimizer.pt"));
  const Value& groups = *c.root().state->find("param_groups");
  const Value& options = *groups.state->find("param_groups/0")->state->find("options");
  EXPECT_DOUBLE_EQ(options.state->find("lr")->real, 0.0002);
  EXPECT_EQ(summarize(c.root()).tensors, 10u);
}

TEST(LibTorchFixtures, TensorArchivesKeepStrides) {
  const Checkpoint c = read_checkpoint(fixture("libtorch/tensors.pt"));
  const TensorRef& transposed = c.root().state->find("2")->tensor;
  EXPECT_EQ(transposed.strides, (std::vector<std::int64_t>{1, 4}));
  EXPECT_FALSE(transposed.is_contiguous());
}

}  // namespace
}  // namespace ckpt::test
