#include "engine/score/child_process.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>

#include "tests/test_support.h"

namespace fapo {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::unique_ptr<LineProcess> start_shell(const std::string& script) {
  auto process =
      LineProcess::start({"/bin/sh", "-c", script}, std::filesystem::temp_directory_path(), {});
  REQUIRE_MESSAGE(process.ok(), (process.ok() ? "" : process.error().message));
  return std::move(process).value();
}

bool is_reaped(pid_t pid) {
  errno = 0;
  bool no_child = ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
  errno = 0;
  bool gone = ::kill(pid, 0) == -1 && errno == ESRCH;
  return no_child && gone;
}

TEST_CASE("a multi-megabyte line passes through a child that echoes while it reads") {
  // cat writes its output while its input is still arriving: without reading and writing in
  // one loop both pipes would fill and the exchange would never end.
  auto process = start_shell("exec cat");
  std::string big(4 * 1024 * 1024, 'x');
  big[1000] = 'y';
  LineProcess::Reply reply = process->exchange(big, seconds(60));
  REQUIRE(reply.outcome == LineProcess::Outcome::kLine);
  CHECK(reply.line == big);
  CHECK(process->exchange("second", seconds(10)).line == "second");
  CHECK(process->lines_read() == 2);
}

TEST_CASE("a child writing a lot to stderr does not block, and the tail is kept") {
  auto process = start_shell(
      "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo \"noise line $i\" >&2; done;"
      " read request; echo \"got $request\"");
  LineProcess::Reply reply = process->exchange("hello", seconds(60));
  REQUIRE(reply.outcome == LineProcess::Outcome::kLine);
  CHECK(reply.line == "got hello");
  CHECK(process->stderr_tail(2) ==
        std::vector<std::string>{"noise line 19999", "noise line 20000"});
}

TEST_CASE("an exited child is reported with its exit status and reaped") {
  auto process = start_shell("read request; echo 'dying' >&2; exit 7");
  pid_t pid = process->pid();
  LineProcess::Reply reply = process->exchange("x", seconds(10));
  CHECK(reply.outcome == LineProcess::Outcome::kExited);
  CHECK(process->stop(seconds(5)) == "exited with status 7");
  CHECK(process->stderr_tail(5) == std::vector<std::string>{"dying"});
  CHECK(is_reaped(pid));
}

TEST_CASE("a child killed by a signal is described by the signal") {
  auto process = start_shell("read request; kill -SEGV $$");
  CHECK(process->exchange("x", seconds(10)).outcome == LineProcess::Outcome::kExited);
  CHECK(process->stop(seconds(5)).find("was killed by signal 11") == 0);
}

TEST_CASE("a silent child times out and stop kills and reaps it") {
  auto process = start_shell("exec sleep 600");
  pid_t pid = process->pid();
  CHECK(process->exchange("x", milliseconds(100)).outcome == LineProcess::Outcome::kTimeout);
  CHECK(process->stop(milliseconds(0)).find("was killed by signal 9") == 0);
  CHECK(is_reaped(pid));
}

TEST_CASE("the destructor of a running child leaves no process behind") {
  pid_t pid = -1;
  {
    auto process = start_shell("while read line; do echo \"$line\"; done");
    pid = process->pid();
    CHECK(process->exchange("ping", seconds(10)).line == "ping");
  }
  CHECK(is_reaped(pid));
}

TEST_CASE("a second line printed for one request is reported as stray output") {
  // printf writes both lines at once, so the second is waiting when the next request starts.
  auto process = start_shell("read request; printf 'first\\nsecond\\n'; read next; echo third");
  LineProcess::Reply first = process->exchange("one", seconds(10));
  REQUIRE(first.outcome == LineProcess::Outcome::kLine);
  CHECK(first.line == "first");
  CHECK(process->reusable());
  LineProcess::Reply second = process->exchange("two", seconds(10));
  CHECK(second.outcome == LineProcess::Outcome::kStrayOutput);
  CHECK(second.line == "second");
  CHECK_FALSE(process->reusable());
}

TEST_CASE("starting a file that is not executable fails with the reason") {
  testing::TempDir dir;
  testing::write_text(dir.path() / "plain.txt", "not a program\n");
  auto process = LineProcess::start({(dir.path() / "plain.txt").string()}, dir.path(), {});
  REQUIRE_FALSE(process.ok());
  CHECK(process.error().code == ErrorCode::kScorer);
  CHECK(process.error().message.find("ermission denied") != std::string::npos);
}

TEST_CASE("extra environment entries reach the child") {
  testing::TempDir dir;
  auto process = LineProcess::start({"/bin/sh", "-c", "read x; echo \"$FAPO_TEST_VALUE\""},
                                    dir.path(), {"FAPO_TEST_VALUE=forty two"});
  REQUIRE(process.ok());
  CHECK((*process)->exchange("go", seconds(10)).line == "forty two");
}

}  // namespace
}  // namespace fapo
