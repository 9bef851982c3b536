// The supervisor-worker messages: what each side encodes is what the other decodes, and a
// line the supervisor cannot take as a reply says why.
#include <gtest/gtest.h>

#include "protocol/messages.hpp"

namespace ckpt::test {
namespace {

using protocol::Envelope;
using protocol::Op;

TEST(Protocol, RepliesRoundTripWithTheirEnvelope) {
  const Envelope e{"0123456789abcdef0123456789abcdef", 4242, "tiny@1.0.0/a.pt"};
  CaseResult c;
  c.scenario = "strict-load";
  c.component = "net";
  c.outcome = Outcome::kFail;
  c.message = "Missing key(s) in state_dict: \"w\"";
  const protocol::Reply r = protocol::parse_reply(protocol::encode(c, e));
  ASSERT_TRUE(r.violation.empty()) << r.violation;
  EXPECT_EQ(r.op, Op::kCase);
  EXPECT_EQ(r.envelope.nonce, e.nonce);
  EXPECT_EQ(r.envelope.pid, 4242);
  EXPECT_EQ(r.envelope.unit, e.unit);
  const CaseResult back = protocol::case_from(r);
  EXPECT_EQ(back.message, c.message);
  EXPECT_EQ(back.outcome, Outcome::kFail);

  protocol::Done done;
  done.sha256 = "ab";
  done.replace = true;
  done.open_files_left = 900;
  done.open_files_limit = 1024;
  const protocol::Done d = protocol::done_from(protocol::parse_reply(protocol::encode(done, e)));
  EXPECT_TRUE(d.replace);
  EXPECT_EQ(d.open_files_left, 900);
  EXPECT_EQ(d.sha256, "ab");

  const protocol::Ready ready = protocol::ready_from(protocol::parse_reply(protocol::encode(protocol::Ready{protocol::kVersion, 7, "1.13.0"})));
  EXPECT_EQ(ready.protocol, protocol::kVersion);
  EXPECT_EQ(ready.pid, 7);
}

TEST(Protocol, RequestsRoundTrip) {
  protocol::DescribeRequest d;
  d.nonce = protocol::new_nonce();
  d.file = "/checkout/build/plugins/x.so";
  d.shown_file = "build/plugins/x.so";
  d.as = std::make_pair(std::string("dcgan-ts"), std::string("2.0.0"));
  const nlohmann::json j = nlohmann::json::parse(protocol::encode(d));
  EXPECT_EQ(protocol::request_op(j), Op::kDescribe);
  const protocol::DescribeRequest back = protocol::describe_from_json(j);
  EXPECT_EQ(back.nonce, d.nonce);
  EXPECT_EQ(back.shown_file, "build/plugins/x.so");
  ASSERT_TRUE(back.as.has_value());
  EXPECT_EQ(back.as->second, "2.0.0");
  EXPECT_THROW(protocol::request_op(nlohmann::json{{"op", "case"}}), std::invalid_argument);  // a reply op is no request
}

// A unit's plugin file and its [[models]] files travel resolved (to open) and as shown (for
// messages), and a plugin's message names each as shown.
TEST(Protocol, UnitRequestsCarryTheShownNamesOfTheirFiles) {
  protocol::RunRequest run;
  run.unit.id = "ts@1.0.0/a.pt";
  run.unit.plugin_file = "/checkout/build/plugins/torchscript.so";
  run.unit.shown_plugin_file = "build/plugins/torchscript.so";
  run.unit.options = {{"files.step", "/checkout/exported/step.pt"}};
  run.unit.shown_files = {{"/checkout/exported/step.pt", "exported/step.pt"}};
  const UnitRequest back = protocol::run_from_json(nlohmann::json::parse(protocol::encode(run))).unit;
  EXPECT_EQ(back.shown_plugin_file, "build/plugins/torchscript.so");
  EXPECT_EQ(back.shown_files, run.unit.shown_files);
  EXPECT_EQ(with_shown_files(back.shown_files, "the step (/checkout/exported/step.pt) failed; /checkout/exported/step.pt: no"),
            "the step (exported/step.pt) failed; exported/step.pt: no");
  EXPECT_EQ(with_shown_files({}, "/checkout/exported/step.pt"), "/checkout/exported/step.pt");
}

TEST(Protocol, LinesThatAreNoReplySayWhy) {
  EXPECT_NE(protocol::parse_reply("not json").violation.find("not a JSON object"), std::string::npos);
  EXPECT_NE(protocol::parse_reply("[1,2]").violation.find("not a JSON object"), std::string::npos);
  EXPECT_NE(protocol::parse_reply(R"({"op":"run","pid":1})").violation.find("no known reply op"), std::string::npos);
  EXPECT_NE(protocol::parse_reply(R"({"op":"case","case":{}})").violation.find("without the writer's pid"), std::string::npos);
  // The first protocol's lines (no envelope) are not taken as replies.
  EXPECT_FALSE(protocol::parse_reply(R"({"op":"done","id":"x","replace":false})").violation.empty());
}

TEST(Protocol, NoncesAreFreshAndHex) {
  const std::string a = protocol::new_nonce(), b = protocol::new_nonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

TEST(Protocol, InvalidUtf8InAMessageStillMakesOneLine) {
  CaseResult c;
  c.scenario = "format";
  c.message = std::string("bad \xff\xfe bytes\nand a newline");
  const std::string line = protocol::encode(c, Envelope{"n", 1, "u"});
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_TRUE(protocol::parse_reply(line.substr(0, line.size() - 1)).violation.empty());
}

}  // namespace
}  // namespace ckpt::test
