/* test_procfs.c - /proc parsers against recorded samples of the real files. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "procfs.h"

/* ---- /proc/stat --------------------------------------------------------- */

static const char stat_text[] =
    "cpu  10132153 290696 3084719 46828483 16683 12 25195 310 175628 0\n"
    "cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n"
    "cpu1 1335616 30564 527618 13348720 4024 0 3108 0 26340 0\n"
    "intr 1462898 20 9 0 0 0 0 0 0 1 0 0 0 0 0 0 0\n"
    "ctxt 115315133\n"
    "btime 1700000000\n"
    "processes 20520\n"
    "procs_running 1\n"
    "procs_blocked 0\n"
    "softirq 13283 0 4004 2 3010 1001 0 2 2716 0 2548\n";

static void test_stat_cpu(void **state)
{
    (void)state;
    procfs_cpu c;
    assert_int_equal(procfs_parse_stat_cpu(stat_text, &c), 0);
    assert_int_equal(c.user, 10132153);
    assert_int_equal(c.nice, 290696);
    assert_int_equal(c.system, 3084719);
    assert_int_equal(c.idle, 46828483);
    assert_int_equal(c.iowait, 16683);
    assert_int_equal(c.irq, 12);
    assert_int_equal(c.softirq, 25195);
    assert_int_equal(c.steal, 310);

    /* Linux 2.4 had four fields; the rest read as 0. */
    assert_int_equal(procfs_parse_stat_cpu("cpu  100 2 50 1000\ncpu0 100 2 50 1000\n", &c), 0);
    assert_int_equal(c.user, 100);
    assert_int_equal(c.idle, 1000);
    assert_int_equal(c.iowait, 0);
    assert_int_equal(c.steal, 0);

    /* The aggregate line may follow others. */
    assert_int_equal(procfs_parse_stat_cpu("intr 1\ncpu  1 2 3 4 5 6 7 8 9 10\n", &c), 0);
    assert_int_equal(c.steal, 8);
}

static void test_stat_cpu_bad(void **state)
{
    (void)state;
    procfs_cpu c;
    assert_int_equal(procfs_parse_stat_cpu("", &c), -EINVAL);
    assert_int_equal(procfs_parse_stat_cpu("cpu0 1 2 3 4\n", &c), -EINVAL);
    assert_int_equal(procfs_parse_stat_cpu("cpu  1 2 3\n", &c), -EINVAL);
    assert_int_equal(procfs_parse_stat_cpu("cpu  a b c d\n", &c), -EINVAL);
    assert_int_equal(procfs_parse_stat_cpu("cpu  1 2 -3 4\n", &c), -EINVAL);
    assert_int_equal(procfs_parse_stat_cpu("cpu  1 2 99999999999999999999 4\n", &c), -EINVAL);
}

static void test_cpu_usage(void **state)
{
    (void)state;
    procfs_cpu a = {100, 10, 50, 1000, 20, 5, 5, 10};
    procfs_cpu b = {160, 30, 80, 1860, 30, 10, 10, 20}; /* 1000 ticks in all */
    procfs_cpu_pct p;
    assert_int_equal(procfs_cpu_usage(&a, &b, &p), 0);
    assert_float_equal(p.user, 8.0, 1e-9);
    assert_float_equal(p.system, 4.0, 1e-9);
    assert_float_equal(p.iowait, 1.0, 1e-9);
    assert_float_equal(p.idle, 86.0, 1e-9);
    assert_float_equal(p.steal, 1.0, 1e-9);

    assert_int_equal(procfs_cpu_usage(&a, &a, &p), -EAGAIN);

    /* iowait may go backwards on NO_HZ kernels: that part counts as 0. */
    procfs_cpu c = b;
    c.iowait = 0;
    c.idle += 10;
    assert_int_equal(procfs_cpu_usage(&b, &c, &p), 0);
    assert_float_equal(p.idle, 100.0, 1e-9);
    assert_float_equal(p.iowait, 0.0, 1e-9);
}

/* ---- /proc/meminfo ------------------------------------------------------ */

static const char meminfo_text[] = "MemTotal:       16318496 kB\n"
                                   "MemFree:         1184032 kB\n"
                                   "MemAvailable:    9823104 kB\n"
                                   "Buffers:          602136 kB\n"
                                   "Cached:          7815364 kB\n"
                                   "SwapCached:        21676 kB\n"
                                   "Active:          8104236 kB\n"
                                   "Inactive:        5428748 kB\n"
                                   "SwapTotal:       2097148 kB\n"
                                   "SwapFree:        1835004 kB\n"
                                   "Dirty:               532 kB\n"
                                   "Slab:             853600 kB\n"
                                   "SReclaimable:     612344 kB\n"
                                   "SUnreclaim:       241256 kB\n"
                                   "HugePages_Total:       0\n"
                                   "Hugepagesize:       2048 kB\n";

static void test_meminfo(void **state)
{
    (void)state;
    procfs_mem m;
    assert_int_equal(procfs_parse_meminfo(meminfo_text, &m), 0);
    assert_int_equal(m.total_kb, 16318496);
    assert_int_equal(m.free_kb, 1184032);
    assert_int_equal(m.available_kb, 9823104);
    assert_int_equal(m.buffers_kb, 602136);
    assert_int_equal(m.cached_kb, 7815364); /* not SwapCached */
    assert_int_equal(m.sreclaimable_kb, 612344);
    assert_int_equal(m.swap_total_kb, 2097148);
    assert_int_equal(m.swap_free_kb, 1835004);
}

static void test_meminfo_old_and_bad(void **state)
{
    (void)state;
    procfs_mem m;
    /* Before Linux 3.14: no MemAvailable, so free + buffers + cached. */
    assert_int_equal(procfs_parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\n"
                                          "Buffers: 20 kB\nCached: 300 kB\n",
                                          &m),
                     0);
    assert_int_equal(m.available_kb, 420);
    assert_int_equal(m.swap_total_kb, 0);

    assert_int_equal(procfs_parse_meminfo("", &m), -EINVAL);
    assert_int_equal(procfs_parse_meminfo("MemFree: 100 kB\n", &m), -EINVAL);
    assert_int_equal(procfs_parse_meminfo("MemTotal: lots\nMemFree: 1 kB\n", &m), -EINVAL);
    assert_int_equal(procfs_parse_meminfo("XMemTotal: 5 kB\nMemFree: 1 kB\n", &m), -EINVAL);
}

/* ---- /proc/diskstats ---------------------------------------------------- */

static void test_diskstats(void **state)
{
    (void)state;
    procfs_disk d;
    /* Linux 4.18+ (discards) */
    assert_int_equal(
        procfs_parse_diskstats_line("   8       0 sda 123456 7890 9876543 45678 234567 "
                                    "12345 8765432 98765 0 123456 144443 0 0 0 0",
                                    &d),
        0);
    assert_string_equal(d.name, "sda");
    assert_int_equal(d.reads, 123456);
    assert_int_equal(d.read_sectors, 9876543);
    assert_int_equal(d.writes, 234567);
    assert_int_equal(d.write_sectors, 8765432);

    /* Linux 5.5+ (flushes), nvme naming */
    assert_int_equal(
        procfs_parse_diskstats_line(" 259       0 nvme0n1 38025 9762 3141458 12523 30711 "
                                    "11844 1506048 8752 0 8508 22031 7858 51 281024 "
                                    "545 5035 208",
                                    &d),
        0);
    assert_string_equal(d.name, "nvme0n1");
    assert_int_equal(d.reads, 38025);
    assert_int_equal(d.write_sectors, 1506048);

    /* Before 4.18: 14 fields */
    assert_int_equal(procfs_parse_diskstats_line(" 253       0 dm-0 1 2 3 4 5 6 7 8 9 10 11", &d),
                     0);
    assert_string_equal(d.name, "dm-0");
    assert_int_equal(d.writes, 5);
    assert_int_equal(d.write_sectors, 7);
}

static void test_diskstats_bad(void **state)
{
    (void)state;
    procfs_disk d;
    assert_int_equal(procfs_parse_diskstats_line("", &d), -EINVAL);
    assert_int_equal(procfs_parse_diskstats_line("   8       0", &d), -EINVAL);
    assert_int_equal(procfs_parse_diskstats_line("   8       0 sda 1 2 3", &d), -EINVAL);
    assert_int_equal(procfs_parse_diskstats_line("   8       0 sda 1 2 3 4 5 6", &d), -EINVAL);
    assert_int_equal(procfs_parse_diskstats_line("   x       0 sda 1 2 3 4 5 6 7 8", &d), -EINVAL);
    assert_int_equal(procfs_parse_diskstats_line("   8       0 sda 1 2 -3 4 5 6 7 8", &d), -EINVAL);
}

static void test_diskstats_long_name(void **state)
{
    (void)state;
    char line[256] = "8 0 ";
    size_t len = strlen(line);
    memset(line + len, 'n', 100);
    strcpy(line + len + 100, " 1 2 3 4 5 6 7 8 9 10 11");
    procfs_disk d;
    assert_int_equal(procfs_parse_diskstats_line(line, &d), 0);
    assert_int_equal(strlen(d.name), PROCFS_NAME_MAX - 1);
    assert_int_equal(d.write_sectors, 7);
}

/* ---- /proc/net/dev ------------------------------------------------------ */

static void test_netdev(void **state)
{
    (void)state;
    procfs_netdev n;
    assert_int_equal(procfs_parse_netdev_line("  eth0: 69154234    1542    0    0    0     0      "
                                              "    0         0    84682     884    0    0    0 "
                                              "    0       0          0",
                                              &n),
                     0);
    assert_string_equal(n.name, "eth0");
    assert_int_equal(n.rx_bytes, 69154234);
    assert_int_equal(n.rx_packets, 1542);
    assert_int_equal(n.tx_bytes, 84682);
    assert_int_equal(n.tx_packets, 884);

    /* A wide counter leaves no blank after the colon. */
    assert_int_equal(procfs_parse_netdev_line("br-1a2b.100:12345678901234 5 0 0 0 0 0 0 99 7 "
                                              "0 0 0 0 0 0",
                                              &n),
                     0);
    assert_string_equal(n.name, "br-1a2b.100");
    assert_int_equal(n.rx_bytes, 12345678901234ULL);
    assert_int_equal(n.tx_packets, 7);
}

static void test_netdev_bad(void **state)
{
    (void)state;
    procfs_netdev n;
    assert_int_equal(procfs_parse_netdev_line("Inter-|   Receive                            "
                                              "                    |  Transmit",
                                              &n),
                     -EINVAL);
    assert_int_equal(procfs_parse_netdev_line(" face |bytes    packets errs drop fifo frame "
                                              "compressed multicast|bytes    packets errs drop "
                                              "fifo colls carrier compressed",
                                              &n),
                     -EINVAL);
    assert_int_equal(procfs_parse_netdev_line("", &n), -EINVAL);
    assert_int_equal(procfs_parse_netdev_line("eth0: 1 2 3", &n), -EINVAL);
    assert_int_equal(procfs_parse_netdev_line(": 1 2 3 4 5 6 7 8 9 10", &n), -EINVAL);
    assert_int_equal(procfs_parse_netdev_line("eth 0: 1 2 3 4 5 6 7 8 9 10", &n), -EINVAL);
}

/* ---- /proc/PID/stat and io ---------------------------------------------- */

static void test_pid_stat(void **state)
{
    (void)state;
    procfs_pid_stat s;
    assert_int_equal(
        procfs_parse_pid_stat("1234 (bash) S 1233 1234 1234 34816 5678 4194560 12345 67890 12 34 "
                              "250 130 56 78 20 0 1 0 987654 23456768 1536 18446744073709551615 "
                              "94000000000000 94000000100000 140000000000000 0 0 65536 3670020 "
                              "1266777851 0 0 0 17 3 0 0 0 0 0\n",
                              &s),
        0);
    assert_int_equal(s.pid, 1234);
    assert_string_equal(s.comm, "bash");
    assert_int_equal(s.state, 'S');
    assert_int_equal(s.utime, 250);
    assert_int_equal(s.stime, 130);
    assert_int_equal(s.threads, 1);
    assert_int_equal(s.starttime, 987654);
    assert_int_equal(s.rss_pages, 1536);
}

/* A name may hold blanks and parentheses; negative fields are skipped. */
static void test_pid_stat_odd_names(void **state)
{
    (void)state;
    procfs_pid_stat s;
    assert_int_equal(procfs_parse_pid_stat("77 (my (odd) prog) R 1 77 77 0 -1 4194304 5 0 0 0 "
                                           "9 8 0 0 -100 -20 12 0 4242 1000 321",
                                           &s),
                     0);
    assert_string_equal(s.comm, "my (odd) prog");
    assert_int_equal(s.state, 'R');
    assert_int_equal(s.utime, 9);
    assert_int_equal(s.stime, 8);
    assert_int_equal(s.threads, 12);
    assert_int_equal(s.starttime, 4242);
    assert_int_equal(s.rss_pages, 321);

    assert_int_equal(procfs_parse_pid_stat("9 (a) b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 "
                                           "16 17 18 19 20 21",
                                           &s),
                     0);
    assert_string_equal(s.comm, "a) b) c");
    assert_int_equal(s.utime, 11);
    assert_int_equal(s.rss_pages, 21);

    assert_int_equal(procfs_parse_pid_stat("2 (kworker/0:1H-events_highpri) I 2 0 0 0 -1 "
                                           "69238880 0 0 0 0 0 3 0 0 0 -20 1 0 42 0 0",
                                           &s),
                     0);
    assert_string_equal(s.comm, "kworker/0:1H-events_highpri");
    assert_int_equal(s.stime, 3);
}

static void test_pid_stat_bad(void **state)
{
    (void)state;
    procfs_pid_stat s;
    assert_int_equal(procfs_parse_pid_stat("", &s), -EINVAL);
    assert_int_equal(procfs_parse_pid_stat("abc", &s), -EINVAL);
    assert_int_equal(procfs_parse_pid_stat("12 (x S 1 2 3", &s), -EINVAL);
    assert_int_equal(procfs_parse_pid_stat("12 (x) S 1 2 3 4 5 6 7 8 9 10", &s), -EINVAL);
    assert_int_equal(procfs_parse_pid_stat("(x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "
                                           "19 20 21",
                                           &s),
                     -EINVAL);
    assert_int_equal(procfs_parse_pid_stat("1 (x) S 1 2 3 4 5 6 7 8 9 10 -11 12 13 14 15 16 "
                                           "17 18 19 20 21",
                                           &s),
                     -EINVAL);
}

static void test_pid_io(void **state)
{
    (void)state;
    procfs_pid_io io;
    assert_int_equal(procfs_parse_pid_io("rchar: 323934931\n"
                                         "wchar: 323929600\n"
                                         "syscr: 632687\n"
                                         "syscw: 632675\n"
                                         "read_bytes: 4096\n"
                                         "write_bytes: 323932160\n"
                                         "cancelled_write_bytes: 7\n",
                                         &io),
                     0);
    assert_int_equal(io.read_bytes, 4096);
    assert_int_equal(io.write_bytes, 323932160);
    assert_int_equal(io.syscr, 632687);
    assert_int_equal(io.syscw, 632675);
    assert_int_equal(procfs_parse_pid_io("rchar: 1\nwchar: 2\n", &io), -EINVAL);
    assert_int_equal(procfs_parse_pid_io("", &io), -EINVAL);
}

/* Every field is required: one missing or unreadable fails and leaves *out as it was. */
static void test_pid_io_bad(void **state)
{
    (void)state;
    procfs_pid_io io = {1, 2, 3, 4};
    assert_int_equal(procfs_parse_pid_io("syscr: 5\nread_bytes: 0\nwrite_bytes: 0\n", &io),
                     -EINVAL);
    assert_int_equal(procfs_parse_pid_io("syscw: 5\nread_bytes: 0\nwrite_bytes: 0\n", &io),
                     -EINVAL);
    assert_int_equal(
        procfs_parse_pid_io("syscr: -5\nsyscw: 5\nread_bytes: 0\nwrite_bytes: 0\n", &io), -EINVAL);
    assert_int_equal(
        procfs_parse_pid_io(
            "syscr: 99999999999999999999\nsyscw: 5\nread_bytes: 0\nwrite_bytes: 0\n", &io),
        -EINVAL);
    /* A key must be a whole line's key, not the end of a longer one. */
    assert_int_equal(
        procfs_parse_pid_io("xsyscr: 5\nsyscw: 5\nread_bytes: 0\nwrite_bytes: 0\n", &io), -EINVAL);
    assert_int_equal(io.syscr, 3);
    assert_int_equal(io.syscw, 4);

    /* Fields in any order, numbers after any blanks. */
    assert_int_equal(
        procfs_parse_pid_io("write_bytes:\t7\nsyscw: 6\nread_bytes:8\nsyscr:   0\n", &io), 0);
    assert_int_equal(io.syscr, 0);
    assert_int_equal(io.syscw, 6);
    assert_int_equal(io.read_bytes, 8);
    assert_int_equal(io.write_bytes, 7);
}

static void test_delta(void **state)
{
    (void)state;
    assert_int_equal(procfs_delta(5, 10), 5);
    assert_int_equal(procfs_delta(10, 10), 0);
    assert_int_equal(procfs_delta(10, 5), 0);
    assert_int_equal(procfs_delta(0, UINT64_MAX), UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_cpu),
        cmocka_unit_test(test_stat_cpu_bad),
        cmocka_unit_test(test_cpu_usage),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_meminfo_old_and_bad),
        cmocka_unit_test(test_diskstats),
        cmocka_unit_test(test_diskstats_bad),
        cmocka_unit_test(test_diskstats_long_name),
        cmocka_unit_test(test_netdev),
        cmocka_unit_test(test_netdev_bad),
        cmocka_unit_test(test_pid_stat),
        cmocka_unit_test(test_pid_stat_odd_names),
        cmocka_unit_test(test_pid_stat_bad),
        cmocka_unit_test(test_pid_io),
        cmocka_unit_test(test_pid_io_bad),
        cmocka_unit_test(test_delta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
