/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A session as the data plane holds it (TrDpSession): its references, the
 * endpoint under a sequence lock, the events its workers raise for the
 * control plane, and what the control plane reads and sets.
 */
#include "common/datapath/dataplane-private.h"

#include <errno.h>
#include <string.h>

TrDpSession *
dp_session_ref(TrDpSession *session)
{
	atomic_fetch_add_explicit(&session->ref, 1, memory_order_relaxed);
	return session;
}

void
dp_session_unref(TrDpSession *session)
{
	if (session && atomic_fetch_sub_explicit(&session->ref, 1, memory_order_acq_rel) == 1) {
		tr_dc_free(session->dc);
		g_free(session->notes);
		pthread_mutex_destroy(&session->notes_lock);
		g_free(session);
	}
}

void
dp_endpoint_write(TrDpSession *session, const struct sockaddr *sa, socklen_t len)
{
	uint64_t words[EP_WORDS] = {0};
	unsigned seq;

	if ((size_t)len > sizeof(words)) /* socklen_t is an int on Windows */
		len = 0;
	if (len)
		memcpy(words, sa, len);
	/* Writers (the owner worker, or the control plane before the session is
	 * published) are serialised by taking the odd count. */
	do {
		seq = atomic_load_explicit(&session->ep_seq, memory_order_relaxed);
	} while ((seq & 1) || !atomic_compare_exchange_strong_explicit(
	                              &session->ep_seq, &seq, seq + 1, memory_order_acquire,
	                              memory_order_relaxed));
	for (unsigned i = 0; i < EP_WORDS; i++)
		atomic_store_explicit(&session->ep_words[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&session->ep_len_, len, memory_order_relaxed);
	atomic_store_explicit(&session->ep_seq, seq + 2, memory_order_release);
}

void
dp_signal_main(TrDataplane *dp)
{
	if (!atomic_exchange_explicit(&dp->main_signaled, true, memory_order_acq_rel))
		tr_wakeup_signal(&dp->main_wake);
}

void
dp_session_raise(TrDpSession *session, unsigned ev)
{
	TrDataplane *dp = session->dp;

	/* The first bits since the main loop last looked: the session goes on its
	 * list, so that a wakeup looks at the sessions with events, not at all. */
	if (atomic_fetch_or_explicit(&session->events, ev, memory_order_acq_rel) == 0) {
		pthread_mutex_lock(&dp->outbox_lock);
		g_ptr_array_add(dp->raised, dp_session_ref(session));
		pthread_mutex_unlock(&dp->outbox_lock);
		dp_signal_main(dp);
	}
}

const char *
tr_path_name(TrPath path)
{
	switch (path) {
	case TR_PATH_UDP:
		return "udp";
	case TR_PATH_TCP:
		return "tcp";
	default:
		return "none";
	}
}

/* The destination @dst (or none) as two words and a family. */
static void
fwd_dst_words(const TrPrefix *dst, uint64_t words[2], unsigned *family)
{
	words[0] = words[1] = 0;
	*family = 0;
	if (dst == NULL)
		return;
	memcpy(words, dst->addr, MIN(sizeof(dst->addr), 2 * sizeof(uint64_t)));
	*family = dst->family;
}

/* A hash of a slot's contents (FNV-1a over the words): see DpFwdNotes.check. */
static uint64_t
fwd_check(uint32_t to, unsigned family, const uint64_t words[2])
{
	uint64_t h = 0xcbf29ce484222325ull, v[4] = {to, family, words[0], words[1]};

	for (unsigned i = 0; i < 4; i++)
		h = (h ^ v[i]) * 0x100000001b3ull;
	return h | 1; /* never 0: an empty slot's */
}

gboolean
dp_fwd_note(DpFwdNotes *notes, uint32_t to, const TrPrefix *dst, int64_t now)
{
	unsigned slot = 0, family;
	int64_t oldest = INT64_MAX;
	uint64_t words[2];
	gboolean found = FALSE;

	fwd_dst_words(dst, words, &family);
	/* Relaxed loads only, on every forwarded packet: two workers noting the same
	 * session at once may both tell, or one target be told twice; never lost for
	 * longer than the next packet to it. */
	for (unsigned i = 0; i < TR_DP_FORWARD_TARGETS; i++) {
		int64_t noted = atomic_load_explicit(&notes->noted[i], memory_order_relaxed);

		if (atomic_load_explicit(&notes->to[i], memory_order_relaxed) == to &&
		    atomic_load_explicit(&notes->family[i], memory_order_relaxed) == family &&
		    atomic_load_explicit(&notes->dst[i][0], memory_order_relaxed) == words[0] &&
		    atomic_load_explicit(&notes->dst[i][1], memory_order_relaxed) == words[1]) {
			if (now - noted < TR_DP_FORWARD_NOTE_USEC)
				return FALSE;
			slot = i;
			found = TRUE;
			break;
		}
		if (noted < oldest) {
			oldest = noted;
			slot = i;
		}
	}
	/* Many destinations behind a hub link: at most one new one a second per slot. */
	if (!found && dst != NULL && oldest != INT64_MAX && now - oldest < TR_DP_FORWARD_DST_USEC &&
	    atomic_load_explicit(&notes->to[slot], memory_order_relaxed) != 0)
		return FALSE;
	atomic_store_explicit(&notes->to[slot], to, memory_order_relaxed);
	atomic_store_explicit(&notes->family[slot], family, memory_order_relaxed);
	atomic_store_explicit(&notes->dst[slot][0], words[0], memory_order_relaxed);
	atomic_store_explicit(&notes->dst[slot][1], words[1], memory_order_relaxed);
	atomic_store_explicit(&notes->check[slot], fwd_check(to, family, words),
	                      memory_order_relaxed);
	atomic_store_explicit(&notes->noted[slot], now, memory_order_relaxed);
	atomic_fetch_or_explicit(&notes->unseen, 1u << slot, memory_order_release);
	return TRUE;
}

unsigned
dp_fwd_take(DpFwdNotes *notes, TrDpForward out[TR_DP_FORWARD_TARGETS])
{
	unsigned bits = atomic_exchange_explicit(&notes->unseen, 0, memory_order_acquire);
	unsigned n = 0;

	for (unsigned i = 0; i < TR_DP_FORWARD_TARGETS; i++) {
		uint32_t to = atomic_load_explicit(&notes->to[i], memory_order_relaxed);
		unsigned family = atomic_load_explicit(&notes->family[i], memory_order_relaxed);
		uint64_t words[2] = {
		        atomic_load_explicit(&notes->dst[i][0], memory_order_relaxed),
		        atomic_load_explicit(&notes->dst[i][1], memory_order_relaxed),
		};
		TrDpForward *f = &out[n];

		if (!(bits >> i & 1) || to == 0 ||
		    atomic_load_explicit(&notes->check[i], memory_order_relaxed) !=
		            fwd_check(to, family, words))
			continue;
		memset(f, 0, sizeof(*f));
		f->to = to;
		if (family == TR_ADDR_IPV4 || family == TR_ADDR_IPV6) {
			f->dst.family = (uint8_t)family;
			f->dst.len = family == TR_ADDR_IPV4 ? 32 : 128;
			memcpy(f->dst.addr, words, sizeof(f->dst.addr));
		}
		n++;
	}
	return n;
}

unsigned
tr_dp_session_forwarded_take(TrDpSession *session, TrDpForward out[TR_DP_FORWARD_TARGETS])
{
	return dp_fwd_take(&session->fwd, out);
}

void
tr_dp_session_set_transit(TrDpSession *session, gboolean transit)
{
	atomic_store_explicit(&session->transit, transit, memory_order_relaxed);
}

TrDc *
tr_dp_session_dc(TrDpSession *session)
{
	return session->dc;
}

void
tr_dp_session_set_path(TrDpSession *session, TrPath path)
{
	atomic_store_explicit(&session->path, path, memory_order_relaxed);
}

socklen_t
tr_dp_session_endpoint(TrDpSession *session, struct sockaddr_storage *out)
{
	return dp_endpoint_read(session, out);
}

void
tr_dp_session_set_endpoint(TrDpSession *session, const struct sockaddr *sa, socklen_t len)
{
	dp_endpoint_write(session, sa, len);
}

void
tr_dp_session_pin_endpoint(TrDpSession *session, gboolean pinned)
{
	if (pinned) {
		pthread_mutex_lock(&session->notes_lock);
		if (session->notes == NULL)
			session->notes = g_new(TrDpNote, TR_DP_NOTES);
		pthread_mutex_unlock(&session->notes_lock);
	}
	atomic_store_explicit(&session->pinned, pinned, memory_order_relaxed);
}

guint
tr_dp_session_take_notes(TrDpSession *session, TrDpNote *out, guint max)
{
	guint n;

	pthread_mutex_lock(&session->notes_lock);
	n = MIN(max, session->n_notes);
	if (n > 0)
		memcpy(out, session->notes, n * sizeof(*out));
	session->n_notes = 0;
	pthread_mutex_unlock(&session->notes_lock);
	return n;
}

void
dp_session_note(TrDpSession *session, gboolean pong, const uint8_t *payload,
                const struct sockaddr *from, socklen_t from_len, gint64 now)
{
	pthread_mutex_lock(&session->notes_lock);
	if (session->notes && session->n_notes < TR_DP_NOTES &&
	    (size_t)from_len <= sizeof(struct sockaddr_storage)) {
		TrDpNote *n = &session->notes[session->n_notes++];

		memset(n, 0, sizeof(*n));
		n->pong = pong;
		if (payload)
			memcpy(n->payload, payload, sizeof(n->payload));
		n->at = now;
		memcpy(&n->from, from, from_len);
	}
	pthread_mutex_unlock(&session->notes_lock);
}

gint64
tr_dp_session_last_udp_rx(TrDpSession *session)
{
	return atomic_load_explicit(&session->last_udp_rx, memory_order_relaxed);
}

gboolean
tr_dp_session_send(TrDataplane *dp, TrDpSession *session, const uint8_t *data, size_t len)
{
	TrPath path = atomic_load_explicit(&session->path, memory_order_relaxed);
	g_autofree uint8_t *buf = NULL;
	struct sockaddr_storage ep;
	socklen_t ep_len;
	int n;

	if (len > TR_PACKET_PAYLOAD_MAX || path == TR_PATH_NONE)
		return FALSE;
	buf = g_malloc(len + TR_DC_OVERHEAD);
	n = tr_dc_seal(session->dc, TR_DP_CONTROL_LANE(dp->cfg.n_workers), NULL, TR_DC_DATA, data,
	               len, buf, len + TR_DC_OVERHEAD, g_get_monotonic_time());
	if (n < 0)
		return FALSE;
	if (path == TR_PATH_TCP) {
		if (session->cb.tcp_send == NULL)
			return FALSE;
		session->cb.tcp_send(session, buf, (size_t)n, session->user_data);
		return TRUE;
	}
	ep_len = dp_endpoint_read(session, &ep);
	return ep_len > 0 && tr_sock_sendto(dp->cfg.udp_fds[0], buf, (size_t)n,
	                                    (struct sockaddr *)&ep, ep_len) == n;
}

gboolean
tr_dp_session_send_control(TrDataplane *dp, TrDpSession *session, TrDcType type,
                           const uint8_t *payload, size_t len)
{
	return dp_send_control(session, NULL, 0, TR_DP_CONTROL_LANE(dp->cfg.n_workers),
	                       dp->cfg.udp_fds[0], type, payload, len, g_get_monotonic_time());
}

gboolean
tr_dp_session_send_control_to(TrDataplane *dp, TrDpSession *session, TrDcType type,
                              const uint8_t *payload, size_t len, const struct sockaddr *to,
                              socklen_t to_len)
{
	return dp_send_control(session, to, to_len, TR_DP_CONTROL_LANE(dp->cfg.n_workers),
	                       dp->cfg.udp_fds[0], type, payload, len, g_get_monotonic_time());
}

int
tr_dp_session_send_probe(TrDataplane *dp, TrDpSession *session, uint32_t round, size_t wire_len)
{
	struct sockaddr_storage ep;
	socklen_t ep_len = dp_endpoint_read(session, &ep);
	size_t overhead =
	        TR_DC_HEADER_LEN + tr_cipher_tag_len(tr_dc_get_config(session->dc)->cipher);
	g_autofree uint8_t *payload = NULL, *buf = NULL;
	ssize_t r;
	int n;

	if (ep_len == 0)
		return -EDESTADDRREQ;
	if (wire_len < overhead + 4 || wire_len > TR_PACKET_PAYLOAD_MAX)
		return -EINVAL;
	payload = g_malloc0(wire_len - overhead);
	buf = g_malloc(wire_len + TR_DC_OVERHEAD);
	tr_store_be32(payload, round);
	n = tr_dc_seal(session->dc, TR_DP_CONTROL_LANE(dp->cfg.n_workers), NULL, TR_DC_PROBE,
	               payload, wire_len - overhead, buf, wire_len + TR_DC_OVERHEAD,
	               g_get_monotonic_time());
	if (n < 0)
		return n;
	r = tr_sock_sendto(dp->cfg.udp_fds[0], buf, (size_t)n, (struct sockaddr *)&ep, ep_len);
	return r == n ? 0 : r < 0 ? (int)r : -EIO;
}

unsigned
tr_dp_session_probe_ack(TrDpSession *session, uint32_t round)
{
	uint64_t v = atomic_load_explicit(&session->probe_ack, memory_order_relaxed);

	return (uint32_t)(v >> 32) == round ? (unsigned)(uint32_t)v : 0;
}

void
tr_dp_session_set_mtu(TrDpSession *session, unsigned mtu)
{
	atomic_store_explicit(&session->mtu, mtu, memory_order_relaxed);
	/* sized to the path now: runs fit again */
	atomic_store_explicit(&session->split, false, memory_order_relaxed);
}

unsigned
tr_dp_session_mtu(TrDataplane *dp, TrDpSession *session)
{
	return dp_session_mtu(dp, session);
}

gboolean
tr_dp_session_inject(TrDataplane *dp, TrDpSession *session, const uint8_t *data, size_t len)
{
	return dp_inbox_push(dp, session, data, len, NULL, 0);
}
