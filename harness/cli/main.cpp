// ckpt-harness: tells whether PyTorch / LibTorch checkpoints still load into the current
// version of their models. This executable does not link LibTorch: it starts instantly.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/inspect_command.hpp"
#include "cli/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "ckpt-harness " + std::string(ckpt::kHarnessVersion) +
      ": checks that PyTorch / LibTorch checkpoints still load into the current version of their models.\n\n"
      "Start with:\n"
      "  ckpt-harness inspect model.pt        show what a checkpoint holds (safe: runs no code from it)\n"
      "  ckpt-harness inspect --json a.pt     the same as JSON\n\n"
      "Exit codes: 0 success, 1 a checkpoint failed (unreadable or security findings), 2 usage error."};
  app.set_version_flag("--version", std::string("ckpt-harness ") + ckpt::kHarnessVersion + " (built against LibTorch " +
                                        ckpt::kTorchVersion + ")");
  app.require_subcommand(1);
  int exit_code = 0;
  ckpt::InspectOptions inspect;
  ckpt::add_inspect_command(app, inspect, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
