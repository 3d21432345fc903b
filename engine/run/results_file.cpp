#include "engine/run/results_file.h"

#include <fstream>
#include <limits>

namespace fapo {

Result<ResultKey> result_key(const nlohmann::json& line) {
  if (!line.is_object()) {
    return make_error(ErrorCode::kInternal,
                      std::string("a result must be a JSON object, got ") + line.type_name());
  }
  auto case_id = line.find("case_id");
  if (case_id == line.end() || !case_id->is_string()) {
    return make_error(ErrorCode::kInternal, "a result needs a string field 'case_id'");
  }
  auto trial = line.find("trial");
  if (trial == line.end() || !trial->is_number_integer() ||
      trial->get<std::int64_t>() > std::numeric_limits<int>::max() ||
      trial->get<std::int64_t>() < std::numeric_limits<int>::min()) {
    return make_error(ErrorCode::kInternal, "a result needs an integer field 'trial'");
  }
  return ResultKey{case_id->get<std::string>(), trial->get<int>()};
}

Status for_each_result_line(const std::filesystem::path& path, std::string_view shown_as,
                            const ResultLineVisitor& visit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return ok_status();
    return make_error(ErrorCode::kIo, std::string(shown_as) + ": cannot open for reading");
  }
  std::string text;
  for (std::size_t number = 1; std::getline(in, text); ++number) {
    // getline stops at end of file without a '\n' only for an unfinished last line.
    if (in.eof()) break;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json line = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (line.is_discarded() || !line.is_object()) {
      return make_error(ErrorCode::kConflict,
                        std::string(shown_as) + ":" + std::to_string(number) +
                            ": not a JSON object; the file was damaged outside fapo");
    }
    FAPO_RETURN_IF_ERROR(visit(line, number));
  }
  if (in.bad()) return make_error(ErrorCode::kIo, std::string(shown_as) + ": read failed");
  return ok_status();
}

}  // namespace fapo
