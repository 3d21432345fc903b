// Small string utilities shared by the engine. All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fapo {

std::string trim(std::string_view text);
std::string to_lower(std::string_view text);
std::vector<std::string> split(std::string_view text, char separator);
bool starts_with(std::string_view text, std::string_view prefix);
std::string join(const std::vector<std::string>& parts, std::string_view separator);

// Answer normalisation used by scorers and attribution: lowercase, drop punctuation and the
// articles a/an/the, collapse whitespace, and write number words ("two") as digits ("2").
std::string normalize_answer(std::string_view text);

// normalize_answer keeps every non-ASCII byte as part of a word (for accented letters), so
// typographic punctuation (« » “ ” ‘ ’ „ – — … · •) would glue onto the words beside it, as
// around retrieved passages ("[1] «Title | text»"). This turns those marks into spaces first.
std::string normalize_answer_spacing_typography(std::string_view text);

// Number of words (whitespace separated).
std::size_t word_count(std::string_view text);

std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view name,
                                         const std::vector<std::string>& candidates);

// Stable 64-bit hash (XXH3) of bytes; used for deterministic splits and simulated sampling.
std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed = 0);

// Uniform double in [0, 1) derived from a hash.
double hash_to_unit(std::uint64_t hash);

// Truncates to at most `max_bytes` without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

}  // namespace fapo
