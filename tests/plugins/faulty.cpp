// A misbehaving plugin for the isolation tests of `ckpt-harness run`: tiny's working model
// (one Linear layer "net" and its SGD optimizer, option "width"), but build() misbehaves
// in the way the option `fault` chooses: segfault, abort, hang, exit0, flood (50 MB on
// stderr, then works), oom (allocates without bound), write_file (writes a file without
// bound), leak_fds (opens 2000 files and never closes them, then works), spin (burns CPU in
// four threads without sleeping), crash_at_exit (works, but a static destructor of the
// plugin segfaults when the process exits), throw_int, forge_results (writes passing
// results, old and new protocol shapes, to fd 4 and to every pipe it may write but stdout and
// stderr, then works), forge_enveloped_results (the same, new shape only: its own pid, a
// guessed nonce), segfault_later (works, and leaves a thread that segfaults once the file
// named by the option `trigger` exists), signal_supervisor (sends SIGTERM to the process that
// started the worker, then works), setsid_child (starts a process in a session of its own that would live
// forever, then works), fork (forks in build(); parent and child both carry on),
// unterminated_reply (writes 80 MiB without a newline to those pipes, then works) or
// report_threads (fails, naming LibTorch's intra-op thread count in the worker).
//
// The supervisor first has a worker describe the plugin, which calls build() once; a unit
// then calls build() again. So by default the fault fires from the SECOND call of build()
// in a process on (describing succeeds, the unit's cases hit the fault); `from_call = 1`
// makes it fire while the plugin is described.
#include "linear_model.hpp"

#include <ATen/Parallel.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// Writes all of `size` bytes to stderr (fd 2), unbuffered, whatever the pipe's pace.
void write_all_to_stderr(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(2, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// A real segmentation fault: a store to a page mapped without access. Not a null pointer,
// which UndefinedBehaviorSanitizer would report before the store (a sanitizer build must
// see the same crash as a normal one).
void write_to_a_page_that_forbids_it() {
  void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *static_cast<volatile int*>(page) = 42;
}

// Writes `bytes` to fd 4 (where the harness's replies once went) and to every other pipe
// this process may write but stdout and stderr: wherever the harness's channel is.
void write_to_every_pipe(const std::string& bytes) {
  std::vector<int> fds{4};
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(dir)) {
      const int fd = std::atoi(e->d_name);
      if (e->d_name[0] == '.' || fd <= 2 || fd == 4 || fd == ::dirfd(dir)) continue;
      char link[64] = {};
      const std::string path = std::string("/proc/self/fd/") + e->d_name;
      if (::readlink(path.c_str(), link, sizeof link - 1) > 0 && std::strncmp(link, "pipe:", 5) == 0 &&
          (::fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY) {
        fds.push_back(fd);
      }
    }
    ::closedir(dir);
  }
  for (int fd : fds) {
    for (std::size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
  }
}

// Passing results as a plugin could fake them: the first protocol's lines, and the second's
// with this process's pid but a nonce it can only guess.
std::string forged_results(bool enveloped_only) {
  std::string lines;
  const std::string pid = std::to_string(::getpid());
  const std::string pass = R"({"scenario":"strict-load","component":"net","outcome":"pass","message":"forged","details":"","seconds":0})";
  if (!enveloped_only) {
    for (int i = 0; i < 11; ++i) lines += R"({"op":"case","case":)" + pass + "}\n";
    lines += R"({"op":"done","id":"faulty@1.0.0/good.pt","replace":false,"sha256":""})" "\n";
  }
  for (int i = 0; i < 11; ++i) {
    lines += R"({"op":"case","nonce":"00000000000000000000000000000000","pid":)" + pid + R"(,"unit":"faulty@1.0.0/good.pt","case":)" + pass + "}\n";
  }
  lines += R"({"op":"done","nonce":"00000000000000000000000000000000","pid":)" + pid + R"(,"unit":"faulty@1.0.0/good.pt","replace":false,"sha256":""})" "\n";
  return lines;
}

std::string g_trigger;  // the option `trigger` (segfault_later)

void fault(const std::string& kind) {
  if (kind == "segfault") {
    write_to_a_page_that_forbids_it();
  } else if (kind == "abort") {
    std::abort();
  } else if (kind == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  } else if (kind == "exit0") {
    std::exit(0);
  } else if (kind == "flood") {
    // ~50 MB of chatter, then carry on: the plugin works.
    std::string line(1023, 'x');
    line += '\n';
    std::string chunk;
    for (int i = 0; i < 1024; ++i) chunk += line;  // 1 MiB
    for (int i = 0; i < 50; ++i) write_all_to_stderr(chunk.data(), chunk.size());
  } else if (kind == "oom") {
    // Without bound, every page touched, nothing freed: only the worker's memory limit stops
    // it. A safety net far above the tests' limit keeps a broken limit from eating the host.
    static std::vector<char*> kept;
    constexpr std::size_t kChunk = std::size_t{64} << 20;
    constexpr std::size_t kSafetyNet = std::size_t{6} << 30;
    for (;;) {
      if (kept.size() * kChunk >= kSafetyNet) {
        throw std::runtime_error("the memory limit was not enforced: " + std::to_string(kept.size() * 64) +
                                 " MiB allocated (stopped by the test plugin's safety net)");
      }
      char* block = new char[kChunk];
      std::memset(block, 1, kChunk);
      kept.push_back(block);
    }
  } else if (kind == "write_file") {
    // A file grown without bound, 1 MiB at a time: only the worker's file size limit stops
    // it; a safety net far above the limit keeps a broken limit from filling the disk.
    char path[] = "/tmp/ckpt-faulty-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("cannot create a temporary file");
    ::unlink(path);  // nothing left behind, whatever happens
    const std::string chunk(std::size_t{1} << 20, 'x');
    for (int mib = 0; mib < 1024; ++mib) {
      if (::write(fd, chunk.data(), chunk.size()) < 0) break;
    }
    ::close(fd);
    throw std::runtime_error("the file size limit was not enforced (stopped by the test plugin's safety net)");
  } else if (kind == "leak_fds") {
    // More than a worker may have open: the opens past its limit fail (EMFILE), then carry on.
    for (int i = 0; i < 2000; ++i) ::open("/dev/null", O_RDONLY);
  } else if (kind == "spin") {
    // Four threads busy without pause: only the worker's CPU time limit (or the unit's
    // timeout) stops them; a safety net ends them after a minute.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const auto burn = [until] {
      volatile std::uint64_t turns = 0;
      while (std::chrono::steady_clock::now() < until) ++turns;
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) threads.emplace_back(burn);
    burn();
    for (auto& t : threads) t.join();
    throw std::runtime_error("the CPU time limit was not enforced (stopped by the test plugin's safety net)");
  } else if (kind == "crash_at_exit") {
    // Works; the static object's destructor runs when the worker exits (or unloads the plugin).
    struct SegfaultsWhenDestroyed {
      ~SegfaultsWhenDestroyed() {
        write_to_a_page_that_forbids_it();
      }
    };
    static SegfaultsWhenDestroyed crashes_at_exit;
  } else if (kind == "throw_int") {
    throw 42;
  } else if (kind == "forge_results" || kind == "forge_enveloped_results") {
    write_to_every_pipe(forged_results(kind == "forge_enveloped_results"));
  } else if (kind == "segfault_later") {
    // Works, but leaves a thread that crashes the worker once the file named by the option
    // `trigger` exists: a crash that surfaces during a later unit, maybe another plugin's.
    static bool started = false;
    if (!started) {
      started = true;
      std::thread([] {
        while (::access(g_trigger.c_str(), F_OK) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        write_to_a_page_that_forbids_it();
      }).detach();
    }
  } else if (kind == "signal_supervisor") {
    ::kill(::getppid(), SIGTERM);  // as a plugin's stray kill would; then it works
  } else if (kind == "setsid_child") {
    // A process that leaves the worker's group and session and would live on.
    if (::fork() == 0) {
      ::setsid();
      for (;;) ::pause();
    }
  } else if (kind == "fork") {
    ::fork();  // both processes go on with the worker's code, as a plugin's stray fork would
  } else if (kind == "unterminated_reply") {
    write_to_every_pipe(std::string(std::size_t{80} << 20, 'x'));
  } else if (kind == "report_threads") {
    throw std::runtime_error("LibTorch intra-op threads: " + std::to_string(at::get_num_threads()));
  } else if (!kind.empty()) {
    throw ckpt::OptionError("option 'fault' is '" + kind +
                            "': expected segfault, abort, hang, exit0, flood, oom, write_file, leak_fds, spin, "
                            "crash_at_exit, throw_int, forge_results, forge_enveloped_results, fork, "
                            "setsid_child, segfault_later, signal_supervisor, unterminated_reply or report_threads");
  }
}

class Faulty : public ckpt_test::LinearArchitecture {
 public:
  ckpt::Model build(const ckpt::Options& options) const override {
    static std::atomic<int> calls{0};
    ckpt::Options rest = options;
    const std::string kind = rest.count("fault") ? rest["fault"] : "";
    const std::int64_t from_call = ckpt::option_int(options, "from_call", 2, 1, 100);
    rest.erase("fault");
    rest.erase("from_call");
    if (rest.count("trigger")) g_trigger = rest["trigger"];
    rest.erase("trigger");
    if (++calls >= from_call) fault(kind);
    return LinearArchitecture::build(rest);
  }
};

}  // namespace

CKPT_PLUGIN(Faulty, "faulty", "1.0.0", "tiny's model, with the fault its options choose in build() (isolation tests)")
