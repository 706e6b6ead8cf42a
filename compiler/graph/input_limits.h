// Limits where input meets memory (issue 16): every file a user names is read only if it is a
// regular file no larger than the input-file cap, and every size derived from input (tensor
// shapes, platform dimensions) is computed with overflow checks and compared with a memory budget
// before anything is allocated. A bad input then ends in a message naming it (exit 2), never in
// std::bad_alloc, a hang on /dev/zero or an out-of-memory kill.
//
// Header-only so that platforms/config (which links only yaml-cpp) shares it with compiler/.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

namespace cimtlm::graph {

// Parses "123", "64K", "512M", "4G" (binary multiples) from an environment variable; `fallback`
// when unset or malformed (a malformed limit must not disable the limit).
inline uint64_t limit_from_environment(const char* variable, uint64_t fallback) {
  const char* text = std::getenv(variable);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || value == 0) return fallback;
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10;
  if (*end == 'M' || *end == 'm') shift = 20;
  if (*end == 'G' || *end == 'g') shift = 30;
  if (shift) ++end;
  if (*end != '\0' || value > (std::numeric_limits<uint64_t>::max() >> shift)) return fallback;
  return static_cast<uint64_t>(value) << shift;
}

// Largest file cimtlm reads as input (platform/network YAML, ONNX, .npy/.pb):
// CIMTLM_MAX_INPUT_BYTES, default 256 MiB, far above any model the CIM platforms can hold (MiBs of
// weights).
inline uint64_t max_input_file_bytes() {
  return limit_from_environment("CIMTLM_MAX_INPUT_BYTES", uint64_t{256} << 20);
}

// Host memory one run may plan for (one tensor from input shapes, the simulated platform):
// CIMTLM_MEMORY_BUDGET, default half the machine's physical memory, at most 8 GiB.
inline uint64_t memory_budget_bytes() {
  uint64_t fallback = uint64_t{8} << 30;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) {
    fallback = std::min(fallback, static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 2);
  }
  return limit_from_environment("CIMTLM_MEMORY_BUDGET", fallback);
}

// a * b, or false when it overflows uint64.
inline bool multiply_checked(uint64_t a, uint64_t b, uint64_t& product) {
  return !__builtin_mul_overflow(a, b, &product);
}

// "" when `path` names a regular file within max_input_file_bytes(), else the reason.
inline std::string check_input_file(const std::string& path) {
  if (path.empty()) return "empty file name";
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return errno == ENOENT ? "no such file" : std::string("cannot read: ") + std::strerror(errno);
  }
  if (S_ISDIR(info.st_mode)) return "is a directory, not a file";
  if (!S_ISREG(info.st_mode)) return "is not a regular file (a device, FIFO or socket)";
  const uint64_t cap = max_input_file_bytes();
  if (static_cast<uint64_t>(info.st_size) > cap) {
    return "file of " + std::to_string(info.st_size) + " bytes is larger than the input limit of " +
           std::to_string(cap) + " bytes (set CIMTLM_MAX_INPUT_BYTES to raise it)";
  }
  return "";
}

// Reads a whole input file into `bytes`. Returns "" or the reason it was not read: missing,
// not a regular file (a directory, /dev/zero, a FIFO), larger than max_input_file_bytes(), or a
// read error. The size is checked before reading, so nothing big is ever allocated.
inline std::string read_input_file(const std::string& path, std::string& bytes) {
  const std::string problem = check_input_file(path);
  if (!problem.empty()) return problem;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::string("cannot read: ") + std::strerror(errno);
  const auto size = static_cast<uint64_t>(info.st_size);
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::string("cannot open: ") + std::strerror(errno);
  bytes.assign(static_cast<size_t>(size), '\0');
  if (size > 0 && !file.read(&bytes[0], static_cast<std::streamsize>(size))) {
    return "read error (the file changed while being read?)";
  }
  // A file that grew since stat() is read only up to the checked size; say so instead.
  if (file.peek() != std::char_traits<char>::eof()) return "the file grew while being read";
  return "";
}

}  // namespace cimtlm::graph
