/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/offload.h"

#include "common/datapath/frame.h"

#include <errno.h>
#include <string.h>

#define TR_IPPROTO_UDP 17u
#define UDP_HLEN       8u
#define TCP_HLEN_MAX   60u
#define TCP_CSUM_OFF   16u
#define UDP_CSUM_OFF   6u

#define TCP_FIN 0x01u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u
#define TCP_CWR 0x80u

#define IP4_DF 0x4000u

/* ---- Checksums ------------------------------------------------------------ */

/* One's complement addition of two 64-bit words: the carry goes round. */
static inline uint64_t
add64(uint64_t acc, uint64_t w)
{
	acc += w;
	return acc + (acc < w);
}

static inline uint64_t
load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w)); /* any alignment; one load where unaligned loads are cheap */
	return w;
}

/*
 * The sum is taken over 64-bit words in host byte order: RFC 1071 (2.B) lets
 * a one's complement sum be computed in either byte order and swapped at the
 * end, and 2^64 - 1 is a multiple of 2^16 - 1, so folding the wide sum gives
 * the 16-bit one. Four independent accumulators keep the carries of one add
 * from waiting on the previous one.
 */
uint32_t
tr_csum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, acc;

	for (; len >= 32; p += 32, len -= 32) {
		a0 = add64(a0, load64(p));
		a1 = add64(a1, load64(p + 8));
		a2 = add64(a2, load64(p + 16));
		a3 = add64(a3, load64(p + 24));
	}
	acc = add64(add64(a0, a1), add64(a2, a3));
	for (; len >= 8; p += 8, len -= 8)
		acc = add64(acc, load64(p));
	if (len) {
		/*
		 * The tail, zero-padded: the bytes keep their offsets from the
		 * start (a multiple of 8), so an odd last byte is the high byte
		 * of its big-endian word, as RFC 1071 pads it.
		 */
		uint64_t w = 0;

		memcpy(&w, p, len);
		acc = add64(acc, w);
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	acc = __builtin_bswap16((uint16_t)acc);
#endif
	/* Add to @sum with the carry going round, so that it never overflows. */
	acc += sum;
	return (uint32_t)((acc & 0xffffffffu) + (acc >> 32));
}

uint16_t
tr_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo-header sum of an upper layer of @l4_len bytes (RFC 793, RFC 8200 8.1). */
static uint32_t
pseudo_sum(const uint8_t *ip, uint32_t l4_len, uint8_t proto)
{
	if ((ip[0] >> 4) == 4)
		return tr_csum_partial(ip + 12, 8, proto + l4_len);
	return tr_csum_partial(ip + 8, 32, proto + (l4_len >> 16) + (l4_len & 0xffffu));
}

/* Sets the IPv4 header checksum of a 20-byte header. */
static void
ip4_set_csum(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	tr_store_be16(ip + 10, (uint16_t)~tr_csum_fold(tr_csum_partial(ip, TR_IP4_HLEN, 0)));
}

/*
 * Fills in an L4 checksum as a device would for CHECKSUM_PARTIAL: the field
 * holds a seed (the pseudo-header sum) that is summed with the rest. A result
 * of 0 is sent as 0xffff (equal in one's complement), because 0 in a UDP
 * checksum means "none"; Linux's skb_checksum_help() does the same.
 */
static void
csum_complete(uint8_t *start, size_t len, size_t field)
{
	uint16_t seed = tr_load_be16(start + field), c;

	start[field] = start[field + 1] = 0;
	c = (uint16_t)~tr_csum_fold(tr_csum_partial(start, len, seed));
	tr_store_be16(start + field, c ? c : 0xffffu);
}

/* Computes an L4 checksum in full: pseudo header, L4 header, payload. */
static void
l4_set_csum(uint8_t *ip, unsigned iphl, size_t len, unsigned field, uint8_t proto)
{
	uint8_t *l4 = ip + iphl;
	uint32_t l4_len = (uint32_t)(len - iphl);
	uint16_t c;

	l4[field] = l4[field + 1] = 0;
	c = (uint16_t)~tr_csum_fold(tr_csum_partial(l4, l4_len, pseudo_sum(ip, l4_len, proto)));
	/* UDP's 0 means "no checksum" (RFC 768): send the other zero. */
	if (c == 0 && proto == TR_IPPROTO_UDP)
		c = 0xffffu;
	tr_store_be16(l4 + field, c);
}

int
tr_gso_complete_csum(const TrGso *gso, uint8_t *data, size_t len)
{
	size_t start = gso->csum_start, field = start + gso->csum_offset;

	if (!gso->needs_csum)
		return 0;
	/* An odd offset would put the field across two words of the sum. */
	if ((gso->csum_offset & 1) || field + 2 > len)
		return -EPROTO;
	csum_complete(data + start, len - start, gso->csum_offset);
	return 0;
}

/* ---- Segmentation ----------------------------------------------------------- */

/* The headers of a super-packet, checked against @len and against @gso. */
typedef struct {
	unsigned iphl; /* IP header */
	unsigned l4hl; /* TCP or UDP header */
	uint8_t proto;
} SuperHdrs;

static int
super_parse(const TrGso *gso, const uint8_t *p, size_t len, SuperHdrs *h)
{
	unsigned version, csum_off;

	if (gso->gso_size == 0 || len < 1)
		return -EPROTO;
	version = p[0] >> 4;
	switch (gso->type) {
	case TR_GSO_TCPV4:
		h->proto = TR_IPPROTO_TCP;
		if (version != 4)
			return -EPROTO;
		break;
	case TR_GSO_TCPV6:
		h->proto = TR_IPPROTO_TCP;
		if (version != 6)
			return -EPROTO;
		break;
	case TR_GSO_UDP_L4:
		h->proto = TR_IPPROTO_UDP;
		if (version != 4 && version != 6)
			return -EPROTO;
		break;
	default:
		return -EPROTO;
	}

	/*
	 * The IP length must be the packet's: the segments get lengths of
	 * their own, but a mismatch means the packet is not what we think.
	 */
	if (version == 4) {
		if (len < TR_IP4_HLEN || p[0] != 0x45 || tr_load_be16(p + 2) != len ||
		    p[9] != h->proto)
			return -EPROTO;
		/* A fragment cannot be segmented (MF or an offset). */
		if (tr_load_be16(p + 6) & 0x3fffu)
			return -EPROTO;
		h->iphl = TR_IP4_HLEN;
	} else {
		if (len < TR_IP6_HLEN || tr_load_be16(p + 4) != len - TR_IP6_HLEN ||
		    p[6] != h->proto)
			return -EPROTO;
		h->iphl = TR_IP6_HLEN;
	}

	if (h->proto == TR_IPPROTO_TCP) {
		if (len < h->iphl + TR_TCP_HLEN)
			return -EPROTO;
		h->l4hl = (unsigned)(p[h->iphl + 12] >> 4) * 4;
		if (h->l4hl < TR_TCP_HLEN)
			return -EPROTO;
		csum_off = TCP_CSUM_OFF;
	} else {
		h->l4hl = UDP_HLEN;
		csum_off = UDP_CSUM_OFF;
	}
	if (gso->hdr_len != h->iphl + h->l4hl || gso->hdr_len > len)
		return -EPROTO;
	/* The checksum is computed in full anyway, but a device that names
	 * another place for it is describing some other packet. */
	if (gso->needs_csum && (gso->csum_start != h->iphl || gso->csum_offset != csum_off))
		return -EPROTO;
	return 0;
}

static int
copy_plain(const TrGso *gso, const uint8_t *data, size_t len, TrPacket *const *out, unsigned n_out)
{
	size_t field = (size_t)gso->csum_start + gso->csum_offset;

	if (len > TR_PACKET_PAYLOAD_MAX)
		return -EPROTO;
	if (gso->needs_csum && ((gso->csum_offset & 1) || field + 2 > len))
		return -EPROTO;
	if (n_out < 1)
		return -ENOBUFS;
	tr_packet_reset(out[0]);
	memcpy(tr_packet_data(out[0]), data, len);
	out[0]->len = (uint32_t)len;
	if (gso->needs_csum)
		csum_complete(tr_packet_data(out[0]) + gso->csum_start, len - gso->csum_start,
		              gso->csum_offset);
	return 1;
}

/*
 * What cutting the super-packet at @data takes, checked against @len and
 * @gso: its headers, the number of segments, the first IPv4 id and sequence
 * number. Sets everything of @c but data, next and hdr.
 */
static int
cut_plan(const TrGso *gso, const uint8_t *data, size_t len, TrGsoCut *c)
{
	SuperHdrs h;
	size_t payload;
	int rc = super_parse(gso, data, len, &h);

	if (rc < 0)
		return rc;
	c->len = len;
	c->hdr_len = gso->hdr_len;
	c->gso_size = gso->gso_size;
	c->iphl = (uint8_t)h.iphl;
	c->proto = h.proto;
	payload = len - c->hdr_len;
	/* A super-packet of headers alone is still one packet. */
	c->n_seg = payload ? (payload + c->gso_size - 1) / c->gso_size : 1;
	if (c->hdr_len + (payload < c->gso_size ? payload : c->gso_size) > TR_PACKET_PAYLOAD_MAX)
		return -EPROTO;
	c->partial = false;
	c->id = h.iphl == TR_IP4_HLEN ? tr_load_be16(data + 4) : 0;
	if (h.iphl == TR_IP4_HLEN) {
		uint8_t ip[TR_IP4_HLEN];

		memcpy(ip, data, sizeof(ip));
		ip[2] = ip[3] = ip[4] = ip[5] = ip[10] = ip[11] = 0;
		c->ip4_sum = tr_csum_fold(tr_csum_partial(ip, sizeof(ip), 0));
	}
	c->pseudo_sum = tr_csum_fold(pseudo_sum(data, 0, h.proto));
	c->seq = h.proto == TR_IPPROTO_TCP ? tr_load_be32(data + h.iphl + 4) : 0;
	return 0;
}

/*
 * Makes segment @i of the cut @c out of the super-packet's headers, copied
 * to @o, followed by its payload (@seg_len bytes in all): lengths, IPv4 id
 * and header checksum, TCP sequence number and flags, L4 checksum in full
 * (or left partial). The IPv4 header checksum and the pseudo-header sum are
 * the shared parts' sums (cut_plan) plus this segment's fields.
 */
static void
seg_finish(uint8_t *o, const TrGsoCut *c, size_t i, size_t seg_len)
{
	uint8_t *l4 = o + c->iphl;
	uint16_t id = (uint16_t)(c->id + i); /* as Linux's GSO counts them */
	uint32_t l4_len = (uint32_t)(seg_len - c->iphl);

	if (c->iphl == TR_IP4_HLEN) {
		tr_store_be16(o + 2, (uint16_t)seg_len);
		tr_store_be16(o + 4, id);
		tr_store_be16(o + 10, (uint16_t)~tr_csum_fold((uint32_t)c->ip4_sum +
		                                              (uint16_t)seg_len + id));
	} else {
		tr_store_be16(o + 4, (uint16_t)(seg_len - TR_IP6_HLEN));
	}
	if (c->proto == TR_IPPROTO_TCP) {
		tr_store_be32(l4 + 4, c->seq + (uint32_t)(i * c->gso_size));
		/* CWR acknowledges a window reduction once; FIN and PSH
		 * belong to the end of the data. */
		if (i > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		if (i + 1 < c->n_seg)
			l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (c->partial)
			tr_store_be16(l4 + TCP_CSUM_OFF,
			              tr_csum_fold((uint32_t)c->pseudo_sum + l4_len));
		else
			l4_set_csum(o, c->iphl, seg_len, TCP_CSUM_OFF, TR_IPPROTO_TCP);
	} else {
		tr_store_be16(l4 + 4, (uint16_t)(seg_len - c->iphl));
		l4_set_csum(o, c->iphl, seg_len, UDP_CSUM_OFF, TR_IPPROTO_UDP);
	}
}

/* Bytes of payload in segment @i. */
static size_t
seg_payload(const TrGsoCut *c, size_t i)
{
	size_t off = c->hdr_len + i * c->gso_size;

	return c->len - off < c->gso_size ? c->len - off : c->gso_size;
}

int
tr_gso_split(const TrGso *gso, const uint8_t *data, size_t len, TrPacket *const *out,
             unsigned n_out)
{
	TrGsoCut c;
	int rc;

	if (gso->type == TR_GSO_NONE)
		return copy_plain(gso, data, len, out, n_out);
	rc = cut_plan(gso, data, len, &c);
	if (rc < 0)
		return rc;
	if (c.n_seg > n_out)
		return -ENOBUFS;
	for (size_t i = 0; i < c.n_seg; i++) {
		size_t plen = seg_payload(&c, i);
		uint8_t *o;

		tr_packet_reset(out[i]);
		o = tr_packet_data(out[i]);
		memcpy(o, data, c.hdr_len);
		memcpy(o + c.hdr_len, data + c.hdr_len + i * c.gso_size, plen);
		out[i]->len = (uint32_t)(c.hdr_len + plen);
		seg_finish(o, &c, i, c.hdr_len + plen);
	}
	return (int)c.n_seg;
}

int
tr_gso_cut_begin(TrGsoCut *cut, const TrGso *gso, uint8_t *data, size_t len)
{
	int rc = cut_plan(gso, data, len, cut);

	if (rc < 0)
		return rc;
	/* Segment i's headers go right before its payload, over the end of
	 * segment i - 1's: only where a segment is at least as long. */
	if (cut->n_seg > 1 && cut->gso_size < cut->hdr_len)
		return -ENOSPC;
	_Static_assert(TR_GSO_HDR_MAX >= TR_IP6_HLEN + TCP_HLEN_MAX, "room for the headers");
	memcpy(cut->hdr, data, cut->hdr_len);
	cut->data = data;
	cut->next = 0;
	return (int)cut->n_seg;
}

uint8_t *
tr_gso_cut_next(TrGsoCut *cut, size_t *seg_len)
{
	size_t i = cut->next;
	uint8_t *o;

	if (i >= cut->n_seg)
		return NULL;
	cut->next++;
	o = cut->data + i * cut->gso_size;
	if (i > 0)
		memcpy(o, cut->hdr, cut->hdr_len);
	*seg_len = cut->hdr_len + seg_payload(cut, i);
	seg_finish(o, cut, i, *seg_len);
	return o;
}

bool
tr_gso_cut_leave_partial(TrGsoCut *cut)
{
	cut->partial = cut->proto == TR_IPPROTO_TCP;
	return cut->partial;
}

/* The IP header length of a TCP segment of the shape TR_PACKET_CSUM_PARTIAL promises, or 0. */
static unsigned
partial_shape(const uint8_t *p, size_t len)
{
	unsigned iphl;

	if (len < TR_IP4_HLEN)
		return 0;
	if (p[0] == 0x45) {
		if (tr_load_be16(p + 2) != len || p[9] != TR_IPPROTO_TCP ||
		    (tr_load_be16(p + 6) & 0x3fffu)) /* no fragment */
			return 0;
		iphl = TR_IP4_HLEN;
	} else if (p[0] >> 4 == 6) {
		if (len < TR_IP6_HLEN || tr_load_be16(p + 4) != len - TR_IP6_HLEN ||
		    p[6] != TR_IPPROTO_TCP)
			return 0;
		iphl = TR_IP6_HLEN;
	} else {
		return 0;
	}
	if (len < iphl + TR_TCP_HLEN || (unsigned)(p[iphl + 12] >> 4) * 4 < TR_TCP_HLEN ||
	    len < iphl + (unsigned)(p[iphl + 12] >> 4) * 4)
		return 0;
	return iphl;
}

int
tr_csum_partial_prepare(uint8_t *data, size_t len, unsigned *iphl)
{
	unsigned hl = partial_shape(data, len);

	if (hl == 0)
		return -EPROTO;
	tr_store_be16(data + hl + TCP_CSUM_OFF,
	              tr_csum_fold(pseudo_sum(data, (uint32_t)(len - hl), TR_IPPROTO_TCP)));
	*iphl = hl;
	return 0;
}

int
tr_csum_partial_finish(uint8_t *data, size_t len)
{
	unsigned hl = partial_shape(data, len);

	if (hl == 0)
		return -EPROTO;
	l4_set_csum(data, hl, len, TCP_CSUM_OFF, TR_IPPROTO_TCP);
	return 0;
}

/* ---- Coalescing ------------------------------------------------------------- */

#define FLOW_KEY_MAX (1 + 32 + 4) /* version, addresses, ports */

/*
 * The flow of a TCP packet, direction included: version, addresses and ports.
 * Every TCP packet with ports has one, mergeable or not, so that a packet
 * which cannot join (a FIN, a SYN, a gap) still stops later segments of its
 * flow from joining an item before it: that would reorder the flow.
 */
static size_t
flow_key(const uint8_t *p, size_t len, uint8_t key[FLOW_KEY_MAX])
{
	size_t iphl, alen;

	if (len < 1)
		return 0;
	if (p[0] >> 4 == 4) {
		iphl = (size_t)(p[0] & 15) * 4;
		alen = 8;
		if (iphl < TR_IP4_HLEN || len < iphl + 4 || p[9] != TR_IPPROTO_TCP)
			return 0;
		memcpy(key + 1, p + 12, alen);
	} else if (p[0] >> 4 == 6) {
		iphl = TR_IP6_HLEN;
		alen = 32;
		if (len < iphl + 4 || p[6] != TR_IPPROTO_TCP)
			return 0;
		memcpy(key + 1, p + 8, alen);
	} else {
		return 0;
	}
	key[0] = p[0] >> 4;
	memcpy(key + 1 + alen, p + iphl, 4);
	return 1 + alen + 4;
}

/* FNV-1a; 0 is kept for "no flow". Collisions only cost a key comparison. */
static uint32_t
flow_hash(const uint8_t *key, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ key[i]) * 16777619u;
	return h ? h : 1;
}

/* A TCP segment that may be coalesced, its headers checked against its length. */
typedef struct {
	uint8_t *ip, *th;
	unsigned iphl, thl;
	uint32_t len, plen; /* the packet, its payload */
	bool partial;       /* TR_PACKET_CSUM_PARTIAL: the TCP checksum is the device's to fill */
} Seg;

static bool
seg_parse(TrPacket *pkt, Seg *s)
{
	uint8_t *p = tr_packet_data(pkt);
	uint32_t len = pkt->len;

	s->ip = p;
	s->len = len;
	s->partial = (pkt->flags & TR_PACKET_CSUM_PARTIAL) != 0;
	if (len < TR_IP4_HLEN || len > TR_PACKET_PAYLOAD_MAX)
		return false;
	if (p[0] == 0x45) {
		/* With DF the id carries nothing (RFC 6864), so any id may
		 * follow any other, as in Linux's GRO; no fragments. */
		if (tr_load_be16(p + 2) != len || p[9] != TR_IPPROTO_TCP ||
		    tr_load_be16(p + 6) != IP4_DF)
			return false;
		s->iphl = TR_IP4_HLEN;
	} else if (p[0] >> 4 == 6) {
		if (len < TR_IP6_HLEN || tr_load_be16(p + 4) != len - TR_IP6_HLEN ||
		    p[6] != TR_IPPROTO_TCP)
			return false;
		s->iphl = TR_IP6_HLEN;
	} else {
		return false; /* IPv4 with options, not IP */
	}
	if (len < s->iphl + TR_TCP_HLEN)
		return false;
	s->th = p + s->iphl;
	s->thl = (unsigned)(s->th[12] >> 4) * 4;
	if (s->thl < TR_TCP_HLEN || len <= s->iphl + s->thl)
		return false; /* no payload: pure ACKs carry nothing to merge */
	s->plen = len - s->iphl - s->thl;
	/* Anything but ACK (or ACK+PSH, which ends the item) is for the
	 * kernel to see as it came: SYN, FIN, RST, URG, ECE, CWR. */
	return s->th[13] == TCP_ACK || s->th[13] == (TCP_ACK | TCP_PSH);
}

/* Whether a segment's IPv4 header checksum and TCP checksum are right (the
 * latter is not there to check with TR_PACKET_CSUM_PARTIAL). */
static bool
seg_csum_ok(const Seg *s)
{
	uint32_t l4_len = s->len - s->iphl;

	if (s->iphl == TR_IP4_HLEN &&
	    tr_csum_fold(tr_csum_partial(s->ip, TR_IP4_HLEN, 0)) != 0xffffu)
		return false;
	if (s->partial)
		return true;
	return tr_csum_fold(tr_csum_partial(s->th, l4_len,
	                                    pseudo_sum(s->ip, l4_len, TR_IPPROTO_TCP))) == 0xffffu;
}

/* The headers of an item's first packet, as seg_parse() found them when it joined. */
static void
item_seg(const TrGroItem *it, Seg *s)
{
	s->ip = tr_packet_data(it->pkt);
	s->len = it->pkt->len;
	s->iphl = s->ip[0] >> 4 == 4 ? TR_IP4_HLEN : TR_IP6_HLEN;
	s->th = s->ip + s->iphl;
	s->thl = it->gso.hdr_len - s->iphl;
	s->plen = it->gso.gso_size;
	s->partial = (it->pkt->flags & TR_PACKET_CSUM_PARTIAL) != 0;
}

/* Whether @b continues item @a's segments with the same headers. */
static bool
seg_continues(const TrGroItem *a, const Seg *s, const Seg *b)
{
	if (s->iphl != b->iphl || s->thl != b->thl)
		return false;
	if (s->iphl == TR_IP4_HLEN) {
		/* TOS (ECN included) and TTL; addresses are in the flow key. */
		if (s->ip[1] != b->ip[1] || s->ip[8] != b->ip[8])
			return false;
	} else {
		/* Traffic class, flow label, hop limit. */
		if (memcmp(s->ip, b->ip, 4) != 0 || s->ip[7] != b->ip[7])
			return false;
	}
	return tr_load_be32(b->th + 4) == a->next_seq &&
	       memcmp(s->th + 8, b->th + 8, 5) == 0 &&           /* ack, data offset */
	       memcmp(s->th + 14, b->th + 14, 2) == 0 &&         /* window */
	       memcmp(s->th + 18, b->th + 18, s->thl - 18) == 0; /* urgent, options */
}

typedef enum {
	MERGED,
	NOT_MERGED, /* @b starts an item of its own */
	B_INVALID,  /* @b passes through alone, its checksum for the kernel to judge */
} MergeResult;

static MergeResult
try_merge(const TrGro *gro, TrGroItem *a, const Seg *b)
{
	unsigned limit =
	        gro->max_len < TR_PACKET_PAYLOAD_MAX ? gro->max_len : TR_PACKET_PAYLOAD_MAX;
	Seg s;

	item_seg(a, &s);
	if (!seg_continues(a, &s, b) || b->plen > a->gso.gso_size ||
	    (size_t)s.len + b->plen > limit || tr_packet_tailroom(a->pkt) < b->plen)
		return NOT_MERGED;
	/*
	 * The kernel trusts the checksum of what we hand it with needs_csum,
	 * so each segment's own is checked before its bytes are mixed in:
	 * the first one's lazily, when a second one joins it.
	 */
	if (a->n_segs == 1 && !seg_csum_ok(&s)) {
		a->closed = true;
		return NOT_MERGED;
	}
	if (!seg_csum_ok(b))
		return B_INVALID;

	memcpy(s.ip + s.len, b->th + b->thl, b->plen);
	a->pkt->len += b->plen;
	a->next_seq += b->plen;
	a->n_segs++;
	/* PSH is the sender's "deliver now": the merged header carries it and
	 * nothing may follow; a short segment is the end of a burst. */
	if (b->th[13] & TCP_PSH) {
		s.th[13] |= TCP_PSH;
		a->closed = true;
	}
	if (b->plen < a->gso.gso_size)
		a->closed = true;
	return MERGED;
}

void
tr_gro_init(TrGro *gro, bool enabled)
{
	gro->n = 0;
	gro->enabled = enabled;
	gro->max_len = TR_PACKET_PAYLOAD_MAX;
}

void
tr_gro_reset(TrGro *gro)
{
	gro->n = 0;
}

/* The flow's latest item, or NULL: joining an earlier one would reorder the flow. */
static TrGroItem *
flow_latest(TrGro *gro, uint32_t hash, const uint8_t *key, size_t key_len)
{
	uint8_t other[FLOW_KEY_MAX];

	for (unsigned i = gro->n; i-- > 0;) {
		TrGroItem *it = &gro->items[i];

		if (it->flow_hash == hash &&
		    flow_key(tr_packet_data(it->pkt), it->pkt->len, other) == key_len &&
		    memcmp(key, other, key_len) == 0)
			return it;
	}
	return NULL;
}

/* A new item: @b, when the packet is a segment that later ones may join. */
static bool
gro_append(TrGro *gro, TrPacket *pkt, uint32_t hash, const Seg *b)
{
	TrGroItem *it;

	/* The caller flushes a full batch first; should it not, the packet
	 * is not kept (and not written), never written past the table. */
	if (gro->n >= TR_GRO_MAX)
		return false;
	it = &gro->items[gro->n++];
	it->pkt = pkt;
	it->gso = (TrGso){0};
	it->flow_hash = hash;
	it->n_segs = 1;
	it->next_seq = 0;
	it->closed = !b || (b->th[13] & TCP_PSH);
	if (b) {
		/* Until tr_gro_finish(), gso holds the header length and the
		 * segment size for the merging; its type stays NONE. */
		it->gso.hdr_len = (uint16_t)(b->iphl + b->thl);
		it->gso.gso_size = (uint16_t)b->plen;
		it->next_seq = tr_load_be32(b->th + 4) + b->plen;
	}
	return false;
}

bool
tr_gro_add(TrGro *gro, TrPacket *pkt)
{
	uint8_t key[FLOW_KEY_MAX];
	size_t key_len;
	uint32_t hash;
	TrGroItem *latest;
	Seg b;

	if (!gro->enabled)
		return gro_append(gro, pkt, 0, NULL);
	key_len = flow_key(tr_packet_data(pkt), pkt->len, key);
	if (!key_len)
		return gro_append(gro, pkt, 0, NULL); /* not TCP */
	hash = flow_hash(key, key_len);
	if (!seg_parse(pkt, &b))
		return gro_append(gro, pkt, hash, NULL);
	latest = flow_latest(gro, hash, key, key_len);
	if (latest && !latest->closed) {
		switch (try_merge(gro, latest, &b)) {
		case MERGED:
			return true;
		case B_INVALID:
			return gro_append(gro, pkt, hash, NULL);
		case NOT_MERGED:
			break;
		}
	}
	return gro_append(gro, pkt, hash, &b);
}

void
tr_gro_finish(TrGro *gro)
{
	for (unsigned i = 0; i < gro->n; i++) {
		TrGroItem *it = &gro->items[i];
		Seg s;

		if (it->n_segs < 2) {
			uint8_t *p = tr_packet_data(it->pkt);

			it->gso = (TrGso){0};
			/* Alone, with its checksum still partial: the device fills it in. */
			if (it->pkt->flags & TR_PACKET_CSUM_PARTIAL) {
				it->gso.needs_csum = true;
				it->gso.csum_start = p[0] >> 4 == 4 ? TR_IP4_HLEN : TR_IP6_HLEN;
				it->gso.csum_offset = TCP_CSUM_OFF;
			}
			continue;
		}
		item_seg(it, &s);
		if (s.iphl == TR_IP4_HLEN) {
			tr_store_be16(s.ip + 2, (uint16_t)s.len);
			ip4_set_csum(s.ip);
		} else {
			tr_store_be16(s.ip + 4, (uint16_t)(s.len - TR_IP6_HLEN));
		}
		/*
		 * CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum,
		 * not complemented, and the kernel (or the NIC) adds the sum from
		 * csum_start to the end and stores its complement, as Linux's
		 * tcp_v4_send_check() leaves it (~tcp_v4_check(len, s, d, 0)).
		 */
		tr_store_be16(s.th + TCP_CSUM_OFF,
		              tr_csum_fold(pseudo_sum(s.ip, s.len - s.iphl, TR_IPPROTO_TCP)));
		it->gso.type = s.iphl == TR_IP4_HLEN ? TR_GSO_TCPV4 : TR_GSO_TCPV6;
		it->gso.needs_csum = true;
		it->gso.ecn = false; /* CWR and ECE never merge */
		it->gso.csum_start = (uint16_t)s.iphl;
		it->gso.csum_offset = TCP_CSUM_OFF;
		/* hdr_len and gso_size are already there: the first segment's. */
	}
}
