#include "mcp_server/demo/demo_session.h"

#include <algorithm>
#include <chrono>

#include "engine/base/strings.h"

namespace fapo::demo {
namespace {

using nlohmann::json;

// Tools that wait for work on the server side answer within their own wait_seconds (at most
// 50 s); this leaves room for the rest of the call.
constexpr std::chrono::seconds kToolReplyTimeout{120};

std::string show_value(const json& value) {
  if (value.is_string()) return excerpt(value.get<std::string>(), 40);
  // A map of file names to whole texts (prompts) is shown by its names.
  if (value.is_object() && !value.empty() &&
      std::all_of(value.begin(), value.end(), [](const json& item) { return item.is_string(); })) {
    std::vector<std::string> names;
    for (const auto& [name, text] : value.items()) names.push_back(name);
    return "{" + join(names, ", ") + "}";
  }
  if (value.is_object() || value.is_array()) return excerpt(value.dump(), 60);
  return value.dump();
}

}  // namespace

std::string describe_arguments(const json& arguments, const std::vector<std::string>& shown) {
  std::vector<std::string> parts;
  for (const std::string& name : shown) {
    if (arguments.contains(name)) parts.push_back(name + "=" + show_value(arguments[name]));
  }
  return join(parts, " ");
}

DemoSession::DemoSession(std::unique_ptr<mcp::StdioClient> client, Narrator& narrator)
    : client_(std::move(client)), narrator_(narrator) {
  client_->set_notification_handler([this](const json& message) {
    if (message.value("method", "") != "notifications/progress") return;
    const json params = message.value("params", json::object());
    double done = params.value("progress", 0.0);
    double total = params.contains("total") && params["total"].is_number()
                       ? params["total"].get<double>()
                       : 0.0;
    narrator_.progress(done, total, params.value("message", ""));
  });
}

void DemoSession::set_offered_tools(std::vector<std::string> names) {
  offered_list_ = std::move(names);
  offered_ = std::set<std::string>(offered_list_.begin(), offered_list_.end());
}

Result<json> DemoSession::call(const std::string& tool, const json& arguments,
                               const std::vector<std::string>& shown) {
  if (!offers(tool)) {
    return make_error(ErrorCode::kNotFound,
                      "the server does not offer tool " + tool + " (tools/list names: " +
                          join(offered_list_, ", ") + "); a fapo built with it is needed");
  }
  narrator_.call(tool, describe_arguments(arguments, shown));
  std::string token = "demo-" + std::to_string(next_token_++);
  auto result = client_->call_tool(tool, arguments, token, kToolReplyTimeout);
  if (!result.ok()) return result.error().with_context("calling " + tool);
  if (result->is_error) {
    return make_error(ErrorCode::kInvalidInput,
                      tool + " answered with an error: " + excerpt(result->text, 600));
  }
  if (result->structured.is_object()) return result->structured;
  // A server without structured content still puts the JSON in its text.
  json parsed = json::parse(result->text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) return parsed;
  return make_error(ErrorCode::kIo, tool + " returned no structured content; its text was: " +
                                        excerpt(result->text, 200));
}

}  // namespace fapo::demo
