#include "config/config.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "confine/confined_open.hpp"
#include "support/temp_dir.hpp"
#include "support/test_paths.hpp"

namespace ckpt::test {
namespace {

class ConfigTest : public TempDirTest {
 protected:
  std::string write(const std::string& text, const std::string& name = "harness.toml") {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string error_of(const std::string& text) {
    try {
      load_config(write(text));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  std::string file() const { return (dir_ / "harness.toml").string(); }
};

const std::string kGroup = "[[checkpoints]]\nfiles = [\"a.pt\"]\n";

TEST_F(ConfigTest, ShippedDefaultConfigNamesEveryFixtureFormat) {
  const HarnessConfig config = load_config(std::string(CKPT_FIXTURES_DIR) + "/../ckpt-harness.toml");
  const std::vector<std::string> files = expand_checkpoints(config);
  auto has = [&files](const std::string& suffix) {
    for (const auto& f : files) {
      if (f.size() >= suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("fixtures/gan_dcgan_adam.pt"));
  EXPECT_TRUE(has("fixtures/legacy_gan.pt"));
  EXPECT_TRUE(has("fixtures/libtorch/generator_module.pt"));
  EXPECT_TRUE(has("model.safetensors"));
  EXPECT_TRUE(has("model.safetensors.index.json"));
  EXPECT_TRUE(has("fixtures/dcgan/v2/current.pt"));
  EXPECT_FALSE(has("current.golden.pt"));  // recorded outputs, not checkpoints
  EXPECT_FALSE(has("evil_system.pt"));
  EXPECT_TRUE(config.allows_global("argparse.Namespace"));
  EXPECT_FALSE(config.allows_global("posix.system"));
  EXPECT_EQ(config.plugin_settings.at("dcgan").options.at("ngf"), "4");
  EXPECT_FALSE(config.expectations.empty());
}

TEST_F(ConfigTest, UnknownKeysSuggestTheNearest) {
  EXPECT_EQ(error_of("[[checkpoints]]\nfile = [\"a.pt\"]\n"),
            file() + ":2:1: unknown key 'file' in [checkpoints]; did you mean 'files'?");
  EXPECT_NE(error_of("[checkpoint]\n").find(":1:2: unknown key 'checkpoint'; did you mean 'checkpoints'?"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "[run]\njbos = 2\n").find(":4:1: unknown key 'jbos' in [run]; did you mean 'jobs'?"),
            std::string::npos);
  EXPECT_NE(error_of(kGroup + "[scenarios]\nrelaxed_treshold = 0.5\n").find("did you mean 'relaxed_threshold'?"),
            std::string::npos);
  EXPECT_NE(error_of(kGroup + "[plugins]\npath = []\n").find("unknown key 'path' in [plugins]; did you mean 'paths'?"),
            std::string::npos);
}

TEST_F(ConfigTest, WrongTypesRangesAndSyntax) {
  EXPECT_NE(error_of("[[checkpoints]]\nfiles = \"a.pt\"\n").find(":2:9: [checkpoints] files must be an array of strings"),
            std::string::npos);
  EXPECT_NE(error_of("[[checkpoints]]\nfiles = [\"a.pt\", 3]\n").find(":2:18: [checkpoints] files must hold only strings"),
            std::string::npos);
  EXPECT_NE(error_of("[checkpoints\n").find("harness.toml:1:"), std::string::npos);
  EXPECT_NE(error_of("[security]\n").find("no checkpoints"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "[run]\njobs = \"two\"\n").find(":4:8: [run] jobs must be an integer"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "[run]\njobs = 1000\n").find(":4:8: [run] jobs is 1000: expected 0 to 256"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "[scenarios]\nrelaxed_threshold = 1.5\n").find("relaxed_threshold is 1.5: expected 0 to 1"),
            std::string::npos);
  EXPECT_NE(error_of(kGroup + "[scenarios]\ndtype_policy = \"exakt\"\n").find("(did you mean 'exact'?)"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "[scenarios]\nresume_steps = 3\nresume_split = 3\n")
                .find("resume_split (3) must be less than resume_steps (3)"),
            std::string::npos);
  EXPECT_NE(error_of("[checkpoints]\nfiles = [\"a.pt\"]\n").find("write [[checkpoints]]"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "[run]\nhtml_assets = \"external\"\n")
                .find(":4:15: [run] html_assets: expected 'inline' (style and script inside report.html) or 'beside'"),
            std::string::npos);
  EXPECT_NE(error_of(kGroup + "[run]\nformats = [\"xml\"]\n").find(":4:12: [run] formats: unknown format 'xml'"),
            std::string::npos);
}

TEST_F(ConfigTest, ScenarioNamesAreChecked) {
  EXPECT_NE(error_of(kGroup + "[scenarios]\nrun = [\"strict-laod\"]\n")
                .find(":4:8: unknown scenario 'strict-laod'; did you mean 'strict-load'?"),
            std::string::npos);
  EXPECT_NE(error_of(kGroup + "[scenarios]\nrun = []\n").find("no scenario would run"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "[scenarios]\nrun = [\"format\", \"format\"]\n").find("listed twice"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "[[expectations]]\nscenario = \"shape\"\n").find("did you mean 'shapes'?"), std::string::npos);
  const HarnessConfig config = load_config(write(kGroup + "[scenarios]\nrun = [\"shapes\", \"format\"]\n"));
  EXPECT_EQ(config.scenarios.enabled, (std::vector<std::string>{"shapes", "format"}));
  EXPECT_EQ(config.groups.at(0).scenarios.enabled, config.scenarios.enabled);
}

TEST_F(ConfigTest, GroupsOverrideScenarioSettingsAndKeepTheirRules) {
  const HarnessConfig config = load_config(write(
      "[scenarios]\noptimizer_state = \"required\"\nsteps_per_epoch = 10\n"
      "[[checkpoints]]\nname = \"old\"\nfiles = [\"a.pt\"]\nplugins = [\"dcgan@1.*\"]\nlayout = \"netG\"\n"
      "key_rules = [{ pattern = '^module\\.', replace = '' }]\nsteps_per_epoch = 3\n"
      "[[checkpoints]]\nfiles = [\"b.pt\"]\n"));
  ASSERT_EQ(config.groups.size(), 2u);
  const CheckpointGroup& old = config.groups[0];
  EXPECT_EQ(old.name, "old");
  EXPECT_EQ(old.locator.layout, "netG");
  EXPECT_EQ(old.scenarios.steps_per_epoch, 3);
  EXPECT_EQ(old.scenarios.optimizer_state, "required");  // inherited from [scenarios]
  ASSERT_EQ(old.locator.key_rules.size(), 1u);
  EXPECT_EQ(old.locator.key_rules[0].pattern, "^module\\.");
  ASSERT_EQ(old.plugins.size(), 1u);
  EXPECT_TRUE(old.plugins[0].matches("dcgan", "1.2.0"));
  EXPECT_FALSE(old.plugins[0].matches("dcgan", "2.0.0"));
  EXPECT_EQ(config.groups[1].name, "checkpoints[1]");
  EXPECT_EQ(config.groups[1].scenarios.steps_per_epoch, 10);
  EXPECT_NE(error_of(kGroup + "layout = \"gann\"\n").find("did you mean 'gan'?"), std::string::npos);
  EXPECT_NE(error_of(kGroup + "key_rules = [{ pattern = '(' }]\n").find("is not a valid regex"), std::string::npos);
  const HarnessConfig dropping = load_config(write(
      kGroup + "key_rules = [{ pattern = 'running_(mean|var)$', drop = true }, { pattern = '^module\\.', replace = '' }]\n"));
  ASSERT_EQ(dropping.groups[0].locator.key_rules.size(), 2u);
  EXPECT_TRUE(dropping.groups[0].locator.key_rules[0].drop);
  EXPECT_FALSE(dropping.groups[0].locator.key_rules[1].drop);
  EXPECT_NE(error_of(kGroup + "key_rules = [{ pattern = 'x', replace = 'y', drop = true }]\n")
                .find("a key rule either drops the keys its pattern matches or replaces the match, not both"),
            std::string::npos);
  EXPECT_NE(error_of(kGroup + "name = \"x\"\n" + kGroup + "name = \"x\"\n").find("two [[checkpoints]] groups are named 'x'"),
            std::string::npos);
  EXPECT_NE(error_of(kGroup + "plugins = [\"@1\"]\n").find("expected NAME or NAME@VERSION-GLOB"), std::string::npos);
}

TEST_F(ConfigTest, PluginOptionsBecomeText) {
  const HarnessConfig config =
      load_config(write(kGroup + "[plugins.dcgan]\noptions = { nz = 16, lr = 0.5, name = \"x\", flag = true }\n"));
  const auto& options = config.plugin_settings.at("dcgan").options;
  EXPECT_EQ(options.at("nz"), "16");
  EXPECT_EQ(options.at("lr"), "0.5");
  EXPECT_EQ(options.at("name"), "x");
  EXPECT_EQ(options.at("flag"), "true");
  EXPECT_EQ(config.plugin_settings.at("dcgan").where.line, 3);
  EXPECT_NE(error_of(kGroup + "[plugins.dcgan]\noptions = { nz = [[1]] }\n")
                .find(":4:19: [plugins.dcgan] options.nz must hold only strings, numbers or booleans"),
            std::string::npos);
}

// Plugin options are text for the ABI: nested tables become dotted keys, arrays commas.
TEST_F(ConfigTest, NestedOptionsAreFlattened) {
  const HarnessConfig config = load_config(write(
      kGroup + "[plugins.gan]\noptions.inputs = { generator = [16, 1, 1] }\n"
               "options.optimizers.g = { class = \"Adam\", betas = [0.5, 0.999], amsgrad = false }\n"));
  const auto& options = config.plugin_settings.at("gan").options;
  EXPECT_EQ(options.at("inputs.generator"), "16,1,1");
  EXPECT_EQ(options.at("optimizers.g.class"), "Adam");
  EXPECT_EQ(options.at("optimizers.g.betas"), "0.5,0.999");
  EXPECT_EQ(options.at("optimizers.g.amsgrad"), "false");
  EXPECT_EQ(options.size(), 4u);
}

TEST_F(ConfigTest, ModelEntriesNameExportsInsideTheRepository) {
  std::filesystem::create_directories(dir_ / "exported");
  std::ofstream(dir_ / "exported" / "G.pt") << "x";
  const std::string entry = "[[models]]\nname = \"gan-ts\"\nversion = \"2.1.0\"\nplugin = \"torchscript\"\n";
  const HarnessConfig config = load_config(
      write(kGroup + entry + "files = { generator = \"exported/G.pt\" }\noptions = { gan = { loss = \"hinge\" } }\n"));
  ASSERT_EQ(config.models.size(), 1u);
  const ModelEntry& m = config.models[0];
  EXPECT_EQ(m.name, "gan-ts");
  EXPECT_EQ(m.version, "2.1.0");
  EXPECT_EQ(m.plugin, "torchscript");
  EXPECT_EQ(m.where.line, 3);
  EXPECT_EQ(m.options.at("files.generator"), std::filesystem::canonical(dir_ / "exported" / "G.pt").string());
  EXPECT_EQ(m.options.at("gan.loss"), "hinge");

  std::string e = error_of(kGroup + entry + "files = { generator = \"exported/missing.pt\" }\n");
  EXPECT_NE(e.find(":7:23: [[models]] 'gan-ts' files.generator: 'exported/missing.pt' is not a file"), std::string::npos) << e;
  std::ofstream(dir_.parent_path() / "outside.pt") << "x";
  e = error_of(kGroup + entry + "files = { generator = \"../outside.pt\" }\n");
  EXPECT_NE(e.find(":7:23: [[models]] 'gan-ts' files.generator: '"), std::string::npos) << e;
  EXPECT_NE(e.find("outside the repository"), std::string::npos) << e;
  std::filesystem::remove(dir_.parent_path() / "outside.pt");
  e = error_of(kGroup + "[[models]]\nname = \"x\"\nplugin = \"manifest\"\n");
  EXPECT_NE(e.find(":3:1: [[models]] needs version = "), std::string::npos) << e;
  e = error_of(kGroup + "[[models]]\nname = \"x@1\"\nversion = \"1\"\nplugin = \"manifest\"\n");
  EXPECT_NE(e.find(":4:8: [[models]] name 'x@1' may not hold '@'"), std::string::npos) << e;
  e = error_of(kGroup + entry);
  EXPECT_NE(e.find(":3:1: [[models]] gan-ts@2.1.0 needs files = { ... }"), std::string::npos) << e;
  // What a generic plugin loads is named only by files, which are confined: not by options.
  e = error_of(kGroup + entry + "files = { generator = \"exported/G.pt\" }\noptions = { files = { d = \"/tmp/evil.pt\" } }\n");
  EXPECT_NE(e.find(":8:21: [[models]] options.files: files are given by a [[models]] entry's files"), std::string::npos) << e;
  e = error_of(kGroup + "[plugins.torchscript]\noptions = { \"files.generator\" = \"/tmp/evil.pt\" }\n");
  EXPECT_NE(e.find(":4:33: [plugins.torchscript] options.files.generator: files are given by"), std::string::npos) << e;
  const std::string with_files = entry + "files = { generator = \"exported/G.pt\" }\n";
  e = error_of(kGroup + with_files + with_files);
  EXPECT_NE(e.find(":8:1: two [[models]] are gan-ts@2.1.0 (the other at line 3)"), std::string::npos) << e;
  e = error_of(kGroup + entry + "option = {}\n");
  EXPECT_NE(e.find("unknown key 'option' in [models]; did you mean 'options'?"), std::string::npos) << e;
}

TEST_F(ConfigTest, SelectorNamesAreGlobs) {
  const PluginSelector s = parse_plugin_selector("dcgan*@2.*", {});
  EXPECT_TRUE(s.matches("dcgan", "2.0.0"));
  EXPECT_TRUE(s.matches("dcgan-torchscript", "2.1.0"));
  EXPECT_FALSE(s.matches("dcgan-torchscript", "3.0.0"));
  EXPECT_FALSE(s.matches("sngan", "2.0.0"));
  EXPECT_TRUE(parse_plugin_selector("*", {}).matches("", ""));  // units without a plugin
}

TEST_F(ConfigTest, ExpectationsInlineAndFromTheBaselineFile) {
  write("[[expectations]]\nplugin = \"dcgan@2.*\"\nscenario = \"strict-load\"\nmissing = [\"k\"]\n", "baseline.toml");
  const HarnessConfig config = load_config(write(
      kGroup + "[run]\nexpectations_file = \"baseline.toml\"\n"
               "[[expectations]]\ncheckpoints = [\"old/*.pt\"]\nscenario = \"shapes\"\ncomponent = \"generator\"\n"
               "outcome = \"skipped\"\nreason = \"why\"\n"));
  ASSERT_EQ(config.expectations.size(), 2u);
  const ExpectationSetting& inline_one = config.expectations[0];
  EXPECT_EQ(inline_one.where.file, file());
  EXPECT_EQ(inline_one.plugin.name, "*");
  EXPECT_EQ(inline_one.outcome, "skipped");
  EXPECT_FALSE(inline_one.missing.has_value());
  const ExpectationSetting& from_file = config.expectations[1];
  EXPECT_EQ(from_file.where.file, (dir_ / "baseline.toml").string());
  EXPECT_EQ(from_file.where.line, 1);  // its [[expectations]] header
  EXPECT_EQ(*from_file.missing, std::vector<std::string>{"k"});
  EXPECT_EQ(from_file.outcome, "fail");
  write("[[expectations]]\nscenario = \"nope\"\n", "baseline.toml");
  EXPECT_NE(error_of(kGroup + "[run]\nexpectations_file = \"baseline.toml\"\n").find("baseline.toml:2:12: unknown scenario 'nope'"),
            std::string::npos);
}

TEST_F(ConfigTest, PluginPathsAreRelativeToTheConfig) {
  const HarnessConfig config = load_config(write(kGroup + "[plugins]\npaths = [\"p/x.so\", \"/abs\"]\n"), {"/abs"});
  ASSERT_EQ(config.plugin_paths.size(), 2u);
  EXPECT_EQ(config_relative(config, config.plugin_paths[0].value), (dir_ / "p/x.so").string());
  EXPECT_EQ(config_relative(config, config.plugin_paths[1].value), "/abs");
}

// Paths stay inside the config's repository (its directory here: no .git above /tmp).
TEST_F(ConfigTest, PathsOutsideTheRepositoryAreRefusedWhereTheyAreWritten) {
  const std::string outside = "outside the repository " + dir_.string() + ": a config may only name files inside it";
  std::string e = error_of(kGroup + "[run]\nreport_dir = \"../elsewhere\"\n");
  EXPECT_NE(e.find("harness.toml:4:14: [run] report_dir: '"), std::string::npos) << e;
  EXPECT_NE(e.find("is " + outside + "; allow a directory with --allow-path DIR"), std::string::npos) << e;
  e = error_of(kGroup + "[plugins]\npaths = [\"plugins/\", \"/usr/lib\"]\n");
  EXPECT_NE(e.find("harness.toml:4:22: [plugins] paths: '/usr/lib' is " + outside), std::string::npos) << e;
  e = error_of(kGroup + "[run]\nexpectations_file = \"/etc/baseline.toml\"\n");
  EXPECT_NE(e.find("harness.toml:4:21: [run] expectations_file: '/etc/baseline.toml' is " + outside), std::string::npos) << e;
  // Allowed from the command line.
  EXPECT_NO_THROW(load_config(write(kGroup + "[plugins]\npaths = [\"/usr/lib\"]\n"), {"/usr"}));
}

TEST_F(ConfigTest, CheckpointsOutsideTheRepositoryAreRefusedEvenThroughALink) {
  std::filesystem::create_directories(dir_ / "repo" / "ckpt");
  std::ofstream(dir_ / "outside.pt") << "x";
  std::ofstream(dir_ / "repo" / "ckpt" / "inside.pt") << "x";
  std::filesystem::create_symlink(dir_ / "outside.pt", dir_ / "repo" / "ckpt" / "link.pt");
  auto error_of_files = [&](const std::string& files, const std::vector<std::string>& allowed = {}) -> std::string {
    const HarnessConfig config = load_config(write("[[checkpoints]]\nfiles = [" + files + "]\n", "repo/h.toml"), allowed);
    try {
      expand_checkpoints(config);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error_of_files("\"ckpt/inside.pt\""), "no error");
  std::string e = error_of_files("\"../*.pt\"");
  EXPECT_NE(e.find("h.toml:2:10: [[checkpoints]] 'checkpoints[0]' files: '" + (dir_ / "outside.pt").string() + "' is outside"),
            std::string::npos) << e;
  e = error_of_files("\"ckpt/*.pt\"");
  EXPECT_NE(e.find("link.pt' is outside the repository " + (dir_ / "repo").string() + " (it resolves to " +
                   (dir_ / "outside.pt").string() + ")"), std::string::npos) << e;
  EXPECT_EQ(error_of_files("\"ckpt/*.pt\"", {dir_.string()}), "no error");
}

TEST_F(ConfigTest, TheRepositoryIsTheWorkTreeAboveTheConfig) {
  std::filesystem::create_directories(dir_ / ".git");
  std::filesystem::create_directories(dir_ / "configs");
  std::filesystem::create_directories(dir_ / "checkpoints");
  std::ofstream(dir_ / "checkpoints" / "a.pt") << "x";
  const HarnessConfig config = load_config(
      write("[run]\nreport_dir = \"../reports\"\n[[checkpoints]]\nfiles = [\"../checkpoints/*.pt\"]\n", "configs/h.toml"));
  EXPECT_EQ(config.confinement.root(), dir_.string());
  EXPECT_EQ(expand_checkpoints(config).size(), 1u);
}

TEST_F(ConfigTest, PatternThatMatchesNothingIsAnError) {
  const HarnessConfig config = load_config(write("[[checkpoints]]\nfiles = [\n  \"nothing/*.pt\",\n]\n"));
  try {
    expand_checkpoints(config);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":3:3: [[checkpoints]] 'checkpoints[0]' files: 'nothing/*.pt' matches no file"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ConfigTest, GlobsSkipGoldenFiles) {
  std::ofstream((dir_ / "a.pt").string()) << "x";
  std::ofstream((dir_ / "a.golden.pt").string()) << "x";
  std::ofstream((dir_ / "a.golden.libtorch-1.13.pt").string()) << "x";  // record-golden --for-this-libtorch
  const HarnessConfig config = load_config(write("[[checkpoints]]\nfiles = [\"*.pt\"]\n"));
  const auto files = expand_checkpoints(config);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(std::filesystem::path(files[0]).filename(), "a.pt");
}

// --- symbolic links: loops are located config errors, links out are refused --------------

// A link `name` in the test's directory that leads to itself.
void link_loop(const std::filesystem::path& dir, const std::string& name) {
  std::filesystem::create_directories((dir / name).parent_path());
  std::filesystem::create_symlink(std::filesystem::path(name).filename(), dir / name);
}

// The ConfigError of expanding the config `text`'s checkpoints (or of loading it).
std::string expansion_error(const std::string& text, const std::function<std::string(const std::string&)>& write) {
  try {
    expand_checkpoints(load_config(write(text)));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(ConfigTest, LinkLoopsAreErrorsWhereTheConfigNamesThem) {
  link_loop(dir_, "loop.pt");
  link_loop(dir_, "loops/a.pt");
  link_loop(dir_, "loop.so");
  link_loop(dir_, "loop.json");
  link_loop(dir_, "loop-dir");
  std::ofstream(dir_ / "a.pt") << "x";
  const std::string loop = "is a symbolic link loop (or leads through one): it resolves to no file";
  const auto write_config = [this](const std::string& text) { return write(text); };
  EXPECT_EQ(expansion_error("[[checkpoints]]\nfiles = [\"loop.pt\"]\n", write_config),
            file() + ":2:10: [[checkpoints]] 'checkpoints[0]' files: 'loop.pt' " + loop);
  EXPECT_EQ(expansion_error("[[checkpoints]]\nfiles = [\"a.pt\", \"loops/*.pt\"]\n", write_config),
            file() + ":2:18: [[checkpoints]] 'checkpoints[0]' files: 'loops/a.pt' " + loop);
  // Through a looping directory: glob finds nothing below it, the literal path is the loop.
  EXPECT_NE(expansion_error("[[checkpoints]]\nfiles = [\"loop-dir/x.pt\"]\n", write_config).find(":2:10: "),
            std::string::npos);
  EXPECT_EQ(error_of(kGroup + "[plugins]\npaths = [\"loop.so\"]\n"), file() + ":4:10: [plugins] paths: 'loop.so' " + loop);
  EXPECT_EQ(error_of(kGroup + "[run]\nreport_dir = \"loop-dir/reports\"\n"),
            file() + ":4:14: [run] report_dir: 'loop-dir/reports' " + loop);
  EXPECT_EQ(error_of(kGroup + "[run]\nexpectations_file = \"loop.json\"\n"),
            file() + ":4:21: [run] expectations_file: 'loop.json' " + loop);
  EXPECT_EQ(error_of(kGroup + "[[models]]\nname = \"m\"\nversion = \"1\"\nplugin = \"manifest\"\nfiles = { manifest = \"loop.json\" }\n"),
            file() + ":7:22: [[models]] 'm' files.manifest: 'loop.json' " + loop);
}

TEST_F(ConfigTest, TheConfigItselfAsALinkLoopIsAConfigError) {
  link_loop(dir_, "loop.toml");
  try {
    load_config((dir_ / "loop.toml").string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "loop.toml").string() + ": cannot read the config: Too many levels of symbolic links (a symbolic link loop)");
  }
}

TEST_F(ConfigTest, MessagesNameTheLinkAsWrittenAndTheTargetOutside) {
  std::filesystem::create_directories(dir_ / "repo" / "ckpt");
  std::ofstream(dir_ / "outside.pt") << "x";
  // A chain: inside -> inside -> outside; the message names the link and where it ends.
  std::filesystem::create_symlink(dir_ / "outside.pt", dir_ / "repo" / "ckpt" / "second.pt");
  std::filesystem::create_symlink("second.pt", dir_ / "repo" / "ckpt" / "first.pt");
  const HarnessConfig config = load_config(write("[[checkpoints]]\nfiles = [\"ckpt/first.pt\"]\n", "repo/h.toml"));
  try {
    expand_checkpoints(config);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("files: 'ckpt/first.pt' is outside the repository"), std::string::npos) << what;
    EXPECT_NE(what.find("(it resolves to " + (dir_ / "outside.pt").string() + ")"), std::string::npos) << what;
  }
  // A dangling link inside is not a config error: it is a file the reader cannot open.
  std::filesystem::create_symlink("gone.pt", dir_ / "repo" / "ckpt" / "dangling.pt");
  const HarnessConfig dangling = load_config(write("[[checkpoints]]\nfiles = [\"ckpt/dangling.pt\"]\n", "repo/h.toml"));
  EXPECT_EQ(expand_checkpoints(dangling).size(), 1u);
  // One that leads out is refused, though its target does not exist (yet).
  std::filesystem::create_symlink(dir_ / "later.pt", dir_ / "repo" / "ckpt" / "later.pt");
  const HarnessConfig later = load_config(write("[[checkpoints]]\nfiles = [\"ckpt/later.pt\"]\n", "repo/h.toml"));
  EXPECT_THROW(expand_checkpoints(later), ConfigError);
}

TEST_F(ConfigTest, AReportDirFromTheCommandLineMayNotLeaveTheRepositoryThroughItsLinks) {
  std::filesystem::create_directories(dir_ / "repo");
  std::filesystem::create_directories(dir_ / "elsewhere");
  std::filesystem::create_symlink(dir_ / "elsewhere", dir_ / "repo" / "ckpt-report");
  const PathConfinement confinement((dir_ / "repo").string(), {});
  const auto why = confinement.command_line_violation((dir_ / "repo" / "ckpt-report" / "shard-1").string(), "ckpt-report/shard-1");
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, "'ckpt-report/shard-1' leads out of the repository through a symbolic link (it resolves to " +
                      (dir_ / "elsewhere" / "shard-1").string() +
                      "): reports may be written only inside it or in an --allow-path DIR");
  // Outside as written (the CI script's choice), or inside: fine.
  EXPECT_FALSE(confinement.command_line_violation((dir_ / "elsewhere" / "reports").string()).has_value());
  EXPECT_FALSE(confinement.command_line_violation((dir_ / "repo" / "reports").string()).has_value());
  EXPECT_FALSE(confinement.command_line_violation((dir_ / "repo" / ".." / "out").string()).has_value());
  // Allowed from the command line.
  const PathConfinement allowing((dir_ / "repo").string(), {(dir_ / "elsewhere").string()});
  EXPECT_FALSE(allowing.command_line_violation((dir_ / "repo" / "ckpt-report" / "shard-1").string()).has_value());
}

// The open-time check: a link changed after the config was checked still leads nowhere.
TEST_F(ConfigTest, FilesAreConfinedWhereTheyAreOpenedNotOnlyWhenChecked) {
  std::filesystem::create_directories(dir_ / "repo");
  std::ofstream(dir_ / "repo" / "inside.pt") << "inside";
  std::ofstream(dir_ / "secret") << "secret";
  std::filesystem::create_symlink("inside.pt", dir_ / "repo" / "link.pt");
  const PathConfinement confinement((dir_ / "repo").string(), {});
  const std::string link = (dir_ / "repo" / "link.pt").string();
  ASSERT_FALSE(confinement.violation(link).has_value());  // checked: inside
  std::filesystem::remove(link);
  std::filesystem::create_symlink(dir_ / "secret", link);  // then changed
  const ConfinedFd opened = open_for_reading(link, O_RDONLY | O_CLOEXEC, confinement.roots());
  EXPECT_FALSE(opened.fd);
  EXPECT_TRUE(opened.outside);
  EXPECT_EQ(opened.real, (dir_ / "secret").string());
  const ConfinedFd inside = open_for_reading((dir_ / "repo" / "inside.pt").string(), O_RDONLY | O_CLOEXEC, confinement.roots());
  EXPECT_TRUE(inside.fd);
  const ConfinedFd loop = open_for_reading((dir_ / "repo" / "loop").string(), O_RDONLY, confinement.roots());
  EXPECT_EQ(loop.error, ENOENT);
  link_loop(dir_ / "repo", "loop");
  EXPECT_EQ(open_for_reading((dir_ / "repo" / "loop").string(), O_RDONLY, confinement.roots()).error, ELOOP);
}

TEST_F(ConfigTest, ReportsAreWrittenOnlyWhereTheirDirectoryReallyIs) {
  std::filesystem::create_directories(dir_ / "repo");
  std::filesystem::create_directories(dir_ / "elsewhere");
  std::ofstream(dir_ / "secret") << "secret";
  std::filesystem::create_symlink(dir_ / "elsewhere", dir_ / "repo" / "out");
  const AllowedDirs roots = {(dir_ / "repo").string()};
  // A directory (or an ancestor of one to be made) that leads out: refused before anything is made.
  const ConfinedFd out = open_directory_for_writing((dir_ / "repo" / "out" / "shard-1").string(), roots);
  EXPECT_FALSE(out.fd);
  EXPECT_TRUE(out.outside);
  EXPECT_EQ(out.real, (dir_ / "elsewhere" / "shard-1").string());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "elsewhere" / "shard-1"));
  // Inside: made; a link at the report's name is replaced, not written through.
  const ConfinedFd reports = open_directory_for_writing((dir_ / "repo" / "reports" / "shard-1").string(), roots);
  ASSERT_TRUE(reports.fd);
  std::filesystem::create_symlink(dir_ / "secret", dir_ / "repo" / "reports" / "shard-1" / "junit.xml");
  EXPECT_EQ(replace_file_at(reports.fd.get(), "junit.xml", "<testsuites/>"), 0);
  EXPECT_FALSE(std::filesystem::is_symlink(dir_ / "repo" / "reports" / "shard-1" / "junit.xml"));
  std::ifstream secret(dir_ / "secret");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(secret), {}), "secret");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_ / "repo" / "reports" / "shard-1"), {}), 1);
}

}  // namespace
}  // namespace ckpt::test
