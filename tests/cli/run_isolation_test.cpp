// Isolation: the real `ckpt-harness run` with a plugin that segfaults, aborts, hangs,
// exits 0, floods stderr, exhausts memory, writes a file without bound, leaks file
// descriptors, burns CPU, crashes at exit or throws a non-std exception (tests/plugins/
// faulty.cpp), beside the working tiny plugin. Only the misbehaving plugin's units may
// suffer: each of their cases is accounted for (the one that met the fault says how the
// worker ended, the ones after it were not run), and tiny's units are present and pass.
//
// The faulty plugin builds tiny's model and misbehaves (option `fault`) from its second
// build() in a process on: describing the plugin (one build) succeeds, and the unit meets
// the fault; with `from_call = 1` it already crashes while it is described.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/test_paths.hpp"
#include "support/text_helpers.hpp"

namespace ckpt::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;


// The test plugins lie outside the temporary directories the configs are written to.
const std::string kTestPluginDir = fs::path(CKPT_TEST_FAULTY).parent_path().string();

struct HarnessRun {
  int exit_code = -1;
  std::string out;       // stdout and stderr
  double seconds = 0;    // wall time of the whole run
  json results;          // results.json; null when it was not written
  std::uintmax_t results_bytes = 0;
};

class RunIsolation : public TempDirTest {
 protected:
  // Runs the faulty plugin with `fault` (`while_described`: from its first build) and
  // tiny on two copies of a Linear(2, 2) state dict (tiny's model with width 2), two
  // workers, `timeout` s per unit.
  HarnessRun run_with(const std::string& fault, bool while_described = false, const std::string& extra_run_settings = "",
                      int timeout = 5) {
    const std::string faulty_file = CKPT_TEST_FAULTY, faulty_name = "faulty";
    const bool name_faulty = true;
    const std::string faulty_options =
        "width = 2, fault = \"" + fault + "\"" + (while_described ? ", from_call = 1" : "");
    for (const char* copy : {"first.pt", "second.pt"}) fs::copy_file(fixture("cuda_location.pt"), dir_ / copy);
    const fs::path config = dir_ / "harness.toml";
    std::ofstream(config) << "[run]\njobs = 2\ntimeout_seconds = " << timeout << "\nreport_dir = \"report\"\n"
                          << extra_run_settings
                          << "\n[plugins]\npaths = [\"" << faulty_file << "\", \"" << CKPT_TEST_GOOD_PLUGIN << "\"]\n"
                          << "[plugins.tiny]\noptions = { width = 2 }\n"
                          << (name_faulty ? "[plugins." + faulty_name + "]\noptions = { " + faulty_options + " }\n" : "")
                          << "\n[[checkpoints]]\nname = \"linear\"\nfiles = [\"first.pt\", \"second.pt\"]\n"
                          << "plugins = [" << (name_faulty ? "\"" + faulty_name + "\", " : "") << "\"tiny\"]\n"
                          << "layout = \"state-dict\"\n";
    HarnessRun r;
    const auto start = std::chrono::steady_clock::now();
    const CommandResult c = run_command(std::string(CKPT_HARNESS_BIN) + " run --allow-path " + kTestPluginDir + " --config " + config.string() + " 2>&1");
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.exit_code = c.exit_code;
    r.out = c.out;
    const fs::path results = dir_ / "report" / "results.json";
    if (fs::exists(results)) {
      r.results_bytes = fs::file_size(results);
      r.results = json::parse(std::ifstream(results));
    }
    return r;
  }
};

std::vector<json> units_of(const HarnessRun& r, const std::string& plugin) {
  std::vector<json> out;
  if (r.results.is_null()) return out;
  for (const auto& u : r.results.at("units")) {
    if (u.at("plugin").at("name") == plugin) out.push_back(u);
  }
  return out;
}

std::string case_text(const json& c) {
  return c.at("scenario").get<std::string>() + "[" + c.at("component").get<std::string>() +
         "]: " + c.at("outcome").get<std::string>() + ": " + c.at("message").get<std::string>();
}

std::string unit_text(const json& u) {
  std::string text = u.at("id").get<std::string>() + " (" + u.at("outcome").get<std::string>() + ")\n";
  for (const auto& c : u.at("cases")) text += "  " + case_text(c) + "\n";
  return text;
}

// Whatever the faulty plugin did: the run ended on its own, wrote its report, and tiny's
// two units are there with every case, none an error (they pass: the checkpoint fits).
void expect_good_plugin_unharmed(const HarnessRun& r) {
  EXPECT_NE(r.exit_code, 2) << r.out;
  EXPECT_NE(r.exit_code, 130) << r.out;
  ASSERT_FALSE(r.results.is_null()) << "no results.json\n" << r.out;
  EXPECT_EQ(r.results.at("schema"), "ckpt-harness.results");
  const std::vector<json> good = units_of(r, "tiny");
  ASSERT_EQ(good.size(), 2u) << r.out;
  EXPECT_EQ(good[0].at("checkpoint"), "first.pt");
  EXPECT_EQ(good[1].at("checkpoint"), "second.pt");
  for (const auto& u : good) {
    EXPECT_EQ(u.at("outcome"), "pass") << unit_text(u);
    EXPECT_GE(u.at("cases").size(), 5u) << unit_text(u);
    for (const auto& c : u.at("cases")) {
      EXPECT_NE(c.at("outcome"), "error") << unit_text(u);
      EXPECT_TRUE(c.at("outcome") == "pass" || c.at("outcome") == "skipped") << unit_text(u);
    }
  }
}

// The faulty plugin builds the same model as tiny, so its units plan the same cases:
// every one of them must be in the report, in order (none lost).
void expect_every_case_reported(const json& unit, const json& good_unit) {
  ASSERT_EQ(unit.at("cases").size(), good_unit.at("cases").size()) << unit_text(unit) << unit_text(good_unit);
  for (std::size_t i = 0; i < unit.at("cases").size(); ++i) {
    EXPECT_EQ(unit.at("cases")[i].at("scenario"), good_unit.at("cases")[i].at("scenario")) << unit_text(unit);
    EXPECT_EQ(unit.at("cases")[i].at("component"), good_unit.at("cases")[i].at("component")) << unit_text(unit);
  }
}

// The index of the unit's first error case; -1 when none.
int first_error(const json& unit) {
  for (std::size_t i = 0; i < unit.at("cases").size(); ++i) {
    if (unit.at("cases")[i].at("outcome") == "error") return static_cast<int>(i);
  }
  return -1;
}

// Both units of the faulty plugin: an error unit whose first error case's message has
// every one of `expected`; with `worker_ended`, the cases after it were not run (the
// worker was gone) and each says so.
void expect_faulty_units(const HarnessRun& r, const std::string& plugin, const std::vector<std::string>& expected,
                         bool worker_ended) {
  const std::vector<json> faulty = units_of(r, plugin);
  const std::vector<json> good = units_of(r, "tiny");
  ASSERT_EQ(faulty.size(), 2u) << r.out;
  ASSERT_EQ(good.size(), 2u) << r.out;
  for (std::size_t k = 0; k < faulty.size(); ++k) {
    const json& u = faulty[k];
    SCOPED_TRACE(unit_text(u));
    EXPECT_EQ(u.at("id"), plugin + "@1.0.0/" + good[k].at("checkpoint").get<std::string>());
    EXPECT_EQ(u.at("outcome"), "error");
    expect_every_case_reported(u, good[k]);
    const int at = first_error(u);
    ASSERT_GE(at, 0);
    const std::string message = u.at("cases")[static_cast<std::size_t>(at)].at("message");
    for (const auto& text : expected) EXPECT_TRUE(contains(message, text)) << "'" << text << "' not in: " << message;
    if (!worker_ended) continue;
    for (std::size_t i = static_cast<std::size_t>(at) + 1; i < u.at("cases").size(); ++i) {
      const json& c = u.at("cases")[i];
      EXPECT_EQ(c.at("outcome"), "error") << case_text(c);
      EXPECT_TRUE(contains(c.at("message"), "not run: the worker")) << case_text(c);
    }
  }
}

// The run's note (results.json "notes") that has every one of `texts`; "" when none has.
std::string note_with(const HarnessRun& r, const std::vector<std::string>& texts) {
  if (r.results.is_null()) return "";
  for (const auto& note : r.results.value("notes", std::vector<std::string>{})) {
    if (std::all_of(texts.begin(), texts.end(), [&](const std::string& t) { return contains(note, t); })) return note;
  }
  return "";
}

std::string notes_text(const HarnessRun& r) {
  return r.results.is_null() ? "(no results.json)" : "notes: " + r.results.value("notes", json::array()).dump(1);
}

// Sets an environment variable for the commands a test starts, until the end of the scope.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnvironment() { ::unsetenv(name_); }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  const char* name_;
};

TEST_F(RunIsolation, SegfaultFailsOnlyItsUnits) {
  const HarnessRun r = run_with("segfault");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  expect_faulty_units(r, "faulty", {"killed by SIGSEGV", "without sending its result"}, true);
  EXPECT_TRUE(contains(r.out, "SIGSEGV")) << r.out;
}

TEST_F(RunIsolation, AbortFailsOnlyItsUnits) {
  const HarnessRun r = run_with("abort");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  expect_faulty_units(r, "faulty", {"killed by SIGABRT", "without sending its result"}, true);
}

TEST_F(RunIsolation, ExitZeroIsNeverAPass) {
  const HarnessRun r = run_with("exit0");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  expect_faulty_units(r, "faulty", {"exited with status 0", "without sending its result"}, true);
}

TEST_F(RunIsolation, HangTimesOutQuickly) {
  const HarnessRun r = run_with("hang");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  expect_faulty_units(r, "faulty", {"timed out", "[run] timeout_seconds"}, true);
  // Stopped by the unit timeout (5 s), not earlier: the words above say by what. No upper
  // bound on the wall time: on a loaded machine anything takes longer.
  for (const auto& u : units_of(r, "faulty")) EXPECT_GE(u.at("seconds").get<double>(), 5.0) << unit_text(u);
}

// A plugin writing a file without bound is stopped at the worker's file size limit
// (RLIMIT_FSIZE), not by the disk filling up; the other plugin's units are intact.
TEST_F(RunIsolation, UnboundedFileWriteIsStoppedByTheFileSizeLimit) {
  const HarnessRun r = run_with("write_file", false, "", 30);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  expect_faulty_units(r, "faulty", {"killed by SIGXFSZ", "file size limit"}, true);
  EXPECT_FALSE(contains(r.out, "safety net")) << r.out;
}

// A plugin that leaves 2000 files open works, but uses up the worker's descriptors
// (RLIMIT_NOFILE, 1024): the case where that happened says so, the worker is replaced
// after the unit, so no later unit meets EMFILE, and a run note names the unit.
TEST_F(RunIsolation, LeakedFileDescriptorsGetTheWorkerReplaced) {
  const HarnessRun r = run_with("leak_fds");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  expect_good_plugin_unharmed(r);
  const std::vector<json> faulty = units_of(r, "faulty"), good = units_of(r, "tiny");
  ASSERT_EQ(faulty.size(), 2u) << r.out;
  for (std::size_t k = 0; k < faulty.size(); ++k) {
    const json& u = faulty[k];
    SCOPED_TRACE(unit_text(u));
    expect_every_case_reported(u, good[k]);
    int told = 0;
    for (const auto& c : u.at("cases")) {
      if (contains(c.at("message"), "files open")) {
        ++told;
        EXPECT_TRUE(contains(c.at("message"), "worker is replaced")) << case_text(c);
      } else {
        EXPECT_NE(c.at("outcome"), "error") << "an error that does not name the files left open: " << case_text(c);
      }
    }
    EXPECT_GE(told, 1);
    const std::string id = u.at("id");
    EXPECT_NE(note_with(r, {id + ": the plugin left", "files open", "worker was replaced"}), "") << notes_text(r);
  }
}

// Leaking while described (from its first build): the description fails for want of a
// descriptor and says why; tiny is described by a fresh worker, not the exhausted one.
TEST_F(RunIsolation, FileDescriptorsLeakedWhileDescribedAreNamedAsTheCause) {
  const HarnessRun r = run_with("leak_fds", true);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  ASSERT_FALSE(r.results.is_null());
  bool found = false;
  for (const auto& u : r.results.at("units")) {
    if (u.at("id") != std::string("plugin/") + CKPT_TEST_FAULTY) continue;
    found = true;
    const std::string message = u.at("cases").at(0).at("message");
    EXPECT_TRUE(contains(message, "files open")) << message;
    EXPECT_TRUE(contains(message, "worker was replaced")) << message;
  }
  EXPECT_TRUE(found) << r.out;
}

// A plugin burning CPU in four threads is stopped by the worker's CPU time limit per unit
// (RLIMIT_CPU: SIGXCPU), here 2 s through the supervisor's test hook, long before the 30 s
// timeout.
TEST_F(RunIsolation, CpuTimeLimitStopsASpinningUnit) {
  const ScopedEnvironment budget("CKPT_WORKER_CPU_SECONDS", "2");
  const HarnessRun r = run_with("spin", false, "", 30);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  expect_faulty_units(r, "faulty", {"killed by SIGXCPU", "CPU time"}, true);
  EXPECT_FALSE(contains(r.out, "safety net")) << r.out;
  // SIGXCPU (above) stopped it, not the 30 s timeout; how long 2 CPU seconds take on the
  // wall clock depends on what else the machine runs, so it is recorded, not bounded.
  double slowest = 0;
  for (const auto& u : units_of(r, "faulty")) slowest = std::max(slowest, u.at("seconds").get<double>());
  RecordProperty("slowest_spinning_unit_ms", static_cast<int>(slowest * 1000));
}

// A plugin that works but segfaults in a static destructor (armed while it is described):
// the workers that loaded it die when told to exit, after all their results were in. No
// result is lost or changed, describing it counted (no plugin-load error), and a run note
// says what happened; the exit code stays that of the results.
TEST_F(RunIsolation, CrashAtExitIsANoteAndLosesNoResult) {
  const HarnessRun r = run_with("crash_at_exit", true);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  expect_good_plugin_unharmed(r);
  const std::vector<json> faulty = units_of(r, "faulty"), good = units_of(r, "tiny");
  ASSERT_EQ(faulty.size(), 2u) << r.out;
  for (std::size_t k = 0; k < faulty.size(); ++k) {
    SCOPED_TRACE(unit_text(faulty[k]));
    EXPECT_EQ(faulty[k].at("outcome"), "pass");
    EXPECT_EQ(first_error(faulty[k]), -1);
    expect_every_case_reported(faulty[k], good[k]);
  }
  for (const auto& u : r.results.at("units")) EXPECT_NE(u.at("id").get<std::string>().rfind("plugin/", 0), 0u) << unit_text(u);
  const std::string note = note_with(r, {"a worker that loaded", "faulty@1.0.0", "killed by SIGSEGV", "told to exit",
                                         "results stand", "static destructors"});
  EXPECT_NE(note, "") << notes_text(r);
  EXPECT_TRUE(contains(r.out, "note: " + note)) << r.out;
}

// Workers in parallel share the cores: each worker's LibTorch takes its part of the processors
// this process may use (two workers here), not one thread per core each.
TEST_F(RunIsolation, WorkersShareTheCoresForLibTorchThreads) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  const int expected = std::max(1, CPU_COUNT(&set) / 2);
  const HarnessRun r = run_with("report_threads");
  expect_good_plugin_unharmed(r);
  expect_faulty_units(r, "faulty", {"LibTorch intra-op threads: " + std::to_string(expected)}, false);
}

TEST_F(RunIsolation, NonStdExceptionIsAnError) {
  const HarnessRun r = run_with("throw_int");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  // The worker survives: each case that builds a model reports the exception itself.
  expect_faulty_units(r, "faulty", {"plugin 'faulty' failed to build the model", "not a std::exception"},
                      false);
}

TEST_F(RunIsolation, OutOfMemoryIsAnError) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "an AddressSanitizer build has no worker memory limit (its shadow memory is terabytes)";
#endif
  // Touching 1 GiB page by page takes seconds on a loaded machine: a longer timeout, so the
  // case ends by the memory limit, not by the clock.
  const HarnessRun r = run_with("oom", false, "memory_limit_mib = 1024\n", 120);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  const std::vector<json> faulty = units_of(r, "faulty");
  ASSERT_EQ(faulty.size(), 2u) << r.out;
  for (const auto& u : faulty) {
    SCOPED_TRACE(unit_text(u));
    EXPECT_EQ(u.at("outcome"), "error");
    const int at = first_error(u);
    ASSERT_GE(at, 0);
    // The limit stops the plugin (not its safety net): std::bad_alloc, or the worker killed.
    const std::string message = u.at("cases")[static_cast<std::size_t>(at)].at("message");
    EXPECT_TRUE(contains(message, "out of memory")) << message;
    EXPECT_FALSE(contains(message, "safety net")) << message;
    EXPECT_FALSE(contains(message, "timed out")) << message;
  }
}

TEST_F(RunIsolation, StderrFloodDoesNotBlockTheRun) {
  const HarnessRun r = run_with("flood");
  // The flooding plugin works: everything passes.
  EXPECT_EQ(r.exit_code, 0) << r.out;
  expect_good_plugin_unharmed(r);
  const std::vector<json> faulty = units_of(r, "faulty");
  ASSERT_EQ(faulty.size(), 2u) << r.out;
  for (std::size_t k = 0; k < faulty.size(); ++k) {
    SCOPED_TRACE(unit_text(faulty[k]));
    EXPECT_EQ(faulty[k].at("outcome"), "pass");
    EXPECT_EQ(first_error(faulty[k]), -1);
    expect_every_case_reported(faulty[k], units_of(r, "tiny")[k]);
  }
  // Hundreds of MB went to stderr; neither the console nor the report holds them.
  EXPECT_LT(r.out.size(), 1u << 20);
  EXPECT_LT(r.results_bytes, 1u << 20);
}

TEST_F(RunIsolation, PluginThatCrashesWhileDescribedIsItsOwnErrorUnit) {
  // Describing it never returned its name, so the config's mention of it matches nothing:
  // that is a note beside the plugin's error unit, not a configuration error that would
  // hide the crash.
  const HarnessRun r = run_with("segfault", true);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_good_plugin_unharmed(r);
  ASSERT_FALSE(r.results.is_null());
  std::vector<json> load_failures;
  for (const auto& u : r.results.at("units")) {
    if (u.at("id").get<std::string>().rfind("plugin/", 0) == 0) load_failures.push_back(u);
  }
  ASSERT_EQ(load_failures.size(), 1u) << r.out;
  const json& u = load_failures.front();
  SCOPED_TRACE(unit_text(u));
  EXPECT_EQ(u.at("id"), std::string("plugin/") + CKPT_TEST_FAULTY);
  EXPECT_EQ(u.at("kind"), "plugin-file");
  EXPECT_EQ(u.at("outcome"), "error");
  ASSERT_EQ(u.at("cases").size(), 1u);
  EXPECT_EQ(u.at("cases")[0].at("scenario"), "plugin-load");
  EXPECT_EQ(u.at("cases")[0].at("outcome"), "error");
  EXPECT_TRUE(contains(u.at("cases")[0].at("message"), "killed by SIGSEGV")) << r.out;
  EXPECT_TRUE(contains(u.at("cases")[0].at("message"), "while loading this plugin")) << r.out;
  EXPECT_TRUE(contains(r.out, "could not be used")) << r.out;
  EXPECT_TRUE(contains(r.out, "no plugin matches 'faulty'")) << r.out;
  EXPECT_TRUE(contains(r.out, "a plugin file that could not be loaded may be it")) << r.out;
}

// Under a file size limit on the supervisor itself (prlimit --fsize), a report too large to
// write is an error naming it (exit 4), not a death by SIGXFSZ: the summary is printed, the
// reports that fit are whole, and nothing half-written is left. results.json is the largest
// report, so this run writes junit.xml (fits) and report.html (does not).
TEST_F(RunIsolation, ReportBeyondTheFileSizeLimitIsAnErrorNotACrash) {
  fs::copy_file(fixture("cuda_location.pt"), dir_ / "first.pt");
  const fs::path config = dir_ / "harness.toml", report = dir_ / "report";
  std::ofstream(config) << "[run]\njobs = 1\nreport_dir = \"report\"\nformats = [\"junit\", \"html\"]\n"
                        << "[plugins]\npaths = [\"" << CKPT_TEST_GOOD_PLUGIN << "\"]\n[plugins.tiny]\noptions = { width = 2 }\n"
                        << "[[checkpoints]]\nfiles = [\"first.pt\"]\nplugins = [\"tiny\"]\nlayout = \"state-dict\"\n";
  const std::string run =
      std::string(CKPT_HARNESS_BIN) + " run --allow-path " + kTestPluginDir + " --config " + config.string() + " 2>&1";
  const CommandResult unlimited = run_command(run);  // for the sizes of the reports
  ASSERT_EQ(unlimited.exit_code, 0) << unlimited.out;
  const std::uintmax_t junit_bytes = fs::file_size(report / "junit.xml"), html_bytes = fs::file_size(report / "report.html");
  ASSERT_LT(junit_bytes, html_bytes);
  fs::remove_all(report);

  const CommandResult limited = run_command("prlimit --fsize=" + std::to_string((junit_bytes + html_bytes) / 2) + ": " + run);
  EXPECT_EQ(limited.exit_code, 4) << limited.out;
  EXPECT_TRUE(contains(limited.out, "report.html: File too large")) << limited.out;
  EXPECT_TRUE(contains(limited.out, "PASSED")) << limited.out;
  std::ifstream junit(report / "junit.xml");
  const std::string xml((std::istreambuf_iterator<char>(junit)), {});
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u) << xml;
  EXPECT_NE(xml.find("</testsuites>"), std::string::npos) << xml;
  EXPECT_FALSE(fs::exists(report / "report.html"));
  for (const auto& entry : fs::directory_iterator(report)) {
    EXPECT_TRUE(entry.path().filename() == "junit.xml") << "left behind: " << entry.path();
  }
}

// SIGINT and SIGTERM: the supervisor stops its workers, keeps every finished result, writes
// the report (marked interrupted) and exits 130, well before the hanging unit's timeout.
class RunInterrupt : public RunIsolation, public ::testing::WithParamInterface<const char*> {};

TEST_P(RunInterrupt, StopsWorkersAndKeepsResults) {
  for (const char* copy : {"first.pt", "second.pt"}) fs::copy_file(fixture("cuda_location.pt"), dir_ / copy);
  const fs::path config = dir_ / "harness.toml";
  std::ofstream(config) << "[run]\njobs = 3\ntimeout_seconds = 120\nreport_dir = \"report\"\n"
                        << "[plugins]\npaths = [\"" << CKPT_TEST_FAULTY << "\", \"" << CKPT_TEST_GOOD_PLUGIN << "\"]\n"
                        << "[plugins.tiny]\noptions = { width = 2 }\n[plugins.faulty]\noptions = { width = 2, fault = \"hang\" }\n"
                        << "[[checkpoints]]\nfiles = [\"first.pt\", \"second.pt\"]\nplugins = [\"faulty\", \"tiny\"]\n"
                        << "layout = \"state-dict\"\n";
  // The signal goes once tiny's two units are reported (a third worker runs them while two
  // hang in the faulty units): an event, not a guess of how long starting takes.
  const std::string out = (dir_ / "out.txt").string();
  const CommandResult c = run_command(
      "sh -c '" + std::string(CKPT_HARNESS_BIN) + " run --allow-path " + kTestPluginDir + " --config " + config.string() + " >" +
      out + " 2>&1 & pid=$!; i=0; until grep -q tiny@1.0.0/second.pt " + out + " && grep -q tiny@1.0.0/first.pt " + out +
      "; do i=$((i+1)); [ $i -gt 2400 ] && break; sleep 0.05; done; t0=$(date +%s%N); kill -" + GetParam() +
      " $pid; wait $pid; s=$?; t1=$(date +%s%N); echo exit=$s stop_ms=$(( (t1 - t0) / 1000000 ))'");
  EXPECT_TRUE(contains(c.out, "exit=130")) << c.out;
  // From the signal to the exit, reports written, within 2 seconds (the bound).
  const auto at = c.out.find("stop_ms=");
  ASSERT_NE(at, std::string::npos) << c.out;
  const int stop_ms = std::stoi(c.out.substr(at + 8));
  EXPECT_LT(stop_ms, 2000) << c.out;
  RecordProperty("stop_ms", stop_ms);
  const fs::path results = dir_ / "report" / "results.json";
  ASSERT_TRUE(fs::exists(results));
  const json j = json::parse(std::ifstream(results));
  EXPECT_TRUE(j.at("interrupted").get<bool>());
  for (const auto& u : j.at("units")) {
    if (u.at("plugin").at("name") != "faulty") continue;
    EXPECT_EQ(u.at("outcome"), "error") << u.dump(1);  // never a pass
    bool says_interrupted = false;
    for (const auto& k : u.at("cases")) says_interrupted = says_interrupted || contains(k.at("message"), "interrupted");
    EXPECT_TRUE(says_interrupted) << u.dump(1);
  }
  // Every planned unit is in the reports: finished, stopped, or "not run".
  EXPECT_EQ(j.at("units").size(), 4u) << j.dump(1);
  std::ifstream junit(dir_ / "report" / "junit.xml");
  const std::string xml((std::istreambuf_iterator<char>(junit)), {});
  EXPECT_NE(xml.find("</testsuites>"), std::string::npos);
  // No worker is left behind.
  const CommandResult left = run_command("pgrep -f 'ckpt-harness-worker serve' -P 1 | wc -l");
  EXPECT_EQ(left.out, "0\n");
}

INSTANTIATE_TEST_SUITE_P(Signals, RunInterrupt, ::testing::Values("INT", "TERM"));

// A ckpt-harness and a ckpt-harness-worker of different builds refuse each other: the
// worker's `ready` names its protocol version, and every unit says what to do, at once (no
// timeout: the run ends when the refusal arrives).
TEST_F(RunIsolation, AWorkerOfAnotherProtocolVersionIsRefused) {
  const fs::path bin = dir_ / "bin";
  fs::create_directories(bin);
  fs::copy_file(CKPT_HARNESS_BIN, bin / "ckpt-harness");
  // A worker of protocol 1: ready, then it waits for requests that never come.
  std::ofstream(bin / "ckpt-harness-worker")
      << "#!/bin/bash\n# serve --reply-fd N\necho '{\"op\":\"ready\",\"pid\":'$$',\"protocol\":1,\"torch\":\"1.13.0\"}' >&\"$3\"\n"
      << "cat <&3 >/dev/null\n";
  fs::permissions(bin / "ckpt-harness-worker", fs::perms::owner_all);
  fs::copy_file(fixture("cuda_location.pt"), dir_ / "first.pt");
  std::ofstream(dir_ / "harness.toml") << "[run]\nreport_dir = \"report\"\n[plugins]\npaths = [\"" << CKPT_TEST_GOOD_PLUGIN
                                       << "\"]\n[plugins.tiny]\noptions = { width = 2 }\n\n[[checkpoints]]\nname = \"linear\"\n"
                                       << "files = [\"first.pt\"]\nplugins = [\"tiny\"]\nlayout = \"state-dict\"\n";
  const CommandResult c = run_command((bin / "ckpt-harness").string() + " run --allow-path " + kTestPluginDir + " --config " +
                                      (dir_ / "harness.toml").string() + " 2>&1");
  EXPECT_EQ(c.exit_code, 1) << c.out;
  EXPECT_TRUE(contains(c.out, "speaks protocol version 1 but this ckpt-harness speaks 2")) << c.out;
  EXPECT_TRUE(contains(c.out, "install or build ckpt-harness and its worker from the same source")) << c.out;
  const json results = json::parse(std::ifstream(dir_ / "report" / "results.json"));
  ASSERT_FALSE(results.at("units").empty());
  for (const auto& u : results.at("units")) EXPECT_NE(u.at("outcome"), "pass") << u.dump(1);
}

// Processes whose environment holds `marker` (zombies aside).
std::vector<std::string> processes_marked(const std::string& marker) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream environ(entry.path() / "environ", std::ios::binary);
    std::stringstream env;
    env << environ.rdbuf();
    if (env.str().find(marker + '\0') == std::string::npos) continue;
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat;
    std::getline(stat_file, stat);
    const std::size_t close = stat.rfind(')');
    if (close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z') continue;
    out.push_back(name);
  }
  return out;
}

// A supervisor killed with SIGKILL (a CI runner's hard stop) cannot end its workers itself:
// they end with it (the kernel's parent-death signal), even one stuck in a hanging plugin.
TEST_F(RunIsolation, WorkersEndWithASupervisorKilledBySigkill) {
  for (const char* copy : {"first.pt", "second.pt"}) fs::copy_file(fixture("cuda_location.pt"), dir_ / copy);
  std::ofstream(dir_ / "harness.toml") << "[run]\njobs = 3\ntimeout_seconds = 120\nreport_dir = \"report\"\n[plugins]\npaths = [\""
                                       << CKPT_TEST_FAULTY << "\", \"" << CKPT_TEST_GOOD_PLUGIN << "\"]\n"
                                       << "[plugins.tiny]\noptions = { width = 2 }\n[plugins.faulty]\noptions = { width = 2, fault = \"hang\" }\n"
                                       << "\n[[checkpoints]]\nname = \"linear\"\nfiles = [\"first.pt\", \"second.pt\"]\n"
                                       << "plugins = [\"faulty\", \"tiny\"]\nlayout = \"state-dict\"\n";
  const std::string marker = "CKPT_SIGKILL_TEST=" + std::to_string(::getpid());
  const fs::path output = dir_ / "output.txt";
  const pid_t supervisor = ::fork();
  if (supervisor == 0) {
    ::putenv(const_cast<char*>(marker.c_str()));
    const std::string line = "exec " + std::string(CKPT_HARNESS_BIN) + " run --allow-path " + kTestPluginDir + " --config " +
                             (dir_ / "harness.toml").string() + " >" + output.string() + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Three workers: two hang in the faulty units, the third runs tiny's; waits for those.
  auto reported = [&] {
    std::ifstream in(output);
    std::stringstream text;
    text << in.rdbuf();
    return text.str().find("tiny@1.0.0/first.pt") != std::string::npos && text.str().find("tiny@1.0.0/second.pt") != std::string::npos;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!reported() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(reported()) << "tiny's units were never reported";
  ASSERT_FALSE(processes_marked(marker).size() < 2) << "expected the supervisor and a hanging worker";
  ::kill(supervisor, SIGKILL);
  int status = 0;
  ::waitpid(supervisor, &status, 0);
  std::vector<std::string> left = processes_marked(marker);
  for (int i = 0; i < 200 && !left.empty(); ++i) {  // the kernel delivers the signal at once; the exits take a moment
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = processes_marked(marker);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " process(es) of the run outlived its supervisor, e.g. pid " << left.front();
}

// A plugin that leaves a thread behind which crashes the worker later, during another
// plugin's unit: that unit runs again on a fresh worker and passes; the crash is a note that
// names the plugins the worker had loaded, not an error of the innocent unit.
TEST_F(RunIsolation, ADelayedCrashIsNotBlamedOnTheNextUnit) {
  fs::copy_file(fixture("cuda_location.pt"), dir_ / "first.pt");
  const fs::path trigger = dir_ / "crash-now";
  std::ofstream(dir_ / "harness.toml") << "[run]\njobs = 1\ntimeout_seconds = 120\nreport_dir = \"report\"\n[plugins]\npaths = [\""
                                       << CKPT_TEST_FAULTY << "\", \"" << CKPT_TEST_GOOD_PLUGIN << "\"]\n"
                                       << "[plugins.tiny]\noptions = { width = 2 }\n[plugins.faulty]\noptions = { width = 2, "
                                       << "fault = \"segfault_later\", trigger = \"" << trigger.string() << "\" }\n"
                                       << "\n[[checkpoints]]\nname = \"linear\"\nfiles = [\"first.pt\"]\n"
                                       << "plugins = [\"faulty\", \"tiny\"]\nlayout = \"state-dict\"\n";
  // One worker runs faulty's unit, then tiny's: the crash is set off once faulty's is reported.
  const std::string out = (dir_ / "out.txt").string();
  const CommandResult c = run_command(
      "sh -c '" + std::string(CKPT_HARNESS_BIN) + " run --allow-path " + kTestPluginDir + " --config " +
      (dir_ / "harness.toml").string() + " >" + out + " 2>&1 & pid=$!; i=0; until grep -q faulty@1.0.0/first.pt " + out +
      "; do i=$((i+1)); [ $i -gt 2400 ] && break; sleep 0.05; done; touch " + trigger.string() + "; wait $pid; echo exit=$?'");
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(contains(c.out, "exit=0")) << c.out << text;
  EXPECT_TRUE(contains(text, "SIGSEGV")) << text;  // said in a note, wherever the crash fell
  const json results = json::parse(std::ifstream(dir_ / "report" / "results.json"));
  for (const auto& u : results.at("units")) EXPECT_EQ(u.at("outcome"), "pass") << u.dump(1);
}

}  // namespace
}  // namespace ckpt::test
