#include "mcp_server/demo/narrator.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include "engine/base/strings.h"
#include "mcp_server/output/truncate.h"

namespace fapo::demo {
namespace {

const char* sgr(Style style) {
  switch (style) {
    case Style::kHeading: return "\033[1;36m";
    case Style::kAgent: return "\033[3m";
    case Style::kCall: return "\033[34m";
    case Style::kResult: return "";
    case Style::kGood: return "\033[1;32m";
    case Style::kBad: return "\033[1;33m";
    case Style::kDim: return "\033[2m";
    case Style::kPlain: return "";
  }
  return "";
}

// Splits `text` into lines of at most `width` code points, breaking at spaces.
std::vector<std::string> wrap(std::string_view text, std::size_t width) {
  // A line that fits is kept as it is, so aligned columns keep their spaces.
  if (mcp::count_chars(text) <= width) return {std::string(text)};
  std::vector<std::string> lines;
  std::string line;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(start, end - start);
    if (!line.empty() && mcp::count_chars(line) + 1 + mcp::count_chars(word) > width) {
      lines.push_back(line);
      line.clear();
    }
    if (!word.empty()) line += (line.empty() ? "" : " ") + std::string(word);
    start = end + 1;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

Narrator::Narrator(std::ostream& out, bool color, std::size_t width)
    : out_(out), color_(color), width_(width) {}

std::string Narrator::styled(std::string_view text, Style style) const {
  if (!color_ || *sgr(style) == '\0') return std::string(text);
  return std::string(sgr(style)) + std::string(text) + "\033[0m";
}

void Narrator::clear_progress() {
  if (!progress_shown_) return;
  out_ << "\r\033[2K";
  progress_shown_ = false;
}

void Narrator::banner(std::string_view title, std::string_view subtitle) {
  clear_progress();
  out_ << styled(title, Style::kHeading) << "\n";
  for (const std::string& paragraph : split(subtitle, '\n')) {
    if (paragraph.empty()) continue;
    for (const std::string& line : wrap(paragraph, width_)) {
      out_ << styled(line, Style::kDim) << "\n";
    }
  }
  out_.flush();
}

void Narrator::step(int index, int total, std::string_view title) {
  clear_progress();
  std::string heading =
      "[" + std::to_string(index) + "/" + std::to_string(total) + "] " + std::string(title);
  out_ << "\n" << styled(heading, Style::kHeading) << "\n";
  out_.flush();
}

void Narrator::wrapped(std::string_view prefix, std::string_view text, Style style,
                       std::size_t hang) {
  clear_progress();
  std::string indent(mcp::count_chars(prefix) + hang, ' ');
  std::size_t room = width_ > indent.size() + 20 ? width_ - indent.size() : 20;
  bool first = true;
  for (const std::string& line : wrap(text, room)) {
    out_ << (first ? std::string(prefix) : indent) << styled(line, style) << "\n";
    first = false;
  }
  out_.flush();
}

void Narrator::agent(std::string_view text) { wrapped("  agent: ", text, Style::kAgent); }

void Narrator::call(std::string_view method, std::string_view arguments) {
  clear_progress();
  std::string line = "→ " + std::string(method);
  if (!arguments.empty()) line += "  " + std::string(arguments);
  out_ << "  " << styled(line, Style::kCall) << "\n";
  out_.flush();
}

void Narrator::reply(std::string_view text, Style style) { wrapped("  ← ", text, style); }

void Narrator::detail(std::string_view text, Style style) { wrapped("      ", text, style, 2); }

void Narrator::blank() {
  clear_progress();
  out_ << "\n";
}

void Narrator::progress(double done, double total, std::string_view message) {
  if (!color_) return;
  // The server's message usually says it all ("27/180 results, running mean 22.2").
  std::string line = "    … ";
  if (!message.empty()) {
    line += excerpt(message, 80);
  } else {
    line += format_count(std::llround(done));
    if (total > 0) line += " / " + format_count(std::llround(total));
  }
  out_ << "\r\033[2K" << styled(line, Style::kDim);
  out_.flush();
  progress_shown_ = true;
}

std::string format_score(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

std::string format_signed(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%+.1f", value);
  return buffer;
}

std::string format_percent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g %%", fraction * 100);
  return buffer;
}

std::string format_count(long long value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string excerpt(std::string_view text, std::size_t max_chars) {
  std::string flat;
  for (char c : text) {
    if (c == '\n') {
      flat += " ⏎ ";
    } else if (c != '\r') {
      flat += c;
    }
  }
  if (mcp::count_chars(flat) <= max_chars) return flat;
  // truncate_text marks how much it dropped, which is noise here: keep its prefix only.
  std::string cut = mcp::truncate_text(flat, max_chars > 1 ? max_chars - 1 : 1);
  if (std::size_t marker = cut.rfind("…["); marker != std::string::npos) cut.erase(marker);
  return cut + "…";
}

}  // namespace fapo::demo
