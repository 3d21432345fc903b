// Size discipline for tool results. Clients warn or cut off large tool outputs (Claude Code
// warns above 10,000 tokens), and a cut-off the model cannot see is worse than a marked one, so
// long fields are shortened here with a visible marker ("…[truncated 1234 chars]") and whole
// results are held under a token budget. Tokens are estimated at four characters each, which
// over-counts slightly for English prose and is the usual rule of thumb. Pure functions;
// thread-safe.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fapo::mcp {

inline constexpr std::size_t kCharsPerToken = 4;
// Results are kept below this by default: under the 10,000 tokens at which clients complain,
// with room for the protocol envelope and the client's own framing.
inline constexpr std::size_t kDefaultResultTokenBudget = 8000;

std::size_t estimate_tokens(std::string_view text);
std::size_t estimate_json_tokens(const nlohmann::json& value);  // of its compact serialisation

// Number of Unicode code points (what "chars" means in markers and limits).
std::size_t count_chars(std::string_view utf8);

// Keeps the first `max_chars` code points and appends "…[truncated N chars]" naming how many
// were dropped; text within the limit is returned unchanged. Never splits a UTF-8 sequence.
std::string truncate_text(std::string_view text, std::size_t max_chars);

// Truncates every string in `value` longer than `max_chars`, in place.
void truncate_json_strings(nlohmann::json& value, std::size_t max_chars);

// Shrinks `value` until its compact serialisation is at most `max_bytes`, by truncating its
// longest strings (marked as above) while keeping every key, array element and type, so a
// shrunk result still matches its schema. Returns false when strings alone cannot make it fit
// (too many elements): the caller must page instead.
bool shrink_to_fit(nlohmann::json& value, std::size_t max_bytes);

}  // namespace fapo::mcp
