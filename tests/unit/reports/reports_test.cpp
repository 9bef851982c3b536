// Report writers on synthetic results: text sanitising, and JUnit XML that both JUnit
// schemas accept (validated with xmllint), whatever bytes the cases carry.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "reports/atomic_file.hpp"
#include "reports/console_reporter.hpp"
#include "reports/html_report.hpp"
#include "reports/junit_report.hpp"
#include "reports/report_files.hpp"
#include "reports/text_sanitizer.hpp"
#include "reports/xml_writer.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace ckpt::test {
namespace {

// The XML writer nests, escapes attributes and text apart, and refuses to close or write
// text with no element open (it used to pop an empty stack: undefined behaviour).
TEST(XmlWriter, NestsEscapesAndRefusesWhatWouldBreakTheDocument) {
  std::ostringstream out;
  XmlWriter w(out);
  {
    XmlWriter::Scope suite(w, "testsuite", {{"name", "a\"b\nc"}});
    w.leaf("testcase", {{"name", "x<y"}}, "1 < 2 & 3");
  }
  EXPECT_EQ(out.str(), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"a&quot;b&#10;c\">\n"
                       "  <testcase name=\"x&lt;y\">1 &lt; 2 &amp; 3</testcase>\n</testsuite>\n");
  EXPECT_THROW(w.close(), std::logic_error);
  EXPECT_THROW(w.text("after the root"), std::logic_error);
}

TEST(TextSanitizer, RemovesEscapesRepairsUtf8AndReplacesWhatXmlCannotHold) {
  EXPECT_EQ(sanitize_text("\x1b[31mred\x1b[0m plain"), "red plain");
  EXPECT_EQ(sanitize_text("caf\xc3\xa9"), "caf\xc3\xa9");              // valid UTF-8 stays
  EXPECT_EQ(sanitize_text("bad \xff byte"), "bad \xEF\xBF\xBD byte");  // invalid byte
  EXPECT_EQ(sanitize_text("over\xc0\xafong"), "over\xEF\xBF\xBD\xEF\xBF\xBDong");  // overlong '/'
  EXPECT_EQ(sanitize_text(std::string("nul\0bell\x07", 9)), "nul\xEF\xBF\xBD" "bell\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_text("tab\tnew\nline"), "tab\tnew\nline");
  EXPECT_EQ(sanitize_text("\xef\xbf\xbe"), "\xEF\xBF\xBD");  // U+FFFE is not an XML character
  EXPECT_EQ(one_line("a\nb\tc"), "a b c");
  const std::string capped = sanitize_capped(std::string(100, 'x') + "\xc3\xa9", 100);
  EXPECT_EQ(capped, std::string(100, 'x') + "\n... and 2 more bytes");
  EXPECT_EQ(sanitize_capped(std::string(99, 'x') + "\xc3\xa9", 100), std::string(99, 'x') + "\n... and 2 more bytes");
}

RunResult hostile_run() {
  RunResult run;
  run.environment = {"0.1.0", "1.13.0", "host", "ckpt-harness.toml", "2026-11-28T10:00:00Z", "ckpt-harness run", 2, "", ""};
  UnitResult u;
  u.id = "dcgan@2.0.0/runs/a <b> & \"c\".pt";
  u.plugin = {"dcgan", "2.0.0", "/p/dcgan_v2.so"};
  u.checkpoint = "runs/a <b> & \"c\".pt";
  u.worker_log = "\x1b[1mplugin says\x1b[0m \xff\xfe ]]> done";
  auto add = [&u](const char* scenario, const char* component, Outcome o, const std::string& message,
                  const std::string& details = "", const std::string& expectation = "") {
    CaseResult c;
    c.scenario = scenario;
    c.component = component;
    c.outcome = o;
    c.message = message;
    c.details = details;
    c.expectation = expectation;
    c.seconds = 1e-7;
    u.cases.push_back(c);
  };
  add("format", "", Outcome::kPass, "reads safely");
  add("strict-load", "generator", Outcome::kFail, "does not load strictly: 1 missing",
      "Missing key(s) in state_dict: \"main.0.weight\".\n\x01\x02 <tag> ]]> &amp;");
  add("strict-load", "discriminator", Outcome::kExpectedFail, "does not load strictly", "", "expected fail, as declared");
  add("eval-mode", "generator", Outcome::kError, "the worker was killed by SIGSEGV (signal 11)\nsecond line");
  add("golden-output", "generator", Outcome::kSkipped, "no golden outputs recorded");
  run.units.push_back(u);
  UnitResult empty;
  empty.id = "format-only/x.pt";
  empty.checkpoint = "x.pt";
  run.units.push_back(empty);
  return run;
}

class JUnitReport : public TempDirTest {
 protected:
  std::string write(const RunResult& run) {
    std::ostringstream out;
    write_junit_report(run, out);
    const std::string path = (dir_ / "junit.xml").string();
    std::ofstream(path) << out.str();
    return path;
  }
};

TEST_F(JUnitReport, ValidAgainstBothSchemasWhateverTheText) {
  const std::string path = write(hostile_run());
  for (const char* schema : {"junit-ant-windyroad.xsd", "junit-10-jenkins-xunit.xsd"}) {
    const CommandResult r =
        run_command("xmllint --noout --schema " + std::string(CKPT_JUNIT_XSD_DIR) + "/" + schema + " " + path + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << schema << "\n" << r.out;
  }
}

TEST_F(JUnitReport, OutcomesMapToFailureErrorSkipped) {
  std::ostringstream out;
  write_junit_report(hostile_run(), out);
  const std::string xml = out.str();
  auto has = [&xml](const std::string& s) { return xml.find(s) != std::string::npos; };
  EXPECT_TRUE(has("tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"0.000\" timestamp=\"2026-11-28T10:00:00\"")) << xml;
  EXPECT_TRUE(has("classname=\"dcgan@2_0_0.runs/a_&lt;b&gt;_&amp;_&quot;c&quot;_pt\" name=\"strict-load[generator]\""));
  EXPECT_TRUE(has("<failure message=\"does not load strictly: 1 missing\" type=\"strict-load\">")) << xml;
  EXPECT_TRUE(has("<error message=\"the worker was killed by SIGSEGV (signal 11)\" type=\"eval-mode\">")) << xml;
  EXPECT_TRUE(has("<skipped message=\"no golden outputs recorded\"/>")) << xml;
  // The expected failure passes, with the expectation in the suite's output.
  EXPECT_TRUE(has("name=\"strict-load[discriminator]\" time=\"0.000\"/>")) << xml;
  EXPECT_TRUE(has("<system-out>strict-load[discriminator]: expected fail, as declared\n</system-out>")) << xml;
  EXPECT_FALSE(has("\x1b")) << "ANSI escapes removed";
  EXPECT_FALSE(has("]]>")) << "no CDATA end in text";
  EXPECT_TRUE(has("<property name=\"plugin_version\" value=\"2.0.0\"/>"));
}

// Units that are not checks take their package from what they are, not from which fields
// happen to be empty: a plugin file that could not be used, a run that ended early.
TEST_F(JUnitReport, UnitKindsGiveThePackageAndClassname) {
  RunResult run = hostile_run();
  UnitResult plugin_file;
  plugin_file.kind = UnitKind::kPluginFile;
  plugin_file.id = "plugin//p/broken.so";
  plugin_file.plugin.file = "/p/broken.so";
  CaseResult load;
  load.scenario = "plugin-load";
  load.message = "cannot load it";
  plugin_file.cases.push_back(load);
  UnitResult run_end;
  run_end.kind = UnitKind::kRunEnd;
  run_end.id = "config/ckpt-harness.toml";
  CaseResult config = load;
  config.scenario = "config";
  run_end.cases.push_back(config);
  run.units.push_back(plugin_file);
  run.units.push_back(run_end);
  std::ostringstream out;
  write_junit_report(run, out);
  const std::string xml = out.str();
  auto has = [&xml](const std::string& s) { return xml.find(s) != std::string::npos; };
  EXPECT_TRUE(has("name=\"format-only/x.pt\" package=\"format-only\"")) << xml;
  EXPECT_TRUE(has("name=\"plugin//p/broken.so\" package=\"plugin\"")) << xml;
  EXPECT_TRUE(has("classname=\"plugin./p/broken_so\" name=\"plugin-load\"")) << xml;
  EXPECT_TRUE(has("name=\"config/ckpt-harness.toml\" package=\"config\"")) << xml;
  EXPECT_TRUE(has("classname=\"config.ckpt-harness_toml\" name=\"config\"")) << xml;
}

std::string console_of(const RunResult& run, bool terminal) {
  std::ostringstream out;
  ConsoleReporter console(out, terminal);
  console.on_run_start(run.environment, run.units.size(), 5);
  for (std::size_t i = 0; i < run.units.size(); ++i) console.on_unit_end(run.units[i], i + 1, run.units.size());
  console.on_run_end(run);
  return out.str();
}

TEST(ConsoleReport, ColourOnlyOnATerminalAndNotUnderNoColor) {
  const RunResult run = hostile_run();
  ::unsetenv("NO_COLOR");
  const std::string terminal = console_of(run, true);
  EXPECT_NE(terminal.find("\033[1;31mFAILED: see the cases above\033[0m"), std::string::npos) << terminal;
  const std::string log = console_of(run, false);
  EXPECT_EQ(log.find('\033'), std::string::npos) << log;
  EXPECT_NE(log.find("FAIL dcgan@2.0.0/runs/a <b> & \"c\".pt/strict-load/generator: does not load strictly: 1 missing"),
            std::string::npos)
      << log;
  ::setenv("NO_COLOR", "1", 1);
  const std::string no_colour = console_of(run, true);
  ::unsetenv("NO_COLOR");
  EXPECT_EQ(no_colour.find("\033["), no_colour.find("\033[K")) << "only the progress line's erase remains";
  EXPECT_EQ(no_colour.find("\033[3"), std::string::npos);
}

TEST(HtmlReport, SelfContainedWithMatrixDetailsAndEscapedText) {
  std::ostringstream out;
  write_html_report(hostile_run(), out);
  const std::string html = out.str();
  auto has = [&html](const std::string& s) { return html.find(s) != std::string::npos; };
  EXPECT_TRUE(has("<table class=\"matrix\">")) << html;
  EXPECT_TRUE(has("<span class=\"verdict failed\">FAILED</span>"));
  EXPECT_TRUE(has("<details class=\"case fail\" data-outcome=\"fail\" open>"));
  EXPECT_TRUE(has("runs/a &lt;b&gt; &amp; &quot;c&quot;.pt"));      // the checkpoint's name, escaped
  EXPECT_FALSE(has("a <b> &"));                                        // never raw
  EXPECT_FALSE(has("\x1b"));
  EXPECT_TRUE(has("<style>") && has("<script>"));                     // one file
  EXPECT_FALSE(has("http://") || has("https://") || has("src=\"") || has("href=\"http"));  // no network
  const std::string anchor = "href=\"#u-dcgan-2-0-0-runs-a--b-----c--pt\"";
  EXPECT_TRUE(has(anchor)) << "matrix cells link to their unit";
  std::ostringstream external;
  write_html_report(hostile_run(), external, HtmlOptions{true});
  EXPECT_NE(external.str().find("<link rel=\"stylesheet\" href=\"report.css\">"), std::string::npos);
  EXPECT_EQ(external.str().find("<script>"), std::string::npos);  // no inline script for strict content policies
}

class ReportFiles : public TempDirTest {};

TEST_F(ReportFiles, HtmlAssetsBesideThePageWhenAsked) {
  const auto inline_files = write_reports(hostile_run(), dir_.string(), {"html"});
  ASSERT_EQ(inline_files.size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "report.css"));
  const auto beside = write_reports(hostile_run(), dir_.string(), {"junit", "html"}, ReportOptions{"beside"});
  ASSERT_EQ(beside.size(), 4u);
  std::ifstream css(dir_ / "report.css"), js(dir_ / "report.js"), page(dir_ / "report.html");
  const std::string css_text((std::istreambuf_iterator<char>(css)), {}), js_text((std::istreambuf_iterator<char>(js)), {});
  const std::string html((std::istreambuf_iterator<char>(page)), {});
  EXPECT_EQ(css_text, html_report_css());
  EXPECT_EQ(js_text, html_report_js());
  EXPECT_NE(html.find("href=\"report.css\""), std::string::npos);
  EXPECT_NE(html.find("src=\"report.js\""), std::string::npos);
  EXPECT_EQ(html.find("<style>"), std::string::npos);
}

// A full disk at the end of a run: junit.xml was written while the run went on (every case
// "not run"); if the final one cannot replace it, it must not stay to tell the CI system a
// passing run never ran. A small JUnit file says what happened instead.
TEST_F(ReportFiles, AJUnitFileThatCannotBeReplacedDoesNotStayStale) {
  RunResult run;
  run.environment = {"0.1.0", "1.13.0", "host", "ckpt-harness.toml", "2026-11-28T10:00:00Z", "ckpt-harness run", 2, "", ""};
  for (int i = 0; i < 400; ++i) {
    UnitResult u;
    u.id = "dcgan@1.0.0/runs/checkpoint_" + std::to_string(i) + ".pt";
    CaseResult c;
    c.scenario = "strict-load";
    c.component = "generator";
    c.outcome = Outcome::kPass;
    c.message = "loads strictly";
    u.cases.push_back(c);
    run.units.push_back(u);
  }
  const std::filesystem::path junit = dir_ / "junit.xml";
  std::ofstream(junit) << "<testsuites><!-- stale: every case not run --></testsuites>\n";
  // In a child, so that the file size limit (a stand-in for the full disk) ends with it.
  const pid_t child = ::fork();
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead of killing
    const rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      write_reports(run, dir_.string(), {"json", "junit"});
      ::_exit(3);  // the limit did not bite
    } catch (const ReportWriteError&) {
      ::_exit(0);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  std::ifstream in(junit);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find("stale"), std::string::npos) << text;
  EXPECT_NE(text.find("junit.xml could not be written in full"), std::string::npos) << text;
  EXPECT_NE(text.find("the run itself had 400 cases: 400 passed, 0 failed, 0 errors"), std::string::npos) << text;
  for (const char* schema : {"junit-ant-windyroad.xsd", "junit-10-jenkins-xunit.xsd"}) {
    const CommandResult valid =
        run_command("xmllint --noout --schema " + std::string(CKPT_JUNIT_XSD_DIR) + "/" + schema + " " + junit.string() + " 2>&1");
    EXPECT_EQ(valid.exit_code, 0) << schema << ": " << valid.out;
  }
}

}  // namespace
}  // namespace ckpt::test
