// refuse-io-uring PROGRAM [ARGS...]: runs PROGRAM (it execs it, keeping its own PID) with every
// io_uring_setup() call failing with EPERM, as a container's seccomp policy or
// kernel.io_uring_disabled makes it fail. The echo tests use it to see `--engine uring` refused by
// the kernel for real.
//
// How: a seccomp filter that answers io_uring_setup with EPERM and allows everything else;
// PR_SET_NO_NEW_PRIVS lets an unprivileged process install it.
//
// Exit codes before the exec: 2 for bad usage, 125 when the filter cannot be installed (the tests
// then skip), 126 when PROGRAM cannot be run.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

namespace {

#if defined(__x86_64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_AARCH64;
#else
#error "refuse-io-uring knows the audit architecture of x86_64 and aarch64 only"
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425  // the same number on every architecture
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: refuse-io-uring PROGRAM [ARGS...]\n");
    return 2;
  }
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog filter{static_cast<unsigned short>(sizeof(program) / sizeof(program[0])), program};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    std::fprintf(stderr, "refuse-io-uring: prctl(PR_SET_NO_NEW_PRIVS): %s\n", std::strerror(errno));
    return 125;
  }
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) != 0) {
    std::fprintf(stderr, "refuse-io-uring: seccomp: %s\n", std::strerror(errno));
    return 125;
  }
  ::execv(argv[1], argv + 1);
  std::fprintf(stderr, "refuse-io-uring: %s: %s\n", argv[1], std::strerror(errno));
  return 126;
}
