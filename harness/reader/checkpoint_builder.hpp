#pragma once
// What a format reader fills in; finish() checks the whole tree (depth, cycles, tensor views)
// and turns recorded globals into security findings with their tree paths.
#include <string>
#include <vector>

#include "reader/checkpoint.hpp"
#include "reader/unpickler.hpp"

namespace ckpt {

class CheckpointBuilder {
 public:
  CheckpointBuilder(std::string file, CheckpointFormat format, std::uint64_t file_bytes);

  ValueArena& arena() { return *checkpoint_.arena_; }
  void set_format(CheckpointFormat format) { checkpoint_.format_ = format; }
  void set_root(const Value* root) { checkpoint_.root_ = root; }
  void set_property(const std::string& key, const std::string& value) { checkpoint_.properties_[key] = value; }
  void add_unknown_globals(const std::vector<GlobalReference>& globals, const std::string& pickle);

  Checkpoint finish(const ReadOptions& options);

 private:
  struct PendingGlobal {
    GlobalReference ref;
    std::string pickle;
  };
  Checkpoint checkpoint_;
  std::vector<PendingGlobal> globals_;
};

}  // namespace ckpt
