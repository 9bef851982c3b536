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
#include "protocol/messages.hpp"
#include "protocol/unit_request.hpp"
#include "results/exit_codes.hpp"
#include "scenarios/run_unit.hpp"
#include "worker/file_digest.hpp"

namespace ckpt {

namespace {
using nlohmann::json;

int reply_fd = -1;
pid_t serving_pid = 0;
// The request being served, for the one message a forked process may send.
std::string serving_nonce, serving_unit;

void write_line(const std::string& line) {
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(reply_fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);  // the supervisor is gone: nobody to report to
    done += static_cast<std::size_t>(n);
  }
}

// A reply, from the worker only. A process a plugin forked goes on with the worker's code
// and would answer for it a second time: instead it says that it exists and ends, so a
// unit's results are always the worker's own.
void send(const std::string& line) {
  if (::getpid() != serving_pid) {
    write_line(protocol::encode_forked({serving_nonce, static_cast<long>(::getpid()), serving_unit}));
    std::_Exit(0);
  }
  write_line(line);
}

// The envelope of a reply to `nonce` about `unit`. The pid is read at each send: a process a
// plugin forked that carries on with this code says who it is.
protocol::Envelope envelope(const std::string& nonce, const std::string& unit = "") {
  return {nonce, static_cast<long>(::getpid()), unit};
}

class PluginCache {
 public:
  // `shown`: the file as messages name it.
  std::shared_ptr<Plugin> get(const std::string& file, const std::string& shown) {
    auto it = plugins_.find(file);
    if (it != plugins_.end()) return it->second;
    auto plugin = Plugin::load(file, shown);
    plugins_[file] = plugin;
    return plugin;
  }
  // A model built while describing, kept for the first unit of that plugin file with the
  // same options (building a full-size model takes seconds; one generic plugin file builds
  // several [[models]] entries).
  void keep_spare(const std::string& file, const Options& options, LoadedModel model) {
    spares_[spare_key(file, options)] = std::move(model);
  }
  // The spare for this unit, if any; every other spare is dropped. The worker that described
  // the run built a model of every plugin, and the supervisor hands units to whichever worker
  // is free: kept, they would hold the memory of the whole run's models in one worker (and
  // make its exit slow) for the few units that could use them.
  std::optional<LoadedModel> take_spare(const std::string& file, const Options& options) {
    auto it = spares_.find(spare_key(file, options));
    std::optional<LoadedModel> model;
    if (it != spares_.end()) model = std::move(it->second);
    spares_.clear();
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
  template <typename Reply>
  void check(Reply& reply) const {
    const int left = leaked();
    if (left == 0) return;
    reply.replace = true;
    reply.open_files_left = left;
    reply.open_files_limit = limit_;
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

protocol::Described describe(PluginCache& cache, const protocol::DescribeRequest& request) {
  protocol::Described reply;
  const std::string& file = request.file;
  try {
    auto plugin = cache.get(file, request.shown_file);
    const PluginInfo& info = plugin->info();
    // A [[models]] entry is described as itself: the generic plugin builds it from the
    // entry's own options, always (the config names it for a run).
    reply.name = request.as ? request.as->first : info.name;
    reply.version = request.as ? request.as->second : info.version;
    reply.description = info.description;
    if (request.as || selected(request.selectors, info)) {
      Options options;
      if (request.as) {
        options = request.options.get<Options>();
      } else if (request.options.contains(info.name)) {
        options = request.options.at(info.name).get<Options>();
      }
      LoadedModel model = plugin->build(options);
      for (const auto& m : model.model().modules) reply.modules.push_back(m.name);
      for (const auto& o : model.model().optimizers) reply.optimizers.push_back(o.name);
      cache.keep_spare(file, options, std::move(model));
    }
    reply.ok = true;
  } catch (const PluginError& e) {
    reply.error = e.what();
  } catch (const std::bad_alloc&) {
    reply.error = request.shown_file + ": out of memory while building the model ([run] memory_limit_mib)";
    reply.replace = true;
  }
  return reply;
}

bool run(PluginCache& cache, const OpenFiles& open_files, const protocol::RunRequest& message) {
  const UnitRequest& request = message.unit;
  std::shared_ptr<Plugin> plugin;
  std::string plugin_error;
  if (!request.plugin_file.empty()) {
    try {
      plugin = cache.get(request.plugin_file, request.shown_plugin_file);
    } catch (const PluginError& e) {
      plugin_error = e.what();
    } catch (const std::bad_alloc&) {
      plugin_error = request.shown_plugin_file + ": out of memory while loading the plugin ([run] memory_limit_mib)";
    }
  }
  UnitCallbacks callbacks;
  callbacks.on_start = [&](const PlannedCase& c) {
    send(protocol::encode(protocol::Phase{c.scenario, c.component}, envelope(message.nonce, request.id)));
  };
  bool files_left_open_annotated = false;
  callbacks.on_case = [&](CaseResult c) {
    open_files.annotate(c, files_left_open_annotated);
    send(protocol::encode(c, envelope(message.nonce, request.id)));
  };
  if (!plugin_error.empty()) {
    for (const auto& planned : request.cases) callbacks.on_case(error_case(planned.scenario, planned.component, "plugin: " + plugin_error));
    return false;
  }
  return run_unit(request, plugin, callbacks, cache.take_spare(request.plugin_file, request.options)).out_of_memory;
}
}  // namespace

int serve(int reply_descriptor) {
  using protocol::kRequestFd;
  reply_fd = reply_descriptor;
  if (::fcntl(kRequestFd, F_GETFD) < 0 || reply_fd < 0 || ::fcntl(reply_fd, F_GETFD) < 0) {
    std::cerr << "error: `serve` is the worker of `ckpt-harness run`, which starts it with its requests on fd "
              << kRequestFd << " and replies on the fd it names with --reply-fd\n";
    return kExitUsage;
  }
  ::fcntl(kRequestFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(reply_fd, F_SETFD, FD_CLOEXEC);
  FILE* requests = ::fdopen(kRequestFd, "r");
  serving_pid = ::getpid();
  send(protocol::encode(protocol::Ready{protocol::kVersion, static_cast<long>(::getpid()), TORCH_VERSION}));
  const OpenFiles open_files;
  PluginCache cache;
  FileDigests digests;  // a checkpoint checked against several plugin versions is hashed once
  char* line = nullptr;
  std::size_t capacity = 0;
  while (::getline(&line, &capacity, requests) > 0) {
    std::string nonce;  // known once the request is read: a protocol error names it when it can
    try {
      const json message = json::parse(line);
      if (message.is_object() && message.contains("nonce") && message.at("nonce").is_string()) {
        nonce = message.at("nonce").get<std::string>();
      }
      serving_nonce = nonce;
      serving_unit.clear();
      if (protocol::request_op(message) == protocol::Op::kDescribe) {
        protocol::Described reply = describe(cache, protocol::describe_from_json(message));
        open_files.check(reply);
        send(protocol::encode(reply, envelope(nonce)));
      } else {
        const protocol::RunRequest request = protocol::run_from_json(message);
        serving_unit = request.unit.id;
        protocol::Done done;
        done.replace = run(cache, open_files, request);
        // Which exact bytes were checked, for the reports; the worker pays for reading them.
        done.sha256 = digests.of(request.unit.checkpoint, request.unit.confine_to);
        open_files.check(done);
        send(protocol::encode(done, envelope(request.nonce, request.unit.id)));
      }
    } catch (const std::exception& e) {
      send(protocol::encode(protocol::ProtocolError{e.what()}, envelope(nonce)));
    }
  }
  std::free(line);
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace ckpt
