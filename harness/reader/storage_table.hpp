#pragma once
// Storages referenced by a torch.save pickle through persistent ids
// ('storage', torch.FloatStorage, key, location, numel[, view_metadata]), one shared
// StorageRef per key so that tied weights and views share it as in PyTorch.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "reader/byte_cursor.hpp"
#include "reader/value.hpp"

namespace ckpt {

class StorageTable {
 public:
  // Called once per new key to locate its bytes (zip: the record; legacy: later).
  using Locate = std::function<void(StorageRef& storage, ByteCursor& at)>;

  explicit StorageTable(Locate locate) : locate_(std::move(locate)) {}

  Value* resolve(const Value& pid, ByteCursor& at, ValueArena& arena);

  const std::map<std::string, std::shared_ptr<StorageRef>>& storages() const { return storages_; }
  std::shared_ptr<StorageRef> find(const std::string& key) const;

 private:
  Locate locate_;
  std::map<std::string, std::shared_ptr<StorageRef>> storages_;
};

}  // namespace ckpt
