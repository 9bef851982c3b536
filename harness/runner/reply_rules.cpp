#include "runner/reply_rules.hpp"

namespace ckpt {

std::string envelope_violation(const protocol::Reply& reply, pid_t pid, const std::string& nonce, const std::string& unit) {
  if (!reply.violation.empty()) return reply.violation;
  const std::string what = std::string("a '") + protocol::to_string(reply.op) + "' message";
  if (reply.envelope.pid != pid) {
    return what + " written by another process (pid " + std::to_string(reply.envelope.pid) + "; the worker is pid " +
           std::to_string(pid) + ")";
  }
  if (reply.op == protocol::Op::kReady) return "a second 'ready' message";
  if (reply.envelope.nonce != nonce) return what + " that does not answer the request in flight (its nonce is not the request's)";
  if (!unit.empty() && reply.op != protocol::Op::kProtocolError && reply.envelope.unit != unit) {
    return what + " about unit '" + reply.envelope.unit + "' during unit '" + unit + "'";
  }
  return "";
}

std::string version_mismatch(const protocol::Ready& ready, const std::string& executable) {
  if (ready.protocol == protocol::kVersion) return "";
  return "speaks protocol version " + std::to_string(ready.protocol) + " but this ckpt-harness speaks " +
         std::to_string(protocol::kVersion) + ": " + executable +
         " comes from another build; install or build ckpt-harness and its worker from the same source";
}

std::string protocol_broken(const std::string& violation) {
  return "broke the protocol and was replaced: its reply channel, which only the harness writes, carried " + violation +
         " (a plugin writing to the channel, or a process it forked?)";
}

std::string files_left_open(int left, int limit) {
  if (left <= 0) return "";
  return "the plugin left " + std::to_string(left) + " files open (a worker may have " + std::to_string(limit) +
         "), so its worker was replaced";
}

}  // namespace ckpt
