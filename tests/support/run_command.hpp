#pragma once
// Runs a shell command and captures its output and exit code.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace ckpt::test {

struct CommandResult {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string out;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace ckpt::test
