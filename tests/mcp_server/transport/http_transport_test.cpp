#include "mcp_server/transport/http_transport.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "tests/mcp_server/mcp_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::make_tool;
using testing::request;

// A dispatcher behind a real HTTP transport on a free loopback port, served by a thread that
// runs the same loop as the server's main.
class HttpServer {
 public:
  explicit HttpServer(std::optional<std::string> token = std::nullopt,
                      std::size_t max_body = 64 * 1024, SessionLimits sessions = {},
                      SessionTable::ClockFunction clock = {}) {
    specs_.push_back(make_tool("echo", [](const json& arguments, ToolContext& context) {
      context.progress.report(1, 2, "halfway");
      return ToolResult::success(json{{"echo", arguments}}, "echoed");
    }));
    auto table = ToolTable::make(specs_, testing::schemas_for(specs_));
    REQUIRE(table.ok());
    table_ = std::make_unique<ToolTable>(std::move(table).value());
    DispatcherOptions options;
    options.identity = ServerIdentity{"fapo", "test", ""};
    dispatcher_ = std::make_unique<Dispatcher>(*table_, context_, options);
    HttpTransportOptions http;
    http.bearer_token = std::move(token);
    http.max_body_bytes = max_body;
    http.sessions = sessions;
    http.clock = std::move(clock);
    auto transport = HttpTransport::start(http);
    REQUIRE_MESSAGE(transport.ok(), (transport.ok() ? "" : transport.error().message));
    transport_ = std::move(transport).value();
    loop_ = std::thread([this] {
      while (auto message = transport_->receive()) dispatcher_->handle(*message);
    });
  }
  ~HttpServer() {
    transport_->close();
    loop_.join();
  }

  std::uint16_t port() const { return transport_->port(); }
  std::string host_header() const { return "127.0.0.1:" + std::to_string(port()); }

  httplib::Result post(const std::string& body, httplib::Headers extra = {},
                       const std::string& content_type = "application/json") {
    httplib::Client client("127.0.0.1", port());
    httplib::Headers headers{{"Accept", "application/json, text/event-stream"}};
    for (auto& [name, value] : extra) {
      headers.erase(name);
      headers.emplace(name, value);
    }
    return client.Post("/mcp", headers, body, content_type.c_str());
  }

  // Initializes a session and returns its id.
  std::string open_session() {
    auto res = post(request(0, "initialize", testing::initialize_params()).dump());
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const std::string session = res->get_header_value("Mcp-Session-Id");
    REQUIRE_FALSE(session.empty());
    return session;
  }

 private:
  fapo::testing::TempDir workspace_;
  ServerContext context_{workspace_.path()};
  std::vector<ToolSpec> specs_;
  std::unique_ptr<ToolTable> table_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<HttpTransport> transport_;
  std::thread loop_;
};

TEST_CASE("initialize returns JSON and a session id; later requests use the session") {
  HttpServer server;
  auto init =
      server.post(request(1, "initialize", testing::initialize_params("2025-06-18")).dump());
  REQUIRE(init);
  CHECK(init->status == 200);
  CHECK(init->get_header_value("Content-Type") == "application/json");
  CHECK(json::parse(init->body)["result"]["protocolVersion"] == "2025-06-18");
  const std::string session = init->get_header_value("Mcp-Session-Id");
  REQUIRE(session.size() >= 16);

  auto listed = server.post(request(2, "tools/list").dump(),
                            {{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "2025-06-18"}});
  REQUIRE(listed);
  CHECK(listed->status == 200);
  CHECK(json::parse(listed->body)["result"]["tools"][0]["name"] == "echo");
}

TEST_CASE("a request without a session is 400 and with an unknown session 404") {
  HttpServer server;
  auto missing = server.post(request(1, "ping").dump());
  REQUIRE(missing);
  CHECK(missing->status == 400);
  auto unknown = server.post(request(1, "ping").dump(), {{"Mcp-Session-Id", "not-a-session"}});
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
}

TEST_CASE("notifications are accepted with 202 and no body") {
  HttpServer server;
  const std::string session = server.open_session();
  auto res = server.post(testing::notification("notifications/initialized").dump(),
                         {{"Mcp-Session-Id", session}});
  REQUIRE(res);
  CHECK(res->status == 202);
  CHECK(res->body.empty());
}

TEST_CASE("a foreign Host or Origin is refused with 403 (DNS rebinding)") {
  HttpServer server;
  const std::string body = request(1, "initialize", testing::initialize_params()).dump();
  auto host = server.post(body, {{"Host", "evil.example:" + std::to_string(server.port())}});
  REQUIRE(host);
  CHECK(host->status == 403);
  auto origin = server.post(body, {{"Origin", "http://evil.example"}});
  REQUIRE(origin);
  CHECK(origin->status == 403);
  auto local_origin = server.post(body, {{"Origin", "http://localhost:6274"}});
  REQUIRE(local_origin);
  CHECK(local_origin->status == 200);
}

TEST_CASE("wrong method, content type, Accept and protocol version get their status codes") {
  HttpServer server;
  httplib::Client client("127.0.0.1", server.port());
  auto get = client.Get("/mcp");
  REQUIRE(get);
  CHECK(get->status == 405);
  CHECK(get->get_header_value("Allow") == "POST, DELETE");

  const std::string body = request(1, "initialize", testing::initialize_params()).dump();
  auto text = server.post(body, {}, "text/plain");
  REQUIRE(text);
  CHECK(text->status == 415);
  auto accept = server.post(body, {{"Accept", "application/json"}});
  REQUIRE(accept);
  CHECK(accept->status == 406);
  auto version = server.post(body, {{"MCP-Protocol-Version", "1999-01-01"}});
  REQUIRE(version);
  CHECK(version->status == 400);
  CHECK(json::parse(version->body)["error"]["message"].get<std::string>().find("1999-01-01") !=
        std::string::npos);
  auto other_path = client.Post("/other", body, "application/json");
  REQUIRE(other_path);
  CHECK(other_path->status == 404);
}

TEST_CASE("malformed JSON and batches are 400 with a JSON-RPC error body") {
  HttpServer server;
  auto garbage = server.post("{nope");
  REQUIRE(garbage);
  CHECK(garbage->status == 400);
  CHECK(json::parse(garbage->body)["error"]["code"] == kParseError);
  auto batch = server.post(json::array({request(1, "ping")}).dump());
  REQUIRE(batch);
  CHECK(batch->status == 400);
  CHECK(json::parse(batch->body)["error"]["code"] == kInvalidRequest);
}

TEST_CASE("a body over the limit is 413") {
  HttpServer server(std::nullopt, 1024);
  auto res = server.post(request(1, "initialize", {{"pad", std::string(4096, 'x')}}).dump());
  REQUIRE(res);
  CHECK(res->status == 413);
}

TEST_CASE("a chunked body over the limit is 413 too") {
  HttpServer server(std::nullopt, 1024);
  httplib::Client client("127.0.0.1", server.port());
  const std::string chunk(512, ' ');
  auto res = client.Post(
      "/mcp", httplib::Headers{{"Accept", "application/json, text/event-stream"}},
      [&](std::size_t offset, httplib::DataSink& sink) {
        if (offset >= 8 * 1024) {
          sink.done();
        } else {
          sink.write(chunk.data(), chunk.size());
        }
        return true;
      },
      "application/json");
  REQUIRE(res);
  CHECK(res->status == 413);
}

TEST_CASE("a request with a progress token is answered as an event stream, reply last") {
  HttpServer server;
  const std::string session = server.open_session();
  auto res = server.post(
      request(5, "tools/call", {{"name", "echo"}, {"_meta", {{"progressToken", 11}}}}).dump(),
      {{"Mcp-Session-Id", session}});
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/event-stream");
  std::vector<json> events;
  std::size_t pos = 0;
  while ((pos = res->body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = res->body.find('\n', pos);
    events.push_back(json::parse(res->body.substr(pos + 6, end - pos - 6)));
    pos = end;
  }
  REQUIRE(events.size() == 2);
  CHECK(events[0]["method"] == "notifications/progress");
  CHECK(events[0]["params"]["progressToken"] == 11);
  CHECK(events[1]["id"] == 5);
  CHECK(events[1]["result"]["isError"] == false);
}

TEST_CASE("DELETE ends a session; the session is then unknown") {
  HttpServer server;
  const std::string session = server.open_session();
  httplib::Client client("127.0.0.1", server.port());
  auto deleted = client.Delete("/mcp", httplib::Headers{{"Mcp-Session-Id", session}});
  REQUIRE(deleted);
  CHECK(deleted->status == 200);
  auto after = server.post(request(1, "ping").dump(), {{"Mcp-Session-Id", session}});
  REQUIRE(after);
  CHECK(after->status == 404);
}

TEST_CASE("with a token, requests without it are 401 and with it succeed") {
  HttpServer server(std::string("tok-123"));
  const std::string body = request(1, "initialize", testing::initialize_params()).dump();
  auto without = server.post(body);
  REQUIRE(without);
  CHECK(without->status == 401);
  CHECK(without->get_header_value("WWW-Authenticate") == "Bearer");
  auto wrong = server.post(body, {{"Authorization", "Bearer tok-124"}});
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  auto right = server.post(body, {{"Authorization", "Bearer tok-123"}});
  REQUIRE(right);
  CHECK(right->status == 200);
}

TEST_CASE("listening beyond loopback without a token is refused") {
  HttpTransportOptions options;
  options.address = ListenAddress{"0.0.0.0", 0};
  auto transport = HttpTransport::start(options);
  REQUIRE_FALSE(transport.ok());
  CHECK(transport.error().code == ErrorCode::kInvalidInput);
  CHECK(transport.error().message.find("bearer token") != std::string::npos);
}

TEST_CASE("a session idle past the timeout expires and its requests get 404") {
  std::atomic<std::int64_t> now_s{1000};
  auto clock = [&] { return SessionTable::Clock::time_point(std::chrono::seconds(now_s.load())); };
  HttpServer server(std::nullopt, 64 * 1024, SessionLimits{8, std::chrono::seconds(600)}, clock);
  const std::string session = server.open_session();
  now_s += 599;
  auto used = server.post(request(1, "ping").dump(), {{"Mcp-Session-Id", session}});
  REQUIRE(used);
  CHECK(used->status == 200);  // use restarts the idle time

  now_s += 600;
  auto expired = server.post(request(2, "ping").dump(), {{"Mcp-Session-Id", session}});
  REQUIRE(expired);
  CHECK(expired->status == 404);
  CHECK(expired->body.find("expired") != std::string::npos);
  const std::string fresh = server.open_session();
  auto works = server.post(request(3, "ping").dump(), {{"Mcp-Session-Id", fresh}});
  REQUIRE(works);
  CHECK(works->status == 200);
}

TEST_CASE("a new session beyond the limit ends the session idle the longest") {
  std::atomic<std::int64_t> now_s{1000};
  auto clock = [&] { return SessionTable::Clock::time_point(std::chrono::seconds(now_s.load())); };
  HttpServer server(std::nullopt, 64 * 1024, SessionLimits{2, std::chrono::hours(1)}, clock);
  const std::string first = server.open_session();
  ++now_s;
  const std::string second = server.open_session();
  ++now_s;
  REQUIRE(server.post(request(1, "ping").dump(), {{"Mcp-Session-Id", first}})->status == 200);
  ++now_s;
  const std::string third = server.open_session();  // `second` is now idle the longest

  CHECK(server.post(request(2, "ping").dump(), {{"Mcp-Session-Id", second}})->status == 404);
  CHECK(server.post(request(3, "ping").dump(), {{"Mcp-Session-Id", first}})->status == 200);
  CHECK(server.post(request(4, "ping").dump(), {{"Mcp-Session-Id", third}})->status == 200);
}

}  // namespace
}  // namespace fapo::mcp
