#pragma once
// The processes a worker's plugins leave behind. A plugin may start processes (a data
// loader, a shell command) and some escape their worker's process group with setsid(), so
// killing the group is not enough. The supervisor makes itself a child subreaper: whatever
// its workers leave orphaned is re-parented to it rather than to init, and it ends every
// descendant of a worker when the worker's unit ends, and every adopted orphan when a
// worker is gone, so nothing of a run outlives it.
#include <sys/types.h>

#include <string>
#include <vector>

namespace ckpt {

// Makes this process a child subreaper (Linux prctl); false where it cannot.
bool become_subreaper();

struct EndedProcess {
  pid_t pid;
  std::string command;  // its /proc/<pid>/comm
};

// Kills (SIGKILL) every descendant of `root`, not `root` itself, until none is left, and
// reaps those of them that became this process's children. Returns what it ended.
std::vector<EndedProcess> end_descendants(pid_t root);

// Kills and reaps this process's children that are not in `keep` (orphans of workers
// adopted as subreaper, and their descendants); `keep` lists the live workers, whose exit
// status only their WorkerProcess collects. Returns what it ended.
std::vector<EndedProcess> end_adopted(const std::vector<pid_t>& keep);

}  // namespace ckpt
