/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/addr.h"

#include "common/base/error.h"

#include <string.h>

unsigned
tr_addr_family_bytes(TrAddrFamily family)
{
	switch (family) {
	case TR_ADDR_IPV4:
		return 4;
	case TR_ADDR_IPV6:
		return 16;
	case TR_ADDR_MAC:
		return 6;
	default:
		return 0;
	}
}

/* "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff", exactly. */
static bool
parse_mac(const char *s, size_t n, uint8_t out[6])
{
	if (n != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = g_ascii_xdigit_value(s[i * 3]), lo = g_ascii_xdigit_value(s[i * 3 + 1]);
		if (hi < 0 || lo < 0)
			return false;
		if (i < 5 && s[i * 3 + 2] != ':' && s[i * 3 + 2] != '-')
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Decimal number of at most @max, digits only, no sign, no leading junk. */
static bool
parse_small_uint(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool
has_host_bits(const TrPrefix *p)
{
	unsigned bytes = tr_addr_family_bytes(p->family);

	for (unsigned bit = p->len; bit < bytes * 8; bit++) {
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return true;
	}
	return false;
}

void
tr_prefix_mask(TrPrefix *p)
{
	unsigned bytes = tr_addr_family_bytes(p->family);

	for (unsigned bit = p->len; bit < bytes * 8; bit++)
		p->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
}

gboolean
tr_prefix_parse(const char *text, TrPrefixFlags flags, TrPrefix *out, GError **error)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t alen;
	TrPrefix p = {0};
	unsigned maxlen, len;

	if (text == NULL || *text == '\0') {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "empty address");
		return FALSE;
	}
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(addr)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "'%s' is not an address", text);
		return FALSE;
	}
	memcpy(addr, text, alen);
	addr[alen] = '\0';

	if (inet_pton(AF_INET, addr, p.addr) == 1) {
		p.family = TR_ADDR_IPV4;
	} else if (inet_pton(AF_INET6, addr, p.addr) == 1) {
		p.family = TR_ADDR_IPV6;
	} else if (!(flags & TR_PREFIX_IP_ONLY) && parse_mac(addr, alen, p.addr)) {
		p.family = TR_ADDR_MAC;
	} else {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            (flags & TR_PREFIX_IP_ONLY)
		                    ? "'%s' is not an IPv4 or IPv6 address"
		                    : "'%s' is not an IPv4, IPv6 or MAC address",
		            text);
		return FALSE;
	}
	maxlen = tr_addr_family_bytes(p.family) * 8;

	if (slash == NULL) {
		if (flags & TR_PREFIX_REQUIRE_LEN) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "'%s' needs a prefix length, e.g. %s/%u", text, addr,
			            p.family == TR_ADDR_IPV4 ? 24u : 64u);
			return FALSE;
		}
		len = maxlen;
	} else if (!parse_small_uint(slash + 1, strlen(slash + 1), maxlen, &len)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "'%s': prefix length must be a number from 0 to %u", text, maxlen);
		return FALSE;
	}
	p.len = (uint8_t)len;

	if (!(flags & TR_PREFIX_ALLOW_HOST_BITS) && has_host_bits(&p)) {
		char hint[TR_PREFIX_STRLEN];
		TrPrefix masked = p;

		tr_prefix_mask(&masked);
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "'%s' has bits set beyond the prefix length; did you mean %s?", text,
		            tr_prefix_to_string(&masked, hint, sizeof(hint)));
		return FALSE;
	}
	*out = p;
	return TRUE;
}

char *
tr_addr_to_string(TrAddrFamily family, const uint8_t *addr, char *buf, size_t buflen)
{
	switch (family) {
	case TR_ADDR_IPV4:
		if (!inet_ntop(AF_INET, addr, buf, (socklen_t)buflen))
			g_strlcpy(buf, "?", buflen);
		break;
	case TR_ADDR_IPV6:
		if (!inet_ntop(AF_INET6, addr, buf, (socklen_t)buflen))
			g_strlcpy(buf, "?", buflen);
		break;
	case TR_ADDR_MAC:
		g_snprintf(buf, buflen, "%02x:%02x:%02x:%02x:%02x:%02x", addr[0], addr[1], addr[2],
		           addr[3], addr[4], addr[5]);
		break;
	default:
		g_strlcpy(buf, "none", buflen);
		break;
	}
	return buf;
}

char *
tr_prefix_to_string(const TrPrefix *p, char *buf, size_t buflen)
{
	char a[INET6_ADDRSTRLEN];

	tr_addr_to_string(p->family, p->addr, a, sizeof(a));
	g_snprintf(buf, buflen, "%s/%u", a, p->len);
	return buf;
}

bool
tr_prefix_contains(const TrPrefix *p, TrAddrFamily family, const uint8_t *addr)
{
	unsigned full, rem;

	if (p->family != family)
		return false;
	full = p->len / 8;
	rem = p->len % 8;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((p->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

bool
tr_prefix_equal(const TrPrefix *a, const TrPrefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       tr_prefix_contains(a, (TrAddrFamily)b->family, b->addr);
}

gboolean
tr_port_parse(const char *text, uint16_t *port, GError **error)
{
	unsigned v;

	if (text == NULL || !parse_small_uint(text, strlen(text), 65535, &v) || v == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "'%s' is not a port number (1 to 65535)", text ? text : "");
		return FALSE;
	}
	*port = (uint16_t)v;
	return TRUE;
}

gboolean
tr_hostport_parse(const char *text, uint16_t default_port, char **host, uint16_t *port,
                  GError **error)
{
	const char *colon;
	g_autofree char *h = NULL;
	uint16_t p = default_port;

	if (text == NULL || *text == '\0') {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "empty address");
		return FALSE;
	}
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || end == text + 1) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "'%s': unbalanced '[' in address", text);
			return FALSE;
		}
		h = g_strndup(text + 1, (gsize)(end - text - 1));
		if (end[1] == ':') {
			if (!tr_port_parse(end + 2, &p, error)) {
				g_prefix_error(error, "'%s': ", text);
				return FALSE;
			}
		} else if (end[1] != '\0') {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "'%s': expected ':PORT' after ']'", text);
			return FALSE;
		}
	} else if ((colon = strchr(text, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		h = g_strndup(text, (gsize)(colon - text));
		if (*h == '\0') {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "'%s': missing host", text);
			return FALSE;
		}
		if (!tr_port_parse(colon + 1, &p, error)) {
			g_prefix_error(error, "'%s': ", text);
			return FALSE;
		}
	} else {
		/* No colon, or a bare IPv6 address with several colons. */
		h = g_strdup(text);
	}
	for (const char *c = h; *c; c++) {
		if (g_ascii_isspace(*c) || *c == '/' || *c == '[' || *c == ']') {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "'%s': invalid character in host name", text);
			return FALSE;
		}
	}
	*host = g_steal_pointer(&h);
	*port = p;
	return TRUE;
}

gboolean
tr_sockaddr_parse(const char *text, uint16_t default_port, struct sockaddr_storage *out,
                  socklen_t *outlen, GError **error)
{
	g_autofree char *host = NULL;
	uint16_t port;

	if (!tr_hostport_parse(text, default_port, &host, &port, error))
		return FALSE;
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*outlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*outlen = sizeof(*sin6);
	} else {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "'%s' is not a numeric IPv4 or IPv6 address", host);
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_sockaddr_is_ipv6(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 &&
	       !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

uint16_t
tr_sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void
tr_sockaddr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

char *
tr_sockaddr_to_string(const struct sockaddr *sa, char *buf, size_t buflen)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		g_snprintf(buf, buflen, "%s:%u", a, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		/* Dual-stack sockets see IPv4 peers as ::ffff:a.b.c.d: show them as IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], a, sizeof(a));
			g_snprintf(buf, buflen, "%s:%u", a, ntohs(sin6->sin6_port));
			return buf;
		}
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		g_snprintf(buf, buflen, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else {
		g_snprintf(buf, buflen, "(family %d)", sa->sa_family);
	}
	return buf;
}

void
tr_sockaddr_map_v6(const struct sockaddr *in, socklen_t inlen, struct sockaddr_storage *out,
                   socklen_t *outlen)
{
	memset(out, 0, sizeof(*out));
	if (in->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)in;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = sin->sin_port;
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
		*outlen = sizeof(*sin6);
		return;
	}
	memcpy(out, in, MIN((size_t)inlen, sizeof(*out)));
	*outlen = inlen;
}
