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
  message += ": " + what;
  // what() is read as a C string: a NUL from a file name or a key would end the message
  // there, hiding the rest (what was expected). It is written out instead.
  for (std::size_t at = message.find('\0'); at != std::string::npos; at = message.find('\0', at + 2)) {
    message.replace(at, 1, "\\0");
  }
  return message;
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
