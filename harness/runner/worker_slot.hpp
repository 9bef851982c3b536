#pragma once
// One place for a worker in the supervisor: the worker process it holds (or none, when it
// must be started), what that worker is doing, and what it did before. Describing plugins
// and running units both work through slots; only the supervisor's files see this header.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "results/result_model.hpp"
#include "runner/worker_process.hpp"

namespace ckpt {

// A worker that fails to start this many times in a row cannot start at all.
constexpr int kMaxStartFailures = 3;
// Workers killed from outside while they start (a person, the OOM killer) say nothing about
// the executable: they count apart, against a higher bound.
constexpr int kMaxStartKills = 10;
// The lines of a worker's output an error shows.
constexpr std::size_t kWorkerLogLines = 30;

struct WorkerSlot {
  using Clock = std::chrono::steady_clock;
  enum class State { kStarting, kIdle, kBusy };

  std::unique_ptr<WorkerProcess> worker;
  State state = State::kStarting;
  Clock::time_point since = Clock::now();  // start, or unit dispatch
  std::size_t unit = 0;
  std::size_t planned_done = 0;            // cases received for the unit
  std::string phase;                       // "strict-load/generator"
  Clock::time_point phase_start = Clock::now();
  std::vector<std::string> plugins;        // labels of the plugins the current worker loaded
  std::string nonce;                       // of the request in flight
  std::string finished_nonce;              // of the last unit this worker finished
  std::string finished_unit;               // its id: late messages of it are blamed on it

  void loaded(const PluginRef& plugin) {
    if (!plugin.name.empty() && std::find(plugins.begin(), plugins.end(), plugin.label()) == plugins.end()) {
      plugins.push_back(plugin.label());
    }
  }
  // The worker is gone (or given up): the slot starts a new one when work needs it.
  void abandon() {
    worker.reset();
    state = State::kStarting;
  }
  double seconds_in_state() const { return std::chrono::duration<double>(Clock::now() - since).count(); }
  double seconds_in_phase() const { return std::chrono::duration<double>(Clock::now() - phase_start).count(); }
};

}  // namespace ckpt
