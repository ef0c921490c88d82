// Run once when the build is configured: exits 0 when this machine lets a process use io_uring
// with provided-buffer rings, as echo-server --engine uring needs (docs/design.md, "Engines").
#include <liburing.h>
#include <sys/mman.h>

#include <cstdint>

int main() {
  io_uring ring{};
  if (io_uring_queue_init(8, &ring, 0) != 0) return 1;
  void* memory = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (memory == MAP_FAILED) return 1;
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
  registration.ring_entries = 8;
  const int result = io_uring_register_buf_ring(&ring, &registration, 0);
  io_uring_queue_exit(&ring);
  return result == 0 ? 0 : 1;
}
