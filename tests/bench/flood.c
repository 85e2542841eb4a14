// SPDX-License-Identifier: GPL-2.0-or-later
/* A connection flood for the listener benchmark.
 *
 *   flood DST_IP PORT TOTAL PROCS MAX_SECONDS SRC_BASE|- NSRC OUT_PREFIX
 *
 * PROCS processes (forked) each make TOTAL/PROCS connections one after the other, so PROCS
 * connections are in flight at any time: connect, send 5 bytes (the head of a TLS record, as a
 * button's ClientHello starts), wait for the server to close (or reset), close. With SRC_BASE,
 * each connection binds the next of NSRC consecutive source addresses from SRC_BASE (many
 * simulated sources); "-" lets the kernel choose. Each process stops early after MAX_SECONDS.
 *
 * Per process, OUT_PREFIX.N gets one uint32 a connection: microseconds from calling connect()
 * to seeing the server's close (the client's view of accept + dispatch + close), 0xffffffff for
 * a connection that failed. stdout: "ok FAILED REFUSED SECONDS" for all processes together,
 * SECONDS from the first fork to the last exit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: flood DST_IP PORT TOTAL PROCS MAX_SECONDS SRC_BASE|- NSRC OUT_PREFIX\n");
    return 64;
  }
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  inet_pton(AF_INET, argv[1], &dst.sin_addr);
  long total = atol(argv[3]);
  int procs = atoi(argv[4]);
  double max_seconds = atof(argv[5]);
  int bind_src = strcmp(argv[6], "-") != 0;
  struct in_addr base = {0};
  if (bind_src) inet_pton(AF_INET, argv[6], &base);
  int nsrc = atoi(argv[7]);
  if (nsrc < 1) nsrc = 1;
  const char* prefix = argv[8];
  if (procs < 1 || total < procs) return 64;

  double start = now();
  for (int p = 0; p < procs; p++) {
    pid_t pid = fork();
    if (pid < 0) return 71;
    if (pid > 0) continue;
    long n = total / procs;
    uint32_t* lat = calloc((size_t)n, sizeof *lat);
    long done = 0, ok = 0, failed = 0, refused = 0;
    double deadline = now() + max_seconds;
    for (long i = 0; i < n; i++) {
      if ((i & 63) == 0 && now() > deadline) break;
      double t0 = now();
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) { lat[done++] = UINT32_MAX; failed++; continue; }
      struct timeval tv = {.tv_sec = 2};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (bind_src) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(ntohl(base.s_addr) + (uint32_t)((i * procs + p) % nsrc));
        bind(fd, (struct sockaddr*)&src, sizeof src);
      }
      int good = 0;
      if (connect(fd, (struct sockaddr*)&dst, sizeof dst) == 0) {
        char buf[64];
        if (write(fd, "\x16\x03\x01\x00\x00", 5) == 5 || errno == EPIPE || errno == ECONNRESET) {
          ssize_t r;
          while ((r = read(fd, buf, sizeof buf)) > 0) {}
          good = r == 0 || errno == ECONNRESET;
        }
      } else if (errno == ECONNREFUSED) {
        refused++;
      }
      double t1 = now();
      close(fd);
      if (good) {
        double us = (t1 - t0) * 1e6;
        lat[done++] = us >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)us;
        ok++;
      } else {
        lat[done++] = UINT32_MAX;
        failed++;
      }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s.%d", prefix, p);
    FILE* f = fopen(path, "wb");
    if (f) {
      fwrite(lat, sizeof *lat, (size_t)done, f);
      fclose(f);
    }
    /* ok, failed (refused among them) as the exit message through a file of its own */
    snprintf(path, sizeof path, "%s.%d.count", prefix, p);
    f = fopen(path, "w");
    if (f) {
      fprintf(f, "%ld %ld %ld\n", ok, failed - refused, refused);
      fclose(f);
    }
    _exit(0);
  }
  while (wait(NULL) > 0) {}
  double seconds = now() - start;
  long ok = 0, failed = 0, refused = 0;
  for (int p = 0; p < procs; p++) {
    char path[4096];
    snprintf(path, sizeof path, "%s.%d.count", prefix, p);
    FILE* f = fopen(path, "r");
    long a = 0, b = 0, c = 0;
    if (f) {
      if (fscanf(f, "%ld %ld %ld", &a, &b, &c) != 3) a = b = c = 0;
      fclose(f);
    }
    ok += a;
    failed += b;
    refused += c;
  }
  printf("%ld %ld %ld %.6f\n", ok, failed, refused, seconds);
  return 0;
}
