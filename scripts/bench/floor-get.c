/* The least a resolve can cost a client process on this machine, for
 * scripts/bench/image-digest.sh: a static C program that connects to
 * 127.0.0.1:PORT, sends one manifest GET, and prints the
 * Docker-Content-Digest header of the answer. No argument parsing, no
 * configuration, no TLS, no retries, no digest check: what is left is a
 * process start, one loopback round trip and the registry's answer.
 *
 * Usage: floor-get PORT PATH   (e.g. 5000 /v2/bench/app/manifests/1) */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  char req[1024];
  int len = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
                     "Accept: application/vnd.oci.image.index.v1+json, "
                     "application/vnd.oci.image.manifest.v1+json, "
                     "application/vnd.docker.distribution.manifest.list.v2+json, "
                     "application/vnd.docker.distribution.manifest.v2+json\r\n\r\n",
                     argv[2], argv[1]);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) return 3;
  if (write(s, req, len) != len) return 3;
  static char buf[16384];
  ssize_t n = read(s, buf, sizeof buf - 1);
  if (n <= 0) return 3;
  buf[n] = 0;
  char *d = strcasestr(buf, "\r\nDocker-Content-Digest: ");
  if (!d) return 1;
  d += 25;
  printf("%.*s\n", (int)strcspn(d, "\r\n"), d);
  return 0;
}
