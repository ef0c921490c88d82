// deny-accept COUNT PROGRAM [ARGS...]: runs PROGRAM (it execs it, keeping its own PID) with the
// first COUNT accept() and accept4() calls of the process failing with EPERM, as a security module
// or a seccomp policy can make them fail; later calls run as usual. The fault tests use it to give
// echo-server a real accept error that is neither about resources nor about the listener.
//
// How: a seccomp filter hands every accept call to a supervisor process (a user notification),
// which answers EPERM COUNT times and then lets the calls through. The supervisor is forked before
// the filter is installed, so it is not filtered itself, and twice, so it does not stay a child of
// PROGRAM; it ends when PROGRAM is gone (the notification descriptor hangs up) or after
// kSupervisorLimit.
//
// Exit codes before the exec: 2 for bad usage, 125 when this kernel does not offer seccomp user
// notifications (the tests then skip), 126 for other failures.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

#if defined(__x86_64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_AARCH64;
#else
#error "deny-accept knows the audit architecture of x86_64 and aarch64 only"
#endif

// Bounds the supervisor's life even if PROGRAM never ends (a test's own limit is 300 s).
constexpr auto kSupervisorLimit = std::chrono::minutes(10);

[[noreturn]] void fail(int code, const char* what) {
  std::fprintf(stderr, "deny-accept: %s: %s\n", what, std::strerror(errno));
  std::exit(code);
}

// Installs the filter that turns accept() and accept4() into user notifications, and returns the
// descriptor the notifications arrive on.
int install_accept_filter() {
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
#ifdef __NR_accept
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_accept, 2, 0),
#else
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_accept4, 2, 0),
#endif
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_accept4, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
  };
  sock_fprog filter{static_cast<unsigned short>(sizeof(program) / sizeof(program[0])), program};
  // Lets an unprivileged process install a filter, and keeps PROGRAM from gaining privileges
  // that the filter could otherwise be used to subvert.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(126, "prctl(PR_SET_NO_NEW_PRIVS)");
  const long fd =
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &filter);
  if (fd < 0) fail(125, "seccomp user notification");
  return static_cast<int>(fd);
}

void send_descriptor(int channel, int fd) {
  char byte = 0;
  iovec data{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  if (::sendmsg(channel, &message, 0) != 1) fail(126, "sendmsg of the notification descriptor");
}

int receive_descriptor(int channel) {
  char byte = 0;
  iovec data{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  if (::recvmsg(channel, &message, 0) != 1) return -1;
  const cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) return -1;
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
  return fd;
}

// The supervisor: answers the first `count` accept calls with EPERM and lets the rest through,
// until the filtered process is gone.
[[noreturn]] void supervise(int notifications, unsigned long count) {
  seccomp_notif_sizes sizes{};
  if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) ::_exit(1);
  // The kernel may use larger structures than these headers know.
  std::string request_buffer(std::max<std::size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)),
                             '\0');
  std::string response_buffer(
      std::max<std::size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)), '\0');
  auto* request = reinterpret_cast<seccomp_notif*>(request_buffer.data());
  auto* response = reinterpret_cast<seccomp_notif_resp*>(response_buffer.data());
  unsigned long denied = 0;
  const auto deadline = std::chrono::steady_clock::now() + kSupervisorLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd waiting{notifications, POLLIN, 0};
    if (::poll(&waiting, 1, 1000) < 0 && errno != EINTR) break;
    if ((waiting.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) break;  // the process is gone
    if ((waiting.revents & POLLIN) == 0) continue;
    std::fill(request_buffer.begin(), request_buffer.end(), '\0');
    if (::ioctl(notifications, SECCOMP_IOCTL_NOTIF_RECV, request) != 0) continue;
    std::fill(response_buffer.begin(), response_buffer.end(), '\0');
    response->id = request->id;
    if (denied < count) {
      response->error = -EPERM;
      ++denied;
    } else {
      response->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    }
    ::ioctl(notifications, SECCOMP_IOCTL_NOTIF_SEND, response);  // ENOENT: the caller died
  }
  ::_exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: deny-accept COUNT PROGRAM [ARGS...]\n");
    return 2;
  }
  char* end = nullptr;
  const unsigned long count = std::strtoul(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0') {
    std::fprintf(stderr, "deny-accept: bad COUNT '%s'\n", argv[1]);
    return 2;
  }
  int channel[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0) fail(126, "socketpair");
  const pid_t middle = ::fork();
  if (middle < 0) fail(126, "fork");
  if (middle == 0) {
    if (::fork() != 0) ::_exit(0);  // the supervisor goes on as a grandchild, reparented
    ::close(channel[0]);
    // Keep none of PROGRAM's pipes open: a reader waiting for their end must not wait for us.
    for (int fd = 0; fd <= 2; ++fd) ::close(fd);
    const int notifications = receive_descriptor(channel[1]);
    if (notifications < 0) ::_exit(1);
    ::close(channel[1]);
    supervise(notifications, count);
  }
  ::close(channel[1]);
  int status = 0;
  ::waitpid(middle, &status, 0);
  const int notifications = install_accept_filter();
  send_descriptor(channel[0], notifications);
  ::close(notifications);
  ::close(channel[0]);
  ::execv(argv[2], argv + 2);
  fail(126, "exec");
}
