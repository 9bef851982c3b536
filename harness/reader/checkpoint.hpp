#pragma once
// Entry point of the reader: a checkpoint file in, a checked, read-only tree out.
// The format is sniffed from the bytes, never from the file name.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reader/byte_source.hpp"
#include "reader/value.hpp"

namespace ckpt {

enum class CheckpointFormat {
  kTorchZip,          // torch.save, PyTorch >= 1.6
  kTorchLegacy,       // torch.save(_use_new_zipfile_serialization=False)
  kTorchScriptArchive,// torch::save from LibTorch C++ (module, tensor, optimizer archives)
  kSafetensors,
  kSafetensorsIndex,  // a sharded set through its *.safetensors.index.json
  kDcp,               // a torch.distributed.checkpoint directory: `.metadata` and `.distcp` files
};

const char* to_string(CheckpointFormat format);

// A global that loading with weights_only=False would import and, usually, call.
struct SecurityFinding {
  std::string global;     // "posix.system"
  std::string path;       // where it sits in the tree ("['evil']"), empty if unreachable
  std::uint64_t offset;   // byte offset of the opcode in its pickle
  std::string pickle;     // which pickle ("zip entry 'x/data.pkl'")
  bool dangerous;         // gives direct access to code execution, files or processes
  std::string message() const;
};

// A part of the checkpoint that does not hold what the rest says it does: a tensor whose
// chunks leave a hole or overlap, a file that is missing or shorter than its records. The
// rest of the checkpoint reads; only the named tensor cannot.
struct IntegrityFinding {
  std::string tensor;   // "generator.main.0.weight"
  std::string chunk;    // "chunk 1 ([3, 0] + [3, 4] in __1_0.distcp)", or "" for the whole tensor
  std::string file;     // "__1_0.distcp", or ""
  std::string problem;  // what is wrong, with what was expected
  std::string message() const;
};

struct ReadOptions {
  std::uint64_t max_file_bytes = ByteSource::kNoLimit;
  std::size_t max_depth = 1000;              // nesting of containers
  std::uint64_t max_expanded_values = 50'000'000;  // values counted along every path (shared-reference bombs)
  // Directories every file read (the checkpoint, an index's shards) must really lie in,
  // links resolved; empty: anywhere. The caller's policy: the reader knows no config.
  AllowedDirs confine_to{};
};

class Checkpoint {
 public:
  const std::string& file() const { return file_; }
  CheckpointFormat format() const { return format_; }
  const Value& root() const { return *root_; }
  std::uint64_t file_bytes() const { return file_bytes_; }
  // Facts recorded by the writer: "version", "byteorder", "sys_info.little_endian",
  // safetensors "__metadata__" entries, ...
  const std::map<std::string, std::string>& properties() const { return properties_; }
  const std::vector<SecurityFinding>& findings() const { return findings_; }
  const std::vector<IntegrityFinding>& integrity_findings() const { return integrity_findings_; }

 private:
  friend class CheckpointBuilder;
  std::string file_;
  CheckpointFormat format_{};
  std::uint64_t file_bytes_ = 0;
  std::shared_ptr<ValueArena> arena_;
  const Value* root_ = nullptr;
  std::map<std::string, std::string> properties_;
  std::vector<SecurityFinding> findings_;
  std::vector<IntegrityFinding> integrity_findings_;
  std::vector<std::shared_ptr<ValueArena>> adopted_arenas_;  // of parts whose values the tree holds
};

Checkpoint read_checkpoint(const std::string& path, const ReadOptions& options = {});
Checkpoint read_checkpoint(std::shared_ptr<const ByteSource> source, const ReadOptions& options = {});

}  // namespace ckpt
