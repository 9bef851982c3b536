// The run's plugin catalogue (runner/plugin_catalogue): which plugin files a run describes,
// two plugins of one name and version refused, files that cannot be used kept as units, and
// [[models]] entries built by their generic plugin. Workers are replaced by a describe
// function that answers from a table.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "runner/plugin_catalogue.hpp"
#include "support/temp_dir.hpp"
#include "support/text_helpers.hpp"

namespace ckpt::test {
namespace {

class PluginCatalogueTest : public TempDirTest {
 protected:
  HarnessConfig config_with(const std::string& text) {
    for (const char* f : {"plugins/a.so", "plugins/b.so", "c.pt", "exported/m.pt"}) {
      std::filesystem::create_directories((dir_ / f).parent_path());
      std::ofstream((dir_ / f).string()) << "x";
    }
    const std::string path = (dir_ / "h.toml").string();
    std::ofstream(path) << "[plugins]\npaths = [\"plugins\"]\n[plugins.tiny]\noptions = { width = 3 }\n" << text;
    return load_config(path);
  }
  // Answers each request from `described` (by file, or by entry name for a [[models]]
  // entry); an absent file is one that would not load.
  DescribePlugins describer(std::map<std::string, DescribedPlugin> described) {
    return [this, described](std::vector<protocol::DescribeRequest> requests) {
      std::vector<DescribeOutcome> out;
      for (const auto& r : requests) {
        requests_.push_back(r);
        DescribeOutcome d{r.file, std::nullopt, r.shown_file + ": not a ckpt-harness plugin"};
        const std::string key = r.as ? r.as->first : std::filesystem::path(r.file).filename().string();
        if (auto it = described.find(key); it != described.end()) {
          d.plugin = it->second;
          d.plugin->file = r.file;
          if (r.as) d.plugin->version = r.as->second;
        }
        out.push_back(d);
      }
      return out;
    };
  }
  static bool never() { return false; }
  std::vector<protocol::DescribeRequest> requests_;
  const std::string kChecked = "[[checkpoints]]\nfiles = [\"c.pt\"]\nplugins = [\"tiny\"]\n";
};

TEST_F(PluginCatalogueTest, EveryFileIsDescribedAndOneThatWillNotLoadIsAUnit) {
  const HarnessConfig config = config_with(kChecked);
  const PluginCatalogue c =
      build_plugin_catalogue(config, {}, describer({{"a.so", {"", "tiny", "1.0.0", "", {"net"}, {}, {}}}}), never);
  ASSERT_EQ(requests_.size(), 2u);
  EXPECT_EQ(requests_[0].shown_file, "plugins/a.so");  // named from the config, for messages
  ASSERT_EQ(c.plugins.size(), 1u);
  EXPECT_EQ(c.plugins[0].options, (std::map<std::string, std::string>{{"width", "3"}}));  // [plugins.tiny]
  ASSERT_EQ(c.failures.size(), 1u);
  EXPECT_EQ(c.failures[0].id, "plugin/plugins/b.so");
  EXPECT_EQ(c.failures[0].cases[0].message, "plugins/b.so: not a ckpt-harness plugin");
}

TEST_F(PluginCatalogueTest, TwoPluginsOfOneNameAndVersionAreAConfigError) {
  const HarnessConfig config = config_with(kChecked);
  const DescribedPlugin tiny{"", "tiny", "1.0.0", "", {"net"}, {}, {}};
  try {
    build_plugin_catalogue(config, {}, describer({{"a.so", tiny}, {"b.so", tiny}}), never);
    ADD_FAILURE() << "two tiny@1.0.0 accepted";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "two plugins are tiny@1.0.0: plugins/a.so and plugins/b.so (keep one")) << e.what();
  }
}

TEST_F(PluginCatalogueTest, ModelEntriesAreBuiltByTheirGenericPluginOnlyWhenAGroupSelectsThem) {
  const std::string entries =
      "[[models]]\nname = \"ts\"\nversion = \"2.0.0\"\nplugin = \"torchscript\"\nfiles = { m = \"exported/m.pt\" }\n"
      "[[models]]\nname = \"unused\"\nversion = \"1.0.0\"\nplugin = \"torchscript\"\nfiles = { m = \"exported/m.pt\" }\n"
      "[[checkpoints]]\nfiles = [\"c.pt\"]\nplugins = [\"ts\"]\n";
  const HarnessConfig config = config_with(entries);
  const PluginCatalogue c = build_plugin_catalogue(
      config, {},
      describer({{"a.so", {"", "torchscript", "1.0.0", "", {}, {}, {}}}, {"ts", {"", "ts", "", "", {"m"}, {}, {}}}}), never);
  std::size_t as_entry = 0;
  for (const auto& r : requests_) as_entry += r.as ? 1 : 0;
  EXPECT_EQ(as_entry, 1u);  // "unused" is known without being built
  std::map<std::string, DescribedPlugin> by_label;
  for (const auto& p : c.plugins) by_label[p.name + "@" + p.version] = p;
  ASSERT_TRUE(by_label.count("ts@2.0.0"));
  ASSERT_TRUE(by_label.count("unused@1.0.0"));
  EXPECT_EQ(by_label["ts@2.0.0"].modules, std::vector<std::string>{"m"});
  EXPECT_EQ(by_label["ts@2.0.0"].options.count("files.m"), 1u);  // the entry's own options
  EXPECT_TRUE(c.failures.size() == 1u && c.failures[0].id == "plugin/plugins/b.so");

  // An entry whose generic plugin no file provides: a config error at the entry.
  requests_.clear();
  try {
    build_plugin_catalogue(config_with(entries), {}, describer({{"a.so", {"", "tiny", "1.0.0", "", {}, {}, {}}},
                                                               {"b.so", {"", "tiny", "2.0.0", "", {}, {}, {}}}}),
                           never);
    ADD_FAILURE() << "an entry without its plugin accepted";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "h.toml:5:1: [[models]] ts@2.0.0: no plugin named 'torchscript' (found: tiny)")) << e.what();
  }
}

}  // namespace
}  // namespace ckpt::test
