// The narrator prints `fapo demo` for a person watching: numbered steps, what the agent means to
// do, each MCP call with its key arguments, and the key numbers of each result. Colour (ANSI
// SGR codes) and the in-place progress line are used only when the output is a terminal; piped
// or captured output is plain text, one line per event.
//
// Not thread-safe: one thread narrates. Progress reports arrive on that same thread (the MCP
// client hands notifications over while it waits for a reply).
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

namespace fapo::demo {

// Terminal styles; each is a no-op without colour.
enum class Style { kPlain, kHeading, kAgent, kCall, kResult, kGood, kBad, kDim };

class Narrator {
 public:
  // `out` must outlive the narrator. `color` enables styles and the progress line.
  Narrator(std::ostream& out, bool color, std::size_t width = 100);

  void banner(std::string_view title, std::string_view subtitle);
  void step(int index, int total, std::string_view title);
  // What the agent decides to do and why, wrapped to the width.
  void agent(std::string_view text);
  // An MCP request: "→ method  arguments".
  void call(std::string_view method, std::string_view arguments);
  // The key facts of a reply: "← text".
  void reply(std::string_view text, Style style = Style::kResult);
  // A further indented line under a reply (a table row, an excerpt).
  void detail(std::string_view text, Style style = Style::kPlain);
  void blank();
  // Progress of a long call; redrawn in place on a terminal, ignored otherwise.
  void progress(double done, double total, std::string_view message);

  std::string styled(std::string_view text, Style style) const;
  bool color() const { return color_; }

 private:
  void clear_progress();
  // Prints `text` after `prefix`, wrapped; continuation lines are indented under the text,
  // plus `hang` columns.
  void wrapped(std::string_view prefix, std::string_view text, Style style, std::size_t hang = 0);

  std::ostream& out_;
  bool color_;
  std::size_t width_;
  bool progress_shown_ = false;
};

// Helpers for readable numbers and excerpts.
std::string format_score(double value);                 // "36.1"
std::string format_signed(double value);                // "+24.6" / "-2.6"
std::string format_count(long long value);              // "17,460"
std::string format_percent(double fraction);            // 0.95 -> "95 %"
// The text on one line (newlines become " ⏎ "), cut to `max_chars` code points with "…".
std::string excerpt(std::string_view text, std::size_t max_chars);

}  // namespace fapo::demo
