// `cimtlm serve --fd N`: a start-up server ("zygote") for many small runs (issue 13, the sweep's
// throughput). A fresh cimtlm process pays the dynamic loader (~13,000 symbol relocations of
// libprotobuf, libsystemc, libdnnl, libstdc++, libonnx), the libraries' static constructors and
// their page faults before main(); this process pays them once. For each request on the Unix
// socket N (one end of a socketpair its parent made, so only that parent can reach it) it forks a
// child that runs exactly what `cimtlm <argv>` runs from sc_main on, and reports the child's exit.
//
// Protocol (SOCK_SEQPACKET, one message per datagram; scripts/sweep/served.py is the client):
//   request: "cimtlm-serve-1\0" CWD "\0" ARGC "\0" ARGV... ENVC "\0" ENV... with SCM_RIGHTS
//            carrying the child's stdin, stdout and stderr (argv[0] included in ARGV).
//   replies: "started PID" (with SCM_RIGHTS carrying a pidfd of the child when the kernel has
//            them, so that the client can kill it without a pid-reuse race), then "exit CODE" or
//            "signal NUMBER"; or "refused REASON" (the client runs a fresh process instead).
// One child at a time: the client is one worker slot. The server ends at the socket's EOF (its
// client is gone); a child running then is killed with it, as its result has nobody to go to.
//
// Fork safety: the server is the process a fresh `cimtlm` is at dispatch(): static initialization
// done, no thread started (checked: oneDNN's and OpenMP's pools start on first use, SystemC's
// coroutines with a simulation), no SystemC simulation context used by this command, nothing
// written to stdout/stderr (flushed before every fork anyway). Random numbers come from the
// configuration's seeds. What the libraries read from the environment while loading (OMP_*,
// DNNL_*, LD_*, MALLOC_*, ...) is the server's: a request whose environment differs there is
// refused rather than run under the wrong settings.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "platforms/cli/commands.h"

extern char** environ;

namespace cimtlm::platforms::cli {
namespace {

constexpr const char* kMagic = "cimtlm-serve-1";
constexpr size_t kMaxRequest = size_t{1} << 20;
constexpr int kRequestFds = 3;

// Environment variables that libraries (or the C runtime) read while loading or at their first
// use in a process: a child must see the values the server started with.
constexpr const char* kLoadTimePrefixes[] = {"LD_",  "MALLOC_", "GLIBC_",  "OMP_",     "GOMP_",
                                             "KMP_", "DNNL_",   "ONEDNN_", "SYSTEMC_", "LC_",
                                             "LANG", "TZ",      "GTEST_"};

struct Request {
  std::string cwd;
  std::vector<std::string> argv;
  std::vector<std::string> environment;
  std::vector<int> fds;
};

// Signal dispositions and mask as the server found them: a child restores them, so that it
// starts as a fresh process of the server's parent would.
struct SignalState {
  sigset_t mask;
  struct sigaction actions[NSIG];
};

void save_signals(SignalState& state) {
  sigprocmask(SIG_SETMASK, nullptr, &state.mask);
  for (int number = 1; number < NSIG; ++number) sigaction(number, nullptr, &state.actions[number]);
}

void restore_signals(const SignalState& state) {
  for (int number = 1; number < NSIG; ++number) {
    if (number == SIGKILL || number == SIGSTOP) continue;
    sigaction(number, &state.actions[number], nullptr);
  }
  sigprocmask(SIG_SETMASK, &state.mask, nullptr);
}

int thread_count() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

bool send_text(int socket_fd, const std::string& text, int pass_fd = -1) {
  iovec part{const_cast<char*>(text.data()), text.size()};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &pass_fd, sizeof(int));
  }
  while (true) {
    const ssize_t sent = sendmsg(socket_fd, &message, MSG_NOSIGNAL);
    if (sent >= 0) return true;
    if (errno != EINTR) return false;
  }
}

void close_all(std::vector<int>& fds) {
  for (int fd : fds) close(fd);
  fds.clear();
}

// Receives one request. Returns 1 with a request, 0 at EOF, -1 on a socket error; a malformed
// request gives 1 with `problem` set (and its descriptors closed).
int receive(int socket_fd, std::vector<char>& buffer, Request& request, std::string& problem) {
  iovec part{buffer.data(), buffer.size()};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t size;
  do {
    size = recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
  } while (size < 0 && errno == EINTR);
  if (size < 0) return -1;
  if (size == 0) return 0;
  request = Request{};
  problem.clear();
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t k = 0; k < count; ++k) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(header) + k * sizeof(int), sizeof(int));
      request.fds.push_back(fd);
    }
  }
  if (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) problem = "request too large";
  std::vector<std::string> fields;
  for (ssize_t start = 0, k = 0; k < size; ++k) {
    if (buffer[k] == '\0') {
      fields.emplace_back(buffer.data() + start, buffer.data() + k);
      start = k + 1;
    }
  }
  size_t next = 0;
  auto count_at = [&](size_t index) -> size_t {
    if (index >= fields.size() || fields[index].empty() || fields[index].size() > 7) return 0;
    for (char digit : fields[index]) {
      if (digit < '0' || digit > '9') return 0;
    }
    return std::stoul(fields[index]);
  };
  if (problem.empty() && (fields.size() < 4 || fields[0] != kMagic)) problem = "not a request";
  if (problem.empty()) {
    request.cwd = fields[1];
    const size_t argc = count_at(2);
    next = 3 + argc;
    const size_t envc = count_at(next);
    if (argc < 2 || next + 1 + envc != fields.size()) {
      problem = "malformed request";
    } else {
      request.argv.assign(fields.begin() + 3, fields.begin() + next);
      request.environment.assign(fields.begin() + next + 1, fields.end());
    }
  }
  if (problem.empty() && request.fds.size() != kRequestFds) problem = "expected 3 descriptors";
  if (problem.empty() && request.argv[1] == "serve") problem = "a server does not serve servers";
  if (!problem.empty()) close_all(request.fds);
  return 1;
}

std::map<std::string, std::string> load_time_variables(const std::vector<std::string>& entries) {
  std::map<std::string, std::string> selected;
  for (const auto& entry : entries) {
    for (const char* prefix : kLoadTimePrefixes) {
      if (entry.rfind(prefix, 0) == 0) {
        const size_t equals = entry.find('=');
        selected[entry.substr(0, equals)] = equals == std::string::npos ? "" : entry.substr(equals);
        break;
      }
    }
  }
  return selected;
}

// The environment this process was started with (the kernel's copy: setenv does not touch it).
std::vector<std::string> initial_environment() {
  std::ifstream file("/proc/self/environ", std::ios::binary);
  std::vector<std::string> entries;
  std::string entry;
  while (std::getline(file, entry, '\0')) entries.push_back(entry);
  return entries;
}

// What static initialization did to the environment (main.cpp turns off SystemC's banner with
// setenv): a child applies the same to the request's environment, as a fresh process would.
struct EnvironmentChanges {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
};

EnvironmentChanges static_initialization_changes(const std::vector<std::string>& initial) {
  auto split = [](const std::string& entry) {
    const size_t equals = entry.find('=');
    return equals == std::string::npos
               ? std::make_pair(entry, std::string())
               : std::make_pair(entry.substr(0, equals), entry.substr(equals + 1));
  };
  std::map<std::string, std::string> before, now;
  for (const auto& entry : initial) before.insert(split(entry));
  for (char** entry = environ; *entry; ++entry) now.insert(split(*entry));
  EnvironmentChanges changes;
  for (const auto& [name, value] : now) {
    const auto found = before.find(name);
    if (found == before.end() || found->second != value) changes.set.emplace_back(name, value);
  }
  for (const auto& [name, value] : before) {
    if (!now.count(name)) changes.unset.push_back(name);
  }
  return changes;
}

// In the child: become the process the request describes. Returns false (with errno's text
// on the new stderr) if it cannot.
bool become_request(int socket_fd, const Request& request, const SignalState& signals,
                    const EnvironmentChanges& changes) {
  close(socket_fd);
  restore_signals(signals);
  for (int target = 0; target < kRequestFds; ++target) {
    if (dup2(request.fds[target], target) < 0) return false;
  }
  for (int fd : request.fds) {
    if (fd >= kRequestFds) close(fd);
  }
  if (chdir(request.cwd.c_str()) != 0) {
    const std::string text =
        "cimtlm: cannot enter " + request.cwd + ": " + std::strerror(errno) + "\n";
    (void)!write(2, text.data(), text.size());
    return false;
  }
  clearenv();
  for (const auto& entry : request.environment) {
    // putenv keeps the pointer: the copies live as long as the process.
    putenv(strdup(entry.c_str()));
  }
  for (const auto& [name, value] : changes.set) setenv(name.c_str(), value.c_str(), 1);
  for (const auto& name : changes.unset) unsetenv(name.c_str());
  return true;
}

std::string exit_text(int status) {
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "exit " + std::to_string(WEXITSTATUS(status));
}

// Waits for the child, or for the client to go away (then the child is killed). Returns the
// child's wait status, or -1 if the client is gone.
int wait_child(int socket_fd, pid_t child, int pidfd) {
  if (pidfd >= 0) {
    pollfd watched[2] = {{pidfd, POLLIN, 0}, {socket_fd, 0, 0}};  // POLLHUP is always reported
    while (true) {
      const int ready = poll(watched, 2, -1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0 || watched[0].revents) break;
      if (watched[1].revents & (POLLHUP | POLLERR)) {
        kill(child, SIGKILL);  // not reaped yet, so the pid is still the child's
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        return -1;
      }
    }
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return 0;
  }
  return status;
}

}  // namespace

int serve_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  int socket_fd = -1;
  if (args.size() == 2 && args[0] == "--fd" && !args[1].empty() && args[1].size() < 8 &&
      args[1].find_first_not_of("0123456789") == std::string::npos) {
    socket_fd = std::stoi(args[1]);
  }
  int type = 0;
  socklen_t length = sizeof(type);
  if (socket_fd < 0 || getsockopt(socket_fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 ||
      type != SOCK_SEQPACKET) {
    err << "cimtlm serve: expected --fd N, N a SOCK_SEQPACKET Unix socket (the start-up server "
           "of cimtlm-sweep, scripts/sweep/served.py)\n";
    return kExitBadInput;
  }
  const int threads = thread_count();
  if (threads != 1) {
    err << "cimtlm serve: " << threads << " threads at start-up; forking would not be safe\n";
    return kExitFailure;
  }
  fcntl(socket_fd, F_SETFD, FD_CLOEXEC);
  SignalState signals;
  save_signals(signals);
  // Ctrl-C reaches the whole process group: the child dies of it as a fresh process would and
  // the server lives to report it.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGQUIT, SIG_IGN);
  // Children must stay waitable even if SIGCHLD came ignored (they would be reaped unseen).
  std::signal(SIGCHLD, SIG_DFL);
  const std::vector<std::string> initial = initial_environment();
  const auto own_load_time = load_time_variables(initial);
  const EnvironmentChanges changes = static_initialization_changes(initial);
  std::vector<char> buffer(kMaxRequest);
  Request request;
  std::string problem;
  while (true) {
    const int received = receive(socket_fd, buffer, request, problem);
    if (received <= 0) return received == 0 ? kExitOk : kExitFailure;
    if (problem.empty() && load_time_variables(request.environment) != own_load_time) {
      problem = "environment differs from the server's in variables read at load time";
      close_all(request.fds);
    }
    if (!problem.empty()) {
      if (!send_text(socket_fd, "refused " + problem)) return kExitFailure;
      continue;
    }
    out.flush();
    err.flush();
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child == 0) {
      if (!become_request(socket_fd, request, signals, changes)) _exit(127);
      std::vector<char*> argv;
      for (auto& argument : request.argv) argv.push_back(argument.data());
      argv.push_back(nullptr);
      return dispatch(static_cast<int>(request.argv.size()), argv.data(), std::cout, std::cerr);
    }
    close_all(request.fds);
    if (child < 0) {
      if (!send_text(socket_fd, std::string("refused fork: ") + std::strerror(errno))) {
        return kExitFailure;
      }
      continue;
    }
    int pidfd = -1;
#ifdef SYS_pidfd_open
    pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
#endif
    const bool told = send_text(socket_fd, "started " + std::to_string(child), pidfd);
    const int status = told ? wait_child(socket_fd, child, pidfd) : -1;
    if (pidfd >= 0) close(pidfd);
    if (!told || status == -1) {
      if (!told) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
      }
      return kExitOk;  // the client is gone
    }
    if (!send_text(socket_fd, exit_text(status))) return kExitOk;
  }
}

}  // namespace cimtlm::platforms::cli
