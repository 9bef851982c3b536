#pragma once
// Reports are written atomically: to a temporary file beside the target, flushed, then
// renamed over it, so a reader (or a CI artifact upload) never sees half a report and a
// failed write leaves the previous one intact.
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>

namespace ckpt {

class ReportWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

// A command's document (`--out FILE`): to standard output when `path` is empty, else
// atomically to the file, saying so on standard error. Throws ReportWriteError.
void write_output(const std::string& path, const std::string& text);

}  // namespace ckpt
