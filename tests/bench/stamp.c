// SPDX-License-Identifier: GPL-2.0-or-later
/* The benchmark's action: as its very first act it reads CLOCK_REALTIME, then appends one line,
 * "SECONDS.NANOSECONDS BUTTON COUNT [SOURCE]", to the file named by its first argument (O_APPEND, one
 * write(2), so concurrent actions never interleave). scripts/bench builds it static, so no
 * dynamic loader runs before the clock is read: the time is that of the action starting, its
 * fork and exec included.
 *
 *   stamp FILE BUTTON [COUNT [SOURCE]]
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (argc < 3) return 64;
  char line[512];
  int n = snprintf(line, sizeof line, "%lld.%09ld %s %s%s%s\n", (long long)ts.tv_sec, ts.tv_nsec, argv[2],
                   argc > 3 ? argv[3] : "-", argc > 4 ? " " : "", argc > 4 ? argv[4] : "");
  if (n <= 0 || n >= (int)sizeof line) return 65;
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return 73;
  ssize_t w = write(fd, line, (size_t)n);
  close(fd);
  return w == n ? 0 : 74;
}
