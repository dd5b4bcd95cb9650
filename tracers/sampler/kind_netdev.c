/* kind_netdev.c - "netdev": per-interface traffic from /proc/net/dev. */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"
#include "procfs.h"

enum { NET_RX_BYTES, NET_TX_BYTES, NET_RX_PACKETS, NET_TX_PACKETS };

static int net_parse(const char *line, char *name, uint64_t c[DEVICE_COUNTERS])
{
    procfs_netdev n;
    if (procfs_parse_netdev_line(line, &n) != 0)
        return -1;
    memcpy(name, n.name, sizeof(n.name));
    c[NET_RX_BYTES] = n.rx_bytes;
    c[NET_TX_BYTES] = n.tx_bytes;
    c[NET_RX_PACKETS] = n.rx_packets;
    c[NET_TX_PACKETS] = n.tx_packets;
    return 0;
}

/* Every interface but loopback, told by IFF_LOOPBACK in sysfs so that a
 * renamed loopback is still recognised. */
static int net_by_default(const char *name, sca_buf *scratch)
{
    char path[PROCFS_NAME_MAX + 32];
    snprintf(path, sizeof(path), "/sys/class/net/%s/flags", name);
    if (sampler_read_file(path, scratch, NULL) != 0)
        return strcmp(name, "lo") != 0;
    return (strtoul(scratch->data, NULL, 16) & IFF_LOOPBACK) == 0;
}

static void net_emit(sca_buf *line, const char *name, const double rate[DEVICE_COUNTERS])
{
    sampler_kv(line, name, "rx_kbps", rate[NET_RX_BYTES] / 1024, 2, "kB/s");
    sampler_kv(line, name, "tx_kbps", rate[NET_TX_BYTES] / 1024, 2, "kB/s");
    sampler_kv(line, name, "rx_pps", rate[NET_RX_PACKETS], 2, "pkt/s");
    sampler_kv(line, name, "tx_pps", rate[NET_TX_PACKETS], 2, "pkt/s");
}

static const device_source net_source = {
    "/proc/net/dev",
    "network interface",
    "no network interfaces other than loopback; name one with --dev",
    net_parse,
    net_by_default,
    net_emit,
};

static int net_open(const sampler_opts *opts, void **state, sca_error *err)
{
    return devices_open(&net_source, opts, state, err);
}

const sampler_kind sampler_netdev = {"netdev", net_open, devices_sample, devices_close};
