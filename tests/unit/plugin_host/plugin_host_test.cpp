// The plugin host against the test plugins of tests/plugins/: every refusal names the file
// and says how to fix it, every exception from plugin code comes back as a PluginError
// with the plugin's own message, and a library stays loaded exactly as long as anything
// it made is alive.
#include "plugin_host/plugin_host.hpp"

#include "plugin_host/elf_machine.hpp"
#include "plugin_host/linked_libtorch.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "support/temp_dir.hpp"

namespace ckpt::test {
namespace {

const std::string kGood = CKPT_TEST_GOOD_PLUGIN;  // "tiny", built with -fno-gnu-unique
const std::string kDuplicate = CKPT_TEST_DUPLICATE_TINY;
const std::string kNoFactory = CKPT_TEST_NO_FACTORY;
const std::string kWrongAbi = CKPT_TEST_WRONG_ABI;
const std::string kWrongTorch = CKPT_TEST_WRONG_TORCH;
const std::string kOtherLibtorch = CKPT_TEST_OTHER_LIBTORCH;
const std::string kThisLibtorch = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);
const std::string kWrongCxx11Abi = CKPT_TEST_WRONG_CXX11_ABI;
const std::string kNoEntryPoint = CKPT_TEST_NO_ENTRY_POINT;
const std::string kThrowing = CKPT_TEST_THROWING;
const std::string kUnresolved = CKPT_TEST_UNRESOLVED_SYMBOL;
const std::string kNotALibrary = CKPT_TEST_NOT_A_LIBRARY;

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' is not in:\n" << text;
}

// A PluginError names the file first: "<file>: <what is wrong and how to fix it>".
::testing::AssertionResult names_file(const std::string& message, const std::string& file) {
  if (message.rfind(file + ": ", 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "does not start with '" << file << ": ':\n" << message;
}

template <typename F>
std::string plugin_error_of(F&& f) {
  try {
    f();
  } catch (const PluginError& e) {
    return e.what();
  }
  return "no PluginError";
}

std::string load_error(const std::string& path) {
  return plugin_error_of([&] { Plugin::load(path); });
}

// Whether the dynamic loader has `path` mapped into this process.
bool mapped(const std::string& path) {
  const std::string wanted = std::filesystem::canonical(path).string();
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.size() >= wanted.size() && line.compare(line.size() - wanted.size(), wanted.size(), wanted) == 0) {
      return true;
    }
  }
  return false;
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// --- loading: each check refuses with the file and a fix ------------------------------------

// CKPT_PLUGIN exports the factory under the name the host looks up, and both take it from
// the ABI version: raising the version renames the factory, so a plugin of the old ABI has
// none the host would call.
TEST(PluginHostLoad, TheFactorysNameCarriesTheAbiVersion) {
  EXPECT_EQ(std::string(kPluginFactorySymbol), "ckpt_plugin_create_v" + std::to_string(kPluginAbiVersion));
  void* library = ::dlopen(kGood.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << ::dlerror();
  EXPECT_NE(::dlsym(library, kPluginFactorySymbol), nullptr) << kPluginFactorySymbol;
  EXPECT_NE(::dlsym(library, kPluginDescriptorSymbol), nullptr) << kPluginDescriptorSymbol;
  ::dlclose(library);
}

TEST(PluginHostLoad, GoodPluginLoadsWithItsDescriptor) {
  const auto plugin = Plugin::load(kGood);
  EXPECT_EQ(plugin->info().path, kGood);
  EXPECT_EQ(plugin->info().name, "tiny");
  EXPECT_EQ(plugin->info().version, "1.0.0");
  EXPECT_EQ(plugin->info().abi_version, kPluginAbiVersion);
  EXPECT_FALSE(plugin->info().description.empty());
}

TEST(PluginHostLoad, MissingFileIsRefused) {
  const std::string path = std::filesystem::path(kGood).parent_path() / "no_such_plugin.so";
  const std::string error = load_error(path);
  EXPECT_TRUE(names_file(error, path));
  EXPECT_TRUE(contains(error, "no such plugin file"));
}

TEST(PluginHostLoad, DirectoryIsNotAPluginFile) {
  const std::string dir = std::filesystem::path(kGood).parent_path();
  const std::string error = load_error(dir);
  EXPECT_TRUE(names_file(error, dir));
  EXPECT_TRUE(contains(error, "is not a file: expected a plugin shared library (.so)"));
}

TEST(PluginHostLoad, TextFileIsNotALoadableLibrary) {
  const std::string error = load_error(kNotALibrary);
  EXPECT_TRUE(names_file(error, kNotALibrary));
  EXPECT_TRUE(contains(error, "cannot load it as a shared library"));
  EXPECT_FALSE(contains(error, "Bad file descriptor"));  // Boost.DLL's code, not the loader's reason
  EXPECT_TRUE(contains(error, "rebuild the plugin"));
}

TEST(PluginHostLoad, UnresolvedSymbolFailsAtLoadNotAtFirstCall) {
  const std::string error = load_error(kUnresolved);
  EXPECT_TRUE(names_file(error, kUnresolved));
  EXPECT_TRUE(contains(error, "cannot load it as a shared library"));
  EXPECT_TRUE(contains(error, "undefined symbol: ckpt_test_symbol_that_does_not_exist"));
  EXPECT_TRUE(contains(error, "rebuild the plugin"));
}

// A copy of the good plugin whose ELF header claims another processor (e_machine, bytes
// 18-19, little-endian) or word size (EI_CLASS, byte 4).
class PluginHostElfHeader : public TempDirTest {
 protected:
  std::string patched_copy(int machine, int elf_class) {
    const std::string path = (dir_ / "libpatched.so").string();
    std::filesystem::copy_file(kGood, path);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4);
    f.put(static_cast<char>(elf_class));
    f.seekp(18);
    f.put(static_cast<char>(machine & 0xff));
    f.put(static_cast<char>(machine >> 8));
    return path;
  }
};

TEST_F(PluginHostElfHeader, LibraryForThisMachineAndNonElfFilesAreNotQuestioned) {
  EXPECT_EQ(elf_machine_mismatch(kGood), std::nullopt);
  EXPECT_EQ(elf_machine_mismatch(kNotALibrary), std::nullopt);
  EXPECT_EQ(elf_machine_mismatch((dir_ / "absent.so").string()), std::nullopt);
}

#if defined(__x86_64__)
TEST_F(PluginHostElfHeader, LibraryForAnotherProcessorIsNamedAsSuch) {
  const std::string path = patched_copy(183, 2);  // EM_AARCH64, ELFCLASS64
  EXPECT_EQ(elf_machine_mismatch(path), "built for AArch64 (ELF machine 183), this machine is x86-64");
  const std::string error = load_error(path);
  EXPECT_TRUE(names_file(error, path));
  EXPECT_TRUE(contains(error, "built for AArch64 (ELF machine 183), this machine is x86-64"));
}

TEST_F(PluginHostElfHeader, LibraryForAnotherWordSizeOrUnknownProcessorIsNamedAsSuch) {
  EXPECT_EQ(elf_machine_mismatch(patched_copy(3, 1)), "built for x86 (32-bit) (ELF machine 3, 32-bit), this machine is x86-64");
  std::filesystem::remove(dir_ / "libpatched.so");
  EXPECT_EQ(elf_machine_mismatch(patched_copy(4242, 2)), "built for machine 4242 (ELF machine 4242), this machine is x86-64");
}
#endif

TEST(PluginHostLoad, LibraryWithoutDescriptorIsNotAPlugin) {
  const std::string error = load_error(kNoEntryPoint);
  EXPECT_TRUE(names_file(error, kNoEntryPoint));
  EXPECT_TRUE(contains(error, "not a ckpt-harness plugin: it exports no `ckpt_plugin_descriptor`"));
  EXPECT_TRUE(contains(error, "CKPT_PLUGIN"));
}

// wrong_abi has no factory either: the ABI version is checked first.
TEST(PluginHostLoad, WrongAbiVersionIsRefusedBeforeTheFactoryIsLookedUp) {
  const std::string error = load_error(kWrongAbi);
  EXPECT_TRUE(names_file(error, kWrongAbi));
  EXPECT_TRUE(contains(error, "built for plugin ABI v999, this harness loads v" + std::to_string(kPluginAbiVersion)));
  EXPECT_TRUE(contains(error, "rebuild the plugin against this harness's <ckpt/plugin.hpp>"));
  EXPECT_FALSE(contains(error, "ckpt_plugin_create_v1"));
}

TEST(PluginHostLoad, OtherLibTorchVersionIsRefused) {
  const std::string error = load_error(kWrongTorch);
  EXPECT_TRUE(names_file(error, kWrongTorch));
  EXPECT_TRUE(contains(error, "built against LibTorch " + std::to_string(TORCH_VERSION_MAJOR) +
                                  ".99, this harness uses LibTorch " + kThisLibtorch));
  EXPECT_TRUE(contains(error, "rebuild the plugin against the same LibTorch"));
}

// Built against the other platform's LibTorch (1.13 <-> 2.6): its DT_NEEDED entries say so, and
// it is refused before dlopen, which would fail for a missing library or load a second LibTorch.
TEST(PluginHostLoad, PluginLinkedAgainstTheOtherLibTorchIsRefusedNamingBothVersions) {
  const std::string other = CKPT_TEST_OTHER_LIBTORCH_VERSION;
  ASSERT_NE(other, kThisLibtorch);
  const auto linked = linked_libtorch(kOtherLibtorch);
  ASSERT_FALSE(linked.empty());
  EXPECT_EQ(linked.front().version, other);
  EXPECT_EQ(linked.front().soname, "libtorch_cpu.so." + other);
  const std::string error = load_error(kOtherLibtorch);
  EXPECT_TRUE(names_file(error, kOtherLibtorch));
  EXPECT_TRUE(contains(error, "built against LibTorch " + other + " (it needs libtorch_cpu.so." + other +
                                  "), this harness uses LibTorch " + kThisLibtorch));
  EXPECT_TRUE(contains(error, "run it with a ckpt-harness built for LibTorch " + other));
}

// A plugin of this build names this build's (Debian's, versioned) LibTorch; other files none.
TEST(PluginHostLoad, PluginOfThisBuildNamesThisLibTorch) {
  const auto linked = linked_libtorch(kGood);
  ASSERT_FALSE(linked.empty());
  for (const auto& library : linked) EXPECT_EQ(library.version, kThisLibtorch) << library.soname;
  EXPECT_TRUE(linked_libtorch(kNotALibrary).empty());
  EXPECT_TRUE(linked_libtorch(kNoEntryPoint).empty());
}

TEST(PluginHostLoad, OtherLibstdcxxAbiIsRefused) {
  const std::string error = load_error(kWrongCxx11Abi);
  EXPECT_TRUE(names_file(error, kWrongCxx11Abi));
  EXPECT_TRUE(contains(error, "built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(1 - _GLIBCXX_USE_CXX11_ABI)));
  EXPECT_TRUE(contains(error, "rebuild it with the same libstdc++ ABI"));
}

TEST(PluginHostLoad, DescriptorWithoutFactoryIsRefused) {
  const std::string error = load_error(kNoFactory);
  EXPECT_TRUE(names_file(error, kNoFactory));
  EXPECT_TRUE(contains(error, "exports a descriptor but no `ckpt_plugin_create_v1` factory"));
  EXPECT_TRUE(contains(error, "CKPT_PLUGIN"));
}

TEST(PluginHostLoad, FactoryExceptionBecomesPluginError) {
  const ScopedEnv env("CKPT_TEST_FACTORY_THROWS", "1");
  const std::string error = load_error(kThrowing);
  EXPECT_TRUE(names_file(error, kThrowing));
  EXPECT_TRUE(contains(error, "plugin 'throwing' failed to create the architecture: no GPU found for this model"));
}

// --- the registry: directories and unique names ------------------------------------------------

class PluginHostRegistry : public TempDirTest {
 protected:
  std::string copy_in(const std::string& file) {
    const auto to = dir_ / std::filesystem::path(file).filename();
    std::filesystem::copy_file(file, to);
    return to.string();
  }
};

TEST_F(PluginHostRegistry, LoadsEveryPluginOfADirectory) {
  const std::string throwing = copy_in(kThrowing);
  const std::string good = copy_in(kGood);
  std::ofstream(dir_ / "README.txt") << "not a plugin, not a .so: ignored\n";
  PluginRegistry registry;
  registry.add(dir_.string());
  ASSERT_EQ(registry.plugins().size(), 2u);
  EXPECT_EQ(registry.plugins()[0]->info().path, good);  // file name order
  EXPECT_EQ(registry.plugins()[1]->info().path, throwing);
  EXPECT_EQ(registry.find("tiny").info().path, good);
  EXPECT_EQ(registry.find("throwing").info().path, throwing);
}

TEST_F(PluginHostRegistry, BadPluginInADirectoryIsNamed) {
  copy_in(kGood);
  const std::string bad = copy_in(kWrongAbi);
  PluginRegistry registry;
  const std::string error = plugin_error_of([&] { registry.add(dir_.string()); });
  EXPECT_TRUE(names_file(error, bad));
  EXPECT_TRUE(contains(error, "plugin ABI v999"));
}

TEST_F(PluginHostRegistry, DirectoryWithoutPluginsIsRefused) {
  PluginRegistry registry;
  const std::string error = plugin_error_of([&] { registry.add(dir_.string()); });
  EXPECT_TRUE(names_file(error, dir_.string()));
  EXPECT_TRUE(contains(error, "directory holds no plugin (*.so)"));
}

TEST_F(PluginHostRegistry, SecondPluginWithTheSameNameIsRefusedNamingBothFiles) {
  PluginRegistry registry;
  registry.add(kGood);
  const std::string error = plugin_error_of([&] { registry.add(kDuplicate); });
  EXPECT_TRUE(names_file(error, kDuplicate));
  EXPECT_TRUE(contains(error, "a plugin named 'tiny' is already loaded from " + kGood));
  EXPECT_TRUE(contains(error, "plugin names must be unique"));
  ASSERT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(registry.find("tiny").info().version, "1.0.0");
}

TEST_F(PluginHostRegistry, FindingAnUnknownNameListsTheLoadedOnes) {
  PluginRegistry registry;
  EXPECT_TRUE(contains(plugin_error_of([&] { registry.find("tiny"); }), "no plugin of that name is loaded (loaded: none)"));
  registry.add(kGood);
  registry.add(kThrowing);
  const std::string error = plugin_error_of([&] { registry.find("dcgan"); });
  EXPECT_TRUE(names_file(error, "dcgan"));
  EXPECT_TRUE(contains(error, "(loaded: tiny, throwing)"));
}

// --- calls: plugin exceptions come back as PluginError with the plugin's message -------------

TEST(PluginHostCalls, GoodPluginBuildsSamplesAndTrains) {
  const auto plugin = Plugin::load(kGood);
  LoadedModel model = plugin->build({{"width", "3"}});
  const Module* net = model.module("net");
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(model.module("generator"), nullptr);
  const Optimizer* sgd = model.optimizer("net_optimizer");
  ASSERT_NE(sgd, nullptr);
  EXPECT_EQ(sgd->parameters, (std::vector<std::string>{"net.weight", "net.bias"}));
  const torch::Tensor x = plugin->sample_input(model, "net", 5);
  EXPECT_EQ(x.sizes(), (std::vector<std::int64_t>{5, 3}));
  EXPECT_EQ(net->forward(x).sizes(), (std::vector<std::int64_t>{5, 2}));
  EXPECT_FALSE(plugin->sample_input(model, "other", 5).defined());
  const torch::Tensor before = net->module->named_parameters()["weight"].clone();
  EXPECT_TRUE(plugin->train_step(model, 0));
  EXPECT_FALSE(torch::equal(before, net->module->named_parameters()["weight"]));
}

TEST(PluginHostCalls, OptionErrorsNameTheOption) {
  const auto plugin = Plugin::load(kGood);
  const auto build_error = [&](const Options& options) { return plugin_error_of([&] { plugin->build(options); }); };
  std::string error = build_error({{"width", "0"}});
  EXPECT_TRUE(names_file(error, kGood));
  EXPECT_TRUE(contains(error, "plugin 'tiny' failed to build the model: option 'width' is '0': expected an integer from 1 to 64"));
  EXPECT_TRUE(contains(build_error({{"width", "4x"}}), "option 'width' is '4x': expected an integer from 1 to 64"));
  EXPECT_TRUE(contains(build_error({{"widht", "4"}}), "unknown option 'widht' (known: width)"));
}

TEST(PluginHostCalls, StdExceptionKeepsItsMessage) {
  const auto plugin = Plugin::load(kThrowing);
  const std::string error = plugin_error_of([&] { plugin->build({{"throw", "std"}}); });
  EXPECT_TRUE(names_file(error, kThrowing));
  EXPECT_TRUE(contains(error, "plugin 'throwing' failed to build the model: bad weights file"));
}

TEST(PluginHostCalls, C10ErrorKeepsItsMessageWithoutTheBacktrace) {
  const auto plugin = Plugin::load(kThrowing);
  const std::string error = plugin_error_of([&] { plugin->build({{"throw", "c10"}}); });
  EXPECT_TRUE(names_file(error, kThrowing));
  EXPECT_TRUE(contains(error, "plugin 'throwing' failed to build the model: tensor mismatch in plugin"));
  EXPECT_FALSE(contains(error, "Exception raised from"));
  EXPECT_FALSE(contains(error, "frame #"));
}

TEST(PluginHostCalls, NonStdExceptionIsStillAPluginError) {
  const auto plugin = Plugin::load(kThrowing);
  const std::string error = plugin_error_of([&] { plugin->build({{"throw", "int"}}); });
  EXPECT_TRUE(names_file(error, kThrowing));
  EXPECT_TRUE(contains(error, "plugin 'throwing' failed to build the model: it threw something that is not a std::exception"));
}

TEST(PluginHostCalls, OptionErrorFromPluginCodeKeepsItsMessage) {
  const auto plugin = Plugin::load(kThrowing);
  const std::string error = plugin_error_of([&] { plugin->build({{"throw", "option"}}); });
  EXPECT_TRUE(names_file(error, kThrowing));
  EXPECT_TRUE(contains(error, "plugin 'throwing' failed to build the model: option 'depth' is '99': expected an integer from 1 to 8"));
}

TEST(PluginHostCalls, SampleInputAndTrainStepAreTranslatedToo) {
  const auto plugin = Plugin::load(kThrowing);
  LoadedModel model = plugin->build({});
  EXPECT_EQ(plugin->sample_input(model, "net", 2).sizes(), (std::vector<std::int64_t>{2, 2}));
  std::string error = plugin_error_of([&] { plugin->sample_input(model, "boom", 2); });
  EXPECT_TRUE(names_file(error, kThrowing));
  EXPECT_TRUE(contains(error, "plugin 'throwing' failed to give a sample input: no sample input for module 'boom'"));
  EXPECT_FALSE(contains(error, "Exception raised from"));
  EXPECT_FALSE(plugin->train_step(model, 0));
  error = plugin_error_of([&] { plugin->train_step(model, -1); });
  EXPECT_TRUE(names_file(error, kThrowing));
  EXPECT_TRUE(contains(error, "plugin 'throwing' failed to run a training step: loss is NaN at step -1"));
}

// --- lifetime: the library outlives everything it made -----------------------------------------
// good_plugin is built with -fno-gnu-unique, so the last dlclose really unmaps it and code
// that runs after an early unload crashes here instead of passing by luck.

TEST(PluginHostLifetime, ModelKeepsTheLibraryLoadedAfterThePluginIsGone) {
  std::optional<LoadedModel> model;
  torch::Tensor input;
  {
    const auto plugin = Plugin::load(kGood);
    ASSERT_TRUE(mapped(kGood));
    model.emplace(plugin->build({{"width", "3"}}));
    input = plugin->sample_input(*model, "net", 4);
  }  // the last reference to the Plugin (and its Architecture) is gone

  ASSERT_TRUE(mapped(kGood)) << "the library was unloaded while a model it built is alive";
  const Module* net = model->module("net");
  ASSERT_NE(net, nullptr);
  const torch::Tensor out = net->forward(input);
  EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{4, 2}));
  const auto parameters = net->module->named_parameters();
  ASSERT_EQ(parameters.size(), 2u);
  EXPECT_EQ(parameters["weight"].sizes(), (std::vector<std::int64_t>{2, 3}));
  const torch::Tensor before = parameters["weight"].clone();
  auto& sgd = *model->optimizer("net_optimizer")->optimizer;
  sgd.zero_grad();
  out.pow(2).sum().backward();
  sgd.step();
  EXPECT_FALSE(torch::equal(before, parameters["weight"]));

  model.reset();
  EXPECT_FALSE(mapped(kGood)) << "the library stays mapped after everything it made is gone";
}

// Move assignment replaces both the model and its library: the old model must be destroyed
// while its library is still loaded.
TEST(PluginHostLifetime, AssigningOverAModelUnloadsTheOldLibraryAfterTheOldModel) {
  LoadedModel model = Plugin::load(kGood)->build({});
  ASSERT_TRUE(mapped(kGood));
  model = Plugin::load(kThrowing)->build({});
  EXPECT_FALSE(mapped(kGood));
  ASSERT_NE(model.module("net"), nullptr);
  EXPECT_EQ(model.module("net")->forward(torch::zeros({1, 2})).sizes(), (std::vector<std::int64_t>{1, 2}));
}

}  // namespace
}  // namespace ckpt::test
