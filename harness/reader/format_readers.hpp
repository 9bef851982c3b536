#pragma once
// The format readers behind read_checkpoint, and the sniffers that choose among them: each
// reader expects the bytes its sniffer accepted (the fuzz targets call them directly).
#include <memory>

#include "reader/checkpoint.hpp"

namespace ckpt {

Checkpoint read_torch_zip(std::shared_ptr<const ByteSource> source, const ReadOptions& options);
Checkpoint read_torch_legacy(std::shared_ptr<const ByteSource> source, const ReadOptions& options);
Checkpoint read_safetensors(std::shared_ptr<const ByteSource> source, const ReadOptions& options);
Checkpoint read_safetensors_index(std::shared_ptr<const ByteSource> source, const ReadOptions& options);
// A torch.distributed.checkpoint directory (dcp_reader.cpp): `.metadata` read, no tensor data;
// read_dcp_metadata reads the given bytes as the `.metadata` of `directory` (the fuzz target).
Checkpoint read_dcp(const std::string& directory, const ReadOptions& options);
Checkpoint read_dcp_metadata(std::shared_ptr<const ByteSource> metadata, const std::string& directory,
                             const ReadOptions& options);

bool looks_like_torch_legacy(const ByteSource& source);
bool looks_like_safetensors(const ByteSource& source);
bool looks_like_safetensors_index(const ByteSource& source);

}  // namespace ckpt
