#pragma once
#include <string>
#include <string_view>

namespace ckpt {

// True when `text` is UTF-8 as Python's pickle accepts it ('surrogatepass': encoded
// surrogates allowed; overlong forms and bytes past U+10FFFF are not).
bool is_valid_utf8(std::string_view text);

// Latin-1 bytes from a UTF-8 string whose code points are all below 256 (how protocol-2
// pickles carry `bytes`: `_codecs.encode(text, 'latin1')`). Returns false otherwise.
bool utf8_to_latin1(std::string_view text, std::string& out);

}  // namespace ckpt
