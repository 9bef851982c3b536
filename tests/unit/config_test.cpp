#include "config/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"
#include "support/test_paths.hpp"

namespace ckpt::test {
namespace {

class ConfigTest : public TempDirTest {
 protected:
  std::string write(const std::string& text) {
    const std::string path = (dir_ / "harness.toml").string();
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
};

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
  EXPECT_FALSE(has("evil_system.pt"));
  EXPECT_TRUE(config.allows_global("argparse.Namespace"));
  EXPECT_FALSE(config.allows_global("posix.system"));
}

TEST_F(ConfigTest, UnknownKeySuggestsTheNearest) {
  EXPECT_EQ(error_of("[checkpoints]\nfile = [\"a.pt\"]\n"),
            (dir_ / "harness.toml").string() + ":2:1: unknown key 'file' in [checkpoints]; did you mean 'files'?");
  EXPECT_NE(error_of("[checkpoint]\n").find(":1:2: unknown key 'checkpoint'; did you mean 'checkpoints'?"), std::string::npos);
}

TEST_F(ConfigTest, WrongTypesAndSyntax) {
  EXPECT_NE(error_of("[checkpoints]\nfiles = \"a.pt\"\n").find(":2:9: [checkpoints] files must be an array of strings"),
            std::string::npos);
  EXPECT_NE(error_of("[checkpoints]\nfiles = [\"a.pt\", 3]\n").find(":2:18: [checkpoints] files must hold only strings"),
            std::string::npos);
  EXPECT_NE(error_of("[checkpoints\n").find("harness.toml:1:"), std::string::npos);
  EXPECT_NE(error_of("[security]\n").find("no checkpoints"), std::string::npos);
}

TEST_F(ConfigTest, PluginPathsAreRelativeToTheConfig) {
  const HarnessConfig config = load_config(write("[checkpoints]\nfiles = [\"a.pt\"]\n[plugins]\npaths = [\"p/x.so\", \"/abs\"]\n"));
  ASSERT_EQ(config.plugin_paths.size(), 2u);
  EXPECT_EQ(config_relative(config, config.plugin_paths[0].value), (dir_ / "p/x.so").string());
  EXPECT_EQ(config_relative(config, config.plugin_paths[1].value), "/abs");
}

TEST_F(ConfigTest, PatternThatMatchesNothingIsAnError) {
  const HarnessConfig config = load_config(write("[checkpoints]\nfiles = [\n  \"nothing/*.pt\",\n]\n"));
  try {
    expand_checkpoints(config);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":3:3: [checkpoints] files: 'nothing/*.pt' matches no file"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ckpt::test
