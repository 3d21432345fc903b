#include "mcp_server/client/line_buffer.h"

#include <utility>

namespace fapo::mcp {
namespace {

constexpr std::size_t kLongestKey = 8;  // enough to tell "id" from other names
constexpr std::size_t kLongestId = 64;  // our ids are integers; longer values are not ours

}  // namespace

void TopLevelIdScanner::feed(std::string_view bytes) {
  for (char c : bytes) feed_char(c);
}

void TopLevelIdScanner::feed_char(char c) {
  if (reading_value_) {
    // The terminators of a top-level value are not part of it; all else is.
    bool ends = !in_string_ && depth_ == 1 && (c == ',' || c == '}');
    if (!ends) value_.push_back(c);
    if (value_.size() > kLongestId) reading_value_ = false;
  }
  if (in_string_) {
    if (escaped_) {
      escaped_ = false;
    } else if (c == '\\') {
      escaped_ = true;
    } else if (c == '"') {
      in_string_ = false;
      reading_key_ = false;
    } else if (reading_key_ && key_.size() <= kLongestKey) {
      key_.push_back(c);
    }
    return;
  }
  switch (c) {
    case '"':
      in_string_ = true;
      if (depth_ == 1 && at_key_) {
        at_key_ = false;
        reading_key_ = true;
        key_.clear();
      }
      return;
    case '{':
    case '[':
      ++depth_;
      if (depth_ == 1) at_key_ = c == '{';
      return;
    case '}':
    case ']':
      if (depth_ == 1) finish_value();
      if (depth_ > 0) --depth_;
      return;
    case ':':
      if (depth_ == 1 && key_ == "id" && !id_) {
        reading_value_ = true;
        value_.clear();
      }
      return;
    case ',':
      if (depth_ == 1) {
        finish_value();
        at_key_ = true;
      }
      return;
    default:
      return;
  }
}

void TopLevelIdScanner::finish_value() {
  if (!reading_value_) return;
  reading_value_ = false;
  nlohmann::json value = nlohmann::json::parse(value_, nullptr, /*allow_exceptions=*/false);
  if (value.is_number_integer() || value.is_string()) id_ = std::move(value);
}

void LineBuffer::append(const char* data, std::size_t size) { buffer_.append(data, size); }

LineBuffer::Event LineBuffer::too_long(std::string_view dropped) {
  scanner_.reset();
  scanner_.feed(dropped);
  return Event{Event::Kind::kTooLong, "", scanner_.id()};
}

std::optional<LineBuffer::Event> LineBuffer::next() {
  if (queued_) return std::exchange(queued_, std::nullopt);
  if (dropping_) {
    std::size_t end = buffer_.find('\n');
    scanner_.feed(std::string_view(buffer_).substr(0, end));
    if (end == std::string::npos) {
      buffer_.clear();
      return std::nullopt;
    }
    buffer_.erase(0, end + 1);
    scanned_ = 0;
    dropping_ = false;
    return Event{Event::Kind::kLongLineEnded, "", scanner_.id()};
  }
  if (std::size_t end = buffer_.find('\n', scanned_); end != std::string::npos) {
    scanned_ = 0;
    if (end > max_line_bytes_) {
      Event event = too_long(std::string_view(buffer_).substr(0, end));
      buffer_.erase(0, end + 1);
      queued_ = Event{Event::Kind::kLongLineEnded, "", event.id};
      return event;
    }
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return Event{Event::Kind::kLine, std::move(line), std::nullopt};
  }
  scanned_ = buffer_.size();
  if (buffer_.size() <= max_line_bytes_) return std::nullopt;
  // The rest of the line is dropped as it arrives, so the next line read is whole.
  Event event = too_long(buffer_);
  buffer_.clear();
  scanned_ = 0;
  dropping_ = true;
  return event;
}

}  // namespace fapo::mcp
