/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "server/pool.h"

#include "common/base/error.h"
#include "common/auth/identity.h"
#include "common/base/log.h"

#include <errno.h>
#include <string.h>

typedef struct {
	char *identity;
	guint32 host;
	gint64 last_used; /* wall clock seconds */
	gboolean active;
} Lease;

/*
 * How long a change waits before the leases file is written: the changes of a
 * storm of (re)connections share one write (the whole file, then fsync),
 * where one write per change made each handshake cost in proportion to the
 * leases already there (issue 24: 438 handshakes/s at 1,000 sessions, 75 at
 * 10,000). A hub that dies within this delay of a change loses that change:
 * those clients get the same or another free address after the restart.
 * A write costs in proportion to the leases (every line, then fsync), so
 * the delay grows with them, SAVE_DELAY_PER_LEASE_US a lease (10,000 leases:
 * a second; 100,000: ten): a stream of arrivals then costs the same per
 * arrival in writes whatever the leases already there.
 */
#define SAVE_DELAY_MS           500
#define SAVE_DELAY_PER_LEASE_US 100

/*
 * One write of the leases file, on a thread of its own: the whole file
 * (taken on the main loop), into a temporary file, fsync, then renamed over
 * the old one (g_file_set_contents_full, CONSISTENT, mode 0600). At 10,000
 * leases the write and its fsync took 72 ms, on the main loop until issue
 * 24; now the main loop only formats the text. The thread touches nothing
 * but its job; @done (attached to the pool's context) wakes the main loop
 * when it ends, and the job is read there only after the thread is joined.
 */
typedef struct {
	GThread *thread;
	GSource *done;
	char *file;
	char *text;
	gboolean ok;
	GError *error;
} SaveJob;

struct _TrPool {
	TrPrefix v4, v6;     /* family NONE when absent */
	guint32 first, last; /* usable host numbers */
	guint32 free_hint;   /* no host below it is free */
	char *lease_file;
	GHashTable *by_identity; /* identity -> Lease */
	GHashTable *by_host;     /* host -> Lease (borrowed) */
	guint save_source;       /* a write is due (the thread-default context) */
	GMainContext *save_context;
	TrLogLimit save_errors;
	SaveJob *writing;     /* the write in flight, on its own thread */
	gboolean write_again; /* a write fell due while one was in flight */
};

static void
lease_free(gpointer p)
{
	Lease *l = p;
	g_free(l->identity);
	g_free(l);
}

static void
set_host(const TrPrefix *net, guint32 host, TrPrefix *out)
{
	unsigned bytes = tr_addr_family_bytes((TrAddrFamily)net->family);

	*out = *net;
	/* Host numbers fit in the last 4 bytes (pools are at most 2^31 hosts). */
	for (unsigned i = 0; i < 4 && i < bytes; i++)
		out->addr[bytes - 1 - i] |= (uint8_t)(host >> (8 * i));
}

static guint32
host_of(const TrPrefix *net, const TrPrefix *addr)
{
	unsigned bytes = tr_addr_family_bytes((TrAddrFamily)net->family);
	guint32 host = 0;

	for (unsigned i = 0; i < 4; i++)
		host |= (guint32)addr->addr[bytes - 1 - i] << (8 * i);
	if (net->len > bytes * 8 - 32)
		host &= (guint32)((G_GUINT64_CONSTANT(1) << (bytes * 8 - net->len)) - 1);
	return host;
}

/*
 * The leases file, version 2: a header line, then one lease per line,
 *
 *     # trellis-server address leases v2: host identity last-used
 *     2 psk:alice 1765094400
 *
 * fields separated by one space. Identities are checked where they enter
 * (common/auth/identity.h) and cannot hold a space or a line break; the file
 * still escapes every byte outside [A-Za-z0-9._:/@+-] as %XX, so that no
 * identity can ever add or change a line. Loading checks each identity
 * again. Files without the header (version 1, identities written raw) are
 * read with the same check, so a planted line with a bad identity is dropped.
 */
#define LEASES_HEADER_V2 "# trellis-server address leases v2: host identity last-used"

static gboolean
identity_byte_is_plain(char c)
{
	return g_ascii_isalnum(c) || strchr("._:/@+-", c) != NULL;
}

char *
tr_pool_escape_identity(const char *identity)
{
	GString *s = g_string_new(NULL);

	for (const char *p = identity; *p; p++) {
		if (identity_byte_is_plain(*p))
			g_string_append_c(s, *p);
		else
			g_string_append_printf(s, "%%%02X", (unsigned char)*p);
	}
	return g_string_free(s, FALSE);
}

char *
tr_pool_unescape_identity(const char *text)
{
	GString *s = g_string_new(NULL);

	for (const char *p = text; *p; p++) {
		int hi, lo;

		if (*p != '%') {
			if (!identity_byte_is_plain(*p))
				goto bad;
			g_string_append_c(s, *p);
			continue;
		}
		hi = g_ascii_xdigit_value(p[1]);
		lo = hi < 0 ? -1 : g_ascii_xdigit_value(p[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			goto bad;
		g_string_append_c(s, (char)(hi << 4 | lo));
		p += 2;
	}
	if (s->len == 0)
		goto bad;
	return g_string_free(s, FALSE);
bad:
	g_string_free(s, TRUE);
	return NULL;
}

/* An identity as the hub makes them: NAME, psk:NAME, node:NAME, with
 * "/USER" after a password login. */
gboolean
tr_pool_identity_is_valid(const char *identity)
{
	g_autofree char *base = g_strdup(identity);
	char *user = strchr(base, '/');
	const char *name = base;

	if (user) {
		*user++ = '\0';
		if (!tr_identity_validate_username(user, NULL))
			return FALSE;
	}
	if (g_str_has_prefix(name, "psk:"))
		name += 4;
	else if (g_str_has_prefix(name, "node:"))
		name += 5;
	return tr_identity_validate_name("identity", name, NULL);
}

char *
tr_pool_leases_text(TrPool *pool)
{
	GString *s = g_string_new(LEASES_HEADER_V2 "\n");
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, pool->by_identity);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		Lease *l = v;
		g_autofree char *id = tr_pool_escape_identity(l->identity);

		g_string_append_printf(s, "%u %s %" G_GINT64_FORMAT "\n", l->host, id,
		                       l->last_used);
	}
	return g_string_free(s, FALSE);
}

static gboolean
write_file(const char *file, const char *text, GError **error)
{
	return g_file_set_contents_full(file, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
	                                error);
}

static void
report_failure(TrPool *pool, const GError *error)
{
	if (tr_log_limit(&pool->save_errors, "failures to save the leases", 1, 600))
		g_warning("cannot save address leases (addresses will change after a restart): %s",
		          error->message);
}

static gpointer
write_thread(gpointer data)
{
	SaveJob *job = data;

	job->ok = write_file(job->file, job->text, &job->error);
	/* Thread-safe, and wakes the pool's context. */
	g_source_set_ready_time(job->done, 0);
	return NULL;
}

/*
 * Reports how the write in flight went. Its thread has ended or is leaving
 * (on_write_done: it touches nothing after @done is ready, and waiting for
 * it to exit could wait for a core), or the write is waited for (@wait: a
 * stop, tr_pool_save()).
 */
static void
finish_write(TrPool *pool, gboolean wait)
{
	SaveJob *job = g_steal_pointer(&pool->writing);

	if (job == NULL)
		return;
	if (job->thread && wait)
		g_thread_join(job->thread);
	else if (job->thread)
		g_thread_unref(job->thread);
	g_source_destroy(job->done);
	g_source_unref(job->done);
	if (!job->ok)
		report_failure(pool, job->error);
	g_clear_error(&job->error);
	g_free(job->text);
	g_free(job->file);
	g_free(job);
}

static void start_write(TrPool *pool);

/* The write's end: ready from the thread, dispatched on the main loop. */
static gboolean
write_done_dispatch(GSource *src, GSourceFunc callback, gpointer data)
{
	g_source_set_ready_time(src, -1);
	return callback(data);
}

static GSourceFuncs write_done_funcs = {.dispatch = write_done_dispatch};

static gboolean
on_write_done(gpointer data)
{
	TrPool *pool = data;

	finish_write(pool, FALSE);
	/* What changed during the write has waited its delay already. */
	if (pool->write_again) {
		pool->write_again = FALSE;
		start_write(pool);
	}
	return G_SOURCE_REMOVE;
}

static void
start_write(TrPool *pool)
{
	SaveJob *job = g_new0(SaveJob, 1);

	job->file = g_strdup(pool->lease_file);
	job->text = tr_pool_leases_text(pool);
	job->done = g_source_new(&write_done_funcs, sizeof(GSource));
	g_source_set_callback(job->done, on_write_done, pool, NULL);
	g_source_set_static_name(job->done, "trellis pool write done");
	g_source_set_ready_time(job->done, -1);
	g_source_attach(job->done, pool->save_context);
	pool->writing = job;
	job->thread = g_thread_try_new("trellis-leases", write_thread, job, NULL);
	if (job->thread == NULL)
		write_thread(job); /* no thread to be had: on the main loop, as before */
}

static void
cancel_save(TrPool *pool)
{
	if (pool->save_source) {
		GSource *src =
		        g_main_context_find_source_by_id(pool->save_context, pool->save_source);
		if (src)
			g_source_destroy(src);
		pool->save_source = 0;
	}
}

/* Synchronous: after the write in flight, the leases as they are now. */
gboolean
tr_pool_save(TrPool *pool, GError **error)
{
	cancel_save(pool);
	finish_write(pool, TRUE);
	pool->write_again = FALSE;
	if (pool->lease_file == NULL)
		return TRUE;
	{
		g_autofree char *text = tr_pool_leases_text(pool);
		return write_file(pool->lease_file, text, error);
	}
}

gboolean
tr_pool_writing(TrPool *pool)
{
	return pool->writing != NULL;
}

static gboolean
on_save_due(gpointer data)
{
	TrPool *pool = data;

	pool->save_source = 0;
	if (pool->writing)
		pool->write_again = TRUE; /* on_write_done starts it */
	else
		start_write(pool);
	return G_SOURCE_REMOVE;
}

guint
tr_pool_save_delay_ms(TrPool *pool)
{
	guint64 ms = (guint64)g_hash_table_size(pool->by_identity) * SAVE_DELAY_PER_LEASE_US / 1000;

	return (guint)CLAMP(ms, SAVE_DELAY_MS, G_MAXINT32);
}

/*
 * A change: written within tr_pool_save_delay_ms(), together with the
 * changes after it; one that comes while a write is in flight is written
 * by the next one (at most one is in flight).
 */
static void
save(TrPool *pool)
{
	GSource *src;

	if (pool->lease_file == NULL || pool->save_source || pool->write_again)
		return;
	src = g_timeout_source_new(tr_pool_save_delay_ms(pool));
	g_source_set_callback(src, on_save_due, pool, NULL);
	g_source_set_static_name(src, "trellis pool save");
	if (pool->save_context == NULL)
		pool->save_context = g_main_context_ref_thread_default();
	pool->save_source = g_source_attach(src, pool->save_context);
	g_source_unref(src);
}

guint
tr_pool_load_text(TrPool *pool, const char *data, const char *name)
{
	g_auto(GStrv) lines = NULL;
	gboolean v2 = g_str_has_prefix(data, LEASES_HEADER_V2 "\n");
	guint n = 0;

	lines = g_strsplit(data, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
		g_autofree char *identity = NULL;
		guint64 host;
		gint64 last_used;
		Lease *l;

		if (lines[i][0] == '#' || lines[i][0] == '\0')
			continue;
		if (g_strv_length(f) == 3)
			identity = v2 ? tr_pool_unescape_identity(f[1]) : g_strdup(f[1]);
		if (identity == NULL || !tr_pool_identity_is_valid(identity) ||
		    !g_ascii_string_to_unsigned(f[0], 10, pool->first, pool->last, &host, NULL) ||
		    !g_ascii_string_to_signed(f[2], 10, 0, G_MAXINT64, &last_used, NULL) ||
		    g_hash_table_contains(pool->by_host, GUINT_TO_POINTER((guint)host)) ||
		    g_hash_table_contains(pool->by_identity, identity)) {
			g_warning("%s:%u: ignoring a malformed or conflicting lease", name, i + 1);
			continue;
		}
		l = g_new0(Lease, 1);
		l->identity = g_steal_pointer(&identity);
		l->host = (guint32)host;
		l->last_used = last_used;
		g_hash_table_insert(pool->by_identity, l->identity, l);
		g_hash_table_insert(pool->by_host, GUINT_TO_POINTER(l->host), l);
		n++;
	}
	return n;
}

static void
load(TrPool *pool)
{
	g_autofree char *data = NULL;

	if (pool->lease_file == NULL || !g_file_get_contents(pool->lease_file, &data, NULL, NULL))
		return;
	tr_pool_load_text(pool, data, pool->lease_file);
}

TrPool *
tr_pool_new(const TrPrefix *v4, const TrPrefix *v6, const char *lease_file, GError **error)
{
	g_autoptr(TrPool) pool = g_new0(TrPool, 1);
	guint64 size = G_MAXUINT32;

	pool->by_identity = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, lease_free);
	pool->by_host = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (v4) {
		if (v4->family != TR_ADDR_IPV4 || v4->len > 30) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "the IPv4 pool must be an IPv4 prefix of /30 or larger");
			return NULL;
		}
		pool->v4 = *v4;
		tr_prefix_mask(&pool->v4);
		size = MIN(size, (G_GUINT64_CONSTANT(1) << (32 - v4->len)) - 1); /* no broadcast */
	}
	if (v6) {
		if (v6->family != TR_ADDR_IPV6 || v6->len > 126) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "the IPv6 pool must be an IPv6 prefix of /126 or larger");
			return NULL;
		}
		pool->v6 = *v6;
		tr_prefix_mask(&pool->v6);
		if (v6->len > 96)
			size = MIN(size, (G_GUINT64_CONSTANT(1) << (128 - v6->len)));
	}
	if (!v4 && !v6) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "the pool needs an IPv4 or IPv6 prefix");
		return NULL;
	}
	pool->first = pool->free_hint = 2;
	pool->last = (guint32)MIN(size - 1, (guint64)G_MAXINT32);
	pool->lease_file = g_strdup(lease_file);
	load(pool);
	return g_steal_pointer(&pool);
}

void
tr_pool_free(TrPool *pool)
{
	if (pool == NULL)
		return;
	/* The write in flight ends, and a change still waiting is written now
	 * (a clean stop loses no lease). */
	finish_write(pool, TRUE);
	if (pool->save_source || pool->write_again) {
		g_autoptr(GError) error = NULL;

		if (!tr_pool_save(pool, &error))
			report_failure(pool, error);
	}
	g_clear_pointer(&pool->save_context, g_main_context_unref);
	g_hash_table_unref(pool->by_host);
	g_hash_table_unref(pool->by_identity);
	g_free(pool->lease_file);
	g_free(pool);
}

gboolean
tr_pool_hub_address(TrPool *pool, TrAddrFamily family, TrPrefix *out)
{
	const TrPrefix *net = family == TR_ADDR_IPV4 ? &pool->v4 : &pool->v6;

	if (net->family != family)
		return FALSE;
	set_host(net, 1, out);
	return TRUE;
}

static Lease *
find_free(TrPool *pool, GError **error)
{
	GHashTableIter it;
	gpointer v;
	Lease *oldest = NULL;

	/* From the lowest host that may be free: leases are kept when their
	 * identity disconnects, so the scan does not start over at the first
	 * host for every new identity (that made each one cost in proportion to
	 * the leases there). */
	for (guint32 h = MAX(pool->free_hint, pool->first); h <= pool->last; h++) {
		if (!g_hash_table_contains(pool->by_host, GUINT_TO_POINTER(h))) {
			Lease *l = g_new0(Lease, 1);
			l->host = h;
			pool->free_hint = h + 1;
			return l;
		}
	}
	pool->free_hint = pool->last + 1;
	/* Full: take over the longest-unused lease of a disconnected identity. */
	g_hash_table_iter_init(&it, pool->by_identity);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		Lease *l = v;
		if (!l->active && (oldest == NULL || l->last_used < oldest->last_used))
			oldest = l;
	}
	if (oldest == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "the address pool is exhausted (%u clients connected)",
		            pool->last - pool->first + 1);
		return NULL;
	}
	g_message("address pool full: reassigning %s's lease", oldest->identity);
	g_hash_table_steal(pool->by_identity, oldest->identity);
	g_clear_pointer(&oldest->identity, g_free);
	return oldest;
}

gboolean
tr_pool_lease(TrPool *pool, const char *identity, const TrPrefix *want_v4, TrPrefix *v4,
              TrPrefix *v6, GError **error)
{
	Lease *l;

	if (!tr_pool_identity_is_valid(identity)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "not a valid identity for a lease (docs/SECURITY.md, identities)");
		return FALSE;
	}
	l = g_hash_table_lookup(pool->by_identity, identity);
	if (want_v4 && want_v4->family == TR_ADDR_IPV4 && pool->v4.family == TR_ADDR_IPV4) {
		guint32 host = host_of(&pool->v4, want_v4);
		Lease *holder = g_hash_table_lookup(pool->by_host, GUINT_TO_POINTER(host));
		char buf[TR_PREFIX_STRLEN];

		if (!tr_prefix_contains(&pool->v4, TR_ADDR_IPV4, want_v4->addr) ||
		    host < pool->first || host > pool->last) {
			g_set_error(
			        error, TR_ERROR, TR_ERROR_CONFIG,
			        "static address %s of %s is outside the pool",
			        tr_addr_to_string(TR_ADDR_IPV4, want_v4->addr, buf, sizeof(buf)),
			        identity);
			return FALSE;
		}
		if (holder && holder != l) {
			if (holder->active) {
				g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
				            "static address of %s is in use by %s", identity,
				            holder->identity);
				return FALSE;
			}
			g_hash_table_remove(pool->by_host, GUINT_TO_POINTER(host));
			g_hash_table_remove(pool->by_identity, holder->identity);
		}
		if (l && l->host != host) {
			g_hash_table_remove(pool->by_host, GUINT_TO_POINTER(l->host));
			pool->free_hint = MIN(pool->free_hint, l->host);
			l->host = host;
			g_hash_table_insert(pool->by_host, GUINT_TO_POINTER(host), l);
		} else if (l == NULL) {
			l = g_new0(Lease, 1);
			l->host = host;
		}
	} else if (l == NULL) {
		l = find_free(pool, error);
		if (l == NULL)
			return FALSE;
	}
	if (l->identity == NULL) {
		l->identity = g_strdup(identity);
		g_hash_table_insert(pool->by_identity, l->identity, l);
		g_hash_table_insert(pool->by_host, GUINT_TO_POINTER(l->host), l);
	}
	l->active = TRUE;
	l->last_used = g_get_real_time() / G_USEC_PER_SEC;
	memset(v4, 0, sizeof(*v4));
	memset(v6, 0, sizeof(*v6));
	if (pool->v4.family == TR_ADDR_IPV4)
		set_host(&pool->v4, l->host, v4);
	if (pool->v6.family == TR_ADDR_IPV6)
		set_host(&pool->v6, l->host, v6);
	save(pool);
	return TRUE;
}

void
tr_pool_release(TrPool *pool, const char *identity)
{
	Lease *l = g_hash_table_lookup(pool->by_identity, identity);

	if (l == NULL)
		return;
	l->active = FALSE;
	l->last_used = g_get_real_time() / G_USEC_PER_SEC;
	save(pool);
}

guint
tr_pool_n_active(TrPool *pool)
{
	GHashTableIter it;
	gpointer v;
	guint n = 0;

	g_hash_table_iter_init(&it, pool->by_identity);
	while (g_hash_table_iter_next(&it, NULL, &v))
		n += ((Lease *)v)->active;
	return n;
}
