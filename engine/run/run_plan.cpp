#include "engine/run/run_plan.h"

namespace fapo {
namespace {

using nlohmann::json;

// Plans on disk carry a version so a later format change can read old runs.
constexpr int kPlanFormatVersion = 1;

Error field_error(std::string_view source, const char* field, const char* want, const json& got) {
  return make_error(ErrorCode::kInvalidInput, std::string(source) + ": field '" + field +
                                                  "' must be " + want + ", got " + got.type_name());
}

Error missing_field(std::string_view source, const char* field) {
  return make_error(ErrorCode::kInvalidInput,
                    std::string(source) + ": missing field '" + field + "'");
}

Status read_string(const json& object, const char* field, std::string_view source,
                   std::string& out) {
  auto it = object.find(field);
  if (it == object.end()) return missing_field(source, field);
  if (!it->is_string()) return field_error(source, field, "a string", *it);
  out = it->get<std::string>();
  return ok_status();
}

Status read_case_ids(const json& object, std::string_view source, std::vector<std::string>& out) {
  auto it = object.find("case_ids");
  if (it == object.end()) return missing_field(source, "case_ids");
  if (!it->is_array()) return field_error(source, "case_ids", "an array of strings", *it);
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& id = (*it)[i];
    if (!id.is_string()) {
      return make_error(ErrorCode::kInvalidInput, std::string(source) + ": field 'case_ids[" +
                                                      std::to_string(i) +
                                                      "]' must be a string, got " + id.type_name());
    }
    out.push_back(id.get<std::string>());
  }
  return ok_status();
}

}  // namespace

json to_json(const RunPlan& plan) {
  return json{{"format_version", kPlanFormatVersion},
              {"run_id", plan.run_id},
              {"tenant_id", plan.tenant_id},
              {"variant_id", plan.variant_id},
              {"split", plan.split},
              {"trials", plan.trials},
              {"case_ids", plan.case_ids},
              {"settings", plan.settings},
              {"created_at", plan.created_at}};
}

Result<RunPlan> run_plan_from_json(const json& object, std::string_view source) {
  if (!object.is_object()) {
    return make_error(ErrorCode::kInvalidInput,
                      std::string(source) + ": must be a JSON object, got " + object.type_name());
  }
  auto version = object.find("format_version");
  if (version != object.end() && *version != kPlanFormatVersion) {
    return make_error(ErrorCode::kInvalidInput, std::string(source) + ": format_version " +
                                                    version->dump() +
                                                    " is not supported (this build reads version " +
                                                    std::to_string(kPlanFormatVersion) + ")");
  }
  RunPlan plan;
  FAPO_RETURN_IF_ERROR(read_string(object, "run_id", source, plan.run_id));
  FAPO_RETURN_IF_ERROR(read_string(object, "tenant_id", source, plan.tenant_id));
  FAPO_RETURN_IF_ERROR(read_string(object, "variant_id", source, plan.variant_id));
  FAPO_RETURN_IF_ERROR(read_string(object, "split", source, plan.split));
  FAPO_RETURN_IF_ERROR(read_string(object, "created_at", source, plan.created_at));
  auto trials = object.find("trials");
  if (trials == object.end()) return missing_field(source, "trials");
  if (!trials->is_number_integer()) return field_error(source, "trials", "an integer", *trials);
  plan.trials = trials->get<int>();
  FAPO_RETURN_IF_ERROR(read_case_ids(object, source, plan.case_ids));
  auto settings = object.find("settings");
  if (settings != object.end()) plan.settings = *settings;
  return plan;
}

}  // namespace fapo
