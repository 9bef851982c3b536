// ckpt-harness: tells whether PyTorch / LibTorch checkpoints still load into the current
// version of their models. This executable does not link LibTorch: it starts instantly.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <vector>

#include "cli/inspect_command.hpp"
#include "cli/merge_command.hpp"
#include "cli/new_plugin_command.hpp"
#include "cli/run_command.hpp"
#include "cli/schema_command.hpp"
#include "cli/version.hpp"
#include "cli/worker_path.hpp"

namespace {
// Subcommands that load plugins run in ckpt-harness-worker, the LibTorch side, which this
// process replaces itself with; everything else here stays free of LibTorch.
const char* const kWorkerCommands[] = {"plugins", "diff", "record-golden"};

// `schema --plugin P` builds a model (LibTorch); `schema CHECKPOINT` only reads a file.
bool is_plugin_schema(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "schema") != 0) return false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--plugin") == 0 || std::strncmp(argv[i], "--plugin=", 9) == 0) return true;
  }
  return false;
}

[[noreturn]] void exec_worker(int argc, char** argv) {
  const std::string worker = ckpt::worker_executable(argv[0]);
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
    if (is_plugin_schema(argc, argv)) exec_worker(argc, argv);
  }
  // Under a file size limit (ulimit -f) a report write must fail with EFBIG, reported (exit
  // 4), rather than kill the run with SIGXFSZ. Workers get the default back (exec_child).
  ::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{
      "ckpt-harness " + std::string(ckpt::kHarnessVersion) +
      ": checks that PyTorch / LibTorch checkpoints still load into the current version of their models.\n\n"
      "Start with:\n"
      "  ckpt-harness run                     the main job: every checkpoint x plugin version x scenario\n"
      "                                       of ckpt-harness.toml (--config F, --jobs N, --shard K/N, --list)\n"
      "  ckpt-harness inspect model.pt        show what a checkpoint holds (safe: runs no code from it)\n"
      "  ckpt-harness inspect --json a.pt     the same as JSON\n"
      "  ckpt-harness plugins                 list the architecture plugins\n"
      "  ckpt-harness diff ckpt.pt --plugin dcgan --option nz=100\n"
      "                                       how the checkpoint fits the plugin's current model\n"
      "  ckpt-harness schema --plugin dcgan   the model's checkpoint schema (keys, shapes, optimizers) as JSON\n"
      "  ckpt-harness schema-diff old.json new.json\n"
      "                                       what a model change does to its checkpoints\n"
      "  ckpt-harness new-plugin my_gan       a plugin project for your model's repository\n\n"
      "Exit codes: 0 success, 1 a checkpoint failed (or, for run, an unexpected failure), 2 usage or\n"
      "configuration error; run also: 3 nothing selected, 4 a report not written, 130 interrupted."};
  app.set_version_flag("--version", std::string("ckpt-harness ") + ckpt::kHarnessVersion + " (built against LibTorch " +
                                        ckpt::kTorchVersion + ")");
  app.require_subcommand(1);
  int exit_code = 0;
  ckpt::InspectOptions inspect;
  ckpt::add_inspect_command(app, inspect, exit_code);
  ckpt::RunOptions run;
  for (int i = 0; i < argc; ++i) run.command_line += (i ? " " : "") + std::string(argv[i]);
  ckpt::add_run_command(app, run, exit_code);
  ckpt::MergeOptions merge;
  ckpt::add_merge_command(app, merge, exit_code);
  ckpt::SchemaOptions schema;
  ckpt::add_schema_command(app, schema, exit_code);
  ckpt::SchemaDiffOptions schema_diff;
  ckpt::add_schema_diff_command(app, schema_diff, exit_code);
  ckpt::NewPluginOptions new_plugin;
  ckpt::add_new_plugin_command(app, new_plugin, exit_code);
  // Listed for --help; they run in ckpt-harness-worker (see exec_worker).
  app.add_subcommand("plugins", "List architecture plugins: name, version, ABI, modules, optimizers (`plugins --help`)");
  app.add_subcommand("diff", "How a checkpoint fits a plugin's current model, like load_state_dict but complete (`diff --help`)");
  app.add_subcommand("record-golden", "Record a plugin's outputs after loading a checkpoint, for the golden-output scenario "
                                      "(`record-golden --help`)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
