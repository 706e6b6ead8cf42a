// A text file written through one large buffer, with integer formatting without iostreams: the
// VCD writer emits millions of short lines, and ostream's per-call sentry and locale-aware
// number formatting cost about four times the formatting itself.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "models/kernel/prefault.h"

namespace cimtlm::kernel {

class TextFile {
 public:
  // Opens `path` for writing (truncates); ok() is false, with errno set, when it cannot.
  explicit TextFile(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    buffer_.reserve(kFlushBytes + kFlushBytes / 8);
    prefault(buffer_.data(), buffer_.capacity());
  }
  ~TextFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  TextFile(const TextFile&) = delete;
  TextFile& operator=(const TextFile&) = delete;

  bool ok() const { return file_ != nullptr && !failed_; }

  void put(char c) { buffer_.push_back(c); }
  void put(std::string_view text) { buffer_.append(text); }
  // `value` in decimal.
  void decimal(uint64_t value) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    buffer_.append(digits, static_cast<size_t>(end - digits));
  }
  // `value` in binary without leading zeros ("0" for zero), as VCD allows.
  void binary(uint64_t value) {
    if (value == 0) {
      buffer_.push_back('0');
      return;
    }
    int bit = 63;
    while (((value >> bit) & 1U) == 0) --bit;
    for (; bit >= 0; --bit) buffer_.push_back(static_cast<char>('0' + ((value >> bit) & 1U)));
  }

  // Call between records: writes the buffer out once it is large.
  void flush_if_full() {
    if (buffer_.size() >= kFlushBytes) flush();
  }
  // Writes what is buffered and closes the file; false (errno set) if anything failed.
  bool close() {
    if (file_ == nullptr) return false;
    flush();
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    return closed && !failed_;
  }

 private:
  static constexpr size_t kFlushBytes = size_t{1} << 20;
  void flush() {
    if (file_ != nullptr && !failed_ && !buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      failed_ = true;
    }
    buffer_.clear();
  }

  std::FILE* file_;
  bool failed_ = false;
  std::string buffer_;
};

}  // namespace cimtlm::kernel
