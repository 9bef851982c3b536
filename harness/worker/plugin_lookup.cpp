#include "worker/plugin_lookup.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace ckpt {

namespace fs = std::filesystem;

std::vector<std::string> plugin_search_dirs(const std::vector<std::string>& extra_dirs) {
  std::vector<std::string> dirs = extra_dirs;
  if (const char* env = std::getenv("CKPT_HARNESS_PLUGIN_PATH")) {
    std::string all = env;
    for (std::size_t start = 0; start <= all.size();) {
      const std::size_t end = all.find(':', start);
      const std::string dir = all.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!dir.empty()) dirs.push_back(dir);
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& candidate : {exe.parent_path() / "plugins", exe.parent_path() / ".." / "lib" / "ckpt-harness" / "plugins"}) {
      if (fs::is_directory(candidate)) dirs.push_back(fs::weakly_canonical(candidate).string());
    }
  }
  return dirs;
}

std::shared_ptr<Plugin> find_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs) {
  if (name_or_path.find('/') != std::string::npos || fs::exists(name_or_path)) return Plugin::load(name_or_path);
  std::string refused;
  std::string seen;
  for (const auto& dir : dirs) {
    std::vector<std::string> candidates;
    std::error_code ec;
    if (fs::is_regular_file(dir, ec)) {
      candidates.push_back(dir);  // a configured plugin file rather than a directory
    } else {
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".so") candidates.push_back(entry.path().string());
      }
    }
    for (const auto& candidate : candidates) {
      try {
        auto plugin = Plugin::load(candidate);
        if (plugin->info().name == name_or_path) return plugin;
        seen += (seen.empty() ? "" : ", ") + plugin->info().name;
      } catch (const PluginError& e) {
        refused += std::string("\n  refused: ") + e.what();
      }
    }
  }
  std::string searched;
  for (const auto& d : dirs) searched += (searched.empty() ? "" : ", ") + d;
  throw PluginError(name_or_path, "no plugin of that name in " + (searched.empty() ? std::string("(no plugin directory)") : searched) +
                                      " (found: " + (seen.empty() ? std::string("none") : seen) +
                                      "); give a path, --plugin-dir or CKPT_HARNESS_PLUGIN_PATH" + refused);
}

}  // namespace ckpt
