#include "config/config.hpp"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <toml++/toml.h>

#include "config/suggest.hpp"

namespace ckpt {

ConfigError::ConfigError(const std::string& file, int line, int column, const std::string& message)
    : std::runtime_error(line > 0 ? file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message
                                  : file + ": " + message) {}

bool HarnessConfig::allows_global(const std::string& name) const {
  return std::find(allowed_globals.begin(), allowed_globals.end(), name) != allowed_globals.end();
}

namespace {
[[noreturn]] void fail_at(const std::string& file, const toml::source_region& where, const std::string& message) {
  throw ConfigError(file, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), message);
}

// Rejects keys the harness does not know, suggesting the nearest known one.
void check_keys(const std::string& file, const toml::table& table, const std::string& table_name,
                const std::vector<std::string>& known) {
  for (const auto& [key, node] : table) {
    const std::string k(key.str());
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string message = "unknown key '" + k + "'" + (table_name.empty() ? "" : " in [" + table_name + "]");
    const std::string nearest = nearest_word(k, known);
    message += nearest.empty() ? "; known keys: " + join_words(known) : "; did you mean '" + nearest + "'?";
    fail_at(file, key.source(), message);
  }
}

std::vector<Located> string_array(const std::string& file, const toml::table& table, const std::string& key,
                                  const std::string& table_name) {
  std::vector<Located> out;
  const toml::node* node = table.get(key);
  if (!node) return out;
  const toml::array* array = node->as_array();
  if (!array) fail_at(file, node->source(), "[" + table_name + "] " + key + " must be an array of strings");
  for (const toml::node& item : *array) {
    const auto* s = item.as_string();
    if (!s) fail_at(file, item.source(), "[" + table_name + "] " + key + " must hold only strings");
    out.push_back({s->get(), static_cast<int>(item.source().begin.line), static_cast<int>(item.source().begin.column)});
  }
  return out;
}

const toml::table* sub_table(const std::string& file, const toml::table& root, const std::string& name) {
  const toml::node* node = root.get(name);
  if (!node) return nullptr;
  if (!node->is_table()) fail_at(file, node->source(), "'" + name + "' must be a table ([" + name + "])");
  return node->as_table();
}
}  // namespace

HarnessConfig load_config(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source();
    if (where.begin.line == 0) throw ConfigError(path, 0, 0, std::string(e.description()));
    fail_at(path, where, std::string(e.description()));
  }
  HarnessConfig config;
  config.file = path;
  config.base_dir = std::filesystem::absolute(path).parent_path().string();
  check_keys(path, root, "", {"checkpoints", "security", "plugins"});
  if (const toml::table* t = sub_table(path, root, "checkpoints")) {
    check_keys(path, *t, "checkpoints", {"files"});
    config.checkpoint_globs = string_array(path, *t, "files", "checkpoints");
  }
  if (const toml::table* t = sub_table(path, root, "security")) {
    check_keys(path, *t, "security", {"allowed_globals"});
    for (auto& g : string_array(path, *t, "allowed_globals", "security")) config.allowed_globals.push_back(g.value);
  }
  if (const toml::table* t = sub_table(path, root, "plugins")) {
    check_keys(path, *t, "plugins", {"paths"});
    config.plugin_paths = string_array(path, *t, "paths", "plugins");
  }
  if (config.checkpoint_globs.empty()) {
    throw ConfigError(path, 1, 1, "no checkpoints: add [checkpoints] files = [\"path/or/*.pt\", ...]");
  }
  return config;
}

std::string config_relative(const HarnessConfig& config, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() ? path : (std::filesystem::path(config.base_dir) / p).lexically_normal().string();
}

std::vector<std::string> expand_checkpoints(const HarnessConfig& config) {
  std::vector<std::string> files;
  std::set<std::string> seen;
  for (const Located& located : config.checkpoint_globs) {
    const std::string& pattern = located.value;
    const std::filesystem::path full = std::filesystem::path(pattern).is_absolute()
                                           ? std::filesystem::path(pattern)
                                           : std::filesystem::path(config.base_dir) / pattern;
    glob_t matches{};
    const int rc = ::glob(full.c_str(), 0, nullptr, &matches);
    if (rc == GLOB_NOMATCH || matches.gl_pathc == 0) {
      ::globfree(&matches);
      throw ConfigError(config.file, located.line, located.column,
                        "[checkpoints] files: '" + pattern + "' matches no file (relative to " + config.base_dir + ")");
    }
    for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
      const std::string match = std::filesystem::relative(matches.gl_pathv[i]).string();
      if (seen.insert(match).second) files.push_back(match);
    }
    ::globfree(&matches);
  }
  return files;
}

}  // namespace ckpt
