#pragma once
// Text from checkpoints, plugins and workers is arbitrary bytes; reports hold only text
// every consumer accepts: ANSI escape sequences removed, invalid UTF-8 repaired, and code
// points XML 1.0 cannot hold replaced, each by U+FFFD.
#include <cstddef>
#include <string>
#include <string_view>

namespace ckpt {

std::string sanitize_text(std::string_view text);

// sanitize_text, then cut after `max_bytes` (at a character boundary) with a note of how
// much was left out.
std::string sanitize_capped(std::string_view text, std::size_t max_bytes);

// For attributes that must stay on one line (xs:token): newlines and tabs become spaces.
std::string one_line(std::string_view text);

// For a console line: sanitize_text, with a carriage return a space (it would let the text
// overwrite what the line says) and each newline followed by `indent`, so nothing from a
// file name or a message can start a line of its own (a fake "PASS") in a CI log.
std::string console_line(std::string_view text, std::string_view indent = "      ");

}  // namespace ckpt
