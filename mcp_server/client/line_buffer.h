// Splits what an MCP server writes on stdout into lines, with a limit on a line's length. A
// line over the limit is never held in memory: its bytes are dropped as they arrive, so the
// next line read is whole and later replies stay in step. While they are dropped, a scanner
// follows the JSON structure to find the line's top-level "id" wherever it sits (servers often
// write it last), so a multiplexing client can fail the one request that line answered.
// Not thread-safe: one reader owns a buffer.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fapo::mcp {

// Finds the "id" member of a JSON object fed to it in pieces, without keeping the object:
// only the top level is looked at, strings and nesting are followed exactly. An id longer
// than 64 bytes is ignored (no request of ours has one).
class TopLevelIdScanner {
 public:
  void reset() { *this = TopLevelIdScanner(); }
  void feed(std::string_view bytes);
  // The id once its whole value has been seen.
  const std::optional<nlohmann::json>& id() const { return id_; }

 private:
  void feed_char(char c);
  void finish_value();

  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  bool at_key_ = false;         // the next string at the top level is a member name
  bool reading_key_ = false;    // inside that name
  bool reading_value_ = false;  // inside the value of the top-level "id"
  std::string key_;             // the last top-level member name (at most a few bytes kept)
  std::string value_;           // the id's text while it is read
  std::optional<nlohmann::json> id_;
};

class LineBuffer {
 public:
  struct Event {
    enum class Kind {
      kLine,           // a whole line, without its '\n' (and a '\r' before it)
      kTooLong,        // a line passed max_line_bytes; its bytes are being dropped
      kLongLineEnded,  // the dropped line's end arrived
    };
    Kind kind = Kind::kLine;
    std::string line;                  // kLine only
    std::optional<nlohmann::json> id;  // kTooLong, kLongLineEnded: its top-level id, if seen yet
  };

  explicit LineBuffer(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  void append(const char* data, std::size_t size);
  // The next event the bytes appended so far make, or nullopt until more arrive. An over-long
  // line yields kTooLong when it passes the limit and kLongLineEnded when it ends.
  std::optional<Event> next();

  std::size_t max_line_bytes() const { return max_line_bytes_; }

 private:
  Event too_long(std::string_view dropped);

  std::size_t max_line_bytes_;
  std::string buffer_;           // bytes read but not yet split into lines
  std::size_t scanned_ = 0;      // buffer_ holds no newline before this offset
  bool dropping_ = false;        // skipping the rest of a line that was too long
  std::optional<Event> queued_;  // an event to give before looking at the buffer again
  TopLevelIdScanner scanner_;    // follows the line being dropped
};

}  // namespace fapo::mcp
