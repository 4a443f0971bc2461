/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The platform layer through its test device (socketpairs, no root). */
#include "platform/device.h"
#include "platform/posix/posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static TrPrefix
prefix(TrAddrFamily family, const char *text, unsigned len)
{
	TrPrefix p = {.family = family, .len = (uint8_t)len};

	g_assert_cmpint(inet_pton(family == TR_ADDR_IPV4 ? AF_INET : AF_INET6, text, p.addr), ==,
	                1);
	return p;
}

static void
assert_state(TrDevice *dev, const char *expect)
{
	char buf[1024];

	g_assert_cmpstr(tr_device_test_state(dev, buf, sizeof(buf)), ==, expect);
}

static void
assert_msg(const TrPlatError *err, int code, const char *fragment)
{
	g_assert_cmpint(err->code, ==, code);
	if (!strstr(err->message, fragment))
		g_error("message '%s' lacks '%s'", err->message, fragment);
}

static void
test_open_names(void)
{
	TrPlatError err = {0};
	int peers[3];
	TrDevice *a = tr_device_open_test(TR_DEVICE_TUN, "tt%d", 3, peers, &err);
	TrDevice *b = tr_device_open_test(TR_DEVICE_TAP, NULL, 1, peers + 2, &err);

	g_assert_nonnull(a);
	g_assert_nonnull(b);
	g_assert_true(g_str_has_prefix(tr_device_ifname(a), "tt"));
	g_assert_true(g_ascii_isdigit(tr_device_ifname(a)[2]));
	g_assert_true(g_str_has_prefix(tr_device_ifname(b), "trellis"));
	g_assert_cmpstr(tr_device_ifname(a), !=, tr_device_ifname(b) + 5);
	g_assert_cmpint(tr_device_type(b), ==, TR_DEVICE_TAP);
	g_assert_cmpuint(tr_device_n_queues(a), ==, 3);
	for (unsigned q = 0; q < 3; q++) {
		int fd = (int)tr_device_queue_fd(a, q);
		g_assert_cmpint(fd, >=, 0);
		g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	}
	g_assert_cmpint(tr_device_queue_fd(a, 3), ==, -1);
	g_assert_cmpint(tr_device_close(a, &err), ==, 0);
	g_assert_cmpint(tr_device_close(b, &err), ==, 0);
	for (unsigned i = 0; i < 3; i++)
		close(peers[i]);

	g_assert_null(tr_device_open_test(TR_DEVICE_TUN, "x", 0, peers, &err));
	assert_msg(&err, -EINVAL, "0 queues asked for; a device has 1 to 64");
	g_assert_null(
	        tr_device_open_test(TR_DEVICE_TUN,
	                            "a-name-that-is-far-too-long-for-any-interface-name-at-all-"
	                            "really",
	                            1, peers, &err));
	assert_msg(&err, -ENAMETOOLONG, "is too long");
	g_assert_cmpint(tr_device_close(NULL, NULL), ==, 0);
}

static void
test_packets(void)
{
	TrPlatError err = {0};
	uint8_t bufs[4][64], big[200];
	TrDevPacket pkts[4];
	int peer;
	TrDevice *dev = tr_device_open_test(TR_DEVICE_TUN, "tp%d", 1, &peer, &err);

	g_assert_nonnull(dev);
	g_assert_cmpint(tr_device_read(dev, 0, bufs[0], 64), ==, -EAGAIN);
	g_assert_cmpint(tr_device_read(dev, 1, bufs[0], 64), ==, -EINVAL);

	/* one packet each way, boundaries kept */
	g_assert_cmpint(send(peer, "hello", 5, 0), ==, 5);
	g_assert_cmpint(send(peer, "world!", 6, 0), ==, 6);
	g_assert_cmpint(tr_device_read(dev, 0, bufs[0], 64), ==, 5);
	g_assert_cmpmem(bufs[0], 5, "hello", 5);
	g_assert_cmpint(tr_device_read(dev, 0, bufs[0], 64), ==, 6);
	g_assert_cmpint(tr_device_write(dev, 0, "abc", 3), ==, 3);
	g_assert_cmpint(recv(peer, big, sizeof(big), 0), ==, 3);

	/* too big for the buffer: dropped with EMSGSIZE, the next one still comes */
	memset(big, 7, sizeof(big));
	g_assert_cmpint(send(peer, big, 100, 0), ==, 100);
	g_assert_cmpint(tr_device_read(dev, 0, bufs[0], 64), ==, -EMSGSIZE);
	g_assert_cmpint(tr_device_read(dev, 0, bufs[0], 64), ==, -EAGAIN);

	/* batches: 3 waiting, one of them oversized, 4 slots */
	for (unsigned i = 0; i < 4; i++)
		pkts[i] = (TrDevPacket){.data = bufs[i], .size = sizeof(bufs[i])};
	g_assert_cmpint(send(peer, "one", 3, 0), ==, 3);
	g_assert_cmpint(send(peer, big, 100, 0), ==, 100);
	g_assert_cmpint(send(peer, "three", 5, 0), ==, 5);
	g_assert_cmpint(tr_device_read_batch(dev, 0, pkts, 4), ==, 2);
	g_assert_cmpmem(pkts[0].data, pkts[0].len, "one", 3);
	g_assert_cmpmem(pkts[1].data, pkts[1].len, "three", 5);
	g_assert_cmpint(tr_device_read_batch(dev, 0, pkts, 4), ==, -EAGAIN);

	pkts[0].len = 2;
	pkts[1].len = 5;
	g_assert_cmpint(tr_device_write_batch(dev, 0, pkts, 2), ==, 2);
	g_assert_cmpint(recv(peer, big, sizeof(big), 0), ==, 2);
	g_assert_cmpint(recv(peer, big, sizeof(big), 0), ==, 5);
	g_assert_cmpmem(big, 5, "three", 5);

	/* the peer gone: reads say so instead of spinning */
	close(peer);
	g_assert_cmpint(tr_device_read(dev, 0, bufs[0], 64), ==, -EPIPE);
	g_assert_cmpint(tr_device_write(dev, 0, "x", 1), ==, -EPIPE);
	tr_device_close(dev, NULL);
}

/* Devices without offloads: the gso calls are the plain ones, metadata refused. */
static void
test_no_offloads(void)
{
	TrPlatError err = {0};
	uint8_t buf[64];
	TrGso gso;
	const TrGso tso = {.type = TR_GSO_TCPV4,
	                   .needs_csum = true,
	                   .hdr_len = 40,
	                   .gso_size = 1000,
	                   .csum_start = 20,
	                   .csum_offset = 16},
	            csum = {.needs_csum = true, .csum_start = 20, .csum_offset = 6}, none = {0};
	int peer;
	TrDevice *dev = tr_device_open_test(TR_DEVICE_TUN, "to%d", 1, &peer, &err);

	g_assert_nonnull(dev);
	g_assert_cmpuint(tr_device_offloads(dev), ==, 0);
	memset(&gso, 0xff, sizeof(gso));
	g_assert_cmpint(send(peer, "hello", 5, 0), ==, 5);
	g_assert_cmpint(tr_device_read_gso(dev, 0, buf, sizeof(buf), &gso), ==, 5);
	g_assert_cmpmem(buf, 5, "hello", 5);
	g_assert_cmpint(gso.type, ==, TR_GSO_NONE);
	g_assert_false(gso.needs_csum);
	g_assert_false(gso.ecn);
	g_assert_cmpuint(gso.hdr_len | gso.gso_size | gso.csum_start | gso.csum_offset, ==, 0);
	g_assert_cmpint(tr_device_read_gso(dev, 0, buf, sizeof(buf), &gso), ==, -EAGAIN);
	g_assert_cmpint(tr_device_read_gso(dev, 1, buf, sizeof(buf), &gso), ==, -EINVAL);

	g_assert_cmpint(tr_device_write_gso(dev, 0, NULL, "abc", 3), ==, 3);
	g_assert_cmpint(tr_device_write_gso(dev, 0, &none, "de", 2), ==, 2);
	g_assert_cmpint(tr_device_write_gso(dev, 0, &tso, "xyz", 3), ==, -EINVAL);
	g_assert_cmpint(tr_device_write_gso(dev, 0, &csum, "xyz", 3), ==, -EINVAL);
	g_assert_cmpint(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), ==, 3);
	g_assert_cmpint(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), ==, 2);
	g_assert_cmpint(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), ==, -1);
	close(peer);
	tr_device_close(dev, NULL);
}

static void
test_config(void)
{
	TrPlatError err = {0};
	TrPrefix a4 = prefix(TR_ADDR_IPV4, "198.19.0.2", 24),
	         a6 = prefix(TR_ADDR_IPV6, "fd00::2", 64);
	TrPrefix r4 = prefix(TR_ADDR_IPV4, "198.19.8.0", 21),
	         mac = {.family = TR_ADDR_MAC, .len = 48};
	const char *servers[] = {"198.19.0.1", "fd00::1"}, *domains[] = {"vpn.test"};
	TrDnsConfig dns = {servers, 2, domains, 1, TR_DNS_AUTO, NULL};
	unsigned mtu = 0;
	int peer;
	TrDevice *dev = tr_device_open_test(TR_DEVICE_TUN, "tc", 1, &peer, &err);

	g_assert_nonnull(dev);
	g_assert_cmpstr(tr_device_ifname(dev), ==, "tc");
	g_assert_cmpint(tr_device_set_mtu(dev, 1400, &err), ==, 0);
	g_assert_cmpint(tr_device_get_mtu(dev, &mtu, &err), ==, 0);
	g_assert_cmpuint(mtu, ==, 1400);
	g_assert_cmpint(tr_device_set_mtu(dev, 40, &err), ==, -EINVAL);
	assert_msg(&err, -EINVAL, "MTU 40 is out of range");
	g_assert_cmpint(tr_device_set_up(dev, true, &err), ==, 0);
	g_assert_cmpint(tr_device_add_address(dev, &a4, &err), ==, 0);
	g_assert_cmpint(tr_device_add_address(dev, &a6, &err), ==, 0);
	g_assert_cmpint(tr_device_add_route(dev, &r4, &err), ==, 0);
	g_assert_cmpint(tr_device_set_dns(dev, &dns, &err), ==, 0);
	assert_state(dev, "mtu 1400\nup\naddress 198.19.0.2/24\naddress fd00::2/64\n"
	                  "route 198.19.8.0/21\ndns 198.19.0.1\ndns fd00::1\ndomain vpn.test\n");

	/* errors: clear, and nothing changes */
	g_assert_cmpint(tr_device_add_address(dev, &a4, &err), ==, -EEXIST);
	assert_msg(&err, -EEXIST, "address 198.19.0.2/24 exists");
	g_assert_cmpint(tr_device_add_route(dev, &mac, &err), ==, -EAFNOSUPPORT);
	assert_msg(&err, -EAFNOSUPPORT, "only IPv4 and IPv6");
	a4.len = 33;
	g_assert_cmpint(tr_device_add_address(dev, &a4, &err), ==, -EINVAL);
	assert_msg(&err, -EINVAL, "prefix length 33 is too long");
	a4.len = 24;
	servers[1] = "dns.example";
	g_assert_cmpint(tr_device_set_dns(dev, &dns, &err), ==, -EINVAL);
	assert_msg(&err, -EINVAL, "DNS server 'dns.example' is not a numeric");

	g_assert_cmpint(tr_device_remove_address(dev, &a4, &err), ==, 0);
	g_assert_cmpint(tr_device_remove_route(dev, &r4, &err), ==, -0);
	g_assert_cmpint(tr_device_remove_route(dev, &r4, &err), ==, -ESRCH);
	assert_msg(&err, -ESRCH, "no route 198.19.8.0/21");
	assert_state(dev, "mtu 1400\nup\naddress fd00::2/64\n");
	g_assert_cmpint(tr_device_close(dev, &err), ==, 0);
	close(peer);
}

/* Addresses in messages and state are RFC 5952 text (the platform's own formatter). */
static void
test_prefix_text(void)
{
	static const struct {
		const char *in;
		unsigned len;
		const char *out;
	} cases[] = {
	        {"fd00::", 8, "address fd00::/8"},
	        {"::", 0, "address ::/0"},
	        {"fd00:0:0:1::", 64, "address fd00:0:0:1::/64"},
	        {"fd00:0:1:0:0:0:1:1", 128, "address fd00:0:1::1:1/128"},
	        {"fd00:0:0:1:0:0:0:1", 128, "address fd00:0:0:1::1/128"},
	        {"fd00:0:0:1:1:0:0:1", 128, "address fd00::1:1:0:0:1/128"},
	        {"fd00:1:0:1:2:3:4:5", 128, "address fd00:1:0:1:2:3:4:5/128"},
	        {"::198.19.0.1", 128, "address ::c613:1/128"},
	};
	TrPlatError err = {0};
	char state[256], want[128];
	int peer;
	TrDevice *dev = tr_device_open_test(TR_DEVICE_TUN, "tx", 1, &peer, &err);

	g_assert_nonnull(dev);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		TrPrefix p = prefix(TR_ADDR_IPV6, cases[i].in, cases[i].len);
		g_assert_cmpint(tr_device_add_address(dev, &p, &err), ==, 0);
		g_snprintf(want, sizeof(want), "mtu 1500\n%s\n", cases[i].out);
		g_assert_cmpstr(tr_device_test_state(dev, state, sizeof(state)), ==, want);
		g_assert_cmpint(tr_device_remove_address(dev, &p, &err), ==, 0);
	}
	tr_device_close(dev, NULL);
	close(peer);
}

static char *
slurp(const char *path)
{
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("(missing)");
	return text;
}

static void
test_hooks(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-hooks-XXXXXX", NULL);
	g_autofree char *log = g_build_filename(dir, "log", NULL);
	g_autofree char *up = g_strdup_printf("echo \"up $IFNAME\" >> '%s'", log);
	g_autofree char *down = g_strdup_printf("echo \"down $IFNAME\" >> '%s'", log);
	g_autofree char *text = NULL;
	TrPlatError err = {0};
	int peer;
	TrDevice *dev = tr_device_open_test(TR_DEVICE_TAP, "th", 1, &peer, &err);

	g_assert_nonnull(dev);
	g_assert_cmpint(tr_device_ifup(dev, "exit 3", down, &err), ==, -ECHILD);
	assert_msg(&err, -ECHILD, "ifup: command 'exit 3' exited with status 3");
	g_assert_cmpint(tr_device_run_hook(dev, "kill -TERM $$", &err), ==, -ECHILD);
	assert_msg(&err, -ECHILD, "was killed by signal 15");
	g_assert_cmpint(tr_device_run_hook(dev, "no-such-command-anywhere 2>/dev/null", &err), ==,
	                -ENOENT);
	assert_msg(&err, -ENOENT, "status 127 (command not found?)");
	g_assert_cmpint(tr_device_ifup(dev, up, down, &err), ==, 0);
	text = slurp(log);
	g_assert_cmpstr(text, ==, "up th\n");
	g_clear_pointer(&text, g_free);
	g_assert_cmpint(tr_device_close(dev, &err), ==, 0);
	text = slurp(log);
	g_assert_cmpstr(text, ==, "up th\ndown th\n");
	close(peer);
	g_unlink(log);
	g_rmdir(dir);
}

/* The resolv.conf method on a file of our own: written, backed up, restored. */
static void
test_dns_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-dns-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "resolv.conf", NULL);
	g_autofree char *backup = g_strconcat(path, ".trellis-backup", NULL);
	g_autofree char *text = NULL;
	const char *orig = "nameserver 198.18.0.53\noptions edns0\n";
	const char *servers[] = {"198.19.0.1"}, *domains[] = {"a.test", "b.test"};
	TrDnsConfig dns = {servers, 1, domains, 2, TR_DNS_FILE, path};
	TrPosixDns st = {0};
	TrPlatError err = {0};

	g_assert_true(g_file_set_contents(path, orig, -1, NULL));
	g_assert_cmpint(tr_posix_dns_file_set(&st, path, "tf0", &dns, &err), ==, 0);
	text = slurp(path);
	g_assert_cmpstr(text, ==,
	                "# set by Trellis for tf0\nnameserver 198.19.0.1\n"
	                "search a.test b.test\n");
	g_clear_pointer(&text, g_free);
	text = slurp(backup);
	g_assert_cmpstr(text, ==, orig);
	g_clear_pointer(&text, g_free);
	g_assert_cmpint(tr_posix_dns_clear(&st, "tf0", &err), ==, 0);
	text = slurp(path);
	g_assert_cmpstr(text, ==, orig);
	g_clear_pointer(&text, g_free);
	g_assert_false(g_file_test(backup, G_FILE_TEST_EXISTS));

	/* a backup left by a crashed run is the original, not what is in the file now */
	g_assert_true(g_file_set_contents(backup, orig, -1, NULL));
	g_assert_true(g_file_set_contents(path, "nameserver 198.19.9.9\n", -1, NULL));
	g_assert_cmpint(tr_posix_dns_file_set(&st, path, "tf0", &dns, &err), ==, 0);
	g_assert_cmpint(tr_posix_dns_clear(&st, "tf0", &err), ==, 0);
	text = slurp(path);
	g_assert_cmpstr(text, ==, orig);
	g_clear_pointer(&text, g_free);

	g_unlink(path);
	g_assert_cmpint(tr_posix_dns_file_set(&st, path, "tf0", &dns, &err), ==, -ENOENT);
	assert_msg(&err, -ENOENT, "cannot read");
	g_rmdir(dir);
}

/* "udp:127.0.0.1:PORT": the test device on a loopback UDP port (what the
 * Windows client uses under wine, which has no TAP driver). */
static void
test_udp_path(void)
{
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in from;
	socklen_t len = sizeof(lo), flen = sizeof(from);
	TrPlatError err = {0};
	char path[64], buf[256];
	int port = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	TrDevice *dev;

	g_assert_cmpint(bind(port, (struct sockaddr *)&lo, sizeof(lo)), ==, 0);
	g_assert_cmpint(getsockname(port, (struct sockaddr *)&lo, &len), ==, 0);
	g_snprintf(path, sizeof(path), "udp:127.0.0.1:%u", ntohs(lo.sin_port));
	dev = tr_device_open(TR_DEVICE_TUN, "trellis%d", path, 1, &err);
	g_assert_nonnull(dev);
	/* the empty hello says where the device is */
	g_assert_cmpint(recvfrom(port, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), ==,
	                0);
	g_assert_cmpint(sendto(port, "ip-packet", 9, 0, (struct sockaddr *)&from, flen), ==, 9);
	for (int i = 0; i < 100 && tr_device_read(dev, 0, buf, sizeof(buf)) == -EAGAIN; i++)
		g_usleep(10000);
	g_assert_cmpint(tr_device_write(dev, 0, "out", 3), ==, 3);
	g_assert_cmpint(recv(port, buf, sizeof(buf), 0), ==, 3);
	g_assert_cmpint(tr_device_close(dev, &err), ==, 0);

	g_assert_null(tr_device_open(TR_DEVICE_TUN, "x", "udp:198.18.0.1:9", 1, &err));
	g_assert_nonnull(strstr(err.message, "127.0.0.1 or ::1 only"));
	g_assert_null(tr_device_open(TR_DEVICE_TUN, "x", "udp:nohost", 1, &err));
	g_assert_nonnull(strstr(err.message, "expected udp:HOST:PORT"));
	g_assert_null(tr_device_open(TR_DEVICE_TUN, "x", path, 2, &err));
	g_assert_nonnull(strstr(err.message, "one queue"));
	close(port);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/device/open-names", test_open_names);
	g_test_add_func("/device/packets", test_packets);
	g_test_add_func("/device/no-offloads", test_no_offloads);
	g_test_add_func("/device/config", test_config);
	g_test_add_func("/device/prefix-text", test_prefix_text);
	g_test_add_func("/device/hooks", test_hooks);
	g_test_add_func("/device/dns-file", test_dns_file);
	g_test_add_func("/device/udp-path", test_udp_path);
	return g_test_run();
}
