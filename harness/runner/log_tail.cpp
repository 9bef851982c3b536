#include "runner/log_tail.hpp"

namespace ckpt {

void LogTail::append(const char* data, std::size_t size) {
  total_ += size;
  if (size >= capacity_) {
    kept_.assign(data + size - capacity_, capacity_);
    return;
  }
  if (kept_.size() + size > capacity_) kept_.erase(0, kept_.size() + size - capacity_);
  kept_.append(data, size);
}

void LogTail::clear() {
  kept_.clear();
  total_ = 0;
}

std::string LogTail::text() const {
  if (total_ <= kept_.size()) return kept_;
  return "[" + std::to_string(total_ - kept_.size()) + " earlier bytes dropped]\n" + kept_;
}

std::string LogTail::last_lines(std::size_t lines) const {
  std::size_t pos = kept_.size();
  if (pos > 0 && kept_[pos - 1] == '\n') --pos;
  while (lines > 0 && pos > 0) {
    const std::size_t nl = kept_.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
    --lines;
  }
  return kept_.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace ckpt
