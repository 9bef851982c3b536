#include "reader/read_error.hpp"

namespace ckpt {

const char* to_string(ReadErrorKind kind) {
  switch (kind) {
    case ReadErrorKind::kIo: return "io";
    case ReadErrorKind::kNotACheckpoint: return "not-a-checkpoint";
    case ReadErrorKind::kTruncated: return "truncated";
    case ReadErrorKind::kZip: return "zip";
    case ReadErrorKind::kPickle: return "pickle";
    case ReadErrorKind::kTensor: return "tensor";
    case ReadErrorKind::kSafetensors: return "safetensors";
    case ReadErrorKind::kUnsupported: return "unsupported";
    case ReadErrorKind::kLimit: return "limit";
  }
  return "unknown";
}

namespace {
std::string compose(const std::string& file, const std::string& where, const std::string& what) {
  std::string message = file.empty() ? std::string("<memory>") : file;
  if (!where.empty()) message += ": " + where;
  return message + ": " + what;
}
}  // namespace

ReadError::ReadError(ReadErrorKind kind, std::string file, std::string where, std::string what)
    : std::runtime_error(compose(file, where, what)),
      kind_(kind),
      file_(std::move(file)),
      where_(std::move(where)),
      what_(std::move(what)) {}

void rethrow_within(const ReadError& error, const std::string& outer_where) {
  std::string where = error.where().empty() ? outer_where : outer_where + " " + error.where();
  throw ReadError(error.kind(), error.file(), where, error.what_happened());
}

}  // namespace ckpt
