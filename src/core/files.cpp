#include "core/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace cimkit {

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    throw DataError(path, what + ": " + std::strerror(err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw DataError(path, std::string("cannot open for writing: ") + std::strerror(errno));
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
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail("fsync failed", err);
  }
  if (::close(fd) != 0) fail("write failed", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    fail("cannot move the written file into place", errno);
  // The rename itself is durable only once the directory is synced (best effort).
  std::string dir = std::filesystem::path(path).parent_path().string();
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
