// fapo-test-endpoint: runs the loopback test endpoint until interrupted, for trying fapo against
// an OpenAI-compatible server without a provider account.
//   fapo-test-endpoint --port 8089 --latency uniform:20:80 --reply "Paris"
#include <signal.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "bench/endpoint/test_endpoint.h"

int main(int argc, char** argv) {
  CLI::App app{"Loopback OpenAI-compatible and Anthropic-compatible test endpoint"};
  int port = 0;
  int threads = 256;
  std::string latency_text = "0";
  std::string reply;
  std::string api_key_env;
  bool tool_loop = false;
  app.add_option("--port", port, "port on 127.0.0.1 (0: any free port)");
  app.add_option("--threads", threads, "connections served at once");
  app.add_option("--latency", latency_text, "MS, uniform:LOW:HIGH or exp:MEAN");
  app.add_option("--reply", reply, "fixed reply text (default: echo the last user message)");
  app.add_option("--api-key-env", api_key_env, "require the key held by this variable");
  app.add_flag("--tool-loop", tool_loop,
               "call the first offered tool, then answer from its result (ignores --reply)");
  CLI11_PARSE(app, argc, argv);

  auto latency = fapo::bench::parse_latency(latency_text);
  if (!latency.ok()) {
    std::fprintf(stderr, "fapo-test-endpoint: %s\n", latency.error().message.c_str());
    return 2;
  }
  fapo::bench::TestEndpointOptions options;
  options.port = port;
  options.threads = threads;
  options.latency = *latency;
  if (!reply.empty()) options.script = fapo::bench::fixed_script(reply);
  if (tool_loop) options.script = fapo::bench::tool_loop_script();
  if (!api_key_env.empty()) {
    const char* key = std::getenv(api_key_env.c_str());
    if (key == nullptr) {
      std::fprintf(stderr, "fapo-test-endpoint: %s is not set\n", api_key_env.c_str());
      return 2;
    }
    options.api_key = key;
  }

  // Block the signals before any thread starts so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto endpoint = fapo::bench::TestEndpoint::start(options);
  if (!endpoint.ok()) {
    std::fprintf(stderr, "fapo-test-endpoint: %s\n", endpoint.error().message.c_str());
    return 1;
  }
  std::printf("listening: openai %s, anthropic %s\n", (*endpoint)->openai_base_url().c_str(),
              (*endpoint)->anthropic_base_url().c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  std::printf("served %lld requests\n", static_cast<long long>((*endpoint)->requests()));
  return 0;
}
