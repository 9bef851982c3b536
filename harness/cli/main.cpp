// ckpt-harness: tells whether PyTorch / LibTorch checkpoints still load into the current
// version of their models. This executable does not link LibTorch: it starts instantly.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include "cli/inspect_command.hpp"
#include "cli/version.hpp"

namespace {
// Subcommands that load plugins run in ckpt-harness-worker, the LibTorch side, which this
// process replaces itself with; everything else here stays free of LibTorch.
const char* const kWorkerCommands[] = {"plugins", "diff"};

[[noreturn]] void exec_worker(int argc, char** argv) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string worker = (ec ? std::filesystem::path(argv[0]) : exe).parent_path() / "ckpt-harness-worker";
  std::vector<char*> args{const_cast<char*>(worker.c_str())};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(worker.c_str(), args.data());
  std::cerr << "error: cannot start " << worker << ": " << std::strerror(errno)
            << " (it is built and installed beside ckpt-harness)\n";
  std::exit(2);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    for (const char* command : kWorkerCommands) {
      if (std::strcmp(argv[1], command) == 0) exec_worker(argc, argv);
    }
  }
  CLI::App app{
      "ckpt-harness " + std::string(ckpt::kHarnessVersion) +
      ": checks that PyTorch / LibTorch checkpoints still load into the current version of their models.\n\n"
      "Start with:\n"
      "  ckpt-harness inspect model.pt        show what a checkpoint holds (safe: runs no code from it)\n"
      "  ckpt-harness inspect --json a.pt     the same as JSON\n"
      "  ckpt-harness plugins                 list the architecture plugins\n"
      "  ckpt-harness diff ckpt.pt --plugin dcgan --option nz=100\n"
      "                                       how the checkpoint fits the plugin's current model\n\n"
      "Exit codes: 0 success, 1 a checkpoint failed (unreadable or security findings), 2 usage error."};
  app.set_version_flag("--version", std::string("ckpt-harness ") + ckpt::kHarnessVersion + " (built against LibTorch " +
                                        ckpt::kTorchVersion + ")");
  app.require_subcommand(1);
  int exit_code = 0;
  ckpt::InspectOptions inspect;
  ckpt::add_inspect_command(app, inspect, exit_code);
  // Listed for --help; they run in ckpt-harness-worker (see exec_worker).
  app.add_subcommand("plugins", "List architecture plugins: name, version, ABI, modules, optimizers (`plugins --help`)");
  app.add_subcommand("diff", "How a checkpoint fits a plugin's current model, like load_state_dict but complete (`diff --help`)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
