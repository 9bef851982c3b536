#include "reader/checkpoint.hpp"

#include <cctype>
#include <filesystem>

#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"
#include "reader/zip_archive.hpp"

namespace ckpt {

const char* to_string(CheckpointFormat format) {
  switch (format) {
    case CheckpointFormat::kTorchZip: return "torch-zip";
    case CheckpointFormat::kTorchLegacy: return "torch-legacy";
    case CheckpointFormat::kTorchScriptArchive: return "libtorch-archive";
    case CheckpointFormat::kSafetensors: return "safetensors";
    case CheckpointFormat::kSafetensorsIndex: return "safetensors-index";
    case CheckpointFormat::kDcp: return "dcp";
  }
  return "unknown";
}

std::string SecurityFinding::message() const {
  std::string where = path.empty() ? "(not reachable from the root, in " + pickle + " byte " + std::to_string(offset) + ")"
                                   : "at " + path;
  std::string what = dangerous ? "would run code or touch the system when loaded with weights_only=False"
                               : "would import and run arbitrary code when loaded with weights_only=False";
  return "`" + global + "` " + where + ": " + what;
}

std::string IntegrityFinding::message() const {
  return "'" + tensor + "'" + (chunk.empty() ? "" : " " + chunk) + ": " + problem;
}

namespace {
bool starts_with(const ByteSource& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(reinterpret_cast<const char*>(s.data()), prefix.size()) == prefix;
}

// What the first bytes look like, for the error on an unknown format.
std::string describe_start(const ByteSource& s) {
  const std::size_t n = std::min<std::size_t>(s.size(), 16);
  bool printable = true;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = s.data()[i];
    if (!(std::isprint(c) || c == '\n' || c == '\r' || c == '\t')) printable = false;
  }
  std::string out;
  if (printable) {
    for (std::size_t i = 0; i < n; ++i) {
      char c = static_cast<char>(s.data()[i]);
      out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    return "text starting '" + out + "'";
  }
  static const char* hex = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    out += hex[s.data()[i] >> 4];
    out += hex[s.data()[i] & 15];
    out += ' ';
  }
  out.pop_back();
  return "bytes " + out;
}
}  // namespace

Checkpoint read_checkpoint(const std::string& path, const ReadOptions& options) {
  // A torch.distributed.checkpoint is a directory, named by itself or by its `.metadata`.
  std::error_code error;
  if (std::filesystem::is_directory(path, error) && std::filesystem::exists(std::filesystem::path(path) / ".metadata", error)) {
    return read_dcp(path, options);
  }
  if (std::filesystem::path(path).filename() == ".metadata") {
    const std::string directory = std::filesystem::path(path).parent_path().string();
    return read_dcp(directory.empty() ? "." : directory, options);
  }
  return read_checkpoint(ByteSource::map_file(path, options.max_file_bytes, options.confine_to), options);
}

Checkpoint read_checkpoint(std::shared_ptr<const ByteSource> source, const ReadOptions& options) {
  const ByteSource& s = *source;
  if (s.size() == 0) throw ReadError(ReadErrorKind::kNotACheckpoint, s.name(), "", "file is empty (0 bytes)");
  if (ZipArchive::looks_like_zip(s)) return read_torch_zip(std::move(source), options);
  if (looks_like_torch_legacy(s)) return read_torch_legacy(std::move(source), options);
  if (looks_like_safetensors(s)) return read_safetensors(std::move(source), options);
  if (looks_like_safetensors_index(s)) return read_safetensors_index(std::move(source), options);
  if (starts_with(s, "version https://git-lfs.github.com/spec/")) {
    throw ReadError(ReadErrorKind::kNotACheckpoint, s.name(), "",
                    "this is a Git LFS pointer, not the checkpoint itself: fetch it with `git lfs pull`");
  }
  if (starts_with(s, "PK\x05\x06")) {
    throw ReadError(ReadErrorKind::kZip, s.name(), "byte 0", "an empty zip archive: expected a torch.save checkpoint");
  }
  throw ReadError(ReadErrorKind::kNotACheckpoint, s.name(), "byte 0",
                  "not a checkpoint: expected a torch.save zip, a legacy torch.save file or safetensors, found " +
                      describe_start(s));
}

}  // namespace ckpt
