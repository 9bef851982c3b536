// Checkpoint schemas without LibTorch: manifests read and written (every error names the
// file, the JSON path and what was expected), the schema a checkpoint implies, and
// schema-diff's findings and verdict on synthetic model changes.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "reader/checkpoint.hpp"
#include "schema/checkpoint_schema.hpp"
#include "schema/model_schema.hpp"
#include "schema/schema_diff.hpp"

namespace ckpt::test {
namespace {

using nlohmann::json;

TensorSlot slot(const std::string& key, std::vector<std::int64_t> shape, DType dtype = DType::kFloat32, bool buffer = false) {
  return {key, dtype, std::move(shape), buffer};
}

// A small GAN: a generator with a batch norm, a discriminator, one Adam each.
ModelSchema gan() {
  ModelSchema s;
  s.name = "gan";
  s.version = "1.0.0";
  ModuleSchema g;
  g.name = "generator";
  g.tensors = {slot("main.0.weight", {16, 8, 4, 4}), slot("main.1.weight", {8}), slot("main.1.bias", {8}),
               slot("main.1.running_mean", {8}, DType::kFloat32, true), slot("main.1.running_var", {8}, DType::kFloat32, true),
               slot("main.1.num_batches_tracked", {}, DType::kInt64, true), slot("main.3.weight", {8, 3, 4, 4})};
  g.submodules = {{"main.1", "BatchNorm", true}};
  ModuleSchema d;
  d.name = "discriminator";
  d.tensors = {slot("main.0.weight", {8, 3, 4, 4}), slot("main.2.weight", {1, 8, 4, 4})};
  s.modules = {g, d};
  for (const auto& m : s.modules) {
    OptimizerSchema o;
    o.name = m.name + "_optimizer";
    o.class_name = "Adam";
    OptimizerGroupSchema group;
    for (const auto& t : m.tensors) {
      if (!t.is_buffer) group.parameters.push_back(m.name + "." + t.key);
    }
    group.size = group.parameters.size();
    group.hyper = {{"lr", 2e-4}, {"beta1", 0.5}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0}, {"amsgrad", 0}};
    o.groups = {group};
    s.optimizers.push_back(o);
  }
  return s;
}

ModuleSchema& module(ModelSchema& s, const std::string& name) {
  for (auto& m : s.modules) {
    if (m.name == name) return m;
  }
  throw std::logic_error("no module " + name);
}

std::string schema_error(const json& j) {
  try {
    model_schema_from_json(j, "m.json");
  } catch (const SchemaError& e) {
    return e.what();
  }
  return "no SchemaError";
}

TEST(ModelSchemaManifest, RoundTripsEveryField) {
  const ModelSchema s = gan();
  const json j = to_json(s);
  EXPECT_EQ(j.at("schema"), "ckpt-harness.model-schema");
  EXPECT_EQ(j.at("modules")[0].at("tensors")[3].at("kind"), "buffer");
  EXPECT_EQ(j.at("modules")[0].at("batch_norm"), json::array({"main.1"}));
  const ModelSchema back = model_schema_from_json(j, "m.json");
  EXPECT_EQ(to_json(back), j);
  EXPECT_TRUE(back.tensor_kinds_known);
  EXPECT_EQ(back.label(), "gan 1.0.0");
}

TEST(ModelSchemaManifest, ErrorsNameTheFileThePathAndWhatWasExpected) {
  json j = to_json(gan());
  j["modules"][0]["tensors"][2]["dtype"] = "float31";
  EXPECT_EQ(schema_error(j), "m.json: modules[0].tensors[2].dtype: expected a PyTorch dtype name (float32, int64, "
                             "bfloat16, ...), found string \"float31\"");
  j = to_json(gan());
  j["modules"][1]["tensors"][0]["shape"][1] = -3;
  EXPECT_EQ(schema_error(j), "m.json: modules[1].tensors[0].shape[1]: expected a non-negative integer, found number -3");
  j = to_json(gan());
  j["modules"][0]["tensors"][1].erase("key");
  EXPECT_EQ(schema_error(j), "m.json: modules[0].tensors[1]: 'key' is missing");
  j = to_json(gan());
  j["schema_version"] = 2;
  EXPECT_EQ(schema_error(j), "m.json: schema_version: expected 1 (this harness reads version 1), found number 2");
  j = to_json(gan());
  j["modules"][0]["tensors"][1]["key"] = "main.0.weight";
  EXPECT_EQ(schema_error(j), "m.json: modules[0].tensors[1].key: expected a key not listed before in this module, "
                             "found string \"main.0.weight\"");
  j = to_json(gan());
  j["optimizers"][0]["groups"][0]["size"] = 2;
  EXPECT_EQ(schema_error(j).substr(0, 81),
            "m.json: optimizers[0].groups[0].parameters: expected 2 names (the group's size), ") << schema_error(j);
  EXPECT_EQ(schema_error(json::array()), "m.json: the document: expected a JSON object (a ckpt-harness model schema), found array []");
}

TEST(ModelSchemaManifest, TensorsWithoutKindMakeKindsUnknown) {
  json j = to_json(gan());
  j["modules"][1]["tensors"][0].erase("kind");
  EXPECT_FALSE(model_schema_from_json(j, "m.json").tensor_kinds_known);
}

TEST(SchemaDiff, SameSchemaIsUnchangedAndLoads) {
  const SchemaDiff d = diff_schemas(gan(), gan());
  EXPECT_FALSE(d.changed());
  EXPECT_TRUE(d.strictly_loadable());
  std::ostringstream text;
  write_schema_diff_text(text, d);
  EXPECT_NE(text.str().find("verdict: no change to the checkpoint schema"), std::string::npos) << text.str();
}

TEST(SchemaDiff, MovedLayerIsARenameAndBreaksStrictLoads) {
  ModelSchema after = gan();
  after.version = "2.0.0";
  module(after, "discriminator").tensors[1].key = "head.weight";
  after.optimizers[1].groups[0].parameters[1] = "discriminator.head.weight";
  const SchemaDiff d = diff_schemas(gan(), after);
  ASSERT_EQ(d.modules.size(), 2u);
  const ModuleSchemaDiff& disc = d.modules[1];
  ASSERT_EQ(disc.renamed.size(), 1u);
  EXPECT_EQ(disc.renamed[0].from, "main.2.weight");
  EXPECT_EQ(disc.renamed[0].to, "head.weight");
  EXPECT_TRUE(disc.added.empty());
  EXPECT_TRUE(disc.removed.empty());
  EXPECT_FALSE(d.strictly_loadable());
  EXPECT_NE(disc.load.pytorch_message().find("Missing key(s) in state_dict: \"head.weight\""), std::string::npos);
  // The optimizer keeps its shapes: its state still fits, the name change is reported.
  ASSERT_EQ(d.optimizers.size(), 2u);
  EXPECT_TRUE(d.optimizers[1].problems.empty());
  ASSERT_EQ(d.optimizers[1].changes.size(), 1u);
  EXPECT_EQ(d.optimizers[1].changes[0],
            "group 0 position 1: discriminator.main.2.weight -> discriminator.head.weight (its saved state goes to the new name)");
  std::ostringstream text;
  write_schema_diff_text(text, d);
  EXPECT_NE(text.str().find("renamed   main.2.weight -> head.weight  [1, 8, 4, 4] float32"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("verdict: checkpoints of gan 1.0.0 do NOT load strictly into gan 2.0.0"), std::string::npos) << text.str();
}

TEST(SchemaDiff, AddedRemovedReshapedAndRetypedKeys) {
  ModelSchema after = gan();
  ModuleSchema& g = module(after, "generator");
  g.tensors[0].shape = {32, 8, 4, 4};
  g.tensors[6].dtype = DType::kFloat16;
  g.tensors.push_back(slot("main.3.bias", {3}));
  module(after, "discriminator").tensors.pop_back();
  const SchemaDiff d = diff_schemas(gan(), after);
  const ModuleSchemaDiff& gen = d.modules[0];
  ASSERT_EQ(gen.reshaped.size(), 1u);
  EXPECT_EQ(gen.reshaped[0].key, "main.0.weight");
  EXPECT_EQ(gen.reshaped[0].checkpoint, (std::vector<std::int64_t>{16, 8, 4, 4}));
  EXPECT_EQ(gen.reshaped[0].model, (std::vector<std::int64_t>{32, 8, 4, 4}));
  ASSERT_EQ(gen.retyped.size(), 1u);
  EXPECT_EQ(gen.retyped[0].key, "main.3.weight");
  EXPECT_EQ(gen.added, std::vector<std::string>{"main.3.bias"});
  EXPECT_EQ(d.modules[1].removed, std::vector<std::string>{"main.2.weight"});
  EXPECT_TRUE(gen.renamed.empty()) << "a bias and a weight are not one tensor renamed";
  EXPECT_FALSE(d.strictly_loadable());
  // Optimizer state of the re-shaped parameter no longer fits.
  EXPECT_FALSE(d.optimizers[0].problems.empty());
}

// InstanceNorm to BatchNorm: the conv before it loses its bias and a norm layer with a
// bias of the same shape appears beside it. The conv is still there: no rename.
TEST(SchemaDiff, BiasOfAStaySubmoduleIsRemovedNotRenamed) {
  ModelSchema before, after;
  ModuleSchema a, b;
  a.name = b.name = "G";
  a.tensors = {slot("model.1.weight", {2, 3, 7, 7}), slot("model.1.bias", {2})};
  b.tensors = {slot("model.1.weight", {2, 3, 7, 7}), slot("model.2.weight", {2}), slot("model.2.bias", {2})};
  before.modules = {a};
  after.modules = {b};
  const SchemaDiff d = diff_schemas(before, after);
  EXPECT_TRUE(d.modules[0].renamed.empty());
  EXPECT_EQ(d.modules[0].removed, std::vector<std::string>{"model.1.bias"});
  EXPECT_EQ(d.modules[0].added, (std::vector<std::string>{"model.2.weight", "model.2.bias"}));
}

TEST(SchemaDiff, OnlyADtypeChangeStillLoadsStrictly) {
  ModelSchema after = gan();
  module(after, "discriminator").tensors[0].dtype = DType::kBFloat16;
  const SchemaDiff d = diff_schemas(gan(), after);
  EXPECT_TRUE(d.changed());
  EXPECT_TRUE(d.strictly_loadable()) << "PyTorch casts on load";
}

TEST(SchemaDiff, BatchNormWithoutCounterIsMigratedNotMissing) {
  ModelSchema before = gan();
  auto& tensors = module(before, "generator").tensors;
  tensors.erase(tensors.begin() + 5);  // a BatchNorm v1 state dict: no num_batches_tracked
  const SchemaDiff d = diff_schemas(before, gan());
  EXPECT_EQ(d.modules[0].load.migrated, std::vector<std::string>{"main.1.num_batches_tracked"});
  EXPECT_TRUE(d.modules[0].added.empty());
  EXPECT_TRUE(d.strictly_loadable());
}

// PyTorch adds num_batches_tracked only for norm layers saved before version 2: an
// InstanceNorm saved at version 2 and loaded as a BatchNorm misses it.
TEST(SchemaDiff, MigrationFollowsTheSavedModuleVersions) {
  ModelSchema before = gan();
  auto& tensors = module(before, "generator").tensors;
  tensors.erase(tensors.begin() + 5);
  before.versions["generator"].known = true;
  before.versions["generator"].by_prefix = {{"main.1", 2}};
  const SchemaDiff d = diff_schemas(before, gan());
  EXPECT_TRUE(d.modules[0].load.migrated.empty());
  EXPECT_EQ(d.modules[0].added, std::vector<std::string>{"main.1.num_batches_tracked"});
  EXPECT_FALSE(d.strictly_loadable());
  // Round trip of the versions through a manifest.
  const ModelSchema back = model_schema_from_json(to_json(before), "m.json");
  EXPECT_TRUE(back.versions.at("generator").known);
  EXPECT_EQ(back.versions.at("generator").by_prefix.at("main.1"), 2);
}

// Manifests come from pull requests: hostile ones are refused or bounded, never a crash.
TEST(ModelSchemaManifest, HostileManifestsAreRefusedWithoutCrashing) {
  // Built in place: copying a value this deep would recurse in nlohmann::json itself.
  json j = to_json(gan());
  json* cursor = &j["modules"][0]["tensors"];
  *cursor = json::array();
  for (int i = 0; i < 100000; ++i) {
    cursor->push_back(json::array());
    cursor = &cursor->back();
  }
  EXPECT_EQ(schema_error(j), "m.json: modules[0].tensors[0]: expected an object, found array of 1 items");
  j = to_json(gan());
  j["modules"][0]["tensors"][0]["key"] = std::string(100000, 'k');
  j["modules"][0]["tensors"][1]["key"] = std::string(100000, 'k');
  EXPECT_LT(schema_error(j).size(), 400u) << "a 100 kB key is not quoted whole";
}

TEST(SchemaDiff, ManyLongLookAlikeKeysStayFast) {
  ModelSchema before, after;
  ModuleSchema a, b;
  a.name = b.name = "model";
  for (int bucket = 0; bucket < 20; ++bucket) {
    for (int i = 0; i < 300; ++i) {
      const std::string tail = std::string(600, 'x') + "." + std::to_string(i) + ".w" + std::to_string(bucket);
      a.tensors.push_back(slot("old." + tail, {bucket + 1}));
      b.tensors.push_back(slot("new." + tail, {bucket + 1}));
    }
  }
  before.modules = {a};
  after.modules = {b};
  const auto started = std::chrono::steady_clock::now();
  const SchemaDiff d = diff_schemas(before, after);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(d.modules[0].renamed.size(), 6000u);
  EXPECT_LT(seconds, 5.0) << "6000 renames of 600-character keys";
  EXPECT_TRUE(d.modules[0].renamed.back().by_position) << "past the scoring budget, pairs say how they were made";
}

TEST(SchemaDiff, ModulesAndOptimizersAddedOrRemoved) {
  ModelSchema after = gan();
  ModuleSchema encoder;
  encoder.name = "encoder";
  encoder.tensors = {slot("fc.weight", {4, 4})};
  after.modules.push_back(encoder);
  after.optimizers.pop_back();
  const SchemaDiff d = diff_schemas(gan(), after);
  EXPECT_EQ(d.modules_added, std::vector<std::string>{"encoder"});
  EXPECT_EQ(d.optimizers_removed, std::vector<std::string>{"discriminator_optimizer"});
  EXPECT_FALSE(d.strictly_loadable()) << "old checkpoints have no encoder";
  const SchemaDiff back = diff_schemas(after, gan());
  EXPECT_EQ(back.modules_removed, std::vector<std::string>{"encoder"});
  EXPECT_EQ(back.optimizers_added, std::vector<std::string>{"discriminator_optimizer"});
  EXPECT_TRUE(back.strictly_loadable()) << "an unused component and a fresh optimizer do not break loads";
}

TEST(SchemaDiff, OptimizerClassGroupsAndHyperParameters) {
  ModelSchema after = gan();
  after.optimizers[0].class_name = "SGD";
  after.optimizers[1].groups[0].hyper["lr"] = 1e-4;
  SchemaDiff d = diff_schemas(gan(), after);
  EXPECT_EQ(d.optimizers[0].problems.front(), "class: Adam -> SGD (the saved state is Adam's)");
  EXPECT_TRUE(d.optimizers[1].problems.empty());
  EXPECT_EQ(d.optimizers[1].changes, std::vector<std::string>{"group 0 lr: 0.0002 -> 0.0001 (resuming restores the saved 0.0002)"});
  EXPECT_FALSE(d.strictly_loadable());

  ModelSchema checkpoint_like = gan();
  checkpoint_like.optimizers[0].class_name = "Adam or AdamW";  // what a checkpoint can tell
  for (auto& o : checkpoint_like.optimizers) o.groups[0].parameters.clear();
  EXPECT_TRUE(diff_schemas(checkpoint_like, gan()).strictly_loadable());

  after = gan();
  OptimizerGroupSchema second = after.optimizers[0].groups[0];
  after.optimizers[0].groups.push_back(second);
  EXPECT_EQ(diff_schemas(gan(), after).optimizers[0].problems.front(),
            "parameter groups: 1 -> 2 (loaded state dict has a different number of parameter groups)");
}

// A prefix renamed across a whole large model: look-alike keys are paired in order, fast.
TEST(SchemaDiff, ManyLookAlikeRenamesArePairedInOrder) {
  ModelSchema before, after;
  ModuleSchema a, b;
  a.name = b.name = "model";
  for (int i = 0; i < 1000; ++i) {
    a.tensors.push_back(slot("encoder.layers." + std::to_string(i) + ".weight", {64, 64}));
    b.tensors.push_back(slot("backbone.layers." + std::to_string(i) + ".weight", {64, 64}));
  }
  before.modules = {a};
  after.modules = {b};
  const SchemaDiff d = diff_schemas(before, after);
  ASSERT_EQ(d.modules[0].renamed.size(), 1000u);
  EXPECT_EQ(d.modules[0].renamed[7].from, "encoder.layers.7.weight");
  EXPECT_EQ(d.modules[0].renamed[7].to, "backbone.layers.7.weight");
  std::ostringstream text;
  write_schema_diff_text(text, d);
  EXPECT_NE(text.str().find("  ... and 980 more (--json lists every one)\n"), std::string::npos) << text.str();
  EXPECT_LT(text.str().size(), 6000u) << "a CI log gets a summary, not 1000 lines";
  EXPECT_EQ(d.modules[0].load.hint,
            "every checkpoint key starts with 'encoder.' and every model key with 'backbone.' (1000 match once renamed): "
            "add the key rule { pattern = '^encoder\\.', replace = 'backbone.' }");
}

TEST(SchemaDiff, JsonCarriesTheVerdictAndFindings) {
  ModelSchema after = gan();
  module(after, "discriminator").tensors[1].key = "head.weight";
  const json j = schema_diff_json(diff_schemas(gan(), after));
  EXPECT_EQ(j.at("schema"), "ckpt-harness.schema-diff");
  EXPECT_EQ(j.at("strictly_loadable"), false);
  EXPECT_EQ(j.at("modules")[1].at("renamed")[0].at("to"), "head.weight");
}

TEST(CheckpointSchema, GanCheckpointImpliesModulesAndOptimizers) {
  CheckpointSet c(std::string(CKPT_FIXTURES_DIR) + "/gan_dcgan_adam.pt");
  const ModelSchema s = schema_of_checkpoint(c);
  EXPECT_FALSE(s.tensor_kinds_known);
  ASSERT_NE(s.module("generator"), nullptr);
  ASSERT_NE(s.module("discriminator"), nullptr);
  EXPECT_EQ(s.module("generator")->tensors.front().key, "main.0.weight");
  ASSERT_NE(s.optimizer("generator_optimizer"), nullptr);
  EXPECT_EQ(s.optimizer("generator_optimizer")->class_name, "Adam or AdamW");
  ASSERT_EQ(s.optimizer("generator_optimizer")->groups.size(), 1u);
  EXPECT_GT(s.optimizer("generator_optimizer")->groups[0].size, 0u);
  EXPECT_EQ(s.optimizer("generator_optimizer")->groups[0].hyper.at("beta1"), 0.5);
  // Written without kinds, read back the same.
  const json j = to_json(s);
  EXPECT_FALSE(j.at("modules")[0].at("tensors")[0].contains("kind"));
  EXPECT_EQ(to_json(model_schema_from_json(j, "x.json")), j);
}

TEST(CheckpointSchema, BareStateDictIsTheModuleModel) {
  CheckpointSet c(std::string(CKPT_FIXTURES_DIR) + "/generator_state_dict.pt");
  const ModelSchema s = schema_of_checkpoint(c);
  ASSERT_EQ(s.modules.size(), 1u);
  EXPECT_EQ(s.modules[0].name, "model");
}

TEST(CheckpointSchema, CheckpointWithoutStateDictIsAnError) {
  CheckpointSet c(std::string(CKPT_FIXTURES_DIR) + "/scalars_and_empty.pt");
  try {
    schema_of_checkpoint(c);
    ADD_FAILURE() << "no error";
  } catch (const SchemaError& e) {
    EXPECT_NE(std::string(e.what()).find("scalars_and_empty.pt: holds no state dict"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ckpt::test
