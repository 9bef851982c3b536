#include "engine/state_dict.hpp"

namespace ckpt {

const StateEntry* StateDict::find(const std::string& key) const {
  for (const auto& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

void read_state_dict_versions(const Value& metadata, StateDict& out) {
  out.has_metadata = true;
  for (const auto& e : metadata.entries) {
    if (e.key->kind != ValueKind::kStr || e.value->kind != ValueKind::kDict) continue;
    const Value* version = e.value->find("version");
    if (version && version->kind == ValueKind::kInt) out.versions[e.key->text] = version->integer;
  }
}

}  // namespace ckpt
