#pragma once
// `ckpt-harness-worker serve`: the worker process of `ckpt-harness run`. It reads requests
// (one JSON object per line) on fd 3 and writes replies on the descriptor the supervisor
// names (--reply-fd), so nothing a plugin prints on stdout or stderr can corrupt the
// conversation. The messages and the envelope every reply carries are protocol/messages.hpp's.
// It serves units until fd 3 closes. Plugins stay loaded between units. A reply with
// "replace": true asks the supervisor for a fresh worker (after a memory failure, or when
// the request left many files open: then it says how many).
namespace ckpt {

int serve(int reply_fd);

}  // namespace ckpt
