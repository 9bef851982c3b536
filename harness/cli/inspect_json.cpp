#include "cli/inspect_json.hpp"

#include <algorithm>
#include <cmath>

#include "cli/value_text.hpp"
#include "reader/checkpoint_summary.hpp"

namespace ckpt {

namespace {
using Json = nlohmann::ordered_json;

Json key_json(const PathComponent& c) {
  switch (c.kind) {
    case PathComponent::Kind::kKey: return c.key;
    case PathComponent::Kind::kIntKey:
    case PathComponent::Kind::kIndex: return c.number;
    case PathComponent::Kind::kOther: return c.key;
  }
  return nullptr;
}

Json tensor_json(const TensorRef& t) {
  Json j;
  j["dtype"] = std::string(dtype_name(t.dtype));
  j["shape"] = t.sizes;
  j["stride"] = t.strides;
  j["storage_offset"] = t.storage_offset;
  j["nbytes"] = t.nbytes();
  j["parameter"] = t.is_parameter;
  j["requires_grad"] = t.requires_grad;
  if (t.storage) {
    j["storage"] = {{"key", t.storage->key}, {"nbytes", t.storage->nbytes}, {"location", t.storage->location}};
  }
  return j;
}

Json node_json(const Value& v, const Path& path, std::size_t depth, std::size_t max_depth) {
  Json j;
  j["kind"] = to_string(v.kind);
  if (!path.empty()) j["path"] = path.str();
  if (!v.note.empty()) j["type"] = v.note;
  switch (v.kind) {
    case ValueKind::kBool: j["value"] = v.boolean; break;
    case ValueKind::kInt:
      if (v.big_integer) {
        j["value"] = v.text;
      } else {
        j["value"] = v.integer;
      }
      break;
    case ValueKind::kFloat:
      if (std::isfinite(v.real)) {
        j["value"] = v.real;
      } else {
        j["value"] = format_float(v.real);  // JSON has no nan/inf
      }
      break;
    case ValueKind::kStr:
    case ValueKind::kDType:
    case ValueKind::kDevice: j["value"] = v.text; break;
    case ValueKind::kBytes: j["size"] = v.text.size(); break;
    case ValueKind::kTensor:
    case ValueKind::kStorage: j["tensor"] = tensor_json(v.tensor); break;
    case ValueKind::kNdarray: j["ndarray"] = {{"dtype", v.ndarray->dtype}, {"shape", v.ndarray->shape}}; break;
    case ValueKind::kObject:
    case ValueKind::kGlobal: j["class"] = v.text; break;
    case ValueKind::kDict: j["ordered"] = v.ordered; break;
    default: break;
  }
  if (v.kind == ValueKind::kDict || v.kind == ValueKind::kList || v.kind == ValueKind::kTuple || v.kind == ValueKind::kSet) {
    j["size"] = v.kind == ValueKind::kDict ? v.entries.size() : v.items.size();
  }
  OptimizerSummary opt;
  if (v.kind == ValueKind::kDict && summarize_optimizer(v, opt)) {
    j["optimizer"] = {{"groups", opt.groups},
                      {"params", opt.params},
                      {"params_with_state", opt.params_with_state},
                      {"state_keys", opt.state_keys},
                      {"likely_class", opt.likely_class}};
  }
  if (v.is_container()) {
    if (depth >= max_depth) {
      j["truncated"] = true;
    } else {
      Json children = Json::array();
      for (const auto& c : children_of(v)) {
        children.push_back({{"key", key_json(c.component)},
                            {"value", node_json(*c.value, child_path(path, c.component), depth + 1, max_depth)}});
      }
      j["children"] = std::move(children);
    }
  }
  return j;
}
}  // namespace

Json inspect_json(const Checkpoint& ckpt, std::size_t max_depth, const std::vector<std::string>& allowed_globals) {
  const CheckpointSummary s = summarize(ckpt.root());
  Json j;
  j["file"] = ckpt.file();
  j["format"] = to_string(ckpt.format());
  j["file_bytes"] = ckpt.file_bytes();
  j["properties"] = ckpt.properties();
  j["summary"] = {{"tensors", s.tensors},
                  {"elements", s.elements},
                  {"parameter_elements", s.parameter_elements},
                  {"storages", s.storages},
                  {"storage_bytes", s.storage_bytes}};
  Json findings = Json::array();
  for (const auto& f : ckpt.findings()) {
    findings.push_back({{"global", f.global},
                        {"path", f.path},
                        {"pickle", f.pickle},
                        {"offset", f.offset},
                        {"dangerous", f.dangerous},
                        {"allowed", std::find(allowed_globals.begin(), allowed_globals.end(), f.global) != allowed_globals.end()},
                        {"message", f.message()}});
  }
  j["findings"] = std::move(findings);
  j["tree"] = node_json(ckpt.root(), Path(), 0, max_depth);
  return j;
}

Json inspect_error_json(const std::string& file, const ReadError& e) {
  return {{"file", file},
          {"error", {{"kind", to_string(e.kind())}, {"where", e.where()}, {"message", e.what_happened()}, {"text", e.what()}}}};
}

}  // namespace ckpt
