#include "protocol/messages.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ckpt::protocol {

using nlohmann::json;

namespace {
constexpr std::array<std::pair<Op, const char*>, 9> kOps{{{Op::kReady, "ready"},
                                                           {Op::kDescribe, "describe"},
                                                           {Op::kDescribed, "described"},
                                                           {Op::kRun, "run"},
                                                           {Op::kPhase, "phase"},
                                                           {Op::kCase, "case"},
                                                           {Op::kDone, "done"},
                                                           {Op::kProtocolError, "protocol-error"},
                                                           {Op::kForked, "forked"}}};

std::string line_of(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

json with_envelope(Op op, const Envelope& e) {
  json j{{"op", to_string(op)}, {"nonce", e.nonce}, {"pid", e.pid}};
  if (!e.unit.empty()) j["unit"] = e.unit;
  return j;
}

// A reply: the envelope, then the op's own fields.
std::string reply_line(Op op, const Envelope& e, json fields) {
  json j = with_envelope(op, e);
  j.update(fields);
  return line_of(j);
}

void add_open_files(json& j, bool replace, int left, int limit) {
  j["replace"] = replace;
  if (left > 0) {
    j["open_files_left"] = left;
    j["open_files_limit"] = limit;
  }
}
}  // namespace

const char* to_string(Op op) {
  for (const auto& [o, name] : kOps) {
    if (o == op) return name;
  }
  return "?";
}

std::optional<Op> op_from_string(const std::string& text) {
  for (const auto& [o, name] : kOps) {
    if (text == name) return o;
  }
  return std::nullopt;
}

std::string new_nonce() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("cannot draw a random nonce: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  char text[33];
  for (std::size_t i = 0; i < sizeof bytes; ++i) std::snprintf(text + 2 * i, 3, "%02x", bytes[i]);
  return std::string(text, 32);
}

// --- encoding ---------------------------------------------------------------------------------

std::string encode(const DescribeRequest& m) {
  json j{{"op", to_string(Op::kDescribe)}, {"nonce", m.nonce}, {"file", m.file}, {"shown_file", m.shown_file},
         {"options", m.options}, {"selectors", m.selectors}};
  if (m.as) j["as"] = {{"name", m.as->first}, {"version", m.as->second}};
  return line_of(j);
}

std::string encode(const RunRequest& m) {
  return line_of({{"op", to_string(Op::kRun)}, {"nonce", m.nonce}, {"unit", to_json(m.unit)}});
}

std::string encode(const Ready& m) {
  return line_of({{"op", to_string(Op::kReady)}, {"protocol", m.protocol}, {"pid", m.pid}, {"torch", m.torch}});
}

std::string encode(const Described& m, const Envelope& e) {
  json fields = m.ok ? json{{"ok", true},
                            {"name", m.name},
                            {"version", m.version},
                            {"description", m.description},
                            {"modules", m.modules},
                            {"optimizers", m.optimizers}}
                     : json{{"ok", false}, {"error", m.error}};
  add_open_files(fields, m.replace, m.open_files_left, m.open_files_limit);
  return reply_line(Op::kDescribed, e, std::move(fields));
}

std::string encode(const Phase& m, const Envelope& e) {
  return reply_line(Op::kPhase, e, {{"scenario", m.scenario}, {"component", m.component}});
}

std::string encode(const CaseResult& m, const Envelope& e) { return reply_line(Op::kCase, e, {{"case", to_json(m)}}); }

std::string encode(const Done& m, const Envelope& e) {
  json fields{{"sha256", m.sha256}};
  add_open_files(fields, m.replace, m.open_files_left, m.open_files_limit);
  return reply_line(Op::kDone, e, std::move(fields));
}

std::string encode(const ProtocolError& m, const Envelope& e) {
  return reply_line(Op::kProtocolError, e, {{"error", m.error}});
}

std::string encode_forked(const Envelope& e) { return reply_line(Op::kForked, e, json::object()); }

// --- decoding requests (worker) ------------------------------------------------------------------

Op request_op(const json& j) {
  const std::string text = j.at("op").get<std::string>();
  const auto op = op_from_string(text);
  if (!op || (*op != Op::kDescribe && *op != Op::kRun)) {
    throw std::invalid_argument("unknown request op '" + text + "' (protocol version " + std::to_string(kVersion) + ")");
  }
  return *op;
}

DescribeRequest describe_from_json(const json& j) {
  DescribeRequest m;
  m.nonce = j.at("nonce").get<std::string>();
  m.file = j.at("file").get<std::string>();
  m.shown_file = j.value("shown_file", m.file);
  m.options = j.at("options");
  m.selectors = j.value("selectors", json::array());
  if (j.contains("as")) m.as = std::make_pair(j.at("as").at("name").get<std::string>(), j.at("as").at("version").get<std::string>());
  return m;
}

RunRequest run_from_json(const json& j) { return {j.at("nonce").get<std::string>(), request_from_json(j.at("unit"))}; }

// --- decoding replies (supervisor) ---------------------------------------------------------------

Reply parse_reply(const std::string& line) {
  Reply r;
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.violation = "a line that is not a JSON object: '" + line.substr(0, 80) + (line.size() > 80 ? "...'" : "'");
    return r;
  }
  const auto op = j.contains("op") && j.at("op").is_string() ? op_from_string(j.at("op").get<std::string>()) : std::nullopt;
  if (!op || *op == Op::kDescribe || *op == Op::kRun) {
    r.violation = "a message with no known reply op: '" + line.substr(0, 80) + (line.size() > 80 ? "...'" : "'");
    return r;
  }
  r.op = *op;
  if (!j.contains("pid") || !j.at("pid").is_number_integer()) {
    r.violation = std::string("a '") + to_string(r.op) + "' message without the writer's pid";
    return r;
  }
  r.envelope.pid = j.at("pid").get<long>();
  if (r.op != Op::kReady) {
    if (j.contains("nonce") && j.at("nonce").is_string()) r.envelope.nonce = j.at("nonce").get<std::string>();
    if (j.contains("unit") && j.at("unit").is_string()) r.envelope.unit = j.at("unit").get<std::string>();
  }
  r.body = std::move(j);
  return r;
}

Ready ready_from(const Reply& r) {
  Ready m;
  m.protocol = r.body.value("protocol", 1);  // the first protocol's workers did not say
  m.pid = r.envelope.pid;
  m.torch = r.body.value("torch", "");
  return m;
}

Described described_from(const Reply& r) {
  Described m;
  m.ok = r.body.at("ok").get<bool>();
  if (m.ok) {
    m.name = r.body.at("name").get<std::string>();
    m.version = r.body.at("version").get<std::string>();
    m.description = r.body.value("description", "");
    m.modules = r.body.at("modules").get<std::vector<std::string>>();
    m.optimizers = r.body.at("optimizers").get<std::vector<std::string>>();
  } else {
    m.error = r.body.value("error", "refused");
  }
  m.replace = r.body.value("replace", false);
  m.open_files_left = r.body.value("open_files_left", 0);
  m.open_files_limit = r.body.value("open_files_limit", 0);
  return m;
}

Phase phase_from(const Reply& r) { return {r.body.at("scenario").get<std::string>(), r.body.at("component").get<std::string>()}; }

CaseResult case_from(const Reply& r) { return case_from_json(r.body.at("case")); }

Done done_from(const Reply& r) {
  Done m;
  m.replace = r.body.at("replace").get<bool>();
  m.sha256 = r.body.value("sha256", "");
  m.open_files_left = r.body.value("open_files_left", 0);
  m.open_files_limit = r.body.value("open_files_limit", 0);
  return m;
}

ProtocolError protocol_error_from(const Reply& r) { return {r.body.value("error", "(no words)")}; }

}  // namespace ckpt::protocol
