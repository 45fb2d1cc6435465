/* Runs a program in which memfd_create(2) fails with ENOSYS, as on a kernel before 3.17 or in
 * a sandbox whose filter forbids it. The library cannot share its seen counter there and must
 * report what application code saw with `seen` frames instead (docs/protocol.md, version 3).
 *
 *   httpapi-it-no-memfd PROGRAM [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
    return 2;
  }
  /* The default attributes set no_new_privs, which lets an unprivileged process load it. */
  scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
  if (filter == NULL ||
      seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(memfd_create), 0) != 0 ||
      seccomp_load(filter) != 0) {
    fprintf(stderr, "no-memfd: cannot load the seccomp filter\n");
    return 2;
  }
  seccomp_release(filter);
  /* A test that believes it runs the fallback must never run the counter by mistake. */
  const int probe = memfd_create("probe", MFD_CLOEXEC);
  if (probe >= 0 || errno != ENOSYS) {
    fprintf(stderr, "no-memfd: memfd_create still works (%s)\n", probe >= 0 ? "fd" : strerror(errno));
    return 2;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "no-memfd: %s: %s\n", argv[1], strerror(errno));
  return 127;
}
