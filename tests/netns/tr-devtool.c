/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Drives the platform layer for the netns tests: opens a device, configures
 * it from the command line, prints "ready IFNAME", optionally answers ARP and
 * ICMP echo requests that arrive on it (so ping proves packets cross both
 * ways), and closes it -- undoing everything -- on SIGTERM/SIGINT. Errors go to stderr as "error:
 * MESSAGE", exit 1.
 */
#include "platform/device.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ITEMS 8

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
parse_prefix(const char *text, TrPrefix *p)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);

	if (!slash || n >= sizeof(addr))
		return -1;
	memcpy(addr, text, n);
	addr[n] = '\0';
	memset(p, 0, sizeof(*p));
	p->len = (uint8_t)atoi(slash + 1);
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->family = TR_ADDR_IPV4;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->family = TR_ADDR_IPV6;
	else
		return -1;
	return 0;
}

static uint16_t
csum_add(uint16_t sum, uint16_t add)
{
	uint32_t s = (uint32_t)sum + add;
	return (uint16_t)((s & 0xffff) + (s >> 16));
}

/* Turns an IPv4 ICMP echo request into its reply in place; false if not one. */
static bool
echo_ipv4(uint8_t *ip, size_t len)
{
	size_t hl;
	uint8_t tmp[4];
	uint16_t sum;

	if (len < 20 || ip[0] >> 4 != 4 || ip[9] != 1)
		return false;
	hl = (size_t)(ip[0] & 15) * 4;
	if (len < hl + 8 || ip[hl] != 8)
		return false;
	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	ip[hl] = 0; /* echo reply: the checksum grows by what the type lost */
	memcpy(&sum, ip + hl + 2, 2);
	sum = htons(csum_add(ntohs(sum), 0x0800));
	memcpy(ip + hl + 2, &sum, 2);
	return true;
}

/* tap: answers ARP requests (as 02:00:00:00:00:01) and IPv4 echo requests. */
static bool
echo_ether(uint8_t *f, size_t len)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	uint8_t ip[4];

	if (len < 14)
		return false;
	if (f[12] == 0x08 && f[13] == 0x06 && len >= 42 && f[20] == 0 && f[21] == 1) {
		memcpy(f, f + 6, 6);
		memcpy(f + 6, mac, 6);
		f[21] = 2;
		memcpy(ip, f + 38, 4);      /* the asked-for address */
		memcpy(f + 32, f + 22, 10); /* target = the asker */
		memcpy(f + 22, mac, 6);
		memcpy(f + 28, ip, 4);
		return true;
	}
	if (f[12] == 0x08 && f[13] == 0x00 && echo_ipv4(f + 14, len - 14)) {
		memcpy(f, f + 6, 6);
		memcpy(f + 6, mac, 6);
		return true;
	}
	return false;
}

static int
fail(const TrPlatError *err)
{
	fprintf(stderr, "error: %s\n", err->message);
	return 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tr-devtool [--tap] [--name PATTERN] [--path PATH] [--queues N]\n"
	                "  [--mtu N] [--up] [--addr A/LEN]... [--route P/LEN]... [--dns IP]...\n"
	                "  [--domain D]... [--resolv-conf FILE] [--dns-method auto|file]\n"
	                "  [--ifup CMD] [--ifdown CMD] [--echo]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"tap", no_argument, NULL, 't'},
	        {"name", required_argument, NULL, 'n'},
	        {"path", required_argument, NULL, 'p'},
	        {"queues", required_argument, NULL, 'q'},
	        {"mtu", required_argument, NULL, 'm'},
	        {"up", no_argument, NULL, 'u'},
	        {"addr", required_argument, NULL, 'a'},
	        {"route", required_argument, NULL, 'r'},
	        {"dns", required_argument, NULL, 'd'},
	        {"domain", required_argument, NULL, 'D'},
	        {"resolv-conf", required_argument, NULL, 'R'},
	        {"dns-method", required_argument, NULL, 'M'},
	        {"ifup", required_argument, NULL, 'i'},
	        {"ifdown", required_argument, NULL, 'o'},
	        {"echo", no_argument, NULL, 'e'},
	        {NULL, 0, NULL, 0},
	};
	TrDeviceType type = TR_DEVICE_TUN;
	const char *name = NULL, *path = NULL, *ifup = NULL, *ifdown = NULL;
	const char *servers[MAX_ITEMS], *domains[MAX_ITEMS];
	TrDnsConfig dns = {servers, 0, domains, 0, TR_DNS_AUTO, NULL};
	TrPrefix addrs[MAX_ITEMS], routes[MAX_ITEMS];
	unsigned n_addrs = 0, n_routes = 0, queues = 1, mtu = 0;
	bool up = false, echo = false;
	struct pollfd pfd[TR_DEVICE_MAX_QUEUES];
	struct sigaction sa = {.sa_handler = on_signal};
	TrPlatError err = {0};
	uint8_t buf[65536];
	TrDevice *dev;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			type = TR_DEVICE_TAP;
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			path = optarg;
			break;
		case 'q':
			queues = (unsigned)atoi(optarg);
			break;
		case 'm':
			mtu = (unsigned)atoi(optarg);
			break;
		case 'u':
			up = true;
			break;
		case 'e':
			echo = true;
			break;
		case 'i':
			ifup = optarg;
			break;
		case 'o':
			ifdown = optarg;
			break;
		case 'R':
			dns.resolv_conf = optarg;
			break;
		case 'M':
			dns.method = strcmp(optarg, "file") == 0 ? TR_DNS_FILE : TR_DNS_AUTO;
			break;
		case 'a':
		case 'r':
			if (n_addrs == MAX_ITEMS || n_routes == MAX_ITEMS ||
			    parse_prefix(optarg,
			                 c == 'a' ? &addrs[n_addrs++] : &routes[n_routes++]) < 0) {
				fprintf(stderr, "error: bad prefix %s\n", optarg);
				return 2;
			}
			break;
		case 'd':
		case 'D':
			if ((c == 'd' ? dns.n_servers : dns.n_domains) == MAX_ITEMS)
				return 2;
			if (c == 'd')
				servers[dns.n_servers++] = optarg;
			else
				domains[dns.n_domains++] = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	dev = tr_device_open(type, name, path, queues, &err);
	if (!dev)
		return fail(&err);
	if (mtu && tr_device_set_mtu(dev, mtu, &err) < 0)
		goto out;
	if (up && tr_device_set_up(dev, true, &err) < 0)
		goto out;
	for (unsigned i = 0; i < n_addrs; i++)
		if (tr_device_add_address(dev, &addrs[i], &err) < 0)
			goto out;
	for (unsigned i = 0; i < n_routes; i++)
		if (tr_device_add_route(dev, &routes[i], &err) < 0)
			goto out;
	if ((dns.n_servers || dns.n_domains) && tr_device_set_dns(dev, &dns, &err) < 0)
		goto out;
	if ((ifup || ifdown) && tr_device_ifup(dev, ifup, ifdown, &err) < 0)
		goto out;
	printf("ready %s\n", tr_device_ifname(dev));
	fflush(stdout);

	for (unsigned q = 0; q < queues; q++)
		pfd[q] = (struct pollfd){.fd = (int)tr_device_queue_fd(dev, q), .events = POLLIN};
	while (!stop) {
		if (poll(pfd, queues, 500) < 0)
			continue;
		for (unsigned q = 0; q < queues; q++) {
			ssize_t n;
			if (!(pfd[q].revents & POLLIN))
				continue;
			while ((n = tr_device_read(dev, q, buf, sizeof(buf))) > 0) {
				bool answer = type == TR_DEVICE_TUN ? echo_ipv4(buf, (size_t)n)
				                                    : echo_ether(buf, (size_t)n);
				if (echo && answer && tr_device_write(dev, q, buf, (size_t)n) < 0)
					fprintf(stderr, "write failed on queue %u\n", q);
				if (echo && answer)
					fprintf(stderr, "echoed on queue %u\n", q);
			}
		}
	}
	printf("closing\n");
	fflush(stdout);
	if (tr_device_close(dev, &err) < 0)
		return fail(&err);
	return 0;
out:
	rc = fail(&err);
	tr_device_close(dev, NULL);
	return rc;
}
