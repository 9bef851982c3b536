#include "worker/diff_view.hpp"

#include <cstdio>

#include "engine/torch_schema.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
constexpr std::size_t kListCap = 20;  // long key lists are capped, with the count of the rest

std::string percent(std::uint64_t part, std::uint64_t whole) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole == 0 ? 100.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

void list(std::ostream& out, const std::string& title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  out << "    " << title << " (" << items.size() << "):\n";
  for (std::size_t i = 0; i < items.size() && i < kListCap; ++i) out << "      " << items[i] << "\n";
  if (items.size() > kListCap) out << "      ... and " << items.size() - kListCap << " more\n";
}

const ModuleSchema schema_for(const LoadedModel& model, const std::string& name) {
  const Module* m = model.module(name);
  return m ? schema_of(name, *m->module) : ModuleSchema{};
}
}  // namespace

void write_diff_text(std::ostream& out, const CompatibilityReport& r, const LoadedModel& model) {
  out << r.checkpoint << " against plugin " << r.plugin.name << " " << r.plugin.version << " (layout " << r.layout << ")\n";
  for (const auto& m : r.modules) {
    const ModuleComparison& c = m.comparison;
    if (!m.error.empty()) {
      out << "  " << c.module << ": ERROR " << m.error << "\n";
      continue;
    }
    out << "  " << c.module << ": ";
    if (c.identical()) {
      out << "strictly loadable (" << c.model_tensors << " tensors: keys, shapes and dtypes match)\n";
    } else if (c.strictly_loadable()) {
      out << "strictly loadable, with " << c.dtype_mismatches.size() << " dtype difference(s) cast on load\n";
    } else {
      out << "NOT strictly loadable\n";
      std::string message = c.pytorch_message();
      for (std::size_t pos = 0; (pos = message.find('\n', pos)) != std::string::npos; pos += 5) message.replace(pos, 1, "\n    ");
      out << "    " << message << "\n";
    }
    std::vector<std::string> dtypes;
    for (const auto& d : c.dtype_mismatches) {
      dtypes.push_back(d.key + ": checkpoint " + std::string(dtype_name(d.checkpoint)) + ", model " + std::string(dtype_name(d.model)));
    }
    list(out, "dtype differences", dtypes);
    list(out, "BatchNorm version 1: num_batches_tracked added as 0, as PyTorch does", c.migrated);
    for (const auto& rule : c.applied_rules) out << "    key rule " << rule << "\n";
    if (!c.hint.empty()) out << "    hint: " << c.hint << "\n";
    if (!c.strictly_loadable()) {
      const Coverage cov = relaxed_coverage(schema_for(model, c.module), c);
      out << "    relaxed load: " << cov.tensors << " of " << cov.tensors_total << " tensors ("
          << percent(cov.tensors, cov.tensors_total) << "), " << cov.elements << " of " << cov.elements_total
          << " elements (" << percent(cov.elements, cov.elements_total) << "); the rest stays at initialisation\n";
    }
  }
  for (const auto& o : r.optimizers) {
    const OptimizerComparison& c = o.comparison;
    out << "  " << c.optimizer << ": ";
    if (!o.error.empty()) {
      out << "ERROR " << o.error << "\n";
      continue;
    }
    if (!c.present) {
      out << "no optimizer state saved: training would resume with a fresh " << c.model_class << " optimizer\n";
      continue;
    }
    out << (c.loadable() ? "loadable" : "NOT loadable") << " (saved " << (c.saved_class.empty() ? "?" : c.saved_class)
        << ", model " << c.model_class << ")\n";
    list(out, "problems", c.problems);
    list(out, "hyper-parameter differences (the checkpoint's values are loaded, as in Python)", c.hyper_differences);
    list(out, "PyTorch 2.x flags the C++ optimizer has not", c.flag_notes);
  }
  for (const auto& s : r.schedulers) {
    out << "  " << s.name << ": " << (s.scheduler_class.empty() ? "LR scheduler" : s.scheduler_class);
    if (!s.nested.empty()) {
      out << " of " << comma_list(s.nested);
    }
    if (s.last_epoch) out << ", last_epoch " << *s.last_epoch;
    out << (s.optimizer.empty() ? "" : ", steps " + s.optimizer) << (s.problems.empty() ? ": consistent" : ": INCONSISTENT")
        << "\n";
    list(out, "problems", s.problems);
    list(out, "found", s.facts);
  }
  if (r.epoch) out << "  epoch: " << *r.epoch << " (training resumes at epoch " << *r.epoch + 1 << ")\n";
  out << "verdict: " << (r.strictly_compatible() ? "strictly compatible" : "NOT strictly compatible") << "\n";
}

nlohmann::ordered_json diff_json(const CompatibilityReport& r, const LoadedModel& model) {
  using Json = nlohmann::ordered_json;
  Json j;
  j["schema"] = "ckpt-harness.diff";
  j["schema_version"] = 1;
  j["checkpoint"] = r.checkpoint;
  j["plugin"] = {{"name", r.plugin.name}, {"version", r.plugin.version}, {"path", r.plugin.path}};
  j["layout"] = r.layout;
  j["strictly_compatible"] = r.strictly_compatible();
  Json modules = Json::array();
  for (const auto& m : r.modules) {
    const ModuleComparison& c = m.comparison;
    Json mj = {{"module", c.module}, {"source", c.source}};
    if (!m.error.empty()) {
      mj["error"] = m.error;
      modules.push_back(mj);
      continue;
    }
    mj["strictly_loadable"] = c.strictly_loadable();
    mj["missing"] = c.missing;
    mj["unexpected"] = c.unexpected;
    Json shapes = Json::array();
    for (const auto& s : c.shape_mismatches) shapes.push_back({{"key", s.key}, {"checkpoint", s.checkpoint}, {"model", s.model}});
    mj["shape_mismatches"] = shapes;
    Json dtypes = Json::array();
    for (const auto& d : c.dtype_mismatches) {
      dtypes.push_back({{"key", d.key}, {"checkpoint", dtype_name(d.checkpoint)}, {"model", dtype_name(d.model)}});
    }
    mj["dtype_mismatches"] = dtypes;
    Json non_tensors = Json::array();
    for (const auto& n : c.non_tensors) non_tensors.push_back({{"key", n.key}, {"found", n.found}});
    mj["non_tensors"] = non_tensors;
    Json uncopyable = Json::array();
    for (const auto& u : c.uncopyable) uncopyable.push_back({{"key", u.key}, {"kind", u.kind}, {"reason", u.reason}});
    mj["uncopyable"] = uncopyable;
    mj["migrated"] = c.migrated;
    mj["applied_rules"] = c.applied_rules;
    mj["hint"] = c.hint;
    mj["pytorch_message"] = c.pytorch_message();
    const Coverage cov = relaxed_coverage(schema_for(model, c.module), c);
    mj["relaxed"] = {{"tensors", cov.tensors}, {"tensors_total", cov.tensors_total}, {"elements", cov.elements},
                     {"elements_total", cov.elements_total}};
    modules.push_back(mj);
  }
  j["modules"] = modules;
  Json optimizers = Json::array();
  for (const auto& o : r.optimizers) {
    const OptimizerComparison& c = o.comparison;
    Json oj = {{"optimizer", c.optimizer}, {"source", c.source}};
    if (!o.error.empty()) {
      oj["error"] = o.error;
    } else {
      oj["present"] = c.present;
      oj["loadable"] = c.loadable();
      oj["saved_class"] = c.saved_class;
      oj["model_class"] = c.model_class;
      oj["problems"] = c.problems;
      oj["hyper_differences"] = c.hyper_differences;
      oj["flag_notes"] = c.flag_notes;
    }
    optimizers.push_back(oj);
  }
  j["optimizers"] = optimizers;
  j["epoch"] = r.epoch ? Json(*r.epoch) : Json(nullptr);
  Json schedulers = Json::array();
  for (const auto& s : r.schedulers) {
    schedulers.push_back({{"name", s.name}, {"class", s.scheduler_class}, {"nested", s.nested}, {"optimizer", s.optimizer},
                          {"last_epoch", s.last_epoch ? Json(*s.last_epoch) : Json(nullptr)},
                          {"problems", s.problems}, {"facts", s.facts}});
  }
  j["schedulers"] = schedulers;
  return j;
}

}  // namespace ckpt
