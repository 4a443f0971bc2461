/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Windows platform layer that runs without a TAP driver (so under wine):
 * Winsock helpers, the datagram pair, the poller over sockets and events,
 * the wakeup, UDP batches, the test device (pairs and the udp: path), DNS
 * argument checks, private files, and the ACLs that let the Trellis Users
 * group in (written, then read back through the Win32 API; wine stores them,
 * it does not enforce them).
 */
#include "platform/device.h"
#include "platform/net.h"
#include "platform/udp.h"
#include "platform/windows/access.h"
#include "platform/windows/files.h"
#include "platform/windows/windows.h"

#include <aclapi.h>
#include <errno.h>
#include <glib.h>
#include <sddl.h>
#include <glib/gstdio.h>
#include <string.h>

enum { TAG_A = 1, TAG_B = 2, TAG_WAKE = 3 };

static void
test_dgram_pair(void)
{
	int fds[2];
	char buf[64];
	TrPlatError err = {0};

	g_assert_cmpint(tr_sock_dgram_pair(fds, &err), ==, 0);
	g_assert_cmpint(tr_sock_recv(fds[0], buf, sizeof(buf)), ==, -EAGAIN);
	g_assert_cmpint(tr_sock_sendto(fds[1], "hello", 5, NULL, 0), ==, 5);
	g_assert_cmpint(tr_sock_sendto(fds[1], "world!", 6, NULL, 0), ==, 6);
	tr_sock_wait_writable(fds[0], 100);
	g_usleep(20000);
	/* packet boundaries are kept */
	g_assert_cmpint(tr_sock_recv(fds[0], buf, sizeof(buf)), ==, 5);
	g_assert_cmpmem(buf, 5, "hello", 5);
	g_assert_cmpint(tr_sock_recv(fds[0], buf, 3), ==, -EMSGSIZE);
	g_assert_cmpint(tr_sock_recv(fds[0], buf, sizeof(buf)), ==, -EAGAIN);
	tr_sock_close(fds[0]);
	tr_sock_close(fds[1]);
}

static void
test_poller(void)
{
	TrPlatError err = {0};
	TrPoller *p = tr_poller_new(&err);
	TrPollEvent ev[4];
	TrWakeup w;
	int fds[2];
	char buf[16];
	gint64 t0;

	g_assert_nonnull(p);
	g_assert_cmpint(tr_wakeup_open(&w, &err), ==, 0);
	g_assert_cmpint(tr_sock_dgram_pair(fds, &err), ==, 0);
	g_assert_cmpint(tr_poller_add(p, fds[0], TAG_A, TR_POLL_IN), ==, 0);
	g_assert_cmpint(tr_poller_add(p, w.rfd, TAG_WAKE, TR_POLL_IN), ==, 0);
	g_assert_cmpint(tr_poller_add(p, fds[0], TAG_B, TR_POLL_IN), ==, -EEXIST);

	/* nothing ready: the wait times out, bounded */
	t0 = g_get_monotonic_time();
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 100), ==, 0);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 80 * 1000);

	/* a wakeup from another thread's point of view: level until cleared */
	tr_wakeup_signal(&w);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 1000), ==, 1);
	g_assert_cmpuint(ev[0].tag, ==, TAG_WAKE);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 0), ==, 1);
	tr_wakeup_clear(&w);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 0), ==, 0);

	/* a datagram: readable until read (level-triggered, as poll()) */
	g_assert_cmpint(tr_sock_sendto(fds[1], "x", 1, NULL, 0), ==, 1);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 2000), ==, 1);
	g_assert_cmpuint(ev[0].tag, ==, TAG_A);
	g_assert_cmpuint(ev[0].events & TR_POLL_IN, !=, 0);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 0), ==, 1);
	g_assert_cmpint(tr_sock_recv(fds[0], buf, sizeof(buf)), ==, 1);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 0), ==, 0);

	/* writable when asked for */
	g_assert_cmpint(tr_poller_mod(p, fds[0], TAG_B, TR_POLL_IN | TR_POLL_OUT), ==, 0);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 1000), ==, 1);
	g_assert_cmpuint(ev[0].tag, ==, TAG_B);
	g_assert_cmpuint(ev[0].events, ==, TR_POLL_OUT);

	g_assert_cmpint(tr_poller_del(p, fds[0]), ==, 0);
	g_assert_cmpint(tr_poller_del(p, fds[0]), ==, -ENOENT);
	tr_poller_free(p);
	tr_wakeup_close(&w);
	tr_sock_close(fds[0]);
	tr_sock_close(fds[1]);
}

static void
test_udp_batches(void)
{
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	TrPlatError err = {0};
	int a, b;
	socklen_t len = sizeof(lo);
	uint8_t payload[3000], bufs[4][2048];
	TrUdpMsg out = {.data = payload, .size = sizeof(payload), .len = 2500, .segment = 1000};
	TrUdpMsg in[4];

	a = tr_udp_open((struct sockaddr *)&lo, sizeof(lo), 0, 1 << 20, &err);
	g_assert_cmpint(a, >=, 0);
	b = tr_udp_open((struct sockaddr *)&lo, sizeof(lo), 0, 1 << 20, &err);
	g_assert_cmpint(b, >=, 0);
	g_assert_cmpint(tr_udp_open((struct sockaddr *)&lo, sizeof(lo), TR_UDP_REUSEPORT, 0, &err),
	                ==, -EOPNOTSUPP);
	g_assert_false(tr_udp_has_gso(a));
	g_assert_cmpint(getsockname(b, (struct sockaddr *)&out.addr, &len), ==, 0);
	out.addr_len = len;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	/* a run of 2500 bytes in 1000-byte segments: three datagrams */
	g_assert_cmpint(tr_udp_send_batch(a, &out, 1), ==, 1);
	for (int i = 0; i < 4; i++)
		in[i] = (TrUdpMsg){.data = bufs[i], .size = sizeof(bufs[i])};
	g_usleep(50000);
	g_assert_cmpint(tr_udp_recv_batch(b, in, 4), ==, 3);
	g_assert_cmpuint(in[0].len, ==, 1000);
	g_assert_cmpuint(in[1].len, ==, 1000);
	g_assert_cmpuint(in[2].len, ==, 500);
	g_assert_cmpmem(in[2].data, 500, payload + 2000, 500);
	g_assert_cmpint(tr_udp_recv_batch(b, in, 4), ==, -EAGAIN);
	tr_sock_close(a);
	tr_sock_close(b);
}

static TrPrefix
prefix4(const char *text, unsigned len)
{
	TrPrefix p = {.family = TR_ADDR_IPV4, .len = (uint8_t)len};

	g_assert_cmpint(inet_pton(AF_INET, text, p.addr), ==, 1);
	return p;
}

static void
test_device_pair(void)
{
	TrPlatError err = {0};
	int peer;
	char buf[2048], state[512];
	TrPrefix a = prefix4("198.19.5.2", 24), r = prefix4("198.19.6.0", 24);
	const char *servers[] = {"198.19.5.1"}, *domains[] = {"corp.test"};
	TrDnsConfig dns = {.servers = servers, .n_servers = 1, .domains = domains, .n_domains = 1};
	TrDevice *dev = tr_device_open_test(TR_DEVICE_TUN, "win%d", 1, &peer, &err);

	g_assert_nonnull(dev);
	g_assert_cmpint(tr_device_read(dev, 0, buf, sizeof(buf)), ==, -EAGAIN);
	g_assert_cmpint(tr_sock_sendto(peer, "packet", 6, NULL, 0), ==, 6);
	g_usleep(20000);
	g_assert_cmpint(tr_device_read(dev, 0, buf, sizeof(buf)), ==, 6);
	g_assert_cmpint(tr_device_write(dev, 0, "reply", 5), ==, 5);
	g_usleep(20000);
	g_assert_cmpint(tr_sock_recv(peer, buf, sizeof(buf)), ==, 5);
	g_assert_cmpint(tr_device_set_up(dev, true, &err), ==, 0);
	g_assert_cmpint(tr_device_add_address(dev, &a, &err), ==, 0);
	g_assert_cmpint(tr_device_add_route(dev, &r, &err), ==, 0);
	g_assert_cmpint(tr_device_set_dns(dev, &dns, &err), ==, 0);
	g_assert_cmpstr(tr_device_test_state(dev, state, sizeof(state)), ==,
	                "mtu 1500\nup\naddress 198.19.5.2/24\nroute 198.19.6.0/24\n"
	                "dns 198.19.5.1\ndomain corp.test\n");
	servers[0] = "not-an-address";
	g_assert_cmpint(tr_device_set_dns(dev, &dns, &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err.message, "not-an-address"));
	g_assert_cmpint(tr_device_close(dev, &err), ==, 0);
	tr_sock_close(peer);
}

static void
test_device_udp_path(void)
{
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in from;
	socklen_t len = sizeof(lo), flen = sizeof(from);
	TrPlatError err = {0};
	char path[64], buf[256];
	int port_fd = tr_udp_open((struct sockaddr *)&lo, sizeof(lo), 0, 0, &err);
	TrDevice *dev;

	g_assert_cmpint(port_fd, >=, 0);
	g_assert_cmpint(getsockname(port_fd, (struct sockaddr *)&lo, &len), ==, 0);
	g_snprintf(path, sizeof(path), "udp:127.0.0.1:%u", ntohs(lo.sin_port));
	dev = tr_device_open(TR_DEVICE_TUN, "trellis%d", path, 1, &err);
	g_assert_nonnull(dev);
	g_usleep(50000);
	/* the empty hello says where the device is */
	g_assert_cmpint(recvfrom(port_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), ==,
	                0);
	g_assert_cmpint(sendto(port_fd, "ip-packet", 9, 0, (struct sockaddr *)&from, flen), ==, 9);
	g_usleep(50000);
	g_assert_cmpint(tr_device_read(dev, 0, buf, sizeof(buf)), ==, 9);
	g_assert_cmpint(tr_device_write(dev, 0, "out", 3), ==, 3);
	g_usleep(50000);
	g_assert_cmpint(recv(port_fd, buf, sizeof(buf), 0), ==, 3);
	g_assert_cmpint(tr_device_close(dev, &err), ==, 0);

	g_assert_null(tr_device_open(TR_DEVICE_TUN, "x", "udp:198.18.0.1:9", 1, &err));
	g_assert_nonnull(strstr(err.message, "127.0.0.1 or ::1 only"));
	g_assert_null(tr_device_open(TR_DEVICE_TUN, "x", "udp:nohost", 1, &err));
	g_assert_nonnull(strstr(err.message, "expected udp:HOST:PORT"));
	tr_sock_close(port_fd);
}

/* Without a TAP driver (wine), opening the OS device says what to install. */
static void
test_no_tap_driver(void)
{
	TrPlatError err = {0};
	TrDevice *dev = tr_device_open(TR_DEVICE_TUN, "trellis%d", NULL, 1, &err);

	if (dev) {
		g_test_skip("a TAP-Windows6 adapter exists here");
		tr_device_close(dev, NULL);
		return;
	}
	g_assert_nonnull(strstr(err.message, "TAP-Windows6"));
}

static void
test_private_files(void)
{
	g_autofree char *dir = g_dir_make_tmp("trwin-XXXXXX", NULL);
	g_autofree char *key = g_build_filename(dir, "private.key", NULL);
	g_autofree char *sub = g_build_filename(dir, "state", NULL);
	int fd;

	g_assert_nonnull(dir);
	fd = tr_win_create_file(key, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "secret", 6), ==, 6);
	close(fd);
	g_assert_cmpint(tr_win_create_file(key, 0600), ==, -EEXIST);
	g_assert_cmpint(tr_win_file_is_shared(key), ==, 0);
	g_assert_cmpint(tr_win_mkdir(sub, 0700), ==, 0);
	g_assert_cmpint(tr_win_mkdir(sub, 0700), ==, -EEXIST);
	g_assert_cmpint(g_remove(key), ==, 0);
	g_assert_cmpint(g_rmdir(sub), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* "SID mask flags;" per ACE of @sd's DACL, then "protected" if it is. */
static char *
acl_text(PSECURITY_DESCRIPTOR sd)
{
	SECURITY_DESCRIPTOR_CONTROL control = 0;
	BOOL present = FALSE, defaulted = FALSE;
	DWORD revision;
	PACL dacl = NULL;
	GString *out = g_string_new(NULL);

	g_assert_true(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
	g_assert_true(present);
	g_assert_nonnull(dacl);
	for (DWORD i = 0; i < dacl->AceCount; i++) {
		ACCESS_ALLOWED_ACE *ace;
		wchar_t *sid = NULL;
		g_autofree char *usid = NULL;

		g_assert_true(GetAce(dacl, i, (void **)&ace));
		g_assert_cmpint(ace->Header.AceType, ==, ACCESS_ALLOWED_ACE_TYPE);
		g_assert_true(ConvertSidToStringSidW((PSID)&ace->SidStart, &sid));
		usid = g_utf16_to_utf8(sid, -1, NULL, NULL, NULL);
		LocalFree(sid);
		g_string_append_printf(out, "%s 0x%lx 0x%x;", usid, (unsigned long)ace->Mask,
		                       ace->Header.AceFlags);
	}
	g_assert_true(GetSecurityDescriptorControl(sd, &control, &revision));
	if (control & SE_DACL_PROTECTED)
		g_string_append(out, "protected");
	return g_string_free(out, FALSE);
}

/* The ACL of @kind for @group, as acl_text() says it. */
static char *
built(TrWinAcl kind, PSID group)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	char *text;

	g_assert_cmpuint(tr_win_acl_descriptor(kind, group, &sd), ==, ERROR_SUCCESS);
	text = acl_text(sd);
	LocalFree(sd);
	return text;
}

/* A local group's SID as Windows makes them; wine's LookupAccountName
 * knows no group Trellis makes (its netapi32 local groups are stubs). */
#define GROUP_SID L"S-1-5-21-1004336348-1177238915-682003330-1013"
#define GROUP     "S-1-5-21-1004336348-1177238915-682003330-1013"
#define SY_BA_DIR "S-1-5-18 0x1f01ff 0x3;S-1-5-32-544 0x1f01ff 0x3;"
#define SY_BA     "S-1-5-18 0x1f01ff 0x0;S-1-5-32-544 0x1f01ff 0x0;"

/*
 * The ACLs Trellis writes, as built (upstream wine keeps no file ACLs, it
 * maps them to Unix mode bits: what a file was given cannot be read back
 * from it there; Windows was never run).
 */
static void
test_access_acls(void)
{
	g_autofree char *dir = g_dir_make_tmp("trwin-XXXXXX", NULL);
	g_autofree char *run = g_build_filename(dir, "run", NULL);
	g_autofree char *made = g_build_filename(dir, "made.sock", NULL);
	g_autofree wchar_t *wdir = g_utf8_to_utf16(dir, -1, NULL, NULL, NULL);
	PSID group = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;
	wchar_t *sddl = NULL;
	g_autofree char *usddl = NULL;
	char *text;
	bool used = true;
	int fd;

	g_assert_true(ConvertStringSidToSidW(GROUP_SID, &group));
	/* ProgramData\Trellis, run\: the group lists and traverses (FILE_GENERIC_READ |
	 * FILE_GENERIC_EXECUTE), this folder only: what they hold is not its. */
	text = built(TR_WIN_ACL_DIR, group);
	g_assert_cmpstr(text, ==, SY_BA_DIR GROUP " 0x1200a9 0x0;protected");
	g_free(text);
	/* state\ (keys): nothing for it, group or not. */
	text = built(TR_WIN_ACL_PRIVATE_DIR, group);
	g_assert_cmpstr(text, ==, SY_BA_DIR "protected");
	g_free(text);
	/* A control file or nonce file: FILE_GENERIC_READ, nothing more. */
	text = built(TR_WIN_ACL_CONTROL_FILE, group);
	g_assert_cmpstr(text, ==, SY_BA GROUP " 0x120089 0x0;protected");
	g_free(text);
	/* Without the group: SYSTEM and the Administrators only. */
	text = built(TR_WIN_ACL_CONTROL_FILE, NULL);
	g_assert_cmpstr(text, ==, SY_BA "protected");
	g_free(text);
	text = built(TR_WIN_ACL_DIR, NULL);
	g_assert_cmpstr(text, ==, SY_BA_DIR "protected");
	g_free(text);
	/* A service: Windows' default, and the group may query, start and stop
	 * (SERVICE_QUERY_CONFIG, _QUERY_STATUS, _ENUMERATE_DEPENDENTS, _START,
	 * _STOP, _INTERROGATE, READ_CONTROL), neither change nor delete it. */
	text = built(TR_WIN_ACL_SERVICE, group);
	g_assert_true(g_str_has_suffix(text, GROUP " 0x200bd 0x0;"));
	g_free(text);
	g_assert_cmpuint(tr_win_acl_descriptor(TR_WIN_ACL_SERVICE, group, &sd), ==, ERROR_SUCCESS);
	g_assert_true(ConvertSecurityDescriptorToStringSecurityDescriptorW(
	        sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &sddl, NULL));
	usddl = g_utf16_to_utf8(sddl, -1, NULL, NULL, NULL);
	g_test_message("service: %s", usddl);
	g_assert_nonnull(strstr(usddl, "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)"));
	g_assert_nonnull(strstr(usddl, "(A;;CCLCSWRPWPLORC;;;" GROUP ")"));
	LocalFree(sddl);
	LocalFree(sd);
	/* Written: the calls succeed (wine takes them; it keeps mode bits only). */
	g_assert_cmpuint(tr_win_acl_apply_path(wdir, TR_WIN_ACL_DIR, group), ==, ERROR_SUCCESS);
	fd = tr_win_create_control_file(made, &used);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	g_assert_cmpint(tr_win_create_control_file(made, &used), ==, -EEXIST);
	g_assert_cmpint(tr_win_protect_control_file(made, &used), ==, 0);
	g_assert_cmpint(tr_win_mkdir_control(run, &used), ==, 0);
	g_assert_cmpint(tr_win_mkdir_control(run, &used), ==, -EEXIST);
	g_assert_cmpint(g_rmdir(run), ==, 0);
	g_assert_cmpint(g_remove(made), ==, 0);
	LocalFree(group);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(tr_net_init(NULL), ==, 0);
	g_test_add_func("/win/dgram-pair", test_dgram_pair);
	g_test_add_func("/win/poller", test_poller);
	g_test_add_func("/win/udp-batches", test_udp_batches);
	g_test_add_func("/win/device-pair", test_device_pair);
	g_test_add_func("/win/device-udp-path", test_device_udp_path);
	g_test_add_func("/win/no-tap-driver", test_no_tap_driver);
	g_test_add_func("/win/private-files", test_private_files);
	g_test_add_func("/win/access-acls", test_access_acls);
	return g_test_run();
}
