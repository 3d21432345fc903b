#include "engine/base/diagnostic.h"

namespace fapo {

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (!out.empty()) out += ": ";
  if (!field.empty()) out += "field '" + field + "': ";
  out += message;
  return out;
}

Error diagnostics_error(const Diagnostics& diagnostics) {
  std::string message;
  for (const Diagnostic& diagnostic : diagnostics) {
    if (!message.empty()) message += "\n";
    message += diagnostic.to_string();
  }
  return make_error(ErrorCode::kInvalidInput, message);
}

}  // namespace fapo
