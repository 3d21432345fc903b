// How MCP messages reach the server and how its answers leave. The dispatcher never knows
// whether it talks over stdio or HTTP: a Transport hands it incoming messages one at a time,
// each with the ReplyChannel its answers go to. Over stdio every channel writes to the same
// stdout; over HTTP each POST has its own channel, which becomes that POST's response (plain
// JSON, or an event stream when the request reports progress).
//
// Transport::receive is called from one thread (the server loop); close may be called from
// any thread. ReplyChannel methods may be called from any thread, including concurrently for
// different requests.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace fapo::mcp {

class ReplyChannel {
 public:
  virtual ~ReplyChannel() = default;
  // A message that belongs to the request but is not its answer (progress notifications).
  virtual void notify(const nlohmann::json& message) = 0;
  // The request's answer, called once per request and last. nullopt when there is nothing to
  // send (the client cancelled the request, or the message was a notification).
  virtual void finish(std::optional<nlohmann::json> message) = 0;
};

struct IncomingMessage {
  std::string text;  // one JSON-RPC message, not yet decoded
  std::shared_ptr<ReplyChannel> reply;
  // The MCP session the message belongs to; "" for stdio, which has exactly one session.
  std::string session_id;
  // Set (with empty text) when the client ended the session: in-flight work is cancelled.
  bool session_ended = false;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Blocks until the next message arrives; nullopt once the peer is gone (EOF on stdin) or
  // close() was called.
  virtual std::optional<IncomingMessage> receive() = 0;
  // Stops receiving: a blocked receive() returns nullopt. Idempotent.
  virtual void close() = 0;
};

}  // namespace fapo::mcp
