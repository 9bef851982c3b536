#include "engine/state_dict.hpp"

namespace ckpt {

const StateEntry* StateDict::find(const std::string& key) const {
  for (const auto& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

}  // namespace ckpt
