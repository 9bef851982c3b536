#pragma once
// The exit codes of every ckpt-harness command, one list: what a CI job reads of a run.
namespace ckpt {

inline constexpr int kExitOk = 0;                // everything as expected (diff: loads strictly)
inline constexpr int kExitUnexpected = 1;        // unexpected failures or errors (diff: does not load strictly)
inline constexpr int kExitUsage = 2;             // usage or configuration error, unreadable input
inline constexpr int kExitNothingSelected = 3;   // run: --filter / --shard selected no unit
inline constexpr int kExitReportFailed = 4;      // a report could not be written (results stand)
inline constexpr int kExitInterrupted = 130;     // SIGINT or SIGTERM; finished results are still reported

}  // namespace ckpt
