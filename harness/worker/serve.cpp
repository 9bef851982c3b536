#include "worker/serve.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <torch/version.h>

#include "config/config.hpp"
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
  // A model built while describing, kept for the first unit of that plugin file with the
  // same options (building a full-size model takes seconds; one generic plugin file builds
  // several [[models]] entries).
  void keep_spare(const std::string& file, const Options& options, LoadedModel model) {
    spares_[spare_key(file, options)] = std::move(model);
  }
  std::optional<LoadedModel> take_spare(const std::string& file, const Options& options) {
    auto it = spares_.find(spare_key(file, options));
    if (it == spares_.end()) return std::nullopt;
    std::optional<LoadedModel> model = std::move(it->second);
    spares_.erase(it);
    return model;
  }

 private:
  static std::string spare_key(const std::string& file, const Options& options) { return file + "\n" + json(options).dump(); }
  std::map<std::string, std::shared_ptr<Plugin>> plugins_;
  std::map<std::string, LoadedModel> spares_;
};

// The descriptors this worker holds, against what it held when it began to serve: a plugin
// that leaks them would make every later unit of the worker fail with EMFILE.
class OpenFiles {
 public:
  OpenFiles() : limit_(soft_limit()), at_start_(count()) {}

  // How many more are open than at the start, when that is more than a quarter of the limit
  // (or all of it): too many to keep serving with; 0 otherwise.
  int leaked() const {
    const int now = count();
    if (now < 0 || at_start_ < 0) return 0;  // no /proc: nothing to compare
    return now - at_start_ > limit_ / 4 ? now - at_start_ : 0;
  }

  // A case that ends with too many files open says so: the first such case of a unit (the
  // leak happened in it), and each failing one after it (running out is their likely cause).
  void annotate(CaseResult& c, bool& annotated_before) const {
    const int left = leaked();
    if (left == 0 || (annotated_before && c.outcome != Outcome::kError)) return;
    c.message += " [the plugin has left " + std::to_string(left) + " files open, of the " + std::to_string(limit_) +
                 " a worker may have: this worker is replaced after the unit]";
    annotated_before = true;
  }

  // A reply after which too many files are open asks for a fresh worker and says how many.
  void check(json& reply) const {
    const int left = leaked();
    if (left == 0) return;
    reply["replace"] = true;
    reply["open_files_left"] = left;
    reply["open_files_limit"] = limit_;
  }

 private:
  static int soft_limit() {
    rlimit r{};
    return ::getrlimit(RLIMIT_NOFILE, &r) == 0 ? static_cast<int>(std::min<rlim_t>(r.rlim_cur, INT_MAX)) : INT_MAX;
  }
  // Listing /proc/self/fd takes a descriptor itself: failing for want of one means all are
  // in use. -1 when it cannot be listed otherwise.
  int count() const {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return errno == EMFILE ? limit_ : -1;
    int entries = 0;
    while (const dirent* e = ::readdir(dir)) entries += e->d_name[0] != '.';
    ::closedir(dir);
    return entries - 1;  // not the listing's own
  }

  int limit_;
  int at_start_;
};

bool selected(const json& selectors, const PluginInfo& info) {
  for (const auto& s : selectors) {
    const PluginSelector selector{s.at(0).get<std::string>(), s.at(1).get<std::string>(), {}};
    if (selector.matches(info.name, info.version)) return true;
  }
  return false;
}

json describe(PluginCache& cache, const json& request) {
  const std::string file = request.at("file").get<std::string>();
  json reply{{"op", "described"}, {"file", file}};
  try {
    auto plugin = cache.get(file);
    const PluginInfo& info = plugin->info();
    // A [[models]] entry is described as itself: the generic plugin builds it from the
    // entry's own options, always (the config names it for a run).
    const json* as = request.contains("as") ? &request.at("as") : nullptr;
    reply["name"] = as ? as->at("name").get<std::string>() : info.name;
    reply["version"] = as ? as->at("version").get<std::string>() : info.version;
    reply["description"] = info.description;
    json modules = json::array(), optimizers = json::array();
    if (as || selected(request.value("selectors", json::array()), info)) {
      Options options;
      const json& all = request.at("options");
      if (as) {
        options = all.get<Options>();
      } else if (all.contains(info.name)) {
        options = all.at(info.name).get<Options>();
      }
      LoadedModel model = plugin->build(options);
      for (const auto& m : model.model().modules) modules.push_back(m.name);
      for (const auto& o : model.model().optimizers) optimizers.push_back(o.name);
      cache.keep_spare(file, options, std::move(model));
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

bool run(PluginCache& cache, const OpenFiles& open_files, const json& message) {
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
  bool files_left_open_annotated = false;
  callbacks.on_case = [&](CaseResult c) {
    open_files.annotate(c, files_left_open_annotated);
    send({{"op", "case"}, {"case", to_json(c)}});
  };
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
  return run_unit(request, plugin, callbacks, cache.take_spare(request.plugin_file, request.options)).out_of_memory;
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
  const OpenFiles open_files;
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
        json reply = describe(cache, message);
        open_files.check(reply);
        send(reply);
      } else if (op == "run") {
        const bool replace = run(cache, open_files, message);
        // Which exact bytes were checked, for the reports; the worker pays for reading them.
        const std::string sha256 = digests.of(message.at("unit").at("checkpoint").get<std::string>());
        json done{{"op", "done"}, {"id", message.at("unit").at("id")}, {"replace", replace}, {"sha256", sha256}};
        open_files.check(done);
        send(done);
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
