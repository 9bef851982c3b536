// strict-load, relaxed-load, shapes, dtypes: one module's state dict against the model.
#include <ATen/ops/isinf.h>
#include <ATen/ops/isnan.h>
#include <algorithm>

#include "reader/dtype.hpp"
#include "scenarios/case_text.hpp"
#include "scenarios/scenario_functions.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
using nlohmann::json;

std::string dtype_text(DType d) { return std::string(dtype_name(d)); }

// The module's comparison, or a failure case when the checkpoint does not hold it.
const ModuleComparison* comparison_or_case(UnitContext& ctx, const std::string& module, CaseResult& failure) {
  const ModuleResult& r = ctx.module_result(module);
  if (r.error.empty()) return &r.comparison;
  failure = make_case(Outcome::kFail, "'" + module + "' is not in the checkpoint where the layout says: " + r.error,
                      "layout: " + ctx.layout().name + "\n" + r.error, json{{"error", r.error}});
  return nullptr;
}

json shape_rows(const ModuleComparison& c) {
  json rows = json::array();
  for (const auto& m : c.shape_mismatches) rows.push_back({{"key", m.key}, {"checkpoint", m.checkpoint}, {"model", m.model}});
  return rows;
}

json dtype_rows(const ModuleComparison& c) {
  json rows = json::array();
  for (const auto& m : c.dtype_mismatches) {
    rows.push_back({{"key", m.key}, {"checkpoint", dtype_text(m.checkpoint)}, {"model", dtype_text(m.model)}});
  }
  return rows;
}

// Notes every load case shows: key rules applied, BatchNorm migration, hint.
std::string load_notes(const ModuleComparison& c) {
  std::string out = bullet_list("key rules applied", c.applied_rules);
  out += bullet_list("BatchNorm v1 counters added as 0 (as PyTorch does)", c.migrated);
  if (!c.hint.empty()) out += "hint: " + c.hint + "\n";
  return out;
}

json key_data(const ModuleComparison& c) {
  json data{{"source", c.source},          {"missing", c.missing},         {"unexpected", c.unexpected},
            {"shape_mismatches", shape_rows(c)}, {"dtype_mismatches", dtype_rows(c)},
            {"applied_rules", c.applied_rules}, {"hint", c.hint}};
  if (!c.uncopyable.empty()) {
    json rows = json::array();
    for (const auto& u : c.uncopyable) rows.push_back({{"key", u.key}, {"kind", u.kind}, {"reason", u.reason}});
    data["uncopyable"] = rows;
  }
  return data;
}

std::string counts(const ModuleComparison& c) {
  std::vector<std::string> parts;
  if (!c.missing.empty()) parts.push_back(std::to_string(c.missing.size()) + " missing");
  if (!c.unexpected.empty()) parts.push_back(std::to_string(c.unexpected.size()) + " unexpected");
  if (!c.shape_mismatches.empty()) parts.push_back(counted(c.shape_mismatches.size(), "size mismatch", "size mismatches"));
  if (!c.non_tensors.empty()) parts.push_back(std::to_string(c.non_tensors.size()) + " not a tensor");
  if (!c.uncopyable.empty()) parts.push_back(std::to_string(c.uncopyable.size()) + " not copyable (sparse, quantized or meta)");
  return comma_list(parts);
}

// "main.0.weight: 3 NaN, 1 Inf" for each floating tensor of the module that is not finite.
std::vector<std::string> non_finite_tensors(const torch::nn::Module& module) {
  std::vector<std::string> rows;
  auto check = [&rows](const std::string& name, const torch::Tensor& t) {
    if (!t.defined() || t.is_meta() || !t.is_floating_point()) return;
    const auto nan = torch::isnan(t).sum().item<std::int64_t>();
    const auto inf = torch::isinf(t).sum().item<std::int64_t>();
    if (nan + inf == 0) return;
    std::string row = name + ":";
    if (nan > 0) row += " " + std::to_string(nan) + " NaN";
    if (inf > 0) row += std::string(nan > 0 ? "," : "") + " " + std::to_string(inf) + " Inf";
    rows.push_back(row);
  };
  for (const auto& p : module.named_parameters()) check(p.key(), p.value());
  for (const auto& b : module.named_buffers()) check(b.key(), b.value());
  return rows;
}
}  // namespace

CaseResult run_strict_load(UnitContext& ctx, const std::string& module) {
  CaseResult failure;
  const ModuleComparison* c = comparison_or_case(ctx, module, failure);
  if (!c) return failure;
  if (!c->strictly_loadable()) {
    return make_case(Outcome::kFail, "does not load strictly: " + counts(*c),
                     c->pytorch_message() + "\n" + load_notes(*c), key_data(*c));
  }
  LoadedModel& loaded = ctx.loaded_model();  // really copies every tensor: unreadable tensor data fails here
  if (ctx.settings().require_finite) {
    const Module* m = loaded.module(module);
    const std::vector<std::string> rows = m ? non_finite_tensors(*m->module) : std::vector<std::string>{};
    if (!rows.empty()) {
      return make_case(Outcome::kFail,
                       "loads strictly, but " + counted(rows.size(), "tensor holds", "tensors hold") +
                           " NaN or Inf values ([scenarios] require_finite), first " + rows.front(),
                       bullet_list("not finite", rows) + load_notes(*c), key_data(*c));
    }
  }
  // A schema (manifest) has no tensors to copy into: its verdict is the comparison's.
  const std::string by_schema = ctx.schema_only() ? " (by schema: the model is a manifest, tensor data not read)" : "";
  return make_case(Outcome::kPass,
                   "loads strictly: " + with_thousands(c->model_tensors) + " tensors, " +
                       with_thousands(c->model_elements) + " elements" + by_schema,
                   load_notes(*c), key_data(*c));
}

CaseResult run_relaxed_load(UnitContext& ctx, const std::string& module) {
  CaseResult failure;
  const ModuleComparison* c = comparison_or_case(ctx, module, failure);
  if (!c) return failure;
  LoadedModel fresh = ctx.build();
  const Module* m = fresh.module(module);
  if (!m) throw SkipCase("the plugin's model has no module '" + module + "'");
  const LoadReport report = load_relaxed(*m->module, *c, ctx.module_result(module).state, ctx.dtype_policy());
  const double fraction = report.fraction_by_elements();
  const double threshold = ctx.settings().relaxed_threshold;
  json data = key_data(*c);
  data["fraction"] = fraction;
  data["threshold"] = threshold;
  data["tensors_loaded"] = report.tensors_loaded;
  data["tensors_total"] = report.tensors_total;
  data["left_at_initialisation"] = report.left_at_initialisation;
  data["layers_left_at_initialisation"] = report.layers_left_at_initialisation;
  data["norm_changes"] = report.norm_changes;
  if (!report.norm_changes.empty()) {  // what the console and the reports show as the fix to look at
    const std::string change = "normalisation changed: " + report.norm_changes.front() +
                               (report.norm_changes.size() > 1
                                    ? " (and " + counted(report.norm_changes.size() - 1, "more layer", "more layers") + ")"
                                    : "");
    data["hint"] = c->hint.empty() ? change : change + "; " + c->hint;
  }
  data["skipped"] = report.skipped;
  data["cast"] = report.cast;
  const std::string summary = "loaded " + std::to_string(report.tensors_loaded) + "/" +
                              std::to_string(report.tensors_total) + " tensors, " + percent(fraction) + " of elements";
  const std::string details = summary + " (threshold " + percent(threshold) + ")\n" +
                              bullet_list("normalisation of another kind than the checkpoint's", report.norm_changes) +
                              bullet_list("layers left at initialisation", report.layers_left_at_initialisation) +
                              bullet_list("left at initialisation", report.left_at_initialisation) +
                              bullet_list("not loaded", report.skipped) +
                              bullet_list("unexpected (ignored)", c->unexpected) +
                              bullet_list("cast to the model's dtype", report.cast) + load_notes(*c);
  const bool under = fraction + 1e-12 < threshold;
  const bool layers_fail = ctx.settings().relaxed_fail_on_initialised_layers && !report.layers_left_at_initialisation.empty();
  std::string message = summary;
  if (under) message += ", under the threshold of " + percent(threshold);
  if (!report.layers_left_at_initialisation.empty()) {
    message += "; " + counted(report.layers_left_at_initialisation.size(), "layer", "layers") +
               " left at initialisation, first " + report.layers_left_at_initialisation.front() +
               (layers_fail ? " ([scenarios] relaxed_fail_on_initialised_layers)" : "");
  }
  if (!report.norm_changes.empty()) message += "; normalisation changed at " + counted(report.norm_changes.size(), "layer", "layers");
  return make_case(under || layers_fail ? Outcome::kFail : Outcome::kPass, message, details, data);
}

CaseResult run_shapes(UnitContext& ctx, const std::string& module) {
  CaseResult failure;
  const ModuleComparison* c = comparison_or_case(ctx, module, failure);
  if (!c) return failure;
  json data{{"shape_mismatches", shape_rows(*c)}};
  if (c->shape_mismatches.empty()) return make_case(Outcome::kPass, "every shared tensor has the model's shape", "", data);
  std::vector<std::string> rows;
  for (const auto& m : c->shape_mismatches) {
    rows.push_back(m.key + ": checkpoint " + format_shape(m.checkpoint) + ", model " + format_shape(m.model));
  }
  return make_case(Outcome::kFail,
                   std::to_string(rows.size()) + " tensor(s) differ in shape, first " + c->shape_mismatches[0].key,
                   bullet_list("shape differences (checkpoint vs model)", rows), data);
}

CaseResult run_dtypes(UnitContext& ctx, const std::string& module) {
  CaseResult failure;
  const ModuleComparison* c = comparison_or_case(ctx, module, failure);
  if (!c) return failure;
  const std::string& policy = ctx.settings().dtype_policy;
  std::vector<std::string> refused, cast;
  for (const auto& m : c->dtype_mismatches) {
    const std::string row = m.key + ": checkpoint " + dtype_text(m.checkpoint) + ", model " + dtype_text(m.model);
    const bool ok = policy == "cast" || (policy == "cast-floating" && dtype_is_floating(m.checkpoint) && dtype_is_floating(m.model));
    (ok ? cast : refused).push_back(row);
  }
  json data{{"dtype_mismatches", dtype_rows(*c)}, {"policy", policy}};
  const std::string details = bullet_list("refused by dtype_policy '" + policy + "'", refused) +
                              bullet_list("cast on load (accepted by dtype_policy '" + policy + "')", cast);
  if (!refused.empty()) {
    return make_case(Outcome::kFail, std::to_string(refused.size()) + " tensor(s) have a dtype the policy '" + policy +
                                         "' does not cast, first " + refused.front(),
                     details, data);
  }
  if (!cast.empty()) {
    return make_case(Outcome::kPass, std::to_string(cast.size()) + " tensor(s) cast on load (policy '" + policy + "')",
                     details, data);
  }
  return make_case(Outcome::kPass, "every shared tensor has the model's dtype", "", data);
}

}  // namespace ckpt
