#include "tests/test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace fapo::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device device;
  path_ = std::filesystem::temp_directory_path() /
          ("fapo-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
           std::to_string(device()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path source_dir() { return FAPO_SOURCE_DIR; }
std::filesystem::path fapo_binary() { return FAPO_BINARY; }

void write_text(const std::filesystem::path& path, const std::string& content) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out << content;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

pid_t spawn_process(const std::vector<std::string>& argv, const std::filesystem::path& out,
                    const std::filesystem::path& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return pid;
}

ProcessResult run_process(const std::vector<std::string>& argv) {
  TempDir scratch;
  auto out = scratch.path() / "out";
  auto err = scratch.path() / "err";
  pid_t pid = spawn_process(argv, out, err);
  int status = 0;
  waitpid(pid, &status, 0);
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(out);
  result.err = read_text(err);
  return result;
}

void copy_tenant(const std::string& name, const std::filesystem::path& workspace) {
  std::filesystem::create_directories(workspace / "tenants");
  std::filesystem::copy(source_dir() / "tenants" / name, workspace / "tenants" / name,
                        std::filesystem::copy_options::recursive);
}

int count_entries(const std::string& dir_path) {
  int count = 0;
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return -1;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

std::string read_proc_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buffer[1024];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

std::ostream& operator<<(std::ostream& out, const Census& census) {
  return out << "{fds " << census.open_fds << ", threads " << census.threads << ", children "
             << census.children << ", zombies " << census.zombies << "}";
}

Census take_census(pid_t pid) {
  const bool self = pid == 0 || pid == ::getpid();
  if (self) pid = ::getpid();
  const std::string dir = "/proc/" + std::to_string(pid);
  Census census;
  // Listing our own fds opens one more: the one reading the listing.
  census.open_fds = count_entries(dir + "/fd") - (self ? 1 : 0);
  census.threads = count_entries(dir + "/task");
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return census;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::string stat = read_proc_file(std::string("/proc/") + entry->d_name + "/stat");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    std::size_t end = stat.rfind(')');
    if (end == std::string::npos) continue;
    std::istringstream rest(stat.substr(end + 1));
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid != pid) continue;
    ++census.children;
    if (state == 'Z') ++census.zombies;
  }
  ::closedir(proc);
  return census;
}

}  // namespace fapo::testing
