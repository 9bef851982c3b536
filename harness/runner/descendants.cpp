#include "runner/descendants.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>

namespace ckpt {

namespace {
struct ProcessInfo {
  pid_t parent;
  char state;
};

// Every process's parent, from /proc/<pid>/stat (the command name in it may hold spaces
// and parentheses: fields are read after the last ')').
std::map<pid_t, ProcessInfo> process_table() {
  std::map<pid_t, ProcessInfo> table;
  DIR* dir = ::opendir("/proc");
  if (!dir) return table;
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    char state = '?';
    long parent = 0;
    if (fields >> state >> parent) table[static_cast<pid_t>(pid)] = {static_cast<pid_t>(parent), state};
  }
  ::closedir(dir);
  return table;
}

std::string command_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

std::vector<pid_t> descendants(const std::map<pid_t, ProcessInfo>& table, pid_t root) {
  std::vector<pid_t> out, frontier{root};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    for (const auto& [pid, info] : table) {
      if (info.parent == parent && info.state != 'Z') {
        out.push_back(pid);
        frontier.push_back(pid);
      }
    }
  }
  return out;
}

// Waits for `pid`, a child of this process that was just sent SIGKILL, for at most a few
// seconds (a process in uninterruptible sleep dies late): never blocks the run for good.
void reap_killed_child(pid_t pid) {
  for (int tries = 0; tries < 500; ++tries) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return;
    ::usleep(10000);
  }
}

// Kills what `find` lists until it lists nothing (a killed process's children are adopted
// and found on the next pass). Only the children of this process that it killed itself are
// reaped: a worker's exit status belongs to its WorkerProcess, which waits for it.
template <typename Find>
std::vector<EndedProcess> end_all(Find find) {
  std::vector<EndedProcess> ended;
  const pid_t self = ::getpid();
  for (int pass = 0; pass < 100; ++pass) {
    const auto table = process_table();
    const std::vector<pid_t> victims = find(table);
    if (victims.empty()) break;
    for (pid_t pid : victims) {
      const std::string command = command_of(pid);
      if (::kill(pid, SIGKILL) != 0) continue;
      ended.push_back({pid, command});
      auto it = table.find(pid);
      if (it != table.end() && it->second.parent == self) reap_killed_child(pid);
    }
  }
  std::sort(ended.begin(), ended.end(), [](const EndedProcess& a, const EndedProcess& b) { return a.pid < b.pid; });
  ended.erase(std::unique(ended.begin(), ended.end(), [](const EndedProcess& a, const EndedProcess& b) { return a.pid == b.pid; }),
              ended.end());
  return ended;
}
}  // namespace

bool become_subreaper() { return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

std::vector<EndedProcess> end_descendants(pid_t root) {
  return end_all([root](const std::map<pid_t, ProcessInfo>& table) { return descendants(table, root); });
}

std::vector<EndedProcess> end_adopted(const std::vector<pid_t>& keep) {
  const pid_t self = ::getpid();
  // Adopted orphans that already ended on their own: reaped, so they leave no zombie.
  for (const auto& [pid, info] : process_table()) {
    if (info.parent == self && info.state == 'Z' && std::find(keep.begin(), keep.end(), pid) == keep.end()) {
      int status = 0;
      ::waitpid(pid, &status, WNOHANG);
    }
  }
  return end_all(
      [&](const std::map<pid_t, ProcessInfo>& table) {
        std::vector<pid_t> out;
        for (const auto& [pid, info] : table) {
          if (info.parent == self && info.state != 'Z' && std::find(keep.begin(), keep.end(), pid) == keep.end()) {
            out.push_back(pid);
          }
        }
        return out;
      });
}

}  // namespace ckpt
