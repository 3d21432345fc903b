// How a tool call is compared with the call a case expects, and when two calls repeat each
// other. One definition, read by the trajectory scorer and by attribution, so a call the scorer
// credits is the call attribution accepts.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace fapo {

// Whether `actual` satisfies `expected`: strings when every normalised word of the expected
// value is a word of the actual one (a number or boolean is read as its JSON text); numbers
// numerically, a numeric string included; objects key by key, each expected key present and
// matching (an empty object matches any object); arrays when every expected item matches some
// actual item; anything else when equal.
bool argument_matches(const nlohmann::json& expected, const nlohmann::json& actual);

// A canonical text of a call's arguments: keys sorted, strings normalised, 3 and 3.0 alike, so
// two calls asking the same thing compare equal.
std::string canonical_arguments(const nlohmann::json& arguments);

}  // namespace fapo
