// A line diff for showing what a variant changed in a file, in the familiar unified style
// ("@@ -3,4 +3,5 @@", then " ", "-" and "+" lines with a little context). Built on the longest
// common subsequence of lines; inputs beyond kMaxDiffLines lines on a side are shown as a
// whole replacement rather than aligned, which keeps the cost bounded. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>

namespace fapo {

inline constexpr std::size_t kMaxDiffLines = 2000;

// "" when the texts are equal. `context` lines of unchanged text surround each change.
std::string unified_diff(const std::string& before, const std::string& after,
                         std::size_t context = 2);

}  // namespace fapo
