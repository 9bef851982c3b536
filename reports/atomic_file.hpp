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

}  // namespace ckpt
