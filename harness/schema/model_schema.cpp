#include "schema/model_schema.hpp"

#include <filesystem>
#include <fstream>
#include <set>

namespace ckpt {

using nlohmann::json;

const ModuleSchema* ModelSchema::module(const std::string& wanted) const {
  for (const auto& m : modules) {
    if (m.name == wanted) return &m;
  }
  return nullptr;
}

const OptimizerSchema* ModelSchema::optimizer(const std::string& wanted) const {
  for (const auto& o : optimizers) {
    if (o.name == wanted) return &o;
  }
  return nullptr;
}

std::string ModelSchema::label() const {
  if (name.empty()) return source.empty() ? "(unnamed schema)" : source;
  return version.empty() ? name : name + " " + version;
}

json to_json(const ModelSchema& schema) {
  json modules = json::array();
  for (const auto& m : schema.modules) {
    json tensors = json::array();
    for (const auto& t : m.tensors) {
      json slot = {{"key", t.key}, {"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape}};
      if (schema.tensor_kinds_known) slot["kind"] = t.is_buffer ? "buffer" : "parameter";
      tensors.push_back(std::move(slot));
    }
    json batch_norm = json::array();
    for (const auto& sub : m.submodules) {
      if (sub.is_batch_norm) batch_norm.push_back(sub.prefix);
    }
    json module = {{"name", m.name}, {"tensors", std::move(tensors)}, {"batch_norm", std::move(batch_norm)}};
    const auto versions = schema.versions.find(m.name);
    if (versions != schema.versions.end() && versions->second.known) module["versions"] = versions->second.by_prefix;
    modules.push_back(std::move(module));
  }
  json optimizers = json::array();
  for (const auto& o : schema.optimizers) {
    json groups = json::array();
    for (const auto& g : o.groups) {
      json group = {{"size", g.size}, {"hyper", g.hyper}};
      if (!g.parameters.empty()) group["parameters"] = g.parameters;
      groups.push_back(std::move(group));
    }
    optimizers.push_back({{"name", o.name}, {"class", o.class_name}, {"groups", std::move(groups)}});
  }
  return {{"schema", "ckpt-harness.model-schema"},
          {"schema_version", kModelSchemaVersion},
          {"model", {{"name", schema.name}, {"version", schema.version}, {"source", schema.source}}},
          {"modules", std::move(modules)},
          {"optimizers", std::move(optimizers)}};
}

namespace {
// Reads one manifest, every error naming the file and the JSON path ("modules[0].tensors[3].shape").
class ManifestReader {
 public:
  explicit ManifestReader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& expected, const json& found) const {
    throw SchemaError(file_ + ": " + (path.empty() ? "the document" : shorten(path)) + ": expected " + expected +
                      ", found " + describe(found));
  }

  // A value as an error shows it: scalars as written (shortened), containers by size only
  // (dumping one would recurse through whatever nesting a hostile manifest has).
  static std::string describe(const json& v) {
    if (v.is_array()) return v.empty() ? "array []" : "array of " + std::to_string(v.size()) + " items";
    if (v.is_object()) return v.empty() ? "object {}" : "object of " + std::to_string(v.size()) + " members";
    return std::string(v.type_name()) + " " + shorten(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  static std::string shorten(const std::string& text) { return text.size() > 80 ? text.substr(0, 77) + "..." : text; }

  const json& member(const json& object, const std::string& path, const char* key) const {
    if (!object.is_object()) fail(path, "an object", object);
    auto it = object.find(key);
    if (it == object.end()) {
      throw SchemaError(file_ + ": " + (path.empty() ? "" : path + ": ") + "'" + key + "' is missing");
    }
    return *it;
  }

  std::string text(const json& object, const std::string& path, const char* key, bool required = true) const {
    if (!required && (!object.is_object() || !object.contains(key))) return "";
    const json& v = member(object, path, key);
    if (!v.is_string()) fail(join(path, key), "a string", v);
    return v.get<std::string>();
  }

  const json& array(const json& object, const std::string& path, const char* key) const {
    const json& v = member(object, path, key);
    if (!v.is_array()) fail(join(path, key), "an array", v);
    return v;
  }

  static std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
  static std::string at(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

  TensorSlot tensor(const json& j, const std::string& path, bool& kind_known) const {
    TensorSlot slot;
    slot.key = text(j, path, "key");
    const std::string dtype = text(j, path, "dtype");
    const auto parsed = dtype_from_torch_name(dtype);
    if (!parsed) fail(join(path, "dtype"), "a PyTorch dtype name (float32, int64, bfloat16, ...)", dtype);
    slot.dtype = *parsed;
    const json& shape = array(j, path, "shape");
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (!shape[i].is_number_integer() || shape[i].get<std::int64_t>() < 0) {
        fail(at(join(path, "shape"), i), "a non-negative integer", shape[i]);
      }
      slot.shape.push_back(shape[i].get<std::int64_t>());
    }
    const std::string kind = text(j, path, "kind", false);
    if (kind.empty()) {
      kind_known = false;
    } else if (kind == "buffer" || kind == "parameter") {
      slot.is_buffer = kind == "buffer";
    } else {
      fail(join(path, "kind"), "\"parameter\" or \"buffer\"", kind);
    }
    return slot;
  }

  ModuleSchema module(const json& j, const std::string& path, bool& kinds_known,
                      std::map<std::string, ModuleVersions>& versions_out) const {
    ModuleSchema m;
    m.name = text(j, path, "name");
    const json& tensors = array(j, path, "tensors");
    std::set<std::string> keys;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      m.tensors.push_back(tensor(tensors[i], at(join(path, "tensors"), i), kinds_known));
      if (!keys.insert(m.tensors.back().key).second) {
        fail(join(at(join(path, "tensors"), i), "key"), "a key not listed before in this module", m.tensors.back().key);
      }
    }
    if (j.contains("versions")) {
      const json& versions = member(j, path, "versions");
      if (!versions.is_object()) fail(join(path, "versions"), "an object of module versions ({prefix: n})", versions);
      ModuleVersions& v = versions_out[m.name];
      v.known = true;
      for (const auto& [prefix, version] : versions.items()) {
        if (!version.is_number_integer()) fail(join(join(path, "versions"), prefix), "an integer version", version);
        if (version.get<std::int64_t>() != 1) v.by_prefix[prefix] = version.get<std::int64_t>();
      }
    }
    if (j.contains("batch_norm")) {
      const json& batch_norm = array(j, path, "batch_norm");
      for (std::size_t i = 0; i < batch_norm.size(); ++i) {
        if (!batch_norm[i].is_string()) fail(at(join(path, "batch_norm"), i), "a submodule prefix (string)", batch_norm[i]);
        m.submodules.push_back({batch_norm[i].get<std::string>(), "BatchNorm", true});
      }
    }
    return m;
  }

  OptimizerSchema optimizer(const json& j, const std::string& path) const {
    OptimizerSchema o;
    o.name = text(j, path, "name");
    o.class_name = text(j, path, "class");
    const json& groups = array(j, path, "groups");
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::string gpath = at(join(path, "groups"), g);
      OptimizerGroupSchema group;
      const json& size = member(groups[g], gpath, "size");
      if (!size.is_number_integer() || size.get<std::int64_t>() < 0) {
        fail(join(gpath, "size"), "a parameter count (non-negative integer)", size);
      }
      group.size = size.get<std::size_t>();
      if (groups[g].contains("parameters")) {
        const json& names = array(groups[g], gpath, "parameters");
        for (std::size_t i = 0; i < names.size(); ++i) {
          if (!names[i].is_string()) fail(at(join(gpath, "parameters"), i), "a qualified parameter name", names[i]);
          group.parameters.push_back(names[i].get<std::string>());
        }
        if (group.parameters.size() != group.size) {
          fail(join(gpath, "parameters"), std::to_string(group.size) + " names (the group's size)", names);
        }
      }
      if (groups[g].contains("hyper")) {
        const json& hyper = member(groups[g], gpath, "hyper");
        if (!hyper.is_object()) fail(join(gpath, "hyper"), "an object of numbers", hyper);
        for (const auto& [key, value] : hyper.items()) {
          if (!value.is_number() && !value.is_boolean()) fail(join(join(gpath, "hyper"), key), "a number", value);
          group.hyper[key] = value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : value.get<double>();
        }
      }
      o.groups.push_back(std::move(group));
    }
    return o;
  }

  ModelSchema schema(const json& j) const {
    if (!j.is_object()) fail("", "a JSON object (a ckpt-harness model schema)", j);
    const std::string kind = text(j, "", "schema");
    if (kind != "ckpt-harness.model-schema") fail("schema", "\"ckpt-harness.model-schema\"", kind);
    const json& version = member(j, "", "schema_version");
    if (!version.is_number_integer() || version.get<int>() != kModelSchemaVersion) {
      fail("schema_version", std::to_string(kModelSchemaVersion) + " (this harness reads version " +
                                 std::to_string(kModelSchemaVersion) + ")", version);
    }
    ModelSchema s;
    if (j.contains("model")) {
      const json& model = member(j, "", "model");
      if (!model.is_object()) fail("model", "an object ({name, version, source})", model);
      s.name = text(model, "model", "name", false);
      s.version = text(model, "model", "version", false);
      s.source = text(model, "model", "source", false);
    }
    const json& modules = array(j, "", "modules");
    std::set<std::string> module_names, optimizer_names;
    for (std::size_t i = 0; i < modules.size(); ++i) {
      s.modules.push_back(module(modules[i], at("modules", i), s.tensor_kinds_known, s.versions));
      if (!module_names.insert(s.modules.back().name).second) {
        fail(join(at("modules", i), "name"), "a module name not used before", s.modules.back().name);
      }
    }
    if (j.contains("optimizers")) {
      const json& optimizers = array(j, "", "optimizers");
      for (std::size_t i = 0; i < optimizers.size(); ++i) {
        s.optimizers.push_back(optimizer(optimizers[i], at("optimizers", i)));
        if (!optimizer_names.insert(s.optimizers.back().name).second) {
          fail(join(at("optimizers", i), "name"), "an optimizer name not used before", s.optimizers.back().name);
        }
      }
    }
    return s;
  }

 private:
  std::string file_;
};
}  // namespace

ModelSchema model_schema_from_json(const json& j, const std::string& file) { return ManifestReader(file).schema(j); }

ModelSchema read_model_schema(const std::string& file) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(file, ec);
  if (ec) throw SchemaError(file + ": cannot read it: " + ec.message());
  if (bytes > kMaxManifestBytes) {
    throw SchemaError(file + ": " + std::to_string(bytes) + " bytes, over the " + std::to_string(kMaxManifestBytes >> 20) +
                      " MiB a manifest may have (it is metadata: a large model's is a few MB)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw SchemaError(file + ": cannot open it");
  try {
    return model_schema_from_json(json::parse(in), file);
  } catch (const json::exception& e) {  // not JSON, or a number JSON allows and a double cannot hold
    throw SchemaError(file + ": not a valid manifest: " + e.what());
  }
}

}  // namespace ckpt
