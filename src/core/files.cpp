#include "core/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace cimkit {

namespace {

std::string describe_errno(int err) { return std::strerror(err); }

// What a non-regular file is, for messages.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device file";
  return "not a regular file";
}

}  // namespace

std::string resolve_output_path(const std::string& path) {
  if (path.empty()) throw DataError("<output>", "empty output path");
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) return p;  // a new file
      throw DataError(path, "cannot inspect the output path: " + describe_errno(errno));
    }
    if (S_ISREG(st.st_mode)) return p;
    if (!S_ISLNK(st.st_mode)) {
      throw DataError(path, std::string("is ") + kind_of(st.st_mode) +
                                "; cimkit writes its outputs only to regular files or new paths");
    }
    // A symbolic link: the output goes to its target (the link itself stays).
    std::string target(size_t(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    const ssize_t n = ::readlink(p.c_str(), target.data(), target.size());
    if (n < 0) throw DataError(path, "cannot read the symbolic link: " + describe_errno(errno));
    target.resize(size_t(n));
    if (target.empty() || target[0] != '/') {
      const std::string dir = std::filesystem::path(p).parent_path().string();
      if (!dir.empty()) target = dir + "/" + target;
    }
    p = target;
  }
  throw DataError(path, "too many levels of symbolic links");
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string target = resolve_output_path(path);
  // A fresh temporary beside the target (same file system, so the rename is atomic); O_EXCL and
  // O_NOFOLLOW so that nothing already there, a link or another writer's file, is written into.
  static std::atomic<unsigned> counter{0};
  const std::string tmp = target + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    throw DataError(path, what + ": " + describe_errno(err));
  };
  mode_t mode = 0644;
  struct stat old {};
  if (::stat(target.c_str(), &old) == 0) mode = old.st_mode & 07777;  // keep the file's permissions
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    throw DataError(path, std::string("cannot open for writing: ") + describe_errno(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t k = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      const int err = k < 0 ? errno : EIO;
      ::close(fd);
      fail("write failed", err);
    }
    done += size_t(k);
  }
  if (::fchmod(fd, mode) != 0) {
    const int err = errno;
    ::close(fd);
    fail("cannot set the file's permissions", err);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail("fsync failed", err);
  }
  if (::close(fd) != 0) fail("write failed", errno);
  // The target may have become something else meanwhile (a FIFO, a device): check again.
  struct stat now {};
  if (::lstat(target.c_str(), &now) == 0 && !S_ISREG(now.st_mode)) {
    ::unlink(tmp.c_str());
    throw DataError(path, std::string("is ") + kind_of(now.st_mode) +
                              "; cimkit writes its outputs only to regular files or new paths");
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0)
    fail("cannot move the written file into place", errno);
  // The rename itself is durable only once the directory is synced (best effort).
  std::string dir = std::filesystem::path(target).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) throw DataError(path, "no such file (expected a " + what + ")");
    throw DataError(path, "cannot read " + what + ": " + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) throw DataError(path, "is a directory, expected a " + what);
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket"
                       : (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) ? "a device file" : "not a regular file";
    throw DataError(path, std::string("is ") + kind + ", expected a " + what + " (a regular file)");
  }
  if (uint64_t(st.st_size) > max_bytes) {
    throw DataError(path, "is " + std::to_string(uint64_t(st.st_size)) + " bytes, more than the " +
                              std::to_string(max_bytes) + " bytes allowed for a " + what);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "cannot read " + what + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw DataError(path, "read error in " + what);
  return ss.str();
}

}  // namespace cimkit
