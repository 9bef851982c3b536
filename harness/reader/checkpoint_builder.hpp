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
  void add_integrity_finding(IntegrityFinding finding) { checkpoint_.integrity_findings_.push_back(std::move(finding)); }
  // Keeps `part` (a record read on its own) alive with the checkpoint, so the tree may hold
  // its values; its security findings become the checkpoint's, their paths under `path`.
  void adopt(Checkpoint part, const std::string& path);

  Checkpoint finish(const ReadOptions& options);

 private:
  struct PendingGlobal {
    GlobalReference ref;
    std::string pickle;
  };
  Checkpoint checkpoint_;
  std::vector<PendingGlobal> globals_;
  std::vector<SecurityFinding> adopted_findings_;
};

}  // namespace ckpt
