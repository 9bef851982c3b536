// `ckpt-harness schema` and `schema-diff` end to end: every bundled plugin version's schema
// equals the one plugins/manifest/write_manifest.py writes from its Python twin
// (fixtures/models/), and schema-diff's verdict on a checkpoint equals `diff`'s.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace ckpt::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kHarness = CKPT_HARNESS_BIN;
const std::string kFixtures = CKPT_FIXTURES_DIR;
const std::string kSource = CKPT_SOURCE_DIR;
const std::string kPython = CKPT_PYTHON;

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' is not in:\n" << text;
}

json without_source(json manifest) {
  manifest["model"].erase("source");
  return manifest;
}

class SchemaCli : public TempDirTest {
 protected:
  // The plugin's manifest, written with --out.
  std::string plugin_manifest(const std::string& plugin, const std::string& options = "") {
    const std::string out = (dir_ / (plugin + ".json")).string();
    const CommandResult r = run_command(kHarness + " schema --plugin " + plugin + options + " --out " + out + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return out;
  }
  static json read_json(const std::string& file) { return json::parse(std::ifstream(file)); }
};

struct Architecture {
  std::string name;
  std::string version;
};
void PrintTo(const Architecture& a, std::ostream* out) { *out << a.name << "@" << a.version; }

class SchemaOfEveryPlugin : public SchemaCli, public ::testing::WithParamInterface<Architecture> {};

// The same model, described from C++ and from Python, gives the same manifest: keys in
// state-dict order, dtypes, shapes, buffer or parameter, BatchNorm submodules, optimizer
// classes, groups, parameter order and hyper-parameters.
TEST_P(SchemaOfEveryPlugin, PythonHelperWritesThePluginsManifest) {
  const Architecture& a = GetParam();
  const json from_plugin = read_json(plugin_manifest(a.name + "@" + a.version));
  const CommandResult python = run_command(kPython + " " + kSource + "/plugins/manifest/write_manifest.py --factory " +
                                           kFixtures + "/models/" + a.name + ".py:build --name " + a.name +
                                           " --version " + a.version + " 2>&1");
  ASSERT_EQ(python.exit_code, 0) << python.out;
  const json from_python = json::parse(python.out);
  EXPECT_EQ(from_python.at("model").at("source"), "python " + kFixtures + "/models/" + a.name + ".py:build");
  EXPECT_EQ(without_source(from_plugin), without_source(from_python)) << "plugin:\n" << from_plugin.dump(1) << "\npython:\n" << from_python.dump(1);
  EXPECT_FALSE(from_plugin.at("modules").empty());
  EXPECT_FALSE(from_plugin.at("optimizers").empty());
}

// fixtures/schemas/ (fixtures/generate_schemas.py) are the manifests a model repository
// keeps per release: each equals its plugin's at the default config's sizes.
TEST_P(SchemaOfEveryPlugin, CommittedManifestIsThePluginsAtTheConfigsSizes) {
  const Architecture& a = GetParam();
  const json from_plugin =
      read_json(plugin_manifest(a.name + "@" + a.version, " --config " + kSource + "/ckpt-harness.toml"));
  const json committed = read_json(kFixtures + "/schemas/" + a.name + "-" + a.version + ".json");
  EXPECT_EQ(without_source(from_plugin), without_source(committed))
      << "regenerate with /usr/bin/python3 fixtures/generate_schemas.py, or fix the plugin";
}

// The model as the default config's [[models]] entries give it, exported from Python: its
// TorchScript export (modules and optimizers from the scripted files) and its manifest have
// the C++ plugin's schema. Modules and optimizers are compared by name: a config's tables
// are unordered, so an entry lists them alphabetically.
json by_name(json manifest) {
  manifest["model"].erase("source");
  manifest["model"].erase("name");
  for (const char* list : {"modules", "optimizers"}) {
    std::sort(manifest[list].begin(), manifest[list].end(),
              [](const json& a, const json& b) { return a["name"] < b["name"]; });
  }
  return manifest;
}

INSTANTIATE_TEST_SUITE_P(, SchemaOfEveryPlugin,
                         ::testing::Values(Architecture{"dcgan", "1.0.0"}, Architecture{"dcgan", "2.0.0"},
                                           Architecture{"dcgan", "3.0.0"}, Architecture{"sngan", "1.0.0"},
                                           Architecture{"sngan", "2.0.0"}, Architecture{"sngan", "3.0.0"},
                                           Architecture{"cyclegan", "1.0.0"}, Architecture{"cyclegan", "2.0.0"},
                                           Architecture{"cyclegan", "3.0.0"}),
                         [](const ::testing::TestParamInfo<Architecture>& info) {
                           std::string name = info.param.name + "_" + info.param.version;
                           for (char& c : name) c = c == '.' ? '_' : c;
                           return name;
                         });

// A team's factory: options as keywords, the version keyword-only, an Adam subclass.
TEST_F(SchemaCli, ExportedFormsInTheDefaultConfigHaveThePluginsSchema) {
  const std::string config = " --config " + kSource + "/ckpt-harness.toml";
  for (const std::string version : {"1.0.0", "2.0.0", "3.0.0"}) {
    const json committed = by_name(read_json(kFixtures + "/schemas/dcgan-" + version + ".json"));
    for (const std::string form : {"dcgan-torchscript", "dcgan-manifest"}) {
      const json exported = read_json(plugin_manifest(form + "@" + version, config));
      EXPECT_EQ(exported["model"]["name"], form);
      EXPECT_EQ(exported["model"]["version"], version);
      EXPECT_EQ(by_name(exported), committed) << form << "@" << version;
    }
  }
}

TEST_F(SchemaCli, PythonHelperTakesATeamsFactory) {
  const std::string factory = (dir_ / "gan.py").string();
  std::ofstream(factory) << R"(import torch
class TeamAdam(torch.optim.Adam):
    pass
def build(width='4', *, version):
    assert version == '7.0.0', version
    g = torch.nn.Sequential(torch.nn.Linear(int(width), 2), torch.nn.BatchNorm1d(2))
    return {'generator': g}, {'generator_optimizer': TeamAdam(g.parameters(), lr=1e-3)}
)";
  const CommandResult r = run_command(kPython + " " + kSource + "/plugins/manifest/write_manifest.py --factory " + factory + ":build" +
                                      " --name team --version 7.0.0 --option width=8 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json manifest = json::parse(r.out);
  const json& tensors = manifest.at("modules")[0].at("tensors");
  EXPECT_EQ(tensors[0].at("shape"), json::array({2, 8}));
  EXPECT_EQ(tensors[6].at("key"), "1.num_batches_tracked");
  EXPECT_EQ(tensors[6].at("kind"), "buffer");
  EXPECT_EQ(manifest.at("modules")[0].at("versions"), json({{"1", 2}}));
  EXPECT_EQ(manifest.at("optimizers")[0].at("class"), "Adam");
  EXPECT_EQ(manifest.at("optimizers")[0].at("groups")[0].at("hyper").at("lr"), 1e-3);
}

TEST_F(SchemaCli, ModelChangeIsExplainedAndJudged) {
  const std::string v2 = plugin_manifest("dcgan@2.0.0");
  const std::string v3 = plugin_manifest("dcgan@3.0.0");
  const CommandResult same = run_command(kHarness + " schema-diff " + v2 + " " + v2 + " 2>&1");
  EXPECT_EQ(same.exit_code, 0) << same.out;
  EXPECT_TRUE(contains(same.out, "verdict: no change to the checkpoint schema"));
  const CommandResult change = run_command(kHarness + " schema-diff " + v2 + " " + v3 + " 2>&1");
  EXPECT_EQ(change.exit_code, 1) << change.out;
  EXPECT_TRUE(contains(change.out, "schema-diff: dcgan 2.0.0 -> dcgan 3.0.0"));
  EXPECT_TRUE(contains(change.out, "module generator: unchanged"));
  EXPECT_TRUE(contains(change.out, "renamed   main."));  // 3.0 moves the last conv out of `main`
  EXPECT_TRUE(contains(change.out, "-> head."));
  EXPECT_TRUE(contains(change.out, "Error(s) in loading state_dict for discriminator:"));
  EXPECT_TRUE(contains(change.out, "verdict: checkpoints of dcgan 2.0.0 do NOT load strictly into dcgan 3.0.0"));
  const CommandResult as_json = run_command(kHarness + " schema-diff --json " + v2 + " " + v3);
  EXPECT_EQ(as_json.exit_code, 1);
  EXPECT_EQ(json::parse(as_json.out).at("strictly_loadable"), false);
}

// The sizes the dcgan fixtures were written with (ckpt-harness.toml's [plugins.dcgan]).
const std::string kFixtureSizes = " --option nz=16 --option ngf=4 --option ndf=4";

// The committed manifests explain each bundled model change.
TEST_F(SchemaCli, BundledModelChangesAreExplained) {
  const auto diff = [](const std::string& model, const char* from, const char* to) {
    return run_command(kHarness + " schema-diff " + kFixtures + "/schemas/" + model + "-" + from + ".json " + kFixtures +
                       "/schemas/" + model + "-" + to + ".json 2>&1");
  };
  const CommandResult sngan = diff("sngan", "1.0.0", "2.0.0");  // 10 -> 20 classes
  EXPECT_EQ(sngan.exit_code, 1);
  EXPECT_TRUE(contains(sngan.out, "reshaped  embed.weight  [10, 16] -> [20, 16]"));
  EXPECT_TRUE(contains(sngan.out, "breaks    group 0 position 0: state saved for generator.embed.weight [10, 16] would go to "
                                  "generator.embed.weight [20, 16]"));
  const CommandResult cyclegan = diff("cyclegan", "1.0.0", "2.0.0");  // 6 -> 9 residual blocks
  EXPECT_EQ(cyclegan.exit_code, 1);
  EXPECT_TRUE(contains(cyclegan.out, "renamed   model.23.weight -> model.26.weight  [3, 2, 7, 7] float32"));
  EXPECT_TRUE(contains(cyclegan.out, "added     model.16.conv_block.1.weight"));
  const CommandResult norm = diff("cyclegan", "2.0.0", "3.0.0");  // instance norm -> batch norm
  EXPECT_EQ(norm.exit_code, 1);
  EXPECT_TRUE(contains(norm.out, "added     model.2.running_mean"));
  // The InstanceNorm was saved at version 2: PyTorch adds no counter, it is missing.
  EXPECT_TRUE(contains(norm.out, "added     model.2.num_batches_tracked"));
  EXPECT_FALSE(contains(norm.out, "migrated"));
  EXPECT_FALSE(contains(norm.out, "renamed")) << "a conv that lost its bias is not renamed to the new norm's bias";
}

// A checkpoint stands for its model version's schema: schema-diff CHECKPOINT MANIFEST says
// what `diff CHECKPOINT --plugin` says about strict loading, without LibTorch.
TEST_F(SchemaCli, VerdictOnACheckpointEqualsDiffs) {
  int loads = 0, fails = 0;
  const std::string checkpoints[] = {"current.pt", "layer_added.pt", "layer_removed.pt", "fp16.pt", "batchnorm_v1.pt",
                                     "widened.pt", "v2/current.pt", "v3/current.pt"};
  for (const char* version : {"1.0.0", "2.0.0", "3.0.0"}) {
    const std::string manifest = plugin_manifest(std::string("dcgan@") + version, kFixtureSizes);
    for (const auto& c : checkpoints) {
      const std::string file = kFixtures + "/dcgan/" + c;
      if (!fs::exists(file)) continue;
      const CommandResult diff = run_command(kHarness + " diff " + file + " --plugin dcgan@" + version + kFixtureSizes + " 2>&1");
      const CommandResult schema_diff = run_command(kHarness + " schema-diff " + file + " " + manifest + " 2>&1");
      EXPECT_EQ(schema_diff.exit_code, diff.exit_code) << c << " against dcgan " << version << "\ndiff:\n"
                                                       << diff.out << "\nschema-diff:\n" << schema_diff.out;
      (diff.exit_code == 0 ? loads : fails) += 1;
    }
  }
  EXPECT_GE(loads, 5) << "the comparison must see checkpoints that load";
  EXPECT_GE(fails, 5) << "and checkpoints that do not";
}

// pytorch-CycleGAN-and-pix2pix's save_networks files: schema and schema-diff locate the
// components as diff does, with the same options, so their verdicts agree.
TEST_F(SchemaCli, LocatingOptionsAreDiffsOnSchemaAndSchemaDiff) {
  const std::string g_a = kFixtures + "/cyclegan/v1/split/latest_net_G_A.pth";
  const std::string config = " --config " + kSource + "/ckpt-harness.toml";
  const std::string v1 = plugin_manifest("cyclegan@1.0.0", config);
  const CommandResult diff = run_command(kHarness + " diff " + g_a + " --plugin cyclegan@1.0.0 --layout net-files" + config + " 2>&1");
  ASSERT_EQ(diff.exit_code, 0) << diff.out;
  const CommandResult located = run_command(kHarness + " schema-diff " + g_a + " " + v1 + " --layout net-files 2>&1");
  EXPECT_EQ(located.exit_code, 0) << located.out;
  EXPECT_TRUE(contains(located.out, "loads strictly into cyclegan 1.0.0"));
  // Without the layout the file is one bare state dict, the module "model": not the model.
  EXPECT_EQ(run_command(kHarness + " schema-diff " + g_a + " " + v1 + " 2>&1").exit_code, 1);

  const CommandResult schema = run_command(kHarness + " schema " + g_a + " --layout net-files 2>&1");
  ASSERT_EQ(schema.exit_code, 0) << schema.out;
  const json manifest = json::parse(schema.out);
  std::vector<std::string> modules;
  for (const auto& m : manifest.at("modules")) modules.push_back(m.at("name"));
  EXPECT_EQ(modules, (std::vector<std::string>{"D_A", "D_B", "G_A", "G_B"}));

  // --map and --drop-key: the generator's file, its running statistics dropped as the
  // team's loader drops them, under another name.
  const CommandResult mapped = run_command(kHarness + " schema " + kFixtures +
                                           "/cyclegan/v1/instance_norm_running_stats.pt --map G=G_A --drop-key "
                                           "'\\.(running_mean|running_var|num_batches_tracked)$' --module G 2>&1");
  ASSERT_EQ(mapped.exit_code, 0) << mapped.out;
  const json g = json::parse(mapped.out).at("modules");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].at("name"), "G");
  for (const auto& t : g[0].at("tensors")) EXPECT_EQ(t.at("key").get<std::string>().find("running"), std::string::npos) << t;

  const CommandResult wrong = run_command(kHarness + " schema " + kFixtures + "/dcgan/current.pt --layout net-files 2>&1");
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
  EXPECT_TRUE(contains(wrong.out, "error [layout]: layout 'net-files': the checkpoint '" + kFixtures +
                                      "/dcgan/current.pt' is not named <prefix>_net_<module>.pth"));
  const CommandResult bad_rule = run_command(kHarness + " schema " + g_a + " --drop-key '(' 2>&1");
  EXPECT_EQ(bad_rule.exit_code, 2);
  EXPECT_TRUE(contains(bad_rule.out, "--drop-key: pattern '(' is not a valid regex")) << bad_rule.out;
}

TEST_F(SchemaCli, CheckpointSchemaIsWrittenAndBadInputsAreNamed) {
  const CommandResult r = run_command(kHarness + " schema " + kFixtures + "/dcgan/current.pt");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json manifest = json::parse(r.out);
  EXPECT_EQ(manifest.at("model").at("source"), "checkpoint " + kFixtures + "/dcgan/current.pt");
  EXPECT_EQ(manifest.at("modules")[0].at("name"), "generator");

  const std::string v2 = plugin_manifest("dcgan@2.0.0", " --config " + kSource + "/ckpt-harness.toml");
  const CommandResult one = run_command(kHarness + " schema-diff " + kFixtures + "/dcgan/v2/current.pt " + v2 + " 2>&1");
  EXPECT_EQ(one.exit_code, 0) << one.out;
  EXPECT_TRUE(contains(one.out, "verdict: checkpoint " + kFixtures + "/dcgan/v2/current.pt loads strictly into dcgan 2.0.0"));

  const CommandResult none = run_command(kHarness + " schema " + kFixtures + "/scalars_and_empty.pt 2>&1");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(contains(none.out, "error [schema]: " + kFixtures + "/scalars_and_empty.pt: holds no state dict"));

  const std::string bad = (dir_ / "bad.json").string();
  std::ofstream(bad) << R"({"schema": "ckpt-harness.model-schema", "schema_version": 1, "modules": [{"name": "g", "tensors": [{"key": "w", "dtype": "float31", "shape": [1]}]}]})";
  const CommandResult invalid = run_command(kHarness + " schema-diff " + bad + " " + bad + " 2>&1");
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_TRUE(contains(invalid.out, "error [schema]: " + bad + ": modules[0].tensors[0].dtype: expected a PyTorch dtype name"));

  const CommandResult unknown = run_command(kHarness + " schema --plugin no_such_model 2>&1");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  EXPECT_TRUE(contains(unknown.out, "no_such_model"));
}

}  // namespace
}  // namespace ckpt::test
