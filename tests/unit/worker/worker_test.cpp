// The worker's parts below its command line: finding a plugin by name and version among the
// built ones, the options a config gives it, and the checkpoint digests the reports show.
#include <gtest/gtest.h>

#include <fstream>

#include "plugin_host/plugin_host.hpp"
#include "support/temp_dir.hpp"
#include "worker/file_digest.hpp"
#include "worker/plugin_lookup.hpp"

namespace ckpt::test {
namespace {

// The bundled plugins' directory (dcgan 1.0.0 to 3.0.0, cyclegan, sngan, pix2pix, ...).
const std::vector<std::string> kPluginDirs{CKPT_PLUGIN_DIR};

std::string error_of(const std::string& selector) {
  try {
    const auto plugin = find_plugin(selector, kPluginDirs);
    return "found " + plugin->info().name + "@" + plugin->info().version;
  } catch (const PluginError& e) {
    return e.what();
  }
}

TEST(PluginLookup, ANameTakesTheNewestVersionAndAGlobNarrowsIt) {
  EXPECT_EQ(find_plugin("dcgan", kPluginDirs)->info().version, "3.0.0");
  EXPECT_EQ(find_plugin("dcgan@1.*", kPluginDirs)->info().version, "1.0.0");
  EXPECT_EQ(find_plugin("dcgan@2.0.0", kPluginDirs)->info().version, "2.0.0");
  EXPECT_EQ(find_plugin("dcg?n@2.*", kPluginDirs)->info().name, "dcgan");
}

TEST(PluginLookup, WhatIsNotFoundOrAmbiguousIsRefusedSayingWhatThereIs) {
  const std::string unknown = error_of("dcgn");
  EXPECT_NE(unknown.find("no plugin of that name in " + std::string(CKPT_PLUGIN_DIR)), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("dcgan@1.0.0"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("give a path, NAME@VERSION, --plugin-dir or CKPT_HARNESS_PLUGIN_PATH"), std::string::npos) << unknown;
  const std::string no_version = error_of("dcgan@9.*");
  EXPECT_NE(no_version.find("no plugin of that name"), std::string::npos) << no_version;
  const std::string several = error_of("*gan");
  EXPECT_NE(several.find("matches plugins of"), std::string::npos) << several;
  EXPECT_NE(several.find("cyclegan, dcgan"), std::string::npos) << several;
  EXPECT_NE(several.find("give one name (the version may stay a glob, dcgan@2.*)"), std::string::npos) << several;
}

TEST(PluginLookup, OverridesComeAfterTheConfigsOptions) {
  HarnessConfig config;
  config.plugin_settings["dcgan"].options = {{"ngf", "32"}, {"nz", "100"}};
  const Options options = configured_options(&config, "dcgan", {{"nz", "64"}});
  EXPECT_EQ(options, (Options{{"ngf", "32"}, {"nz", "64"}}));
  EXPECT_EQ(configured_options(&config, "sngan", {}), Options{});
  EXPECT_EQ(configured_options(nullptr, "dcgan", {{"a", "b"}}), (Options{{"a", "b"}}));
}

class FileDigestTest : public TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return path;
  }
};

TEST_F(FileDigestTest, DigestsFollowTheFileAndStayInsideTheirDirectories) {
  const std::string file = write("a.pt", "abc");
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";  // FIPS 180-2's example
  EXPECT_EQ(sha256_of_file(file), abc);
  FileDigests digests;
  EXPECT_EQ(digests.of(file), abc);
  write("a.pt", "abcd");  // a new size: the file is read again
  EXPECT_EQ(digests.of(file), "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589");
  EXPECT_EQ(sha256_of_file((dir_ / "missing.pt").string()), "");
  std::filesystem::create_directories(dir_ / "inside");
  EXPECT_EQ(sha256_of_file(file, {(dir_ / "inside").string()}), "") << "a file outside the allowed directories";
  EXPECT_EQ(sha256_of_file(file, {dir_.string()}), "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589");
}

}  // namespace
}  // namespace ckpt::test
