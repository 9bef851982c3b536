#pragma once
// Loads architecture plugins (shared libraries exporting CKPT_PLUGIN) and calls them.
// Every refusal names the file and says how to fix it; every exception thrown by plugin
// code comes back as a PluginError carrying the plugin's own message, except running out
// of memory, which stays std::bad_alloc (LibTorch's allocator failure included).
#include <ckpt/plugin.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace boost::dll {
class shared_library;
}

namespace ckpt {

class PluginError : public std::runtime_error {
 public:
  PluginError(const std::string& file, const std::string& message);
};

struct PluginInfo {
  std::string path;
  std::string name;
  std::string version;
  std::string description;
  std::uint32_t abi_version = 0;
};

// A model built by a plugin. It holds the plugin's library, so the code behind the
// modules' and optimizers' virtual functions stays loaded for as long as they live.
class LoadedModel {
 public:
  LoadedModel() = default;
  LoadedModel(LoadedModel&&) noexcept = default;
  // Replaces the model before the library, so the old model is destroyed while its code is
  // still loaded (the implicit one released the old library first).
  LoadedModel& operator=(LoadedModel&& other) noexcept;

  Model& model() { return model_; }
  const Model& model() const { return model_; }
  const Module* module(const std::string& name) const;
  const Optimizer* optimizer(const std::string& name) const;

 private:
  friend class Plugin;
  std::shared_ptr<const boost::dll::shared_library> library_;  // first member: destroyed last
  Model model_;
};

class Plugin {
 public:
  // Checks, in order: a regular file, loadable with every symbol resolved (RTLD_NOW),
  // the CKPT_PLUGIN entry points, ABI version, LibTorch version, libstdc++ ABI. `shown`: the
  // path as errors and info().path name it (a run's: relative to the config's repository);
  // default `path`.
  static std::shared_ptr<Plugin> load(const std::string& path, const std::string& shown = "");
  ~Plugin();

  const PluginInfo& info() const { return info_; }
  LoadedModel build(const Options& options) const;
  torch::Tensor sample_input(const LoadedModel& model, const std::string& module, std::int64_t batch) const;
  bool train_step(LoadedModel& model, std::int64_t step) const;

 private:
  Plugin() = default;
  template <typename F>
  auto call(const char* what, F&& f) const -> decltype(f());

  std::shared_ptr<const boost::dll::shared_library> library_;  // declared first: destroyed last
  std::unique_ptr<Architecture> architecture_;
  PluginInfo info_;
};

// The plugins of a run: from files, directories (every *.so in them) and the config.
class PluginRegistry {
 public:
  // Loads a plugin file or every plugin in a directory; a second plugin with a name
  // already loaded is refused, naming both files.
  void add(const std::string& path);
  const Plugin& find(const std::string& name) const;  // the error lists the loaded names
  const std::vector<std::shared_ptr<Plugin>>& plugins() const { return plugins_; }

 private:
  void add_file(const std::string& path);
  std::vector<std::shared_ptr<Plugin>> plugins_;
};

}  // namespace ckpt
