#pragma once
// The rules the supervisor holds a worker's replies to, and the words for what breaks them.
// Describing plugins and running units share them, so both judge a reply alike.
#include <sys/types.h>

#include <string>

#include "protocol/messages.hpp"

namespace ckpt {

// Why `reply` cannot be taken from the worker `pid` as the answer to `nonce` (and `unit`), or
// "" when it can.
std::string envelope_violation(const protocol::Reply& reply, pid_t pid, const std::string& nonce, const std::string& unit);

// A worker of another protocol version (a ckpt-harness and a ckpt-harness-worker of two
// builds) is refused with what to do; "" when the versions agree.
std::string version_mismatch(const protocol::Ready& ready, const std::string& executable);

// How a worker that broke the protocol ended, for the unit's error.
std::string protocol_broken(const std::string& violation);

// "the plugin left 1019 files open (...)" when a worker's reply says so, else "".
std::string files_left_open(int left, int limit);

}  // namespace ckpt
