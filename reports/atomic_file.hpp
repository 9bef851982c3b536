#pragma once
// Reports are written atomically: to a temporary file beside the target, flushed, then
// renamed over it, so a reader (or a CI artifact upload) never sees half a report and a
// failed write leaves the previous one intact. The rename replaces a link found at the
// target instead of writing through it, and with `confine_to` the directory is made and
// checked where it really is (confine/confined_open.hpp): a report goes nowhere else.
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "confine/confined_open.hpp"

namespace ckpt {

class ReportWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `confine_to`: directories the file must really lie in (empty: anywhere).
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write,
                           const AllowedDirs& confine_to = {});

// A command's document (`--out FILE`): to standard output when `path` is empty, else
// atomically to the file, saying so on standard error. Throws ReportWriteError.
void write_output(const std::string& path, const std::string& text);

}  // namespace ckpt
