// Misbehaving plugins for the isolation tests of `ckpt-harness run`: tiny's working model
// (one Linear layer "net" and its SGD optimizer, option "width"), but build() misbehaves
// in one way, chosen at compile time by CKPT_TEST_FAULT, under the name CKPT_TEST_NAME.
//
// The supervisor first has a worker describe every plugin file, which calls build() once;
// a unit then calls build() again (once per model a scenario needs). So the fault fires
// from the SECOND call of build() in a process on (describe succeeds, the unit's cases hit
// the fault), unless CKPT_TEST_FAULT_ON_LOAD is defined: then from the first (describe).
#include "linear_model.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#define CKPT_FAULT_SEGFAULT 1
#define CKPT_FAULT_ABORT 2
#define CKPT_FAULT_HANG 3
#define CKPT_FAULT_EXIT0 4
#define CKPT_FAULT_FLOOD 5
#define CKPT_FAULT_OOM 6
#define CKPT_FAULT_THROW_INT 7

#ifndef CKPT_TEST_FAULT
#error "define CKPT_TEST_FAULT (1 segfault, 2 abort, 3 hang, 4 exit0, 5 flood, 6 oom, 7 throw_int)"
#endif
#ifndef CKPT_TEST_NAME
#error "define CKPT_TEST_NAME, the plugin's name"
#endif

namespace {

#ifdef CKPT_TEST_FAULT_ON_LOAD
constexpr int kFirstFaultyCall = 1;
#else
constexpr int kFirstFaultyCall = 2;
#endif

#if CKPT_TEST_FAULT == CKPT_FAULT_FLOOD
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
#endif

void fault() {
#if CKPT_TEST_FAULT == CKPT_FAULT_SEGFAULT
  volatile int* volatile nowhere = nullptr;
  *nowhere = 42;
#elif CKPT_TEST_FAULT == CKPT_FAULT_ABORT
  std::abort();
#elif CKPT_TEST_FAULT == CKPT_FAULT_HANG
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
#elif CKPT_TEST_FAULT == CKPT_FAULT_EXIT0
  std::exit(0);
#elif CKPT_TEST_FAULT == CKPT_FAULT_FLOOD
  // ~50 MB of chatter, then carry on: the plugin works.
  std::string line(1023, 'x');
  line += '\n';
  std::string chunk;
  for (int i = 0; i < 1024; ++i) chunk += line;  // 1 MiB
  for (int i = 0; i < 50; ++i) write_all_to_stderr(chunk.data(), chunk.size());
#elif CKPT_TEST_FAULT == CKPT_FAULT_OOM
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
#elif CKPT_TEST_FAULT == CKPT_FAULT_THROW_INT
  throw 42;
#else
#error "unknown CKPT_TEST_FAULT"
#endif
}

class Faulty : public ckpt_test::LinearArchitecture {
 public:
  ckpt::Model build(const ckpt::Options& options) const override {
    static std::atomic<int> calls{0};
    if (++calls >= kFirstFaultyCall) fault();
    return LinearArchitecture::build(options);
  }
};

}  // namespace

CKPT_PLUGIN(Faulty, CKPT_TEST_NAME, "1.0.0", "tiny's model, with a fault in build() (isolation tests)")
