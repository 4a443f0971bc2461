/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mesh's path choice and the hub's relay over real NATs, before they
 * are wired into the daemons (issue 17, phase 1): a test tool, not Trellis's
 * wire protocol. Probes and data here are plain UDP text, unauthenticated;
 * what is real is the decision logic (common/mesh/path.c), the relay framing
 * (common/mesh/relay.c) and the hub's pair table and relay (server/pairs.c).
 *
 *   tr-mesh-lab hub PORT SECONDS
 *       HELLO NAME LAN_IP LAN_PORT from two clients -> a pair in TrHubPairs and
 *       START ID REFL_IP REFL_PORT HOST_IP HOST_PORT to both at once; relay
 *       frames (type 7) are forwarded unchanged by tr_hub_pairs_relay().
 *   tr-mesh-lab client NAME HUB_IP PORT LAN_IP SECONDS
 *       after START, a TrPairPath over the peer's two candidates: PROBE/PONG as
 *       it asks, a DATA datagram every 50 ms, straight to the peer while the
 *       path is direct, in relay frames through the hub otherwise. Prints
 *       every path change with its reason, and at the end:
 *       "final PATH sent N got-direct D got-relayed R".
 */
#include "common/base/candidate.h"
#include "common/datapath/magic.h"
#include "common/mesh/path.h"
#include "common/mesh/relay.h"
#include "server/pairs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS (G_GINT64_CONSTANT(1000))

static gint64 t0;

static double
elapsed(gint64 now)
{
	return (double)(now - t0) / G_USEC_PER_SEC;
}

static int
udp_bind(const char *ip, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("bind");
		exit(2);
	}
	return fd;
}

static struct sockaddr_in
endpoint(const char *ip, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "not an IPv4 address: %s\n", ip);
		exit(2);
	}
	return a;
}

/* ---- hub ------------------------------------------------------------------ */

typedef struct {
	char name[32];
	struct sockaddr_in seen;
	char lan_ip[INET_ADDRSTRLEN];
	unsigned lan_port;
} Client;

static int
run_hub(unsigned port, unsigned seconds)
{
	TrMagic magic = TR_MAGIC_DEFAULT;
	TrHubPairsLimits limits = {.relay = TRUE};
	g_autoptr(TrHubPairs) pairs = tr_hub_pairs_new(&magic, &limits);
	Client clients[2];
	unsigned n = 0;
	uint32_t id = 0;
	int fd = udp_bind("0.0.0.0", port);
	gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	TrHubPairsCounters c;

	while (g_get_monotonic_time() < end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint8_t buf[2048];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		gssize len;

		if (poll(&pfd, 1, 200) != 1)
			continue;
		len = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
		if (len <= 0)
			continue;
		if (tr_relay_is_relay(buf, (size_t)len)) {
			TrHubRelayDest dest;
			int rc = tr_hub_pairs_relay(pairs, buf, (size_t)len,
			                            (struct sockaddr *)&from, NULL,
			                            g_get_monotonic_time(), &dest);
			if (rc == 0 && dest.addr_len > 0)
				sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&dest.addr,
				       dest.addr_len);
			continue;
		}
		buf[len] = 0;
		{
			char name[32], ip[INET_ADDRSTRLEN];
			unsigned lan_port, i;

			if (sscanf((char *)buf, "HELLO %31s %15s %u", name, ip, &lan_port) != 3)
				continue;
			for (i = 0; i < n && strcmp(clients[i].name, name) != 0; i++)
				;
			if (i == n && n < 2)
				n++;
			if (i >= n)
				continue;
			g_strlcpy(clients[i].name, name, sizeof(clients[i].name));
			g_strlcpy(clients[i].lan_ip, ip, sizeof(clients[i].lan_ip));
			clients[i].lan_port = lan_port;
			clients[i].seen = from;
			tr_hub_pairs_set_endpoint(pairs, &clients[i], (struct sockaddr *)&from,
			                          sizeof(from));
		}
		if (n < 2)
			continue;
		if (id == 0) {
			gboolean is_new;
			g_autoptr(GError) error = NULL;

			id = tr_hub_pairs_open(pairs, &clients[0], &clients[1],
			                       g_get_monotonic_time(), &is_new, &error);
			printf("hub: pair %08x: %s and %s\n", id, clients[0].name, clients[1].name);
			fflush(stdout);
		}
		/* Both at once (and again to whoever repeats HELLO). */
		for (unsigned i = 0; i < 2; i++) {
			const Client *peer = &clients[1 - i];
			char ip[INET_ADDRSTRLEN], msg[160];

			inet_ntop(AF_INET, &peer->seen.sin_addr, ip, sizeof(ip));
			snprintf(msg, sizeof(msg), "START %u %s %u %s %u", id, ip,
			         ntohs(peer->seen.sin_port), peer->lan_ip, peer->lan_port);
			sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&clients[i].seen,
			       sizeof(clients[i].seen));
		}
	}
	tr_hub_pairs_counters(pairs, &c);
	printf("hub: relayed %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
	       " bytes; dropped: malformed %" G_GUINT64_FORMAT " unknown %" G_GUINT64_FORMAT
	       " stranger %" G_GUINT64_FORMAT "\n",
	       c.relayed, c.relayed_bytes, c.malformed, c.unknown, c.stranger);
	return 0;
}

/* ---- client --------------------------------------------------------------- */

static void
send_to(int fd, const TrCandidate *c, const void *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = tr_candidate_to_sockaddr(c, &ss);

	sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl);
}

static int
run_client(const char *name, const char *hub_ip, unsigned port, const char *lan_ip,
           unsigned seconds)
{
	TrMagic magic = TR_MAGIC_DEFAULT;
	struct sockaddr_in hub = endpoint(hub_ip, port), local;
	socklen_t llen = sizeof(local);
	int fd = udp_bind(lan_ip, 0);
	TrPairPath path;
	TrCandidateList cands = {0};
	uint32_t id = 0;
	gint64 end, next_data = 0, next_hello = 0;
	guint64 sent = 0, got_direct = 0, got_relayed = 0, seq = 0;
	char hello[128];

	getsockname(fd, (struct sockaddr *)&local, &llen);
	snprintf(hello, sizeof(hello), "HELLO %s %s %u", name, lan_ip, ntohs(local.sin_port));
	t0 = g_get_monotonic_time();
	end = t0 + (gint64)seconds * G_USEC_PER_SEC;
	tr_path_init(&path, true, true);

	while (g_get_monotonic_time() < end) {
		gint64 now = g_get_monotonic_time(), wake;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		TrPairPathProbe probes[8];
		unsigned np;
		bool changed = false;
		int timeout;

		if (id == 0 && now >= next_hello) {
			sendto(fd, hello, strlen(hello), 0, (struct sockaddr *)&hub, sizeof(hub));
			next_hello = now + 200 * MS;
		}
		np = id ? tr_path_tick(&path, now, probes, G_N_ELEMENTS(probes), &changed) : 0;
		for (unsigned i = 0; i < np; i++) {
			char msg[32];

			snprintf(msg, sizeof(msg), "PROBE %u", probes[i].id);
			send_to(fd, &path.c[probes[i].cand].cand, msg, strlen(msg));
		}
		if (changed) {
			char text[80] = "";

			if (tr_path_current(&path))
				tr_candidate_to_string(&tr_path_current(&path)->cand, text,
				                       sizeof(text));
			printf("%s %.3f path %s %s (%s)\n", name, elapsed(now),
			       tr_path_kind_name(tr_path_kind(&path)), text, tr_path_reason(&path));
			fflush(stdout);
		}
		if (id != 0 && now >= next_data) {
			char msg[64];
			int n = snprintf(msg, sizeof(msg), "DATA %s %" G_GUINT64_FORMAT, name,
			                 seq++);

			if (tr_path_kind(&path) == TR_PAIR_PATH_DIRECT) {
				send_to(fd, &tr_path_current(&path)->cand, msg, (size_t)n);
				tr_path_sent(&path, now);
			} else {
				/* A relay frame around something shaped like a sealed datagram. */
				uint8_t frame[TR_RELAY_HEADER_LEN + 20 + 64 + 16] = {0};
				uint8_t *inner = frame + TR_RELAY_HEADER_LEN;

				tr_relay_write_header(frame, &magic, id);
				memcpy(inner, magic.bytes, 4);
				inner[4] = 1;
				memcpy(inner + 20, msg, (size_t)n);
				sendto(fd, frame, TR_RELAY_HEADER_LEN + 20 + (size_t)n + 16, 0,
				       (struct sockaddr *)&hub, sizeof(hub));
			}
			sent++;
			next_data = now + 50 * MS;
		}
		wake = id ? MIN(tr_path_next_wakeup(&path, now), next_data) : next_hello;
		timeout = (int)CLAMP((wake - g_get_monotonic_time()) / 1000, 0, 200);
		if (poll(&pfd, 1, timeout) != 1)
			continue;
		for (;;) {
			uint8_t buf[2048];
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			gssize len = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT,
			                      (struct sockaddr *)&from, &flen);
			TrCandidate src;
			unsigned a, b;
			char ip1[16], ip2[16];

			if (len <= 0)
				break;
			now = g_get_monotonic_time();
			buf[len] = 0;
			tr_candidate_from_sockaddr(TR_CANDIDATE_REFLEXIVE, (struct sockaddr *)&from,
			                           &src);
			if (tr_relay_is_relay(buf, (size_t)len)) {
				const uint8_t *inner;
				size_t inner_len;
				uint32_t rid;

				if (tr_relay_parse(buf, (size_t)len, &magic, &rid, &inner,
				                   &inner_len) == 0 &&
				    rid == id)
					got_relayed++;
				continue;
			}
			if (id == 0 && sscanf((char *)buf, "START %u %15s %u %15s %u", &id, ip1, &a,
			                      ip2, &b) == 5) {
				TrCandidate c;
				struct sockaddr_in refl = endpoint(ip1, a), host = endpoint(ip2, b);

				tr_candidate_from_sockaddr(TR_CANDIDATE_REFLEXIVE,
				                           (struct sockaddr *)&refl, &c);
				tr_candidate_list_add(&cands, &c);
				tr_candidate_from_sockaddr(TR_CANDIDATE_HOST,
				                           (struct sockaddr *)&host, &c);
				tr_candidate_list_add(&cands, &c);
				tr_path_set_candidates(&path, &cands, now);
				tr_path_start(&path, now);
				printf("%s %.3f pair %08x: peer at %s:%u (reflexive), %s:%u "
				       "(host)\n",
				       name, elapsed(now), id, ip1, a, ip2, b);
				fflush(stdout);
				continue;
			}
			if (sscanf((char *)buf, "PROBE %u", &a) == 1) {
				char msg[32];

				snprintf(msg, sizeof(msg), "PONG %u", a);
				sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&from, flen);
				tr_path_heard(&path, &src, now);
			} else if (sscanf((char *)buf, "PONG %u", &a) == 1) {
				if (tr_path_answered(&path, &src, a, now)) {
					char text[80];

					tr_candidate_to_string(&tr_path_current(&path)->cand, text,
					                       sizeof(text));
					printf("%s %.3f path %s %s (%s)\n", name, elapsed(now),
					       tr_path_kind_name(tr_path_kind(&path)), text,
					       tr_path_reason(&path));
					fflush(stdout);
				}
			} else if (strncmp((char *)buf, "DATA ", 5) == 0) {
				got_direct++;
				tr_path_heard(&path, &src, now);
			}
		}
	}
	printf("%s final %s sent %" G_GUINT64_FORMAT " got-direct %" G_GUINT64_FORMAT
	       " got-relayed %" G_GUINT64_FORMAT "\n",
	       name, tr_path_kind_name(tr_path_kind(&path)), sent, got_direct, got_relayed);
	return id != 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "hub") == 0)
		return run_hub((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
	if (argc == 7 && strcmp(argv[1], "client") == 0)
		return run_client(argv[2], argv[3], (unsigned)atoi(argv[4]), argv[5],
		                  (unsigned)atoi(argv[6]));
	fprintf(stderr, "usage: tr-mesh-lab hub PORT SECONDS\n"
	                "       tr-mesh-lab client NAME HUB_IP PORT LAN_IP SECONDS\n");
	return 64;
}
