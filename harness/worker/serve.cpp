#include "worker/serve.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <torch/version.h>

#include "plugin_host/plugin_host.hpp"
#include "protocol/unit_request.hpp"
#include "scenarios/run_unit.hpp"
#include "worker/file_digest.hpp"

namespace ckpt {

namespace {
using nlohmann::json;

void send(const json& message) {
  const std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(kReplyFd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);  // the supervisor is gone: nobody to report to
    done += static_cast<std::size_t>(n);
  }
}

class PluginCache {
 public:
  std::shared_ptr<Plugin> get(const std::string& file) {
    auto it = plugins_.find(file);
    if (it != plugins_.end()) return it->second;
    auto plugin = Plugin::load(file);
    plugins_[file] = plugin;
    return plugin;
  }
  // A model built while describing, kept for the first unit of that plugin file (building
  // a full-size model takes seconds).
  void keep_spare(const std::string& file, LoadedModel model) { spares_[file] = std::move(model); }
  std::optional<LoadedModel> take_spare(const std::string& file) {
    auto it = spares_.find(file);
    if (it == spares_.end()) return std::nullopt;
    std::optional<LoadedModel> model = std::move(it->second);
    spares_.erase(it);
    return model;
  }

 private:
  std::map<std::string, std::shared_ptr<Plugin>> plugins_;
  std::map<std::string, LoadedModel> spares_;
};

bool selected(const json& selectors, const PluginInfo& info) {
  for (const auto& s : selectors) {
    const std::string name = s.at(0).get<std::string>(), glob = s.at(1).get<std::string>();
    if ((name == "*" || name == info.name) && ::fnmatch(glob.c_str(), info.version.c_str(), 0) == 0) return true;
  }
  return false;
}

json describe(PluginCache& cache, const json& request) {
  const std::string file = request.at("file").get<std::string>();
  json reply{{"op", "described"}, {"file", file}};
  try {
    auto plugin = cache.get(file);
    const PluginInfo& info = plugin->info();
    reply["name"] = info.name;
    reply["version"] = info.version;
    reply["description"] = info.description;
    json modules = json::array(), optimizers = json::array();
    if (selected(request.value("selectors", json::array()), info)) {
      Options options;
      const json& all = request.at("options");
      if (all.contains(info.name)) options = all.at(info.name).get<Options>();
      LoadedModel model = plugin->build(options);
      for (const auto& m : model.model().modules) modules.push_back(m.name);
      for (const auto& o : model.model().optimizers) optimizers.push_back(o.name);
      cache.keep_spare(file, std::move(model));
    }
    reply["modules"] = modules;
    reply["optimizers"] = optimizers;
    reply["ok"] = true;
  } catch (const PluginError& e) {
    reply["ok"] = false;
    reply["error"] = e.what();
  } catch (const std::bad_alloc&) {
    reply["ok"] = false;
    reply["error"] = file + ": out of memory while building the model ([run] memory_limit_mib)";
    reply["replace"] = true;
  }
  return reply;
}

bool run(PluginCache& cache, const json& message) {
  const UnitRequest request = request_from_json(message.at("unit"));
  std::shared_ptr<Plugin> plugin;
  std::string plugin_error;
  if (!request.plugin_file.empty()) {
    try {
      plugin = cache.get(request.plugin_file);
    } catch (const PluginError& e) {
      plugin_error = e.what();
    } catch (const std::bad_alloc&) {
      plugin_error = request.plugin_file + ": out of memory while loading the plugin ([run] memory_limit_mib)";
    }
  }
  UnitCallbacks callbacks;
  callbacks.on_start = [](const PlannedCase& c) {
    send({{"op", "phase"}, {"scenario", c.scenario}, {"component", c.component}});
  };
  callbacks.on_case = [](const CaseResult& c) { send({{"op", "case"}, {"case", to_json(c)}}); };
  if (!plugin_error.empty()) {
    for (const auto& planned : request.cases) {
      CaseResult c;
      c.scenario = planned.scenario;
      c.component = planned.component;
      c.outcome = Outcome::kError;
      c.message = "plugin: " + plugin_error;
      callbacks.on_case(c);
    }
    return false;
  }
  return run_unit(request, plugin, callbacks, cache.take_spare(request.plugin_file)).out_of_memory;
}
}  // namespace

int serve() {
  if (::fcntl(kRequestFd, F_GETFD) < 0 || ::fcntl(kReplyFd, F_GETFD) < 0) {
    std::cerr << "error: `serve` is the worker of `ckpt-harness run`, which starts it with its requests on fd 3 "
                 "and replies on fd 4\n";
    return 2;
  }
  ::fcntl(kRequestFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kReplyFd, F_SETFD, FD_CLOEXEC);
  FILE* requests = ::fdopen(kRequestFd, "r");
  send({{"op", "ready"}, {"pid", ::getpid()}, {"torch", TORCH_VERSION}});
  PluginCache cache;
  FileDigests digests;  // a checkpoint checked against several plugin versions is hashed once
  char* line = nullptr;
  std::size_t capacity = 0;
  while (::getline(&line, &capacity, requests) > 0) {
    json message;
    try {
      message = json::parse(line);
    } catch (const json::exception& e) {
      send({{"op", "protocol-error"}, {"error", e.what()}});
      continue;
    }
    const std::string op = message.value("op", "");
    try {
      if (op == "describe") {
        send(describe(cache, message));
      } else if (op == "run") {
        const bool replace = run(cache, message);
        // Which exact bytes were checked, for the reports; the worker pays for reading them.
        const std::string sha256 = digests.of(message.at("unit").at("checkpoint").get<std::string>());
        send({{"op", "done"}, {"id", message.at("unit").at("id")}, {"replace", replace}, {"sha256", sha256}});
      } else {
        send({{"op", "protocol-error"}, {"error", "unknown op '" + op + "'"}});
      }
    } catch (const json::exception& e) {
      send({{"op", "protocol-error"}, {"error", e.what()}});
    }
  }
  std::free(line);
  std::fflush(stdout);
  return 0;
}

}  // namespace ckpt
