#include "plugin_host/plugin_host.hpp"

#include <c10/util/Exception.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <filesystem>

#include "plugin_host/elf_machine.hpp"
#include "plugin_host/linked_libtorch.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
const std::string kDescriptorSymbol = kPluginDescriptorSymbol;
const std::string kFactorySymbol = kPluginFactorySymbol;

std::string safe_text(const char* text) { return text ? std::string(text) : std::string("<null>"); }
}  // namespace

PluginError::PluginError(const std::string& file, const std::string& message)
    : std::runtime_error(file + ": " + message) {}

LoadedModel& LoadedModel::operator=(LoadedModel&& other) noexcept {
  model_ = std::move(other.model_);
  library_ = std::move(other.library_);
  return *this;
}

const Module* LoadedModel::module(const std::string& name) const {
  for (const auto& m : model_.modules) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const Optimizer* LoadedModel::optimizer(const std::string& name) const {
  for (const auto& o : model_.optimizers) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

std::shared_ptr<Plugin> Plugin::load(const std::string& path, const std::string& shown) {
  const std::string& named = shown.empty() ? path : shown;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw PluginError(named, "no such plugin file");
  if (!S_ISREG(st.st_mode)) throw PluginError(named, "is not a file: expected a plugin shared library (.so)");

  // Before dlopen: a plugin of another LibTorch would fail to find its libraries, or load a
  // second LibTorch beside this one.
  const std::string this_libtorch = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);
  for (const LinkedLibtorch& linked : linked_libtorch(path)) {
    if (linked.version == this_libtorch) continue;
    throw PluginError(named, "built against LibTorch " + linked.version + " (it needs " + linked.soname +
                                "), this harness uses LibTorch " + this_libtorch +
                                ": rebuild the plugin against LibTorch " + this_libtorch +
                                ", or run it with a ckpt-harness built for LibTorch " + linked.version);
  }
  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  // RTLD_NOW: an unresolved symbol fails here, not in the middle of a run.
  library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    // Boost.DLL reports every dlopen failure as "Bad file descriptor"; dlerror() still holds
    // the reason ("undefined symbol: ...", "invalid ELF header").
    const char* reason = ::dlerror();
    if (auto mismatch = elf_machine_mismatch(path)) {
      throw PluginError(named, "cannot load it as a shared library: " + *mismatch + ": rebuild the plugin on this machine");
    }
    throw PluginError(named, "cannot load it as a shared library (" + (reason ? std::string(reason) : ec.message()) +
                                "): rebuild the plugin for this machine against this harness and its LibTorch");
  }
  if (!library->has(kDescriptorSymbol)) {
    throw PluginError(named, "not a ckpt-harness plugin: it exports no `" + kDescriptorSymbol + "` (export the "
                            "architecture with CKPT_PLUGIN from <ckpt/plugin.hpp>)");
  }
  const PluginDescriptor* d = library->get_alias<PluginDescriptorFn>(kDescriptorSymbol)();
  if (d == nullptr) throw PluginError(named, "its plugin descriptor is null");
  if (d->abi_version != kPluginAbiVersion) {
    throw PluginError(named, "built for plugin ABI v" + std::to_string(d->abi_version) + ", this harness loads v" +
                                std::to_string(kPluginAbiVersion) + ": rebuild the plugin against this harness's <ckpt/plugin.hpp>");
  }
  if (d->torch_major != TORCH_VERSION_MAJOR || d->torch_minor != TORCH_VERSION_MINOR) {
    throw PluginError(named, "built against LibTorch " + std::to_string(d->torch_major) + "." +
                                std::to_string(d->torch_minor) + ", this harness uses LibTorch " + this_libtorch +
                                ": rebuild the plugin against the same LibTorch");
  }
  if (d->cxx11_abi != _GLIBCXX_USE_CXX11_ABI) {
    throw PluginError(named, "built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(d->cxx11_abi) + ", this harness uses " +
                                std::to_string(_GLIBCXX_USE_CXX11_ABI) + ": rebuild it with the same libstdc++ ABI");
  }
  if (!library->has(kFactorySymbol)) {
    throw PluginError(named, "exports a descriptor but no `" + kFactorySymbol + "` factory (use CKPT_PLUGIN)");
  }
  std::shared_ptr<Plugin> plugin(new Plugin());
  plugin->info_ = {named, safe_text(d->name), safe_text(d->version), safe_text(d->description), d->abi_version};
  if (plugin->info_.name.empty()) throw PluginError(named, "its descriptor has an empty name");
  plugin->library_ = library;
  auto& factory = library->get_alias<PluginFactory>(kFactorySymbol);
  plugin->architecture_ = plugin->call("create the architecture", [&factory] { return factory(); });
  if (!plugin->architecture_) throw PluginError(named, "its factory returned no architecture");
  return plugin;
}

Plugin::~Plugin() = default;

template <typename F>
auto Plugin::call(const char* what, F&& f) const -> decltype(f()) {
  const std::string where = "plugin '" + info_.name + "' failed to " + what + ": ";
  try {
    return f();
  } catch (const std::bad_alloc&) {
    throw;  // out of memory is the process's state, not the plugin's answer: the host decides
  } catch (const c10::Error& e) {
    const std::string text = e.what_without_backtrace();
    if (text.find("can't allocate memory") != std::string::npos) throw std::bad_alloc();  // LibTorch's allocator
    throw PluginError(info_.path, where + text);
  } catch (const OptionError& e) {
    throw PluginError(info_.path, where + e.what());
  } catch (const std::exception& e) {
    throw PluginError(info_.path, where + e.what());
  } catch (...) {
    throw PluginError(info_.path, where + "it threw something that is not a std::exception");
  }
}

LoadedModel Plugin::build(const Options& options) const {
  LoadedModel loaded;
  loaded.library_ = library_;
  loaded.model_ = call("build the model", [&] { return architecture_->build(options); });
  for (const auto& m : loaded.model_.modules) {
    if (!m.module) throw PluginError(info_.path, "plugin '" + info_.name + "' built module '" + m.name + "' as null");
  }
  return loaded;
}

torch::Tensor Plugin::sample_input(const LoadedModel& model, const std::string& module, std::int64_t batch) const {
  return call("give a sample input", [&] { return architecture_->sample_input(model.model(), module, batch); });
}

bool Plugin::train_step(LoadedModel& model, std::int64_t step) const {
  return call("run a training step", [&] { return architecture_->train_step(model.model(), step); });
}

void PluginRegistry::add(const std::string& path) {
  if (std::filesystem::is_directory(path)) {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw PluginError(path, "directory holds no plugin (*.so)");
    for (const auto& f : files) add_file(f);
    return;
  }
  add_file(path);
}

void PluginRegistry::add_file(const std::string& path) {
  auto plugin = Plugin::load(path);
  for (const auto& p : plugins_) {
    if (p->info().name == plugin->info().name) {
      throw PluginError(path, "a plugin named '" + p->info().name + "' is already loaded from " + p->info().path +
                                  ": plugin names must be unique");
    }
  }
  plugins_.push_back(std::move(plugin));
}

const Plugin& PluginRegistry::find(const std::string& name) const {
  for (const auto& p : plugins_) {
    if (p->info().name == name) return *p;
  }
  const std::string known = comma_list(plugins_, [](const auto& p) { return p->info().name; });
  throw PluginError(name, "no plugin of that name is loaded (loaded: " + (known.empty() ? "none" : known) + ")");
}

}  // namespace ckpt
