// Runs the real ckpt-harness executable on real fixtures, as a user would.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/test_paths.hpp"
#include "support/text_helpers.hpp"
#include "support/zip_builder.hpp"

namespace ckpt::test {
namespace {

using CliRun = CommandResult;

CliRun run(const std::string& args) { return run_command(std::string(CKPT_HARNESS_BIN) + " " + args + " 2>&1"); }


// Expects every one of `lines` in `out`.
void expect_lines(const std::string& out, std::initializer_list<const char*> lines) {
  for (const char* line : lines) EXPECT_TRUE(contains(out, line)) << line << "\n" << out;
}

// A key holding a lone surrogate (Python pickles str with 'surrogatepass', so such keys
// exist): every JSON the harness writes stays valid UTF-8, none aborts.
class JsonOutput : public TempDirTest {};

TEST_F(JsonOutput, ALoneSurrogateInAKeyKeepsEveryJsonValid) {
  using namespace std::string_literals;
  const std::string key = "main.0.weight\xed\xa0\x80"s;  // U+D800 as 'surrogatepass' writes it
  const std::string tensor =
      "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0"
      "X\x03\x00\x00\x00" "cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89" "ccollections\nOrderedDict\n)RtR"s;
  const std::string pickle = "\x80\x02}(X\x09\x00\x00\x00generator}(X"s + static_cast<char>(key.size()) + "\x00\x00\x00"s + key +
                             tensor + "uu."s;
  const std::string file = (dir_ / "surrogate.pt").string();
  std::ofstream(file, std::ios::binary) << torch_zip(pickle, {{"0", floats(4)}});
  const CliRun schema = run_command(std::string(CKPT_HARNESS_BIN) + " schema " + file + " 2>/dev/null");
  EXPECT_EQ(schema.exit_code, 0) << schema.out;
  EXPECT_FALSE(nlohmann::json::parse(schema.out, nullptr, false).is_discarded()) << schema.out;
  const CliRun diff = run_command(std::string(CKPT_HARNESS_BIN) + " diff " + file +
                                  " --plugin dcgan@1.0.0 --option nz=16 --option ngf=4 --option ndf=4 --json 2>/dev/null");
  EXPECT_EQ(diff.exit_code, 1) << diff.out;  // not strictly loadable: a JSON verdict, not an abort
  const nlohmann::json doc = nlohmann::json::parse(diff.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << diff.out;
  EXPECT_NE(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict).find("main.0.weight"), std::string::npos);
}

TEST(InspectCli, GanCheckpointTree) {
  const CliRun r = run("inspect " + fixture("gan_dcgan_adam.pt"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "├─ 'generator': OrderedDict (7 entries) state dict")) << r.out;
  EXPECT_TRUE(contains(r.out, "'main.0.weight': float32 [8, 8, 4, 4]  4.0 KiB")) << r.out;
  EXPECT_TRUE(contains(r.out, "'generator_optimizer': optimizer state dict (Adam or AdamW): 1 group, 4 params, state for 4 (exp_avg, exp_avg_sq, step); group 0: lr=0.0002, betas=(0.5, 0.999), eps=1e-08")) << r.out;
  EXPECT_TRUE(contains(r.out, "betas=(0.5, 0.999)")) << r.out;
  EXPECT_TRUE(contains(r.out, "'epoch': int 7")) << r.out;
  EXPECT_TRUE(contains(r.out, "summary: torch-zip (format version 3), 42 tensors")) << r.out;
  EXPECT_TRUE(contains(r.out, "security: no findings")) << r.out;
}

TEST(InspectCli, DepthLimitsTheTree) {
  const CliRun r = run("inspect --depth 0 " + fixture("gan_dcgan_adam.pt"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(contains(r.out, "'generator'")) << r.out;
  EXPECT_TRUE(contains(r.out, "dict (7 entries)")) << r.out;
}

TEST(InspectCli, HostileCheckpointIsFlaggedAndFails) {
  std::remove("/tmp/ckpt_pwned");
  const CliRun r = run("inspect " + fixture("hostile/evil_system.pt"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "DANGEROUS `posix.system` at ['evil']")) << r.out;
  EXPECT_TRUE(contains(r.out, "nothing was executed")) << r.out;
  FILE* pwned = std::fopen("/tmp/ckpt_pwned", "r");
  EXPECT_EQ(pwned, nullptr) << "the payload ran";
  if (pwned) std::fclose(pwned);
}

// A torch.distributed.checkpoint directory written by two ranks: the user's nesting, each
// tensor's chunks and files, and the coverage; a damaged copy fails with a finding naming the
// tensor, the chunk and the file, and still shows the rest.
TEST(InspectCli, DistributedCheckpointDirectoriesShowTheirChunksAndCoverage) {
  const CliRun good = run("inspect " + fixture("pytorch2/dcp/gan_two_ranks"));
  EXPECT_EQ(good.exit_code, 0) << good.out;
  EXPECT_TRUE(contains(good.out, "'main.0.weight': float32 [16, 32, 4, 4]  32.0 KiB  (2 chunks in __0_0.distcp, __1_0.distcp)")) << good.out;
  EXPECT_TRUE(contains(good.out, "'epoch': int 7")) << good.out;
  EXPECT_TRUE(contains(good.out, "summary: dcp, 117 tensors")) << good.out;
  EXPECT_TRUE(contains(good.out, "  __0_0.distcp: 30 chunks of 30 tensors")) << good.out;
  EXPECT_TRUE(contains(good.out, "coverage: the chunks of every tensor tile its shape, and every record reads as its chunk "
                                 "(117 tensors, 147 chunks)")) << good.out;
  const CliRun json = run("inspect --json " + fixture("pytorch2/dcp/gan_two_ranks/.metadata"));
  EXPECT_EQ(json.exit_code, 0) << json.out;
  const auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["files"][0]["format"], "dcp");
  EXPECT_EQ(doc["files"][0]["dcp_files"].size(), 2u);
  EXPECT_EQ(doc["files"][0]["tree"]["children"][0]["value"]["children"][0]["value"]["tensor"]["chunks"][1]["offsets"],
            nlohmann::json::array({8, 0, 0, 0}));
  const CliRun hole = run("inspect " + fixture("hostile/dcp_hole"));
  EXPECT_EQ(hole.exit_code, 1) << hole.out;
  EXPECT_TRUE(contains(hole.out, "integrity: 1 finding(s); the rest of the checkpoint reads\n"
                                 "  'generator.main.0.weight': its 2 chunk(s) cover 7680 of its 8192 elements")) << hole.out;
  EXPECT_TRUE(contains(hole.out, "'discriminator': dict (20 entries)")) << hole.out;
}

TEST(InspectCli, JsonOutputWithAnErrorEntry) {
  const CliRun r = run("inspect --json " + fixture("generator_state_dict.pt") + " " + fixture("README.md") + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1);
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["schema"], "ckpt-harness.inspect");
  EXPECT_EQ(doc["schema_version"], 1);
  ASSERT_EQ(doc["files"].size(), 2u);
  const auto& first = doc["files"][0];
  EXPECT_EQ(first["format"], "torch-zip");
  EXPECT_EQ(first["summary"]["tensors"], 7);
  EXPECT_EQ(first["tree"]["children"][0]["key"], "main.0.weight");
  EXPECT_EQ(first["tree"]["children"][0]["value"]["tensor"]["shape"], nlohmann::json::array({8, 8, 4, 4}));
  EXPECT_EQ(doc["files"][1]["error"]["kind"], "not-a-checkpoint");
}

TEST(InspectCli, UnreadableFileIsAClearError) {
  const CliRun r = run("inspect " + fixture("README.md"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "error [not-a-checkpoint]: " + fixture("README.md") + ": byte 0: not a checkpoint")) << r.out;
}

// Each format other than the zip one reads into the same tree: its format named in the
// summary with the tensor count, the keys with dtype and shape, what an optimizer state
// holds, and no finding.
TEST(InspectCli, EveryFormat) {
  const CliRun legacy = run("inspect " + fixture("legacy_gan.pt"));
  EXPECT_EQ(legacy.exit_code, 0) << legacy.out;
  expect_lines(legacy.out, {"summary: torch-legacy (format version 1001), 42 tensors, 5,419 elements",
                            "'generator': OrderedDict (7 entries) state dict", "'main.0.weight': float32 [8, 8, 4, 4]  4.0 KiB",
                            "'main.1.num_batches_tracked': int64 []  8 B",
                            "'generator_optimizer': optimizer state dict (Adam or AdamW): 1 group, 4 params, state for 4 "
                            "(exp_avg, exp_avg_sq, step)",
                            "'epoch': int 7", "security: no findings"});
  const CliRun single = run("inspect " + fixture("safetensors/model.safetensors"));
  EXPECT_EQ(single.exit_code, 0) << single.out;
  expect_lines(single.out, {"summary: safetensors, 11 tensors, 1,199 elements", "'extra.a_bf16': bfloat16 [2, 2]  8 B",
                            "'extra.d_bool': bool [2, 2]  4 B", "'main.0.weight': float32 [8, 8, 4, 4]", "security: no findings"});
  const CliRun sharded = run("inspect " + fixture("safetensors/sharded/model.safetensors.index.json"));
  EXPECT_EQ(sharded.exit_code, 0) << sharded.out;
  expect_lines(sharded.out, {"summary: safetensors-index, 8 tensors, 641 elements", "'main.5.weight': float32 [1, 8, 2, 2]  128 B",
                             "'main.3.running_var': float32 [8]", "security: no findings"});
}

// What PyTorch 2.6 writes and loads with weights_only=True (fixtures/pytorch2/) is safe here
// too: _rebuild_tensor_v3, float8 and unsigned dtypes, fused / foreach optimizer flags,
// schedulers, GradScaler and RNG states raise no finding, and the dtypes are named.
TEST(InspectCli, WhatPyTorch2SavesIsReadWithoutFindings) {
  for (const char* f : {"pytorch2/dtypes_v3.pt", "pytorch2/dcgan_adamw.pt", "pytorch2/dcgan_bf16.pt"}) {
    const CliRun r = run("inspect " + fixture(f));
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, "security: no findings")) << f << "\n" << r.out;
  }
  const CliRun dtypes = run("inspect " + fixture("pytorch2/dtypes_v3.pt"));
  expect_lines(dtypes.out, {"'float8_e4m3fn': float8_e4m3fn [2, 3]", "'uint64': uint64 [4]", "'complex32': complex32 [3]",
                           "'uint16_slice': uint16 [2, 3]", "'bits16': bits16 [4]"});
  // The training state a PyTorch 2.6 script saves beside the models, one line each.
  const CliRun gan = run("inspect " + fixture("pytorch2/dcgan_adamw.pt"));
  expect_lines(gan.out, {"'generator_scheduler': LR scheduler state (StepLR): last_epoch=3, base_lrs=[0.0002]",
                           "'scaler': GradScaler state: scale=1024, growth_factor=2, backoff_factor=0.5, growth_interval=2000",
                           "'torch': torch CPU generator state (Mersenne Twister, 5056 bytes)",
                           "'numpy': numpy RNG state (MT19937)", "'python': Python random state (Mersenne Twister)"});
  const CliRun bf16 = run("inspect " + fixture("pytorch2/dcgan_bf16.pt"));
  EXPECT_TRUE(contains(bf16.out, "'main.0.weight': bfloat16 [16, 32, 4, 4]")) << bf16.out;
}

// Every tensor kind PyTorch 2.6 saves besides dense ones is read and said; none is a finding.
TEST(InspectCli, QuantizedSparseAndMetaTensorsOfPyTorch2) {
  const CliRun r = run("inspect " + fixture("pytorch2/tensor_kinds.pt"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  expect_lines(r.out, {"'per_tensor_quint8': quint8 [4, 6]  24 B  (per_tensor_affine scale 0.05 zero point 3)",
                           "'per_channel_axis1': quint8 [4, 6]  24 B  (per_channel_affine along dim 1)",
                           "0: qint8 [3, 6]  18 B  (per_tensor_affine scale 0.02 zero point 0)",
                           "'coo_hybrid': float32 [5, 2]  32 B  (sparse_coo, 2 stored)",
                           "'bsc': float32 [4, 6]  120 B  (sparse_bsc, 3 blocks)", "'meta': float32 [2, 3]  0 B  (meta, no data)",
                           "17 tensors, 264 elements (0 in Parameters), 986 B in 31 storages", "security: no findings"});
}

// A tensor subclass is read as its tensor, and its class is a finding, as torch.load with
// weights_only=True refuses it until the team allows the class.
TEST(InspectCli, TensorSubclassIsReadAndItsClassIsAFinding) {
  const CliRun r = run("inspect " + fixture("pytorch2/tensor_subclass.pt"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "'tagged': float32 [4]  16 B  (subclass tensor_subclasses.TaggedTensor)")) << r.out;
  EXPECT_TRUE(contains(r.out, "'sparse_parameter': float32 [3, 3]  20 B  (sparse_coo, 1 stored)  Parameter")) << r.out;
  EXPECT_TRUE(contains(r.out, "`tensor_subclasses.TaggedTensor` at ['tagged']")) << r.out;
}

TEST(InspectCli, VersionHelpAndUsageErrors) {
  const CliRun version = run("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(contains(version.out, "ckpt-harness 0.")) << version.out;
  const CliRun help = run("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "inspect")) << help.out;
  EXPECT_EQ(run("").exit_code, 2);
  EXPECT_EQ(run("inspect").exit_code, 2);
  EXPECT_EQ(run("inspect --depth -3 x.pt").exit_code, 2);
}

TEST(InspectCli, ExecutableDoesNotLinkLibTorch) {
  // inspect must start instantly: linking libtorch costs ~0.7 s and 160 MB before main.
  const std::string libs = run_command("ldd " + std::string(CKPT_HARNESS_BIN)).out;
  EXPECT_TRUE(contains(libs, "libc.so")) << libs;
  EXPECT_FALSE(contains(libs, "libtorch")) << libs;
  EXPECT_FALSE(contains(libs, "libc10")) << libs;
}

TEST(InspectCli, MainJobOnTheShippedConfig) {
  const CliRun r = run("inspect --config " + std::string(CKPT_FIXTURES_DIR) + "/../ckpt-harness.toml");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "`argparse.Namespace` at ['args']")) << r.out;
  EXPECT_TRUE(contains(r.out, "[allowed by config]")) << r.out;
  EXPECT_TRUE(contains(r.out, "summary: libtorch-archive")) << r.out;
  EXPECT_FALSE(contains(r.out, "error")) << r.out;
}

TEST(InspectCli, ConfigErrorsExitTwo) {
  const CliRun r = run("inspect --config " + fixture("README.md"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "error [config]: " + fixture("README.md") + ":")) << r.out;
}

const std::string kSmallDcgan = " --plugin dcgan@1.0.0 --option nz=16 --option ngf=4 --option ndf=4";

TEST(PluginsCli, PluginDirAddsToTheDefaultDirectories) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ckpt-plugins-dir-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(CKPT_TEST_SCHEDULED, dir / "scheduled.so", std::filesystem::copy_options::overwrite_existing);
  const CliRun r = run("plugins --plugin-dir " + dir.string());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "scheduled 1.0.0")) << r.out;
  EXPECT_TRUE(contains(r.out, "dcgan 1.0.0")) << r.out;  // the bundled plugins still listed
}

TEST(DiffCli, CurrentCheckpointIsStrictlyCompatible) {
  const CliRun r = run("diff " + fixture("dcgan/current.pt") + kSmallDcgan);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "generator: strictly loadable (25 tensors")) << r.out;
  EXPECT_TRUE(contains(r.out, "verdict: strictly compatible")) << r.out;
}

// DCP checkpoints of one and of two ranks diff as PyTorch 2.6 loads them into one-process
// models (fixtures/pytorch2/oracle/dcp_load_state_dict.json: nothing missing or unexpected),
// optimizer state keyed by index strings (one process) or by parameter names (get_state_dict).
TEST(DiffCli, DistributedCheckpointsOfOneAndTwoRanks) {
  const auto verdicts = nlohmann::json::parse(file_bytes(fixture("pytorch2/oracle/dcp_load_state_dict.json")));
  for (const char* name : {"gan_one_process", "gan_two_ranks"}) {
    SCOPED_TRACE(name);
    for (const char* module : {"generator", "discriminator"}) {
      ASSERT_TRUE(verdicts[name][module]["missing"].empty() && verdicts[name][module]["unexpected"].empty());
    }
    const CliRun r = run("diff " + fixture(std::string("pytorch2/dcp/") + name) + kSmallDcgan);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_TRUE(contains(r.out, "generator: strictly loadable (25 tensors: keys, shapes and dtypes match)")) << r.out;
    EXPECT_TRUE(contains(r.out, "discriminator: strictly loadable (20 tensors")) << r.out;
    EXPECT_TRUE(contains(r.out, "generator_optimizer: loadable (saved Adam or AdamW, model Adam)")) << r.out;
    EXPECT_TRUE(contains(r.out, "epoch: 7 (training resumes at epoch 8)")) << r.out;
    EXPECT_TRUE(contains(r.out, "verdict: strictly compatible")) << r.out;
  }
}

TEST(DiffCli, WidenedModelListsSizeMismatchesInPyTorchWording) {
  const CliRun r = run("diff " + fixture("dcgan/widened.pt") + kSmallDcgan);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "size mismatch for main.0.weight: copying a param with shape torch.Size([16, 64, 4, 4]) "
                              "from checkpoint, the shape in current model is torch.Size([16, 32, 4, 4]).")) << r.out;
  EXPECT_TRUE(contains(r.out, "generator_optimizer: NOT loadable")) << r.out;
  EXPECT_TRUE(contains(r.out, "relaxed load: 4 of 25 tensors")) << r.out;
}

TEST(DiffCli, KeyRuleHintThenRule) {
  const CliRun hinted = run("diff " + fixture("dcgan/dataparallel.pt") + kSmallDcgan);
  EXPECT_EQ(hinted.exit_code, 1);
  EXPECT_TRUE(contains(hinted.out, "hint: every checkpoint key starts with 'module.'")) << hinted.out;
  const CliRun fixed = run("diff " + fixture("dcgan/dataparallel.pt") + kSmallDcgan + " --key-rule '^module\\.='");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out;
}

// A discriminator saved by PyTorch 2.6 with torch.nn.utils.parametrizations.spectral_norm, into
// the sngan plugin's old-hook layers: the harness's missing / unexpected keys are PyTorch 2.6's
// own (fixtures/pytorch2/oracle/load_state_dict.json, written by generate.py), its hint names
// the change, and the key rules it gives make the load strict, as they do in PyTorch.
TEST(DiffCli, SpectralNormParametrizationsAgainstTheOldHooksAsPyTorch26Says) {
  const std::string sngan = " --plugin sngan@1.0.0 --option nz=16 --option ngf=4 --option ndf=4 --option image_size=32";
  const CliRun r = run("diff --json " + fixture("pytorch2/sngan_parametrizations.pt") + sngan + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const auto doc = nlohmann::json::parse(r.out);
  std::ifstream in(fixture("pytorch2/oracle/load_state_dict.json"));
  const auto torch = nlohmann::json::parse(in)["sngan_parametrizations.pt"]["discriminator"];
  const auto& d = doc["modules"][1];
  ASSERT_EQ(d["module"], "discriminator");
  EXPECT_EQ(d["unexpected"], torch["unexpected"]);
  // PyTorch's old spectral-norm load hook also lists `<layer>.weight` (its pre-1.0 form) and
  // repeats keys; as a set, what is missing is the same.
  std::set<std::string> torch_missing;
  for (const auto& k : torch["missing"]) {
    const std::string key = k.get<std::string>();
    if (key.size() < 7 || key.compare(key.size() - 7, 7, ".weight") != 0) torch_missing.insert(key);
  }
  const std::set<std::string> missing(d["missing"].begin(), d["missing"].end());
  EXPECT_EQ(missing, torch_missing);
  const std::string hint = d["hint"];
  EXPECT_TRUE(contains(hint, "the checkpoint has torch.nn.utils.parametrizations.spectral_norm")) << hint;
  EXPECT_TRUE(contains(hint, "the model torch.nn.utils.spectral_norm (weight_orig, weight_u, weight_v)")) << hint;
  ASSERT_TRUE(torch["strict_after_renames"].get<bool>());
  const CliRun renamed = run("diff " + fixture("pytorch2/sngan_parametrizations.pt") + sngan +
                             " --key-rule '\\.parametrizations\\.weight\\.original$=.weight_orig'"
                             " --key-rule '\\.parametrizations\\.weight\\.0\\._u$=.weight_u'"
                             " --key-rule '\\.parametrizations\\.weight\\.0\\._v$=.weight_v'");
  EXPECT_EQ(renamed.exit_code, 0) << renamed.out;
  EXPECT_TRUE(contains(renamed.out, "discriminator: strictly loadable")) << renamed.out;
}

// torch.compile'd modules save their keys under '_orig_mod.': the harness's counts are PyTorch
// 2.6's own (BatchNorm counters migrated as PyTorch does), its hint gives the key rule, and
// the rule makes the load strict.
TEST(DiffCli, CompiledModulesKeysAsPyTorch26SaysAndTheRuleThatLoadsThem) {
  const CliRun r = run("diff --json " + fixture("pytorch2/dcgan_compiled.pt") + kSmallDcgan + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const auto doc = nlohmann::json::parse(r.out);
  std::ifstream in(fixture("pytorch2/oracle/load_state_dict.json"));
  const auto torch = nlohmann::json::parse(in)["dcgan_compiled.pt"];
  const auto& g = doc["modules"][0];
  ASSERT_EQ(g["module"], "generator");
  EXPECT_EQ(g["missing"].size(), torch["missing"].get<std::size_t>());
  EXPECT_EQ(g["unexpected"].size(), torch["unexpected"].get<std::size_t>());
  EXPECT_EQ(g["unexpected"][0], torch["first_unexpected"]);
  EXPECT_TRUE(contains(g["hint"].get<std::string>(), "{ pattern = '^_orig_mod\\.', replace = '' }")) << g["hint"];
  const CliRun fixed = run("diff " + fixture("pytorch2/dcgan_compiled.pt") + kSmallDcgan + " --key-rule '^_orig_mod\\.='");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out;
}

// parametrizations.weight_norm's keys (original0 = g, original1 = v) against plain weights: no
// rename makes g * v / |v|, and the hint says what does.
TEST(DiffCli, WeightNormParametrizationsSayWhatLoadsThem) {
  const CliRun r = run("diff " + fixture("pytorch2/dcgan_weight_norm.pt") + kSmallDcgan);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "Unexpected key(s) in state_dict: \"main.0.parametrizations.weight.original0\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "the checkpoint has torch.nn.utils.parametrizations.weight_norm")) << r.out;
  EXPECT_TRUE(contains(r.out, "torch.nn.utils.parametrize.remove_parametrizations")) << r.out;
  EXPECT_TRUE(contains(r.out, "discriminator: strictly loadable")) << r.out;
}

// The rest of a PyTorch 2.x training state: capturable and differentiable groups are said,
// schedulers (nested too), and the EMA copy are recognised.
TEST(InspectCli, PyTorch2SchedulersAndAnEmaGeneratorInOneLineEach) {
  const CliRun r = run("inspect --depth 1 " + fixture("pytorch2/training_state_2x.pt"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  expect_lines(r.out, {"'generator_scheduler': LR scheduler state (SequentialLR): last_epoch=3, milestones=[2], 2 nested scheduler(s): "
        "LinearLR, CosineAnnealingLR",
        "'discriminator_scheduler': LR scheduler state (OneCycleLR): last_epoch=2, base_lrs=[4e-05]",
        "'head_scheduler': LR scheduler state (LambdaLR or MultiplicativeLR): last_epoch=1, base_lrs=[0.1]",
        "'generator_ema': averaged model (torch.optim.swa_utils.AveragedModel: EMA or SWA): n_averaged and 25 tensors under "
        "'module.'",
        "security: no findings"});
  const CliRun d = run("diff " + fixture("pytorch2/training_state_2x.pt") + kSmallDcgan);
  EXPECT_EQ(d.exit_code, 0) << d.out;
  EXPECT_TRUE(contains(d.out, "group 0 differentiable=True: autograd recorded the step")) << d.out;
  EXPECT_TRUE(contains(d.out, "group 0 capturable=True: the state's 'step' stayed on the device")) << d.out;
}

// Scheduler states saved out of step with their optimizers: what PyTorch 2.6 does on resuming
// (fixtures/pytorch2/oracle/load_state_dict.json) is what the harness says will happen.
TEST(DiffCli, SchedulersOutOfStepWithTheirOptimizersAsPyTorch26Resumes) {
  std::ifstream in(fixture("pytorch2/oracle/load_state_dict.json"));
  const auto torch = nlohmann::json::parse(in)["schedulers_out_of_step.pt"];
  const CliRun r = run("diff --json " + fixture("pytorch2/schedulers_out_of_step.pt") + kSmallDcgan + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;  // loading is fine: resuming is what goes wrong
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["schedulers"].size(), 2u) << r.out;
  const auto& g = doc["schedulers"][0];
  EXPECT_EQ(g["name"], "generator_scheduler");
  EXPECT_EQ(g["class"], "StepLR");
  EXPECT_EQ(g["optimizer"], "generator_optimizer");
  ASSERT_EQ(g["problems"].size(), 1u);
  // PyTorch resumes with the optimizer's lr while the scheduler believes it set another.
  ASSERT_NE(torch["generator_lr_after_load"], torch["generator_scheduler_last_lr"]);
  ASSERT_EQ(torch["generator_scheduler_last_lr"].get<double>(), 1e-4);
  ASSERT_EQ(torch["generator_lr_after_load"].get<double>(), 2e-4);
  EXPECT_TRUE(contains(g["problems"][0].get<std::string>(),
                       "last set lr [0.0001], but generator_optimizer's groups have lr [0.0002]"))
      << g["problems"][0];
  const auto& d = doc["schedulers"][1];
  EXPECT_EQ(d["class"], "OneCycleLR");
  ASSERT_EQ(d["problems"].size(), 1u);
  EXPECT_TRUE(contains(d["problems"][0].get<std::string>(), torch["discriminator_next_step"].get<std::string>())) << d["problems"][0];
  // A consistent save (schedulers stepped as their optimizers were) has no problem.
  const CliRun good = run("diff --json " + fixture("pytorch2/training_state_2x.pt") + kSmallDcgan + " 2>/dev/null");
  for (const auto& s : nlohmann::json::parse(good.out)["schedulers"]) EXPECT_TRUE(s["problems"].empty()) << s;
}

// The seed's GAN layout written by PyTorch 2.6 (AdamW with foreach=True for G, Adam with
// fused=True for D) loads into the current DCGAN; the 2.x flags the C++ optimizers lack are said.
TEST(DiffCli, PyTorch26TrainingStateLoadsAndItsFlagsAreSaid) {
  const CliRun r = run("diff " + fixture("pytorch2/dcgan_adamw.pt") + kSmallDcgan);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "verdict: strictly compatible")) << r.out;
  EXPECT_TRUE(contains(r.out, "group 0 weight_decay: checkpoint 0.01, model 0")) << r.out;
  EXPECT_TRUE(contains(r.out, "PyTorch 2.x flags the C++ optimizer has not")) << r.out;
  EXPECT_TRUE(contains(r.out, "group 0 foreach=True")) << r.out;
  EXPECT_TRUE(contains(r.out, "group 0 fused=True")) << r.out;
}

TEST(DiffCli, LayoutsAndJson) {
  EXPECT_EQ(run("diff " + fixture("dcgan/netG_layout.pt") + kSmallDcgan + " --layout netG").exit_code, 0);
  EXPECT_EQ(run("diff " + fixture("dcgan/lightning_layout.pt") + kSmallDcgan + " --layout lightning").exit_code, 0);
  const CliRun r = run("diff " + fixture("dcgan/sgd_optimizers.pt") + kSmallDcgan + " --json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1);
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["schema"], "ckpt-harness.diff");
  EXPECT_EQ(doc["optimizers"][0]["saved_class"], "SGD");
  EXPECT_EQ(doc["optimizers"][0]["model_class"], "Adam");
  EXPECT_TRUE(doc["modules"][0]["strictly_loadable"].get<bool>());
}

TEST(DiffCli, UsageAndPluginErrorsExitTwo) {
  EXPECT_EQ(run("diff " + fixture("dcgan/current.pt")).exit_code, 2);  // no --plugin
  const CliRun r = run("diff " + fixture("dcgan/current.pt") + " --plugin nope");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "no plugin of that name")) << r.out;
  const CliRun bad_option = run("diff " + fixture("dcgan/current.pt") + " --plugin dcgan --option ngf=zero");
  EXPECT_EQ(bad_option.exit_code, 2);
  EXPECT_TRUE(contains(bad_option.out, "option 'ngf' is 'zero': expected an integer")) << bad_option.out;
}

// --plugin takes NAME@VERSION as a config's selectors do, globs in both parts; a glob that
// matches plugins of several names is refused, naming them.
TEST(DiffCli, PluginSelectorsAreTheConfigs) {
  const CliRun glob = run("diff " + fixture("dcgan/v2/current.pt") + " --plugin 'dcg*@2.*' --option nz=16 --option ngf=4 "
                          "--option ndf=4");
  EXPECT_EQ(glob.exit_code, 0) << glob.out;
  EXPECT_TRUE(contains(glob.out, "against plugin dcgan 2.0.0")) << glob.out;
  const CliRun several = run("diff " + fixture("dcgan/current.pt") + " --plugin '*gan@1.*'");
  EXPECT_EQ(several.exit_code, 2) << several.out;
  EXPECT_TRUE(contains(several.out, "matches plugins of 3 names (cyclegan, dcgan, sngan): give one name")) << several.out;
}

TEST(PluginsCli, PluginsFromTheConfig) {
  const std::string dir = ::testing::TempDir() + "ckpt-plugins-config";
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/harness.toml";
  std::ofstream(config) << "[[checkpoints]]\nfiles = [\"" << fixture("dcgan/current.pt") << "\"]\n[plugins]\npaths = [\""
                        << CKPT_TEST_GOOD_PLUGIN << "\"]\n";
  // The plugin lies outside the config's directory: refused unless allowed.
  const CliRun refused = run("plugins --config " + config);
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_TRUE(contains(refused.out, "[plugins] paths: '" + std::string(CKPT_TEST_GOOD_PLUGIN) + "' is outside the repository"))
      << refused.out;
  const std::string allow = " --allow-path " + std::filesystem::path(CKPT_TEST_GOOD_PLUGIN).parent_path().string();
  const CliRun listed = run("plugins --config " + config + allow);
  EXPECT_EQ(listed.exit_code, 0) << listed.out;
  EXPECT_TRUE(contains(listed.out, "tiny 1.0.0")) << listed.out;
  const CliRun by_name = run("diff " + fixture("dcgan/current.pt") + " --plugin tiny --config " + config + allow);
  EXPECT_TRUE(contains(by_name.out, "against plugin tiny")) << by_name.out;
  std::ofstream(config) << "[plugins]\npath = []\n";
  const CliRun bad = run("plugins --config " + config);
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_TRUE(contains(bad.out, "unknown key 'path' in [plugins]; did you mean 'paths'?")) << bad.out;
  std::filesystem::remove_all(dir);
}

TEST(PluginsCli, ListsTheDcganPlugin) {
  // --option applies to every plugin listed: list one.
  const CliRun r = run("plugins " + std::string(CKPT_DCGAN_PLUGIN) + " --option nz=16 --option ngf=4 --option ndf=4");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "dcgan 1.0.0  (ABI v1)")) << r.out;
  EXPECT_TRUE(contains(r.out, "module generator: 25 tensors, 19256 parameters")) << r.out;
  EXPECT_TRUE(contains(r.out, "optimizer generator_optimizer: Adam over 13 parameters")) << r.out;
}

// With the config, each plugin is built with its own [plugins.NAME] options.
TEST(PluginsCli, BuildsEachPluginWithItsConfiguredOptions) {
  const CliRun r = run("plugins --config " + std::string(CKPT_FIXTURES_DIR) + "/../ckpt-harness.toml");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "dcgan 1.0.0  (ABI v1)")) << r.out;
  EXPECT_TRUE(contains(r.out, "module generator: 25 tensors, 19256 parameters")) << r.out;  // nz=16 ngf=4
  EXPECT_TRUE(contains(r.out, "cyclegan 3.0.0")) << r.out;
  EXPECT_TRUE(contains(r.out, "sngan 2.0.0")) << r.out;
}

}  // namespace
}  // namespace ckpt::test
