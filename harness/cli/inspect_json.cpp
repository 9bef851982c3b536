#include "cli/inspect_json.hpp"

#include "reader/chunked_tensor.hpp"
#include "reader/dcp_layout.hpp"

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
  if (t.chunks) {  // a DCP tensor: where each chunk lies in it and in the files
    Json chunks = Json::array();
    for (const TensorChunk& c : t.chunks->chunks) {
      chunks.push_back({{"offsets", c.offsets}, {"sizes", c.sizes}, {"file", c.file}, {"offset", c.offset}, {"length", c.length}});
    }
    j["chunks"] = std::move(chunks);
    if (!t.chunks->damage.empty()) j["damage"] = t.chunks->damage;
  }
  if (t.is_sparse()) {
    j["layout"] = std::string(layout_name(t.layout));
    Json parts = Json::array();
    for (const auto& part : t.parts) parts.push_back(tensor_json(part));
    j["parts"] = std::move(parts);
    j.erase("stride");
    j.erase("storage_offset");
  }
  if (t.quantization) {
    const Quantization& q = *t.quantization;
    j["quantization"] = {{"scheme", q.scheme}};
    if (q.per_channel()) {
      j["quantization"]["axis"] = q.axis;
      j["quantization"]["scales"] = tensor_json(*q.scales);
      j["quantization"]["zero_points"] = tensor_json(*q.zero_points);
    } else {
      j["quantization"]["scale"] = q.scale;
      j["quantization"]["zero_point"] = q.zero_point;
    }
  }
  if (t.meta) j["meta"] = true;
  if (!t.python_class.empty()) j["class"] = t.python_class;
  return j;
}

// What the tree in memory may take, roughly: a shared value is written out at every place
// it is referenced, so a small file can describe a tree of millions of nodes.
constexpr std::uint64_t kMinTreeBudget = 128u << 20;
constexpr std::uint64_t kTreeBytesPerFileByte = 8;
constexpr std::uint64_t kBytesPerNode = 512;  // an object of a few members, as nlohmann holds it

struct TreeBudget {
  const std::string& file;
  std::uint64_t limit;
  std::uint64_t used = 0;

  void charge(std::uint64_t bytes, const std::string& path) {
    used += bytes;
    if (used > limit) {
      throw ReadError(ReadErrorKind::kLimit, file, path,
                      "the JSON tree would take more than " + std::to_string(limit >> 20) + " MiB, the limit for a file of " +
                          std::to_string(file_bytes) + " bytes (the larger of " + std::to_string(kMinTreeBudget >> 20) +
                          " MiB and " + std::to_string(kTreeBytesPerFileByte) +
                          " times the file): values shared many times? Use --depth to write less of it");
    }
  }
  std::uint64_t file_bytes;
};

// `trail`: how each level below the root was reached (not whole paths, which would hold a
// long shared key once per level at every level).
Json node_json(const Value& v, std::vector<ChildRef>& trail, std::size_t max_depth, TreeBudget& budget) {
  const std::size_t depth = trail.size();
  const std::string path_text = Path::render(depth, [&](std::size_t i) { return trail[i].component(); });
  budget.charge(kBytesPerNode + 2 * (path_text.size() + v.text.size() + v.note.size()), path_text);
  Json j;
  j["kind"] = to_string(v.kind);
  if (depth > 0) j["path"] = path_text;
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
      for (const ChildRef& c : child_refs_of(v)) {
        const PathComponent component = c.component();
        budget.charge(2 * component.key.size(), path_text);
        trail.push_back(c);
        children.push_back({{"key", key_json(component)}, {"value", node_json(*c.value, trail, max_depth, budget)}});
        trail.pop_back();
      }
      j["children"] = std::move(children);
    }
  }
  return j;
}
}  // namespace

Json inspect_json(const Checkpoint& ckpt, std::size_t max_depth, const std::vector<std::string>& allowed_globals,
                  const std::vector<IntegrityFinding>& integrity) {
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
  Json problems = Json::array();
  for (const auto& f : integrity) {
    problems.push_back({{"tensor", f.tensor}, {"chunk", f.chunk}, {"file", f.file}, {"problem", f.problem}, {"message", f.message()}});
  }
  j["integrity"] = std::move(problems);
  if (ckpt.format() == CheckpointFormat::kDcp) {
    Json files = Json::array();
    for (const DcpFileChunks& f : dcp_file_chunks(ckpt.root())) {
      Json chunks = Json::array();
      for (std::size_t i = 0; i < f.chunks.size(); ++i) {
        chunks.push_back({{"tensor", f.tensors[i]}, {"offsets", f.chunks[i].offsets}, {"sizes", f.chunks[i].sizes},
                          {"offset", f.chunks[i].offset}, {"length", f.chunks[i].length}});
      }
      files.push_back({{"file", f.file}, {"record_bytes", f.record_bytes}, {"chunks", std::move(chunks)}});
    }
    j["dcp_files"] = std::move(files);
  }
  TreeBudget budget{ckpt.file(), std::max(kMinTreeBudget, kTreeBytesPerFileByte * ckpt.file_bytes()), 0, ckpt.file_bytes()};
  std::vector<ChildRef> trail;
  j["tree"] = node_json(ckpt.root(), trail, max_depth, budget);
  return j;
}

Json inspect_error_json(const std::string& file, const ReadError& e) {
  return {{"file", file},
          {"error", {{"kind", to_string(e.kind())}, {"where", e.where()}, {"message", e.what_happened()}, {"text", e.what()}}}};
}

}  // namespace ckpt
