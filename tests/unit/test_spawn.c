/* test_spawn.c - starting children (spawn.h): the descriptors a child gets,
 * its session and signals, its end reaped, a pidfd to signal it, and the
 * errors of a program that cannot run or descriptors that cannot be handed
 * over. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scalpels/spawn.h"

/* Reaps child pid, waiting up to 10 s for its end: 1 once reaped. */
static int wait_reaped(pid_t pid, int *code, int *sig)
{
    for (int i = 0; i < 1000; i++) {
        int rc = sca_spawn_reaped(pid, code, sig);
        if (rc != 0)
            return rc;
        usleep(10000);
    }
    return 0;
}

/* Runs argv with stdout to a pipe and the signals in *blocked blocked
 * (NULL: none); returns what it printed (the caller frees it) and its exit
 * status in *code. */
static char *run_blocked(char **argv, const sigset_t *blocked, int *code)
{
    int out[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    const int fds[3] = {-1, out[1], STDERR_FILENO};
    pid_t pid;
    int sig;
    sca_error err = {0};
    assert_int_equal(sca_spawn(argv, fds, 3, blocked, &pid, &err), 0);
    close(out[1]);
    char *text = calloc(1, 4096);
    size_t len = 0;
    ssize_t n;
    while ((n = read(out[0], text + len, 4095 - len)) > 0)
        len += (size_t)n;
    close(out[0]);
    assert_int_equal(wait_reaped(pid, code, &sig), 1);
    assert_int_equal(sig, 0);
    return text;
}

static char *run_argv(char **argv, int *code)
{
    return run_blocked(argv, NULL, code);
}

static char *run_sh(const char *script, int *code)
{
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    return run_argv(argv, code);
}

static void test_exit_status_and_output(void **state)
{
    (void)state;
    int code;
    char *text = run_sh("echo hello; exit 3", &code);
    assert_string_equal(text, "hello\n");
    assert_int_equal(code, 3);
    free(text);
}

static void test_stdin_is_dev_null(void **state)
{
    (void)state;
    int code;
    char *text = run_sh("readlink /proc/self/fd/0; cat; echo end", &code);
    assert_string_equal(text, "/dev/null\nend\n");
    assert_int_equal(code, 0);
    free(text);
}

/* Its own session (sid = its pid), nothing blocked and no signal ignored,
 * whatever the parent blocks or ignores. */
static void test_session_and_signals(void **state)
{
    (void)state;
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    assert_int_equal(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
    struct sigaction ign = {.sa_handler = SIG_IGN}, prev;
    assert_int_equal(sigaction(SIGUSR2, &ign, &prev), 0);
    /* The child reads its own state: a shell in between would block
     * signals for a moment around each fork it makes. */
    int code;
    char *stat = run_argv((char *[]){"cat", "/proc/self/stat", NULL}, &code);
    char *text = run_argv((char *[]){"cat", "/proc/self/status", NULL}, &code);
    assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    assert_int_equal(sigaction(SIGUSR2, &prev, NULL), 0);
    int sid = 0, pid = -1;
    const char *after_comm = strrchr(stat, ')');
    assert_non_null(after_comm);
    assert_int_equal(sscanf(stat, "%d", &pid), 1);
    assert_int_equal(sscanf(after_comm, ") %*c %*d %*d %d", &sid), 1);
    assert_int_equal(sid, pid);
    free(stat);
    assert_non_null(strstr(text, "SigBlk:\t0000000000000000\n"));
    const char *ign_line = strstr(text, "SigIgn:\t");
    assert_non_null(ign_line);
    unsigned long long ignored = strtoull(ign_line + strlen("SigIgn:\t"), NULL, 16);
    assert_int_equal(ignored & (1ull << (SIGUSR2 - 1)), 0);
    free(text);
}

/* Running: not reaped; signalled through a pidfd: reaped with the signal. */
static void test_signal_through_pidfd(void **state)
{
    (void)state;
    char *argv[] = {"sleep", "60", NULL};
    pid_t pid;
    int code, sig;
    sca_error err = {0};
    assert_int_equal(sca_spawn(argv, (const int[]){-1, -1, -1}, 3, NULL, &pid, &err), 0);
    assert_int_equal(sca_spawn_reaped(pid, &code, &sig), 0);
    int pidfd = sca_pidfd_open(pid);
    assert_true(pidfd >= 0);
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0); /* still running: not readable */
    assert_int_equal(sca_pidfd_signal(pidfd, SIGTERM), 0);
    assert_int_equal(poll(&p, 1, 10000), 1);
    assert_int_equal(wait_reaped(pid, &code, &sig), 1);
    assert_int_equal(code, -1);
    assert_int_equal(sig, SIGTERM);
    assert_int_equal(sca_spawn_reaped(pid, &code, &sig), -ECHILD);
    close(pidfd);
}

/* Asked, it starts with exactly those signals blocked (the agent's tracers
 * with SIGINT and SIGTERM, until they have handlers for them). */
static void test_blocked_signals(void **state)
{
    (void)state;
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    int code;
    char *text = run_blocked((char *[]){"cat", "/proc/self/status", NULL}, &stops, &code);
    const char *blk = strstr(text, "SigBlk:\t");
    assert_non_null(blk);
    unsigned long long mask = strtoull(blk + strlen("SigBlk:\t"), NULL, 16);
    assert_int_equal(mask, (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1)));
    free(text);
}

static void test_program_that_cannot_run(void **state)
{
    (void)state;
    char *argv[] = {"/nonexistent/program", NULL};
    pid_t pid;
    sca_error err = {0};
    assert_int_equal(sca_spawn(argv, NULL, 0, NULL, &pid, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "cannot start /nonexistent/program"));
    char *in_path[] = {"sca-no-such-program-in-path", NULL};
    assert_int_equal(sca_spawn(in_path, NULL, 0, NULL, &pid, &err), -ENOENT);
}

/* fd 1 handed over as slot 2 after slot 1 was replaced: refused. */
static void test_descriptor_overwritten_first(void **state)
{
    (void)state;
    char *argv[] = {"true", NULL};
    pid_t pid;
    sca_error err = {0};
    assert_int_equal(sca_spawn(argv, (const int[]){-1, -1, 1}, 3, NULL, &pid, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "descriptor 1 given as 2"));
    /* the same descriptor in its own slot, or into a later one, is fine */
    assert_int_equal(sca_spawn(argv, (const int[]){-1, 2, 2}, 3, NULL, &pid, &err), 0);
    int code, sig;
    assert_int_equal(wait_reaped(pid, &code, &sig), 1);
    assert_int_equal(code, 0);
}

/* Pipes come close-on-exec, so that only the child handed them holds
 * them; closing sets every end to -1, and closing twice does nothing. */
static void test_pipes(void **state)
{
    (void)state;
    int pipes[2][2] = {{-1, -1}, {-1, -1}};
    sca_error err = {0};
    assert_int_equal(sca_pipes_new(pipes, 2, "the test", &err), 0);
    for (int i = 0; i < 2; i++) {
        for (int end = 0; end < 2; end++)
            assert_true(fcntl(pipes[i][end], F_GETFD) & FD_CLOEXEC);
    }
    assert_int_equal(write(pipes[1][1], "x", 1), 1);
    char c = 0;
    assert_int_equal(read(pipes[1][0], &c, 1), 1);
    assert_int_equal(c, 'x');
    int kept = pipes[0][0];
    sca_pipes_close(pipes, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pipes[i][0], -1);
        assert_int_equal(pipes[i][1], -1);
    }
    assert_int_equal(fcntl(kept, F_GETFD), -1);
    sca_pipes_close(pipes, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_status_and_output),
        cmocka_unit_test(test_stdin_is_dev_null),
        cmocka_unit_test(test_session_and_signals),
        cmocka_unit_test(test_blocked_signals),
        cmocka_unit_test(test_signal_through_pidfd),
        cmocka_unit_test(test_program_that_cannot_run),
        cmocka_unit_test(test_descriptor_overwritten_first),
        cmocka_unit_test(test_pipes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
