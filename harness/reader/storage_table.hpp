#pragma once
// Storages referenced by a torch.save pickle through persistent ids, one shared StorageRef
// per key so that tied weights and views share it as in PyTorch. The id's length is the
// format's, exactly as torch.load unpacks it: ('storage', torch.FloatStorage, key, location,
// numel) in zip archives, and the same plus view_metadata in legacy files. A tuple of
// another length is refused, since torch.load fails on it.
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

  enum class IdForm { kZip, kLegacy };  // 5 items, or 6 (with view_metadata)

  StorageTable(IdForm form, Locate locate) : form_(form), locate_(std::move(locate)) {}

  Value* resolve(const Value& pid, ByteCursor& at, ValueArena& arena);

  const std::map<std::string, std::shared_ptr<StorageRef>>& storages() const { return storages_; }
  std::shared_ptr<StorageRef> find(const std::string& key) const;

 private:
  IdForm form_;
  Locate locate_;
  std::map<std::string, std::shared_ptr<StorageRef>> storages_;
};

}  // namespace ckpt
