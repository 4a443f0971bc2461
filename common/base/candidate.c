/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/candidate.h"

#include "common/base/error.h"

#include <stdio.h>
#include <string.h>

static unsigned
addr_bytes(uint8_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : 0;
}

gboolean
tr_candidate_decode(const uint8_t *buf, size_t len, TrCandidate *out, GError **error)
{
	unsigned bytes;

	memset(out, 0, sizeof(*out));
	if (len < 4) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "candidate: %zu bytes, expected 8 (IPv4) or 20 (IPv6)", len);
		return FALSE;
	}
	if (buf[0] < TR_CANDIDATE_HOST || buf[0] > TR_CANDIDATE_MAPPED) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "candidate: kind %u, expected 1 (host), 2 (reflexive) or 3 (mapped)",
		            buf[0]);
		return FALSE;
	}
	bytes = addr_bytes(buf[1]);
	if (bytes == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "candidate: family %u, expected 4 or 6", buf[1]);
		return FALSE;
	}
	if (len != 4 + bytes) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "candidate: %zu bytes, expected %u for IPv%u", len, 4 + bytes, buf[1]);
		return FALSE;
	}
	out->kind = buf[0];
	out->family = buf[1];
	out->port = (uint16_t)(buf[2] << 8 | buf[3]);
	if (out->port == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "candidate: port 0");
		return FALSE;
	}
	memcpy(out->addr, buf + 4, bytes);
	return TRUE;
}

size_t
tr_candidate_encode(const TrCandidate *c, uint8_t *out)
{
	unsigned bytes = addr_bytes(c->family);

	g_return_val_if_fail(bytes != 0, 0);
	out[0] = c->kind;
	out[1] = c->family;
	out[2] = (uint8_t)(c->port >> 8);
	out[3] = (uint8_t)c->port;
	memcpy(out + 4, c->addr, bytes);
	return 4 + bytes;
}

gboolean
tr_candidate_from_sockaddr(TrCandidateKind kind, const struct sockaddr *sa, TrCandidate *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = (uint8_t)kind;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out->family = 4;
		out->port = ntohs(in->sin_port);
		memcpy(out->addr, &in->sin_addr, 4);
		return TRUE;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		out->port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out->family = 4;
			memcpy(out->addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->addr, &in6->sin6_addr, 16);
		}
		return TRUE;
	}
	return FALSE;
}

socklen_t
tr_candidate_to_sockaddr(const TrCandidate *c, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (c->family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;

		in->sin_family = AF_INET;
		in->sin_port = htons(c->port);
		memcpy(&in->sin_addr, c->addr, 4);
		return sizeof(*in);
	}
	if (c->family == 6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(c->port);
		memcpy(&in6->sin6_addr, c->addr, 16);
		return sizeof(*in6);
	}
	return 0;
}

bool
tr_candidate_same_endpoint(const TrCandidate *a, const TrCandidate *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, addr_bytes(a->family)) == 0;
}

bool
tr_candidate_usable(const TrCandidate *c)
{
	const uint8_t *a = c->addr;
	static const uint8_t zero[16];

	if (c->port == 0)
		return false;
	if (c->family == 4) {
		return !(a[0] == 0 ||                    /* 0.0.0.0/8 */
		         a[0] == 127 ||                  /* loopback */
		         (a[0] == 169 && a[1] == 254) || /* link-local */
		         a[0] >= 224);                   /* multicast, reserved, broadcast */
	}
	if (c->family == 6) {
		if (memcmp(a, zero, 16) == 0)
			return false; /* :: */
		if (memcmp(a, zero, 15) == 0 && a[15] == 1)
			return false; /* ::1 */
		if (a[0] == 0xff)
			return false; /* multicast */
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return false; /* fe80::/10 */
		if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
			return false; /* IPv4-mapped: offered as IPv4 */
		return true;
	}
	return false;
}

const char *
tr_candidate_kind_name(TrCandidateKind kind)
{
	switch (kind) {
	case TR_CANDIDATE_HOST:
		return "host";
	case TR_CANDIDATE_REFLEXIVE:
		return "reflexive";
	case TR_CANDIDATE_MAPPED:
		return "mapped";
	case TR_CANDIDATE_PEER_REFLEXIVE:
		return "peer-reflexive";
	}
	return "unknown";
}

char *
tr_candidate_to_string(const TrCandidate *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	inet_ntop(c->family == 6 ? AF_INET6 : AF_INET, c->addr, addr, sizeof(addr));
	snprintf(buf, len, c->family == 6 ? "%s [%s]:%u" : "%s %s:%u",
	         tr_candidate_kind_name((TrCandidateKind)c->kind), addr, c->port);
	return buf;
}

/* Lower is preferred. */
static unsigned
rank(const TrCandidate *c)
{
	static const unsigned by_kind[] = {
	        [TR_CANDIDATE_HOST] = 0,
	        [TR_CANDIDATE_MAPPED] = 1,
	        [TR_CANDIDATE_REFLEXIVE] = 2,
	        [TR_CANDIDATE_PEER_REFLEXIVE] = 3,
	};
	unsigned k = c->kind < G_N_ELEMENTS(by_kind) ? by_kind[c->kind] : 4;

	return k * 2 + (c->family == 6);
}

bool
tr_candidate_list_add(TrCandidateList *list, const TrCandidate *c)
{
	unsigned at;

	if (!tr_candidate_usable(c))
		return false;
	for (unsigned i = 0; i < list->n; i++) {
		if (!tr_candidate_same_endpoint(&list->items[i], c))
			continue;
		if (rank(c) >= rank(&list->items[i]))
			return false;
		/* The same endpoint, a more specific kind: take it out, add it below. */
		memmove(&list->items[i], &list->items[i + 1],
		        (list->n - i - 1) * sizeof(list->items[0]));
		list->n--;
		break;
	}
	at = list->n;
	while (at > 0 && rank(&list->items[at - 1]) > rank(c))
		at--;
	if (at >= TR_CANDIDATE_MAX)
		return false;
	if (list->n == TR_CANDIDATE_MAX)
		list->n--; /* the least preferred goes */
	memmove(&list->items[at + 1], &list->items[at], (list->n - at) * sizeof(list->items[0]));
	list->items[at] = *c;
	list->n++;
	return true;
}

bool
tr_candidate_list_equal(const TrCandidateList *a, const TrCandidateList *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++) {
		if (a->items[i].kind != b->items[i].kind ||
		    !tr_candidate_same_endpoint(&a->items[i], &b->items[i]))
			return false;
	}
	return true;
}
