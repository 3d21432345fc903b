#include "mcp_server/transport/stdio_transport.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace fapo::mcp {
namespace {

using nlohmann::json;

// Two pipes standing in for the process's stdin and stdout.
struct Pipes {
  int in[2];
  int out[2];
  Pipes() {
    ::signal(SIGPIPE, SIG_IGN);
    REQUIRE(::pipe(in) == 0);
    REQUIRE(::pipe(out) == 0);
  }
  ~Pipes() {
    for (int fd : {in[0], in[1], out[0], out[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }
  void write_input(const std::string& text) {
    REQUIRE(::write(in[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  void close_input() {
    ::close(in[1]);
    in[1] = -1;
  }
  void close_output_writer() {
    ::close(out[1]);
    out[1] = -1;
  }
  // Reads until the writer side is closed (by close_output_writer from another thread).
  std::string read_output_to_end_concurrently() {
    std::string all;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(out[0], buffer, sizeof buffer)) > 0) all.append(buffer, n);
    return all;
  }
  // Everything written so far, closing the writer side first.
  std::string read_output_to_end() {
    close_output_writer();
    return read_output_to_end_concurrently();
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  CHECK(start == text.size());  // every line ends with a newline
  return lines;
}

TEST_CASE("reads one message per line, skipping blank lines and trailing CR") {
  Pipes pipes;
  StdioTransport transport(pipes.in[0], pipes.out[1], 1024);
  pipes.write_input("{\"a\":1}\n\n   \n{\"b\":2}\r\n{\"c\":3}");
  pipes.close_input();
  auto first = transport.receive();
  REQUIRE(first.has_value());
  CHECK(first->text == "{\"a\":1}");
  CHECK(first->session_id.empty());
  CHECK(transport.receive()->text == "{\"b\":2}");
  CHECK(transport.receive()->text == "{\"c\":3}");  // last line without a newline still counts
  CHECK_FALSE(transport.receive().has_value());
}

TEST_CASE("an oversized line is answered with an error and skipped, and reading goes on") {
  Pipes pipes;
  {
    StdioTransport transport(pipes.in[0], pipes.out[1], 32);
    // More than a pipe holds, so it is written while the transport reads.
    std::thread writer([&] {
      pipes.write_input(std::string(100000, 'x') + "\n{\"ok\":true}\n");
      pipes.close_input();
    });
    auto message = transport.receive();
    writer.join();
    REQUIRE(message.has_value());
    CHECK(message->text == "{\"ok\":true}");
    CHECK_FALSE(transport.receive().has_value());
  }
  const auto lines = lines_of(pipes.read_output_to_end());
  REQUIRE(lines.size() == 1);
  const json error = json::parse(lines[0]);
  CHECK(error["error"]["code"] == -32600);
  CHECK(error["error"]["message"].get<std::string>().find("limit of 32 bytes") !=
        std::string::npos);
}

TEST_CASE("replies from many threads come out as whole lines") {
  Pipes pipes;
  std::string output;
  std::thread reader([&] { output = pipes.read_output_to_end_concurrently(); });
  {
    StdioTransport transport(pipes.in[0], pipes.out[1], 1024);
    pipes.write_input("{}\n");
    auto channel = transport.receive()->reply;
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([channel, t] {
        for (int i = 0; i < 50; ++i) {
          channel->notify(json{{"thread", t}, {"i", i}, {"pad", std::string(2000, 'p')}});
        }
      });
    }
    for (auto& writer : writers) writer.join();
  }
  pipes.close_output_writer();
  reader.join();
  const auto lines = lines_of(output);
  CHECK(lines.size() == 200);
  for (const std::string& line : lines) {
    CHECK_FALSE(json::parse(line, nullptr, false).is_discarded());
  }
}

TEST_CASE("close() unblocks a waiting receive") {
  Pipes pipes;
  StdioTransport transport(pipes.in[0], pipes.out[1], 1024);
  std::optional<IncomingMessage> received{IncomingMessage{}};
  std::thread reader([&] { received = transport.receive(); });
  transport.close();
  reader.join();
  CHECK_FALSE(received.has_value());
}

TEST_CASE("once the client stops reading, output is dropped and receiving stops") {
  Pipes pipes;
  StdioTransport transport(pipes.in[0], pipes.out[1], 1024);
  ::close(pipes.out[0]);
  pipes.out[0] = -1;
  pipes.write_input("{\"first\":1}\n{\"second\":2}\n");
  auto first = transport.receive();
  REQUIRE(first.has_value());
  first->reply->finish(json{{"reply", 1}});  // EPIPE: marks the output broken
  CHECK_FALSE(transport.receive().has_value());
}

}  // namespace
}  // namespace fapo::mcp
