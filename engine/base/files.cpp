#include "engine/base/files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace fapo {
namespace {

Error io_error(const fs::path& path, const std::string& what) {
  return make_error(ErrorCode::kIo, path.string() + ": " + what + ": " + std::strerror(errno));
}

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "write failed");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

}  // namespace

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(fs::exists(path) ? ErrorCode::kIo : ErrorCode::kNotFound,
                      path.string() + ": cannot open file");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Status write_file_atomic(const fs::path& path, std::string_view content) {
  static std::atomic<unsigned> counter{0};
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(tmp, "cannot create");
  Status written = write_all(fd, content, tmp);
  if (written.ok() && ::fsync(fd) != 0) written = io_error(tmp, "fsync failed");
  ::close(fd);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = io_error(path, "rename failed");
    ::unlink(tmp.c_str());
    return error;
  }
  return ok_status();
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

AppendFile::AppendFile(AppendFile&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

AppendFile& AppendFile::operator=(AppendFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

Result<AppendFile> AppendFile::open(const fs::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(path, "cannot open for append");
  AppendFile file;
  file.fd_ = fd;
  file.path_ = path;
  return file;
}

Status AppendFile::append_line(std::string_view line) {
  assert(fd_ >= 0);
  std::string buffer;
  buffer.reserve(line.size() + 1);
  buffer.append(line);
  buffer.push_back('\n');
  return write_all(fd_, buffer, path_);
}

Status AppendFile::sync() {
  if (fd_ >= 0 && ::fsync(fd_) != 0) return io_error(path_, "fsync failed");
  return ok_status();
}

Result<std::size_t> drop_partial_last_line(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIo, path.string() + ": " + ec.message());
  if (size == 0) return std::size_t{0};
  std::ifstream in(path, std::ios::binary);
  // Scan backwards in blocks for the last newline.
  std::uintmax_t end = size;
  std::uintmax_t keep = 0;
  bool found = false;
  std::string block;
  while (end > 0 && !found) {
    std::uintmax_t start = end > 4096 ? end - 4096 : 0;
    block.resize(end - start);
    in.seekg(static_cast<std::streamoff>(start));
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    for (std::size_t i = block.size(); i > 0; --i) {
      if (block[i - 1] == '\n') {
        keep = start + i;
        found = true;
        break;
      }
    }
    end = start;
  }
  if (keep == size) return std::size_t{0};
  fs::resize_file(path, keep, ec);
  if (ec) return make_error(ErrorCode::kIo, path.string() + ": truncate failed: " + ec.message());
  return static_cast<std::size_t>(size - keep);
}

namespace {

std::string to_hex(const unsigned char* digest, unsigned int length) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return to_hex(digest, length);
}

// Streams the file in blocks: result files can be far larger than the memory a run may use.
Result<std::string> sha256_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(fs::exists(path) ? ErrorCode::kIo : ErrorCode::kNotFound,
                      path.string() + ": cannot open file");
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                   EVP_MD_CTX_free);
  EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
  std::vector<char> block(1 << 16);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    if (in.gcount() > 0) {
      EVP_DigestUpdate(context.get(), block.data(), static_cast<std::size_t>(in.gcount()));
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &length);
  return to_hex(digest, length);
}

bool is_within(const fs::path& root, const fs::path& path) {
  fs::path base = fs::weakly_canonical(root);
  fs::path target = fs::weakly_canonical(path);
  auto mismatch = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  return mismatch.first == base.end();
}

}  // namespace fapo
