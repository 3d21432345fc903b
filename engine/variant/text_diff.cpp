#include "engine/variant/text_diff.h"

#include <algorithm>
#include <vector>

#include "engine/base/strings.h"

namespace fapo {
namespace {

enum class Op { kKeep, kRemove, kAdd };

struct Line {
  Op op;
  std::string text;
  std::size_t old_number;  // 1-based position in `before` (next line for an add)
  std::size_t new_number;  // 1-based position in `after` (next line for a remove)
};

std::vector<std::string> lines_of(const std::string& text) {
  if (text.empty()) return {};
  std::vector<std::string> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty() && text.back() == '\n') lines.pop_back();
  return lines;
}

std::vector<Line> align(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<Line> out;
  if (a.size() > kMaxDiffLines || b.size() > kMaxDiffLines) {
    for (std::size_t i = 0; i < a.size(); ++i) out.push_back({Op::kRemove, a[i], i + 1, 1});
    for (std::size_t j = 0; j < b.size(); ++j) out.push_back({Op::kAdd, b[j], a.size() + 1, j + 1});
    return out;
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  std::vector<std::vector<std::size_t>> lcs(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = a.size(); i-- > 0;) {
    for (std::size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      out.push_back({Op::kKeep, a[i], i + 1, j + 1});
      ++i;
      ++j;
    } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push_back({Op::kRemove, a[i], i + 1, j + 1});  // removals first, as diff(1) shows
      ++i;
    } else {
      out.push_back({Op::kAdd, b[j], i + 1, j + 1});
      ++j;
    }
  }
  return out;
}

std::string hunk(const std::vector<Line>& lines, std::size_t begin, std::size_t end) {
  std::size_t old_count = 0;
  std::size_t new_count = 0;
  std::string body;
  for (std::size_t k = begin; k < end; ++k) {
    const Line& line = lines[k];
    old_count += line.op != Op::kAdd;
    new_count += line.op != Op::kRemove;
    body += (line.op == Op::kKeep ? " " : line.op == Op::kRemove ? "-" : "+") + line.text + "\n";
  }
  return "@@ -" + std::to_string(lines[begin].old_number) + "," + std::to_string(old_count) +
         " +" + std::to_string(lines[begin].new_number) + "," + std::to_string(new_count) +
         " @@\n" + body;
}

}  // namespace

std::string unified_diff(const std::string& before, const std::string& after,
                         std::size_t context) {
  if (before == after) return "";
  const std::vector<Line> lines = align(lines_of(before), lines_of(after));
  std::string out;
  std::size_t k = 0;
  while (k < lines.size()) {
    if (lines[k].op == Op::kKeep) {
      ++k;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last
    // change that is no more than 2 * context unchanged lines away.
    std::size_t begin = k >= context ? k - context : 0;
    std::size_t end = k;
    std::size_t keep_run = 0;
    while (end < lines.size() && keep_run <= 2 * context) {
      keep_run = lines[end].op == Op::kKeep ? keep_run + 1 : 0;
      ++end;
    }
    end -= std::min(keep_run, end - k);
    end = std::min(lines.size(), end + context);
    out += hunk(lines, begin, end);
    k = end;
  }
  return out;
}

}  // namespace fapo
