/*
 * rcompose-init: the `init: true` process, mounted read-only at /sbin/docker-init.
 *
 * Like Docker's docker-init (tini): runs `argv[after --]` as its child, forwards every
 * signal it receives to that child, reaps every zombie reparented to it (it is PID 1 of
 * the container), and exits with the child's status (128+N if the child died of signal N).
 * Static, no allocation, no stdio buffering: it must run in any root filesystem.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *arg) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "docker-init: %s%s%s: %s\n", what, arg ? " " : "",
                     arg ? arg : "", strerror(errno));
    if (n > 0) (void)!write(2, buf, (size_t)n);
}

int main(int argc, char **argv) {
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
    if (first >= argc) {
        errno = EINVAL;
        die("usage: docker-init -- command [args...]", NULL);
        return 2;
    }
    if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    sigset_t all, orig;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &orig);

    pid_t child = fork();
    if (child < 0) {
        die("fork", NULL);
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &orig, NULL);
        execvp(argv[first], &argv[first]);
        int code = (errno == ENOENT) ? 127 : 126;
        die("exec", argv[first]);
        _exit(code);
    }

    int exit_code = -1;
    for (;;) {
        siginfo_t info;
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&all, &info, &tick);
        if (sig > 0 && sig != SIGCHLD) {
            /* Forward: the child (and its group, if it leads one) gets it. */
            if (kill(child, sig) != 0 && errno != ESRCH) die("kill", NULL);
        }
        for (;;) {
            int status;
            pid_t p = waitpid(-1, &status, WNOHANG);
            if (p <= 0) break;
            if (p == child) {
                if (WIFEXITED(status)) exit_code = WEXITSTATUS(status);
                else if (WIFSIGNALED(status)) exit_code = 128 + WTERMSIG(status);
            }
        }
        if (exit_code >= 0) return exit_code;
    }
}
