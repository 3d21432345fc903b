// Text that reaches a model through a tool result is data, not instructions or terminal
// commands. Dataset records, model replies and file contents may carry bytes that are invisible
// to a person reviewing them but visible to a model or a terminal: control characters, ANSI
// escape sequences, zero-width characters, bidirectional overrides and Unicode tag characters
// (used to smuggle hidden text). These functions strip them and repair invalid UTF-8, keeping
// '\n' and '\t'. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fapo::mcp {

// Removes C0/C1 control characters except '\n' and '\t' (so "\r\n" becomes "\n"), DEL, ANSI
// escape sequences (CSI, OSC and two-byte escapes), zero-width and bidi formatting characters
// (U+200B–U+200F, U+202A–U+202E, U+2060–U+2064, U+2066–U+2069, U+061C, U+180E, U+FEFF) and
// tag characters (U+E0000–U+E007F). Invalid UTF-8 bytes become U+FFFD.
std::string sanitize_text(std::string_view text);

// Sanitises every string in a JSON value (object keys included), in place.
void sanitize_json_strings(nlohmann::json& value);

}  // namespace fapo::mcp
