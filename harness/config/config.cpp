#include "config/config.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <filesystem>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "confine/confined_open.hpp"
#include "text/suggest.hpp"
#include "config/toml_fields.hpp"
#include "engine/layout.hpp"
#include "results/scenarios.hpp"

namespace ckpt {

using detail::TomlFields;

ConfigError::ConfigError(const std::string& file, int line, int column, const std::string& message)
    : std::runtime_error(line > 0 ? file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message
                                  : file + ": " + message) {}

void fail_config(const SourcePlace& where, const std::string& message) {
  throw ConfigError(where.file, where.line, where.column, message);
}

namespace {
// Stops at `where` when `path` leads outside the repository, or into a link loop (see
// PathConfinement); `shown`: the path as the config wrote it.
void confine(const HarnessConfig& config, const SourcePlace& where, const std::string& what, const std::string& path,
             const std::string& shown) {
  if (auto why = config.confinement.violation(path, shown)) fail_config(where, what + ": " + *why);
}
}  // namespace

bool HarnessConfig::allows_global(const std::string& name) const {
  return std::find(allowed_globals.begin(), allowed_globals.end(), name) != allowed_globals.end();
}

bool PluginSelector::matches(const std::string& plugin_name, const std::string& version) const {
  return ::fnmatch(name.c_str(), plugin_name.c_str(), 0) == 0 && ::fnmatch(version_glob.c_str(), version.c_str(), 0) == 0;
}

std::string PluginSelector::text() const { return version_glob == "*" ? name : name + "@" + version_glob; }

PluginSelector parse_plugin_selector(const std::string& text, const SourcePlace& where) {
  PluginSelector s;
  s.where = where;
  const auto at = text.find('@');
  s.name = text.substr(0, at);
  if (at != std::string::npos) s.version_glob = text.substr(at + 1);
  if (s.name.empty() || s.version_glob.empty()) {
    fail_config(where, "plugin selector '" + text + "': expected NAME or NAME@VERSION-GLOB (for example dcgan@2.*)");
  }
  return s;
}

namespace {
const std::vector<std::string> kScenarioKeys = {
    "relaxed_threshold", "dtype_policy", "rtol", "atol", "kernel_atol", "epoch_convention", "first_epoch", "steps_per_epoch",
    "optimizer_state", "resume_steps", "resume_split", "resume_bitwise", "batch", "require_finite",
    "relaxed_fail_on_initialised_layers"};

// Reads the scenario settings present in `f` over `base` (the [scenarios] table or a
// group's overrides of it).
ScenarioSettings read_scenario_settings(const TomlFields& f, ScenarioSettings s) {
  if (auto v = f.number("relaxed_threshold", 0.0, 1.0)) s.relaxed_threshold = *v;
  if (auto v = f.choice("dtype_policy", {"cast", "cast-floating", "exact"})) s.dtype_policy = *v;
  if (auto v = f.number("rtol", 0.0, 1.0)) s.rtol = *v;
  if (auto v = f.number("atol", 0.0, 1e6)) s.atol = *v;
  if (auto v = f.number("kernel_atol", 0.0, 1e6)) s.kernel_atol = *v;
  if (auto v = f.choice("epoch_convention", {"last-completed", "next"})) s.epoch_convention = *v;
  if (auto v = f.integer("first_epoch", 0, 1)) s.first_epoch = *v;
  if (auto v = f.integer("steps_per_epoch", 0, INT32_MAX)) s.steps_per_epoch = *v;
  if (auto v = f.choice("optimizer_state", {"optional", "required"})) s.optimizer_state = *v;
  if (auto v = f.integer("resume_steps", 2, 1000)) s.resume_steps = *v;
  if (auto v = f.integer("resume_split", 1, 999)) s.resume_split = *v;
  if (auto v = f.boolean("resume_bitwise")) s.resume_bitwise = *v;
  if (auto v = f.boolean("require_finite")) s.require_finite = *v;
  if (auto v = f.boolean("relaxed_fail_on_initialised_layers")) s.relaxed_fail_on_initialised_layers = *v;
  if (auto v = f.integer("batch", 2, 1024)) s.batch = *v;
  if (s.resume_split >= s.resume_steps) {
    fail_config(f.place_of("resume_split"), "resume_split (" + std::to_string(s.resume_split) +
                                                ") must be less than resume_steps (" + std::to_string(s.resume_steps) + ")");
  }
  return s;
}

std::vector<std::string> scenario_list(const TomlFields& f, const std::string& key) {
  std::vector<std::string> out;
  const auto names = f.strings(key);
  if (!names) return out;
  const std::vector<std::string> known = scenario_names();
  for (const Located& n : *names) {
    if (!find_scenario(n.value)) {
      const std::string nearest = nearest_word(n.value, known);
      fail_config({f.file(), n.line, n.column},
                  "unknown scenario '" + n.value + "'" +
                      (nearest.empty() ? "; known: " + join_words(known) : "; did you mean '" + nearest + "'?"));
    }
    if (std::find(out.begin(), out.end(), n.value) != out.end()) {
      fail_config({f.file(), n.line, n.column}, "scenario '" + n.value + "' is listed twice");
    }
    out.push_back(n.value);
  }
  return out;
}

void read_run(const TomlFields& f, HarnessConfig& config) {
  f.check_keys({"jobs", "timeout_seconds", "memory_limit_mib", "cpu_seconds_per_unit", "max_file_mib", "report_dir", "formats",
                "html_assets", "expectations_file", "fail_on_stale_expectations"});
  RunSettings& r = config.run;
  if (auto v = f.integer("jobs", 0, 256)) r.jobs = static_cast<int>(*v);
  if (auto v = f.number("timeout_seconds", 0.1, 86400)) r.timeout_seconds = *v;
  if (auto v = f.integer("memory_limit_mib", 256, 1 << 22)) r.memory_limit_mib = static_cast<std::uint64_t>(*v);
  if (auto v = f.number("cpu_seconds_per_unit", 1, 1e7)) r.cpu_seconds_per_unit = *v;
  if (auto v = f.integer("max_file_mib", 1, 1 << 24)) r.max_file_mib = static_cast<std::uint64_t>(*v);
  if (auto v = f.string("report_dir")) {
    confine(config, {f.file(), v->line, v->column}, "[run] report_dir", config_relative(config, v->value), v->value);
    r.report_dir = v->value;
  }
  if (auto v = f.strings("formats")) {
    r.formats.clear();
    for (const Located& l : *v) {
      const std::vector<std::string> known = report_formats();
      if (std::find(known.begin(), known.end(), l.value) == known.end()) {
        fail_config({f.file(), l.line, l.column},
                    "[run] formats: unknown format '" + l.value + "' (known: " + join_words(known) + ")");
      }
      r.formats.push_back(l.value);
    }
  }
  if (auto v = f.string("html_assets")) {
    if (v->value != "inline" && v->value != "beside") {  // reports/report_files.hpp
      fail_config({f.file(), v->line, v->column},
                  "[run] html_assets: expected 'inline' (style and script inside report.html) or 'beside' "
                  "(report.css and report.js next to it), not '" + v->value + "'");
    }
    r.html_assets = v->value;
  }
  if (auto v = f.string("expectations_file")) {
    r.expectations_file = config_relative(config, v->value);
    confine(config, {f.file(), v->line, v->column}, "[run] expectations_file", r.expectations_file, v->value);
  }
  if (auto v = f.boolean("fail_on_stale_expectations")) r.fail_on_stale_expectations = *v;
}

// A scalar option as the plugin reads it (option_int, option_double parse the text).
std::optional<std::string> scalar_text(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* d = node.as_floating_point()) {
    std::ostringstream out;
    out.precision(17);
    out << d->get();
    return out.str();
  }
  if (const auto* b = node.as_boolean()) return std::string(b->get() ? "true" : "false");
  return std::nullopt;
}

// Options are flat text for the plugin ABI: a nested table becomes dotted keys
// ("optimizers.generator_optimizer.lr") and an array of scalars comma-separated text
// ("betas" = "0.5,0.999").
void flatten_options(const TomlFields& f, const toml::table& table, const std::string& what, const std::string& prefix,
                     std::map<std::string, std::string>& out) {
  for (const auto& [key, value] : table) {
    const std::string name = prefix + std::string(key.str());
    // files.* options name what a generic plugin loads (TorchScript files are code): only a
    // [[models]] entry's files table gives them, each checked to lie inside the repository.
    if (name == "files" || name.rfind("files.", 0) == 0) {
      f.fail(value, what + "." + name + ": files are given by a [[models]] entry's files = { ... } (paths inside the "
                                        "repository), not as options");
    }
    if (const toml::table* nested = value.as_table()) {
      flatten_options(f, *nested, what, name + ".", out);
    } else if (const toml::array* array = value.as_array()) {
      std::string text;
      for (const toml::node& item : *array) {
        const auto one = scalar_text(item);
        if (!one) f.fail(item, what + "." + name + " must hold only strings, numbers or booleans");
        text += (text.empty() ? "" : ",") + *one;
      }
      out[name] = text;
    } else if (const auto one = scalar_text(value)) {
      out[name] = *one;
    } else {
      f.fail(value, what + "." + name + " must be a string, number, boolean, array of them or table");
    }
  }
}

void read_plugins(const TomlFields& f, HarnessConfig& config, const toml::table& table) {
  if (auto v = f.strings("paths")) {
    for (const Located& p : *v) {
      confine(config, {f.file(), p.line, p.column}, "[plugins] paths", config_relative(config, p.value), p.value);
    }
    config.plugin_paths = *v;
  }
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name == "paths") continue;
    if (!node.is_table()) {
      if (!nearest_word(name, {"paths"}).empty()) {
        fail_config(detail::place_in(f.file(), key.source()), "unknown key '" + name + "' in [plugins]; did you mean 'paths'?");
      }
      f.fail(node, "[plugins] " + name + ": expected 'paths = [...]' or a table [plugins." + name +
                       "] with options = { ... } for the plugin named '" + name + "'");
    }
    const TomlFields p(f.file(), *node.as_table(), "plugins." + name);
    p.check_keys({"options"});
    PluginSettings settings;
    settings.where = detail::place_in(f.file(), key.source());
    if (const toml::table* options = p.table("options")) {
      flatten_options(p, *options, "[plugins." + name + "] options", "", settings.options);
    }
    config.plugin_settings[name] = settings;
  }
}

CheckpointGroup read_group(const TomlFields& f, const HarnessConfig& config, std::size_t index) {
  std::vector<std::string> known = {"name",           "files",   "label",     "plugins",   "layout",
                                    "map", "component_files", "key_rules", "components", "epoch_from"};
  known.insert(known.end(), kScenarioKeys.begin(), kScenarioKeys.end());
  f.check_keys(known);
  CheckpointGroup g;
  g.name = "checkpoints[" + std::to_string(index) + "]";
  g.where = f.place_of("files");
  if (auto v = f.string("name")) g.name = v->value;
  auto files = f.strings("files");
  if (!files || files->empty()) {
    fail_config(g.where, "[[checkpoints]] '" + g.name + "' has no files: add files = [\"path/or/*.pt\", ...]");
  }
  g.files = *files;
  if (auto v = f.string("label")) g.label = v->value;
  if (auto v = f.strings("plugins")) {
    for (const Located& s : *v) g.plugins.push_back(parse_plugin_selector(s.value, {f.file(), s.line, s.column}));
  }
  if (auto v = f.choice("layout", layout_preset_names())) g.locator.layout = *v;
  if (auto v = f.string("epoch_from")) {
    if (const std::string problem = epoch_from_problem(v->value); !problem.empty()) {
      fail_config({f.file(), v->line, v->column}, "[[checkpoints]] '" + g.name + "' epoch_from '" + v->value + "': " + problem);
    }
    g.locator.epoch_from = v->value;
  }
  if (auto v = f.strings("components")) {
    if (v->empty()) fail_config(f.place_of("components"), "[[checkpoints]] '" + g.name + "' components is empty: leave it out when the checkpoints hold every module");
    for (const Located& c : *v) g.locator.components.push_back(c.value);
  }
  if (const toml::table* map = f.table("map")) {
    for (const auto& [name, value] : *map) {
      const auto* path = value.as_string();
      if (!path || path->get().empty()) f.fail(value, "[[checkpoints]] map." + std::string(name.str()) + " must be a dotted path such as \"model.G\"");
      g.locator.maps.emplace_back(std::string(name.str()), path->get());
    }
  }
  if (const toml::table* files_of = f.table("component_files")) {
    for (const auto& [name, value] : *files_of) {
      const auto* path = value.as_string();
      const std::string what = "[[checkpoints]] '" + g.name + "' component_files." + std::string(name.str());
      if (!path) f.fail(value, what + " must be a path (relative to the config)");
      const std::string full = config_relative(config, path->get());
      confine(config, f.place(value), what, full, path->get());
      std::error_code ec;  // opened, and named in messages, as the group's files are: from here
      const std::string from_here = std::filesystem::relative(full, ec).string();
      g.locator.files.emplace_back(std::string(name.str()), ec || from_here.empty() ? full : from_here);
    }
  }
  g.scenarios = read_scenario_settings(f, config.scenarios);
  return g;
}

std::vector<KeyRule> read_key_rules(const TomlFields& f, const toml::table& table) {
  std::vector<KeyRule> rules;
  const toml::node* node = table.get("key_rules");
  if (!node) return rules;
  const toml::array* array = node->as_array();
  if (!array) f.fail(*node, f.qualified("key_rules") + " must be an array of { pattern = '...', replace = '...' } or { pattern = '...', drop = true }");
  for (const toml::node& item : *array) {
    const toml::table* rule = item.as_table();
    if (!rule) f.fail(item, f.qualified("key_rules") + " must hold tables { pattern = '...', replace = '...' } or { pattern = '...', drop = true }");
    const TomlFields r(f.file(), *rule, "key_rules");
    r.check_keys({"pattern", "replace", "drop"});
    const auto pattern = r.string("pattern");
    if (!pattern) f.fail(item, "a key rule needs pattern = '<regex>' (and replace = '...', default '', or drop = true)");
    if (const std::string problem = key_rule_pattern_problem(pattern->value); !problem.empty()) {
      // The pattern may be huge or unprintable: quote its start only.
      const std::string shown = pattern->value.size() > 80 ? pattern->value.substr(0, 80) + "..." : pattern->value;
      fail_config({f.file(), pattern->line, pattern->column}, "key rule pattern '" + shown + "' is not a valid regex: " + problem);
    }
    const auto replace = r.string("replace");
    const auto drop = r.boolean("drop");
    if (drop.value_or(false) && replace) {
      fail_config({f.file(), replace->line, replace->column},
                  "a key rule either drops the keys its pattern matches or replaces the match, not both");
    }
    rules.push_back({pattern->value, replace ? replace->value : "", drop.value_or(false)});
  }
  return rules;
}

ExpectationSetting read_expectation(const TomlFields& f) {
  f.check_keys({"plugin", "checkpoints", "scenario", "component", "outcome", "missing", "unexpected", "reason"});
  ExpectationSetting e;
  e.where = f.place_of_table();
  const auto plugin = f.string("plugin");
  e.plugin = plugin ? parse_plugin_selector(plugin->value, {f.file(), plugin->line, plugin->column})
                    : PluginSelector{"*", "*", e.where};
  if (auto v = f.strings("checkpoints")) {
    for (const auto& l : *v) e.checkpoints.push_back(l.value);
  }
  const auto scenario = f.string("scenario");
  if (!scenario) fail_config(e.where, "an expectation needs scenario = '<name>' (known: " + join_words(scenario_names()) + ")");
  if (!find_scenario(scenario->value)) {
    const std::string nearest = nearest_word(scenario->value, scenario_names());
    fail_config({f.file(), scenario->line, scenario->column},
                "unknown scenario '" + scenario->value + "'" +
                    (nearest.empty() ? "; known: " + join_words(scenario_names()) : "; did you mean '" + nearest + "'?"));
  }
  e.scenario = scenario->value;
  if (auto v = f.string("component")) e.component = v->value;
  if (auto v = f.choice("outcome", {"fail", "error", "skipped"})) e.outcome = *v;
  auto keys = [&](const std::string& key) -> std::optional<std::vector<std::string>> {
    auto v = f.strings(key);
    if (!v) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& l : *v) out.push_back(l.value);
    return out;
  };
  e.missing = keys("missing");
  e.unexpected = keys("unexpected");
  if (auto v = f.string("reason")) e.reason = v->value;
  return e;
}

ModelEntry read_model_entry(const TomlFields& f, const HarnessConfig& config) {
  f.check_keys({"name", "version", "plugin", "files", "options"});
  ModelEntry m;
  m.where = f.place_of_table();
  const auto required = [&](const std::string& key, const std::string& example) {
    const auto v = f.string(key);
    if (!v || v->value.empty()) fail_config(m.where, "[[models]] needs " + key + " = " + example);
    return *v;
  };
  const Located name = required("name", "\"my_gan-torchscript\" (what [[checkpoints]] plugins select)");
  if (name.value.find_first_of("@/*?[] ") != std::string::npos) {
    fail_config({f.file(), name.line, name.column},
                "[[models]] name '" + name.value + "' may not hold '@', '/', spaces or glob characters");
  }
  m.name = name.value;
  m.version = required("version", "\"2.1.0\" (the model version the export is of)").value;
  m.plugin = required("plugin", "\"torchscript\" or \"manifest\" (the generic plugin that builds it)").value;
  if (const toml::table* options = f.table("options")) flatten_options(f, *options, "[[models]] options", "", m.options);
  const toml::table* files = f.table("files");
  if (!files || files->empty()) {
    fail_config(m.where, "[[models]] " + m.name + "@" + m.version +
                             " needs files = { ... }: what its plugin reads (a manifest, a TorchScript file per module)");
  }
  for (const auto& [key, value] : *files) {
    const auto* path = value.as_string();
    const std::string what = "[[models]] '" + m.name + "' files." + std::string(key.str());
    if (!path) f.fail(value, what + " must be a path (relative to the config)");
    const SourcePlace where = f.place(value);
    const std::string full = config_relative(config, path->get());
    confine(config, where, what, full, path->get());  // first: a config may not learn what exists outside
    std::error_code ec;
    if (!std::filesystem::is_regular_file(full, ec)) {
      fail_config(where, what + ": '" + path->get() + "' is not a file" + (ec ? " (" + ec.message() + ")" : ""));
    }
    const std::string real = std::filesystem::canonical(full, ec).string();
    if (ec) fail_config(where, what + ": '" + path->get() + "' cannot be resolved: " + ec.message());
    m.options["files." + std::string(key.str())] = real;
  }
  return m;
}

std::vector<ModelEntry> read_models(const TomlFields& root, const HarnessConfig& config) {
  std::vector<ModelEntry> out;
  if (const toml::array* list = root.array_of_tables("models")) {
    for (const toml::node& node : *list) {
      ModelEntry m = read_model_entry(TomlFields(root.file(), *node.as_table(), "models"), config);
      for (const auto& other : out) {
        if (other.name == m.name && other.version == m.version) {
          fail_config(m.where, "two [[models]] are " + m.name + "@" + m.version + " (the other at line " +
                                   std::to_string(other.where.line) + ")");
        }
      }
      out.push_back(std::move(m));
    }
  }
  return out;
}

std::vector<ExpectationSetting> read_expectations(const TomlFields& root) {
  std::vector<ExpectationSetting> out;
  if (const toml::array* list = root.array_of_tables("expectations")) {
    for (const toml::node& node : *list) out.push_back(read_expectation(TomlFields(root.file(), *node.as_table(), "expectations")));
  }
  return out;
}

// The text of a TOML file, opened where it really lies in `confine_to` (anywhere when
// empty): the baseline is named by the config, so its check is made on the open file.
std::string read_toml_text(const std::string& path, const AllowedDirs& confine_to) {
  const ConfinedFd opened = open_for_reading(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, confine_to);
  if (opened.outside) {
    throw ConfigError(path, 0, 0, "is outside the repository (it resolves to " + opened.real +
                                      "): a config may only name files inside it; allow a directory with --allow-path DIR");
  }
  struct stat st {};
  if (!opened.fd || ::fstat(opened.fd.get(), &st) != 0) {
    throw ConfigError(path, 0, 0, std::string("cannot read: ") + std::strerror(opened.fd ? errno : opened.error));
  }
  if (!S_ISREG(st.st_mode)) throw ConfigError(path, 0, 0, "cannot read: not a regular file");
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(opened.fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ConfigError(path, 0, 0, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

// `shown`: the file's name in messages and source places (default `path`).
toml::table parse_toml(const std::string& path, const AllowedDirs& confine_to = {}, std::string shown = "") {
  if (shown.empty()) shown = path;
  const std::string text = read_toml_text(path, confine_to);
  try {
    return toml::parse(text, shown);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source();
    if (where.begin.line == 0) throw ConfigError(shown, 0, 0, std::string(e.description()));
    fail_config(detail::place_in(shown, where), std::string(e.description()));
  }
}
}  // namespace

HarnessConfig load_config(const std::string& path, const std::vector<std::string>& allowed_dirs) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    // A link loop (or an unreadable link) is said as such: "no such file" would send the
    // reader looking for a typo.
    throw ConfigError(path, 0, 0, ec && ec.value() != ENOENT ? "cannot read the config: " + ec.message() + 
                                                                   (ec.value() == ELOOP ? " (a symbolic link loop)" : "")
                                                             : "cannot read the config: no such file");
  }
  const toml::table root = parse_toml(path);
  HarnessConfig config;
  config.file = path;
  config.base_dir = std::filesystem::absolute(path).parent_path().string();
  config.confinement = PathConfinement(config.base_dir, allowed_dirs);
  const TomlFields top(path, root, "");
  top.check_keys({"run", "plugins", "models", "scenarios", "checkpoints", "expectations", "security"});
  if (const toml::table* t = top.table("run")) read_run(TomlFields(path, *t, "run"), config);
  if (const toml::table* t = top.table("plugins")) read_plugins(TomlFields(path, *t, "plugins"), config, *t);
  config.models = read_models(top, config);
  if (const toml::table* t = top.table("scenarios")) {
    const TomlFields f(path, *t, "scenarios");
    std::vector<std::string> known = {"run"};
    known.insert(known.end(), kScenarioKeys.begin(), kScenarioKeys.end());
    f.check_keys(known);
    config.scenarios = read_scenario_settings(f, config.scenarios);
    config.scenarios.enabled = scenario_list(f, "run");
    if (t->get("run") && config.scenarios.enabled.empty()) {
      fail_config(f.place_of("run"), "[scenarios] run is empty: no scenario would run (leave it out to run all)");
    }
  }
  if (config.scenarios.enabled.empty()) config.scenarios.enabled = scenario_names();
  if (const toml::node* node = root.get("checkpoints"); node && node->is_table()) {
    top.fail(*node, "checkpoints are an array of tables: write [[checkpoints]] (one per group of files), not [checkpoints]");
  }
  if (const toml::array* groups = top.array_of_tables("checkpoints")) {
    std::set<std::string> names;
    for (const toml::node& node : *groups) {
      const TomlFields f(path, *node.as_table(), "checkpoints");
      CheckpointGroup g = read_group(f, config, config.groups.size());
      g.locator.key_rules = read_key_rules(f, *node.as_table());
      if (!names.insert(g.name).second) fail_config(f.place_of("name"), "two [[checkpoints]] groups are named '" + g.name + "'");
      config.groups.push_back(std::move(g));
    }
  }
  if (config.groups.empty()) {
    throw ConfigError(path, 1, 1, "no checkpoints: add [[checkpoints]] with files = [\"path/or/*.pt\", ...]");
  }
  config.expectations = read_expectations(top);
  if (const toml::table* t = top.table("security")) {
    const TomlFields f(path, *t, "security");
    f.check_keys({"allowed_globals"});
    if (auto v = f.strings("allowed_globals")) {
      for (const auto& g : *v) config.allowed_globals.push_back(g.value);
    }
  }
  if (!config.run.expectations_file.empty() && std::filesystem::exists(config.run.expectations_file, ec)) {
    // Named beside the config as the config was named (its place in every expectation's
    // "declared at"), never by this machine's absolute path.
    const std::string& baseline = config.run.expectations_file;
    const std::string shown = named_like_config(config, baseline);
    const toml::table b = parse_toml(baseline, config.confinement.roots(), shown);
    const TomlFields f(shown, b, "");
    f.check_keys({"expectations"});
    for (auto& e : read_expectations(f)) config.expectations.push_back(std::move(e));
  }
  return config;
}

std::string config_relative(const HarnessConfig& config, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() ? path : (std::filesystem::path(config.base_dir) / p).lexically_normal().string();
}

std::string shown_path(const HarnessConfig& config, const std::string& file) {
  if (file.empty()) return file;  // no file (a [[models]] entry no plugin could build)
  const std::filesystem::path abs = std::filesystem::absolute(file).lexically_normal();
  if (config.base_dir.empty()) return abs.string();
  const std::filesystem::path from_config = abs.lexically_relative(config.base_dir);
  if (from_config.empty()) return abs.string();
  if (*from_config.begin() != "..") return from_config.string();
  // Above the config's directory: named so only while inside its repository.
  const std::string& root = config.confinement.root();
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::weakly_canonical(abs, ec);
  const std::filesystem::path in_root = real.lexically_relative(root);
  if (root.empty() || ec || in_root.empty() || *in_root.begin() == "..") return abs.string();
  return from_config.string();
}

std::map<std::string, std::string> shown_model_files(const HarnessConfig& config,
                                                     const std::map<std::string, std::string>& options) {
  std::map<std::string, std::string> out;
  for (const auto& [option, value] : options) {
    if (option.rfind("files.", 0) == 0) out[value] = shown_path(config, value);
  }
  return out;
}

std::string named_like_config(const HarnessConfig& config, const std::string& file) {
  const std::string from_config = shown_path(config, file);
  if (std::filesystem::path(from_config).is_absolute()) return from_config;
  return (std::filesystem::path(config.file).parent_path() / from_config).lexically_normal().string();
}

bool is_golden_file(const std::string& path) {
  // NAME.golden.pt, or NAME.golden.libtorch-X.Y.pt recorded for one LibTorch.
  auto ends_with = [&path](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".golden.pt")) return true;
  const std::string marker = ".golden.libtorch-";
  const std::size_t at = path.rfind(marker);
  if (at == std::string::npos || !ends_with(".pt")) return false;
  const std::string version = path.substr(at + marker.size(), path.size() - 3 - at - marker.size());
  return !version.empty() && version.find_first_not_of("0123456789.") == std::string::npos;
}

std::vector<std::string> expand_group(const HarnessConfig& config, const CheckpointGroup& group) {
  std::vector<std::string> files;
  std::set<std::string> seen;
  for (const Located& located : group.files) {
    const std::string& pattern = located.value;
    const std::string full = config_relative(config, pattern);
    glob_t matches{};
    const int rc = ::glob(full.c_str(), 0, nullptr, &matches);
    if (rc == GLOB_NOMATCH || matches.gl_pathc == 0) {
      ::globfree(&matches);
      throw ConfigError(config.file, located.line, located.column,
                        "[[checkpoints]] '" + group.name + "' files: '" + pattern + "' matches no file (relative to " +
                            config.base_dir + ")");
    }
    for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
      std::string found = matches.gl_pathv[i];
      if (is_golden_file(found)) continue;  // recorded outputs beside a checkpoint, not one
      // A torch.distributed.checkpoint's `.metadata` stands for its directory, the checkpoint.
      if (std::filesystem::path(found).filename() == ".metadata") found = std::filesystem::path(found).parent_path().string();
      // Checked before anything resolves it: a link loop is an error here, at the pattern.
      const std::string in_config = std::filesystem::path(found).lexically_relative(config.base_dir).string();
      const std::string shown = in_config.empty() || in_config.rfind("..", 0) == 0 ? found : in_config;
      std::optional<std::string> why = config.confinement.violation(found, shown);
      std::error_code ec;
      const std::string match = why ? "" : std::filesystem::relative(found, ec).string();
      if (!why && ec) why = "'" + shown + "' cannot be resolved: " + ec.message();
      if (why) {
        ::globfree(&matches);
        throw ConfigError(config.file, located.line, located.column, "[[checkpoints]] '" + group.name + "' files: " + *why);
      }
      if (seen.insert(match).second) files.push_back(match);
    }
    ::globfree(&matches);
  }
  return files;
}

std::vector<std::string> expand_checkpoints(const HarnessConfig& config) {
  std::vector<std::string> files;
  std::set<std::string> seen;
  for (const auto& group : config.groups) {
    for (auto& f : expand_group(config, group)) {
      if (seen.insert(f).second) files.push_back(std::move(f));
    }
  }
  return files;
}

}  // namespace ckpt
