#include "engine/module_schema.hpp"

namespace ckpt {

const TensorSlot* ModuleSchema::find(const std::string& key) const {
  for (const auto& t : tensors) {
    if (t.key == key) return &t;
  }
  return nullptr;
}

std::uint64_t element_count(const std::vector<std::int64_t>& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

std::uint64_t ModuleSchema::elements() const {
  std::uint64_t n = 0;
  for (const auto& t : tensors) n += element_count(t.shape);
  return n;
}


}  // namespace ckpt
