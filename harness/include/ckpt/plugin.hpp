#pragma once
// ckpt-harness plugin ABI: the one header a plugin author includes.
//
// A plugin is a shared library for one model architecture. It builds the modules
// (generator, discriminator, ...) and optimizers of the *current* version of the model;
// the harness then checks old checkpoints against them. Export it with CKPT_PLUGIN:
//
//   class MyGan : public ckpt::Architecture { ... };
//   CKPT_PLUGIN(MyGan, "my_gan", "2.1.0", "Conditional GAN of the vision team")
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>
#include <torch/version.h>

#include <boost/dll/alias.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// Raised when ABI-relevant types or meanings change; the host refuses other versions. A
// macro, so the factory's exported name can carry it (CKPT_PLUGIN and the host both take the
// name from here).
#define CKPT_PLUGIN_ABI_VERSION 1
#define CKPT_PLUGIN_CAT_(a, b) a##b
#define CKPT_PLUGIN_CAT(a, b) CKPT_PLUGIN_CAT_(a, b)
#define CKPT_PLUGIN_STR_(x) #x
#define CKPT_PLUGIN_STR(x) CKPT_PLUGIN_STR_(x)
#define CKPT_PLUGIN_FACTORY_SYMBOL CKPT_PLUGIN_CAT(ckpt_plugin_create_v, CKPT_PLUGIN_ABI_VERSION)
#define CKPT_PLUGIN_DESCRIPTOR_SYMBOL ckpt_plugin_descriptor

namespace ckpt {

inline constexpr std::uint32_t kPluginAbiVersion = CKPT_PLUGIN_ABI_VERSION;
// The exported names the host looks up: the descriptor, and the factory of this ABI version
// ("ckpt_plugin_create_v1").
inline constexpr const char* kPluginDescriptorSymbol = CKPT_PLUGIN_STR(CKPT_PLUGIN_DESCRIPTOR_SYMBOL);
inline constexpr const char* kPluginFactorySymbol = CKPT_PLUGIN_STR(CKPT_PLUGIN_FACTORY_SYMBOL);

// Plain data, read by the host before any C++ object crosses the boundary.
struct PluginDescriptor {
  std::uint32_t abi_version;  // always first
  std::uint32_t torch_major;
  std::uint32_t torch_minor;
  std::uint32_t cxx11_abi;    // _GLIBCXX_USE_CXX11_ABI the plugin was built with
  const char* name;           // unique among loaded plugins: "dcgan"
  const char* version;        // the model version this build represents: "1.0.0"
  const char* description;    // one line
};

// Key/values from the config ([plugins.NAME.options]); parse with option_int etc.
using Options = std::map<std::string, std::string>;

// Thrown for a bad option; the message names the option and what was expected.
class OptionError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A module whose tensors are all on the meta device (torch::kMeta: shapes and dtypes, no
// values) is a schema: checkpoints are compared with it, and the scenarios that need
// values (mode behaviour, resume, golden outputs) are skipped (plugins/manifest).
struct Module {
  std::string name;                                 // "generator": the checkpoint component it loads
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;  // empty: no forward to check
};

struct Optimizer {
  std::string name;                                 // "generator_optimizer"
  // Qualified parameter names ("generator.main.0.weight") in the order Python's
  // model.parameters() gives them: position i is index i of the Python state dict.
  std::vector<std::string> parameters;
  std::shared_ptr<torch::optim::Optimizer> optimizer;
};

struct Scheduler {
  std::string name;       // "generator_scheduler"
  std::string optimizer;  // the Optimizer::name it steps
  std::shared_ptr<torch::optim::LRScheduler> scheduler;
};

struct Model {
  std::vector<Module> modules;
  std::vector<Optimizer> optimizers;
  std::vector<Scheduler> schedulers;  // optional
};

class Architecture {
 public:
  virtual ~Architecture() = default;
  // A freshly initialised model. Throws OptionError for bad options.
  virtual Model build(const Options& options) const = 0;
  // A deterministic input batch for `module`, or an undefined tensor when it has no forward.
  virtual torch::Tensor sample_input(const Model& model, const std::string& module, std::int64_t batch) const = 0;
  // One deterministic training step of every optimizer; false when not offered.
  virtual bool train_step(Model& model, std::int64_t step) const { return false; }
};

// Option parsing with defaults and range checks; errors name the option.
inline std::int64_t option_int(const Options& options, const std::string& key, std::int64_t fallback,
                               std::int64_t min, std::int64_t max) {
  auto it = options.find(key);
  if (it == options.end()) return fallback;
  std::size_t used = 0;
  std::int64_t value = 0;
  try {
    value = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != it->second.size() || value < min || value > max) {
    throw OptionError("option '" + key + "' is '" + it->second + "': expected an integer from " + std::to_string(min) +
                      " to " + std::to_string(max));
  }
  return value;
}

inline double option_double(const Options& options, const std::string& key, double fallback) {
  auto it = options.find(key);
  if (it == options.end()) return fallback;
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != it->second.size()) {
    throw OptionError("option '" + key + "' is '" + it->second + "': expected a number");
  }
  return value;
}

// Every option must be one the plugin knows: a typo is an error, not a silent default.
inline void check_known_options(const Options& options, const std::vector<std::string>& known) {
  for (const auto& [key, value] : options) {
    bool found = false;
    for (const auto& k : known) found = found || k == key;
    if (!found) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw OptionError("unknown option '" + key + "' (known: " + list + ")");
    }
  }
}

// Optimizer::parameters of an optimizer over `module`: "<prefix>.<name>" for each of its
// parameters, in registration order (Python's parameters() order when the names mirror it).
inline std::vector<std::string> qualified_parameter_names(const std::string& prefix, const torch::nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& p : module.named_parameters()) names.push_back(prefix + "." + p.key());
  return names;
}

using PluginFactory = std::unique_ptr<Architecture>();
using PluginDescriptorFn = const PluginDescriptor*();

}  // namespace ckpt

// Exports the descriptor and the factory of `ArchitectureClass` under the names the
// host looks for: `ckpt_plugin_descriptor` and `ckpt_plugin_create_v<ABI>`.
#define CKPT_PLUGIN(ArchitectureClass, name, version, description)                                          \
  namespace ckpt_plugin_exports {                                                                         \
  inline const ::ckpt::PluginDescriptor* descriptor() {                                                   \
    static const ::ckpt::PluginDescriptor d{::ckpt::kPluginAbiVersion, TORCH_VERSION_MAJOR,                 \
                                            TORCH_VERSION_MINOR, _GLIBCXX_USE_CXX11_ABI, name, version,     \
                                            description};                                                 \
    return &d;                                                                                            \
  }                                                                                                       \
  inline std::unique_ptr<::ckpt::Architecture> create() { return std::make_unique<ArchitectureClass>(); } \
  }                                                                                                       \
  BOOST_DLL_ALIAS(ckpt_plugin_exports::descriptor, CKPT_PLUGIN_DESCRIPTOR_SYMBOL)                               \
  BOOST_DLL_ALIAS(ckpt_plugin_exports::create, CKPT_PLUGIN_FACTORY_SYMBOL)
