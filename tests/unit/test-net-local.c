/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tr_net_local_addresses() (platform/net.h), the mesh's host candidates, on the
 * OS the test runs on (also built for Windows and run under wine: there it is
 * GetAdaptersAddresses): no loopback, port 0, each address this host's own (a
 * UDP socket binds to it), the skipped interface and a short buffer honoured.
 */
#include "platform/net.h"

#include <glib.h>
#include <string.h>

#ifdef _WIN32
#define SOCK(fd) ((SOCKET)(fd))
#else
#define SOCK(fd) (fd)
#endif

static void
test_list(void)
{
	struct sockaddr_storage addrs[32];
	TrPlatError err = {0};
	int n;

	g_assert_cmpint(tr_net_init(&err), ==, 0);
	n = tr_net_local_addresses(NULL, addrs, G_N_ELEMENTS(addrs), &err);
	g_assert_cmpint(n, >=, 0);
	for (int i = 0; i < n; i++) {
		struct sockaddr *sa = (struct sockaddr *)&addrs[i];
		char text[INET6_ADDRSTRLEN] = "";
		socklen_t len;
		int fd;

		if (sa->sa_family == AF_INET) {
			struct sockaddr_in *v4 = (struct sockaddr_in *)sa;

			g_assert_cmpuint(v4->sin_port, ==, 0);
			g_assert_cmpuint(ntohl(v4->sin_addr.s_addr) >> 24, !=, 127);
			inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
			len = sizeof(struct sockaddr_in);
		} else {
			struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;

			g_assert_cmpint(sa->sa_family, ==, AF_INET6);
			g_assert_cmpuint(v6->sin6_port, ==, 0);
			g_assert_false(IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr));
			inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
			len = sizeof(struct sockaddr_in6);
		}
		g_test_message("address %d: %s", i, text);
		fd = (int)socket(sa->sa_family, SOCK_DGRAM, IPPROTO_UDP);
		g_assert_cmpint(fd, >=, 0);
		if (bind(SOCK(fd), sa, len) != 0)
			g_error("%s is listed as ours, but a UDP socket cannot bind to it: errno "
			        "%d",
			        text, tr_sock_errno());
		tr_sock_close(fd);
	}
	/* A name no interface has leaves the list as it was; a short buffer is filled. */
	g_assert_cmpint(
	        tr_net_local_addresses("no such interface", addrs, G_N_ELEMENTS(addrs), &err), ==,
	        n);
	if (n > 1)
		g_assert_cmpint(tr_net_local_addresses(NULL, addrs, 1, &err), ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/net/local-addresses", test_list);
	return g_test_run();
}
