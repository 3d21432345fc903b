#include "mcp_server/prompts/prompts.h"

#include <doctest/doctest.h>

#include "tests/mcp_server/mcp_test_support.h"
#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::ToolFixture;

TEST_CASE("offers optimize and new_tenant with their arguments") {
  const auto& prompts = builtin_prompts();
  REQUIRE(prompts.size() == 2);
  CHECK(prompts[0].name == "optimize");
  CHECK(prompts[0].arguments.at(0).name == "tenant_id");
  CHECK(prompts[1].name == "new_tenant");
}

TEST_CASE("optimize names every tool of the loop and the tenant's facts") {
  ToolFixture f;
  auto prompt = render_prompt(f.context(), "optimize", {{"tenant_id", "multihop_qa"}});
  REQUIRE(prompt.ok());
  const std::string& text = prompt->text;
  CHECK(text.find("Optimise the pipeline of fapo tenant 'multihop_qa'") == 0);
  CHECK(text.find("success target 85 on composite_score") != std::string::npos);
  CHECK(text.find("acceptance 3 trials") != std::string::npos);
  CHECK(text.find("SIMULATED") != std::string::npos);
  for (const char* tool : {"evaluate", "get_run", "attribute", "propose_variant", "review_variant",
                           "compare", "record_note", "history", "final_test", "budget"}) {
    CHECK_MESSAGE(text.find(tool) != std::string::npos, tool);
  }
  CHECK(text.find("variant_dir") == std::string::npos);
  CHECK(text.find("then structural (") != std::string::npos);
}

TEST_CASE("optimize refuses an unknown tenant; unknown prompts and arguments are errors") {
  ToolFixture f;
  auto tenant = render_prompt(f.context(), "optimize", {{"tenant_id", "nope"}});
  REQUIRE_FALSE(tenant.ok());
  CHECK(tenant.error().code == ErrorCode::kInvalidInput);
  CHECK(tenant.error().message.find("unknown tenant 'nope'") == 0);
  auto prompt = render_prompt(f.context(), "optimise", {});
  REQUIRE_FALSE(prompt.ok());
  CHECK(prompt.error().code == ErrorCode::kNotFound);
  auto argument = render_prompt(f.context(), "new_tenant", {{"tenant", "x"}});
  REQUIRE_FALSE(argument.ok());
  CHECK(argument.error().message.find("has no argument 'tenant'") != std::string::npos);
}

TEST_CASE("new_tenant carries the caller's task and dataset as sanitised text") {
  ToolFixture f;
  auto prompt = render_prompt(f.context(), "new_tenant",
                              {{"task", "Classify\u200b tickets\x1b[31m"}, {"dataset", "data.csv"}});
  REQUIRE(prompt.ok());
  CHECK(prompt->text.find("Task: Classify tickets\nDataset: data.csv\nWorkspace: ") == 0);
  CHECK(prompt->text.find("fapo --workspace WORKSPACE init TENANT_ID") != std::string::npos);
  CHECK(prompt->text.find("validate_tenant") != std::string::npos);
  auto bare = render_prompt(f.context(), "new_tenant", {});
  REQUIRE(bare.ok());
  CHECK(bare->text.find("Task: (not given: ask the user)") == 0);
}

TEST_CASE("prompts/list and prompts/get answer in the protocol's shape") {
  ToolFixture f;
  auto table = ToolTable::make({}, {});
  REQUIRE(table.ok());
  DispatcherOptions options;
  options.identity = ServerIdentity{"fapo", "test", ""};
  Dispatcher dispatcher(*table, f.context(), options);
  install_prompt_methods(dispatcher, f.context());
  auto call = [&](json message) {
    auto channel = std::make_shared<testing::RecordingChannel>();
    dispatcher.handle(IncomingMessage{message.dump(), channel, "", false});
    REQUIRE(channel->wait_finishes());
    return channel->events().back().message;
  };
  call(testing::request(0, "initialize", testing::initialize_params()));
  const json list = call(testing::request(1, "prompts/list"));
  CHECK(list["result"]["prompts"][0]["name"] == "optimize");
  CHECK(list["result"]["prompts"][0]["arguments"][0]["required"] == false);
  const json get = call(testing::request(2, "prompts/get", {{"name", "new_tenant"}}));
  CHECK(get["result"]["messages"][0]["role"] == "user");
  CHECK(get["result"]["messages"][0]["content"]["type"] == "text");
  const json wrong = call(testing::request(3, "prompts/get",
                                           {{"name", "optimize"}, {"arguments", {{"tenant_id", 3}}}}));
  CHECK(wrong["error"]["code"] == kInvalidParams);
}

}  // namespace
}  // namespace fapo::mcp
