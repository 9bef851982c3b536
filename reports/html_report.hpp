#pragma once
// One self-contained HTML page (no network, no other file): verdict and counts, the
// compatibility matrix per plugin (checkpoints x plugin versions, each cell the worst
// outcome with a strip per scenario, linked to its unit), and every unit's cases as
// <details> with their tables. Rendered here, so it reads fully without JavaScript; a
// little script adds filtering by outcome and search. With `external_assets` the style and
// script go to report.css / report.js beside the page (for servers whose content policy
// blocks inline ones, as Jenkins' does).
#include <ostream>
#include <string>

#include "results/result_model.hpp"

namespace ckpt {

struct HtmlOptions {
  bool external_assets = false;
};

void write_html_report(const RunResult& run, std::ostream& out, const HtmlOptions& options = {});
const std::string& html_report_css();
const std::string& html_report_js();

}  // namespace ckpt
