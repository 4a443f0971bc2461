/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pending invites in the state directory: creating one (and its token),
 * looking one up by id, and redeeming it once.
 */
#include "common/pki/invite.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/pki/private.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define GROUP          "invite"
#define PENDING_SUFFIX ".invite"
#define USED_SUFFIX    ".used"

void
tr_pki_invite_free(TrPkiInvite *invite)
{
	if (invite == NULL)
		return;
	gnutls_memset(invite->secret, 0, sizeof(invite->secret));
	g_free(invite->id);
	g_free(invite->name);
	if (invite->addresses)
		g_array_unref(invite->addresses);
	if (invite->subnets)
		g_array_unref(invite->subnets);
	g_free(invite);
}

char *
tr_pki_invites_dir(const char *state_dir)
{
	return g_build_filename(state_dir, "invites", NULL);
}

static char *
invite_path(const char *state_dir, const char *id, const char *suffix)
{
	g_autofree char *dir = tr_pki_invites_dir(state_dir);
	g_autofree char *base = g_strconcat(id, suffix, NULL);
	return g_build_filename(dir, base, NULL);
}

static char *
format_utc(gint64 when)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(when);
	return dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S UTC") : g_strdup("?");
}

static void
append_prefixes(GString *s, const char *key, const TrPrefix *list, guint n)
{
	char buf[TR_PREFIX_STRLEN];

	if (n == 0)
		return;
	g_string_append_printf(s, "%s=", key);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(s, "%s%s", i ? ";" : "",
		                       tr_prefix_to_string(&list[i], buf, sizeof(buf)));
	g_string_append_c(s, '\n');
}

static gboolean
write_invite(const char *state_dir, const TrInviteToken *t, const TrPkiInviteOptions *opts,
             gint64 now, GError **error)
{
	g_autofree char *dir = tr_pki_invites_dir(state_dir);
	g_autofree char *id = tr_invite_id_to_hex(t->id);
	g_autofree char *path = invite_path(state_dir, id, PENDING_SUFFIX);
	g_autofree char *secret = tr_pki_hex(t->secret, sizeof(t->secret));
	g_autoptr(GString) s = g_string_new(NULL);
	gboolean ok;

	if (!tr_pki_ensure_dir(dir, error))
		return FALSE;
	g_string_append_printf(s,
	                       "# A pending invite (trellis invite); deleted or renamed .used "
	                       "when redeemed.\n[" GROUP
	                       "]\nname=%s\nsecret=%s\ncreated=%" G_GINT64_FORMAT
	                       "\nexpires=%" G_GINT64_FORMAT "\n",
	                       t->name, secret, now, t->expires);
	append_prefixes(s, "ip", opts->addresses, opts->n_addresses);
	append_prefixes(s, "subnet", opts->subnets, opts->n_subnets);
	ok = tr_pki_write_file(path, s->str, s->len, 0600, error);
	gnutls_memset(s->str, 0, s->len);
	gnutls_memset(secret, 0, strlen(secret));
	return ok;
}

TrInviteToken *
tr_pki_invite_create(const char *state_dir, const TrPkiInviteOptions *opts, GError **error)
{
	g_autoptr(TrInviteToken) t = g_new0(TrInviteToken, 1);
	g_autoptr(TrPkiCa) ca = NULL;
	g_autofree char *existing = NULL;
	gint64 now = opts->now ? opts->now : tr_pki_now();
	gint64 lifetime = opts->lifetime ? opts->lifetime : TR_PKI_INVITE_LIFETIME;
	size_t fp_len = sizeof(t->ca_fingerprint);
	guint n_servers = 0;
	int rc;

	if (!tr_pki_name_validate(opts->name, error))
		return NULL;
	if (lifetime < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "an invite's lifetime must be positive");
		return NULL;
	}
	while (opts->servers != NULL && opts->servers[n_servers] != NULL)
		n_servers++;
	if (n_servers == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "an invite needs the hub's address as the joining machine reaches it "
		            "(--server HOST[:PORT])");
		return NULL;
	}
	ca = tr_pki_ca_open(state_dir, error);
	if (ca == NULL)
		return NULL;
	existing = tr_pki_cert_path(state_dir, opts->name);
	if (g_file_test(existing, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
		            "'%s' already has a certificate; revoke it first "
		            "('trellis pki revoke %s') or invite another name",
		            opts->name, opts->name);
		return NULL;
	}
	rc = gnutls_x509_crt_get_fingerprint(ca->crt, GNUTLS_DIG_SHA256, t->ca_fingerprint,
	                                     &fp_len);
	if (rc < 0 || fp_len != sizeof(t->ca_fingerprint)) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc < 0 ? rc : GNUTLS_E_INTERNAL_ERROR,
		                    "CA fingerprint");
		return NULL;
	}
	rc = gnutls_rnd(GNUTLS_RND_RANDOM, t->id, sizeof(t->id));
	if (rc >= 0)
		rc = gnutls_rnd(GNUTLS_RND_KEY, t->secret, sizeof(t->secret));
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "random bytes");
		return NULL;
	}
	t->name = g_strdup(opts->name);
	t->servers = g_strdupv((char **)opts->servers);
	t->expires = now + lifetime;
	/* Encoding validates the addresses before anything is written. */
	{
		g_autofree char *text = tr_invite_token_encode(t, error);
		if (text == NULL)
			return NULL;
		gnutls_memset(text, 0, strlen(text));
	}
	tr_pki_invite_prune(state_dir, now);
	if (!write_invite(state_dir, t, opts, now, error)) {
		tr_pki_prefix_write_error(error, state_dir);
		return NULL;
	}
	return g_steal_pointer(&t);
}

static gboolean
hex_to_bytes(const char *hex, guint8 *out, gsize len)
{
	if (hex == NULL || strlen(hex) != 2 * len)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		int hi = g_ascii_xdigit_value(hex[2 * i]),
		    lo = g_ascii_xdigit_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return FALSE;
		out[i] = (guint8)(hi << 4 | lo);
	}
	return TRUE;
}

static GArray *
read_prefixes(GKeyFile *kf, const char *key, TrPrefixFlags flags, GError **error)
{
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(TrPrefix));
	g_auto(GStrv) list = NULL;

	if (!g_key_file_has_key(kf, GROUP, key, NULL))
		return g_steal_pointer(&out);
	list = g_key_file_get_string_list(kf, GROUP, key, NULL, error);
	if (list == NULL)
		return NULL;
	for (guint i = 0; list[i] != NULL; i++) {
		TrPrefix p;
		if (!tr_prefix_parse(list[i], flags, &p, error))
			return NULL;
		g_array_append_val(out, p);
	}
	return g_steal_pointer(&out);
}

static TrPkiInvite *
load_invite(const char *path, const char *id, gboolean used, GError **error)
{
	g_autoptr(TrPkiInvite) inv = g_new0(TrPkiInvite, 1);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GBytes) data = tr_pki_read_key_file(path, error);
	g_autofree char *secret = NULL;
	gsize len;
	const char *text;

	if (data == NULL)
		return NULL;
	text = g_bytes_get_data(data, &len);
	if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, error))
		goto bad;
	inv->id = g_strdup(id);
	inv->used = used;
	inv->name = g_key_file_get_string(kf, GROUP, "name", error);
	if (inv->name == NULL || !tr_pki_name_validate(inv->name, error))
		goto bad;
	secret = g_key_file_get_string(kf, GROUP, "secret", error);
	if (secret == NULL)
		goto bad;
	if (!hex_to_bytes(secret, inv->secret, sizeof(inv->secret))) {
		gnutls_memset(secret, 0, strlen(secret));
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "bad secret");
		goto bad;
	}
	gnutls_memset(secret, 0, strlen(secret));
	inv->expires = g_key_file_get_int64(kf, GROUP, "expires", error);
	if (inv->expires <= 0) {
		if (error != NULL && *error == NULL)
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "bad expiry");
		goto bad;
	}
	inv->addresses = read_prefixes(kf, "ip", TR_PREFIX_IP_ONLY, error);
	if (inv->addresses == NULL)
		goto bad;
	inv->subnets = read_prefixes(kf, "subnet", TR_PREFIX_REQUIRE_LEN, error);
	if (inv->subnets == NULL)
		goto bad;
	return g_steal_pointer(&inv);
bad:
	g_prefix_error(error, "invite file %s: ", path);
	return NULL;
}

TrPkiInvite *
tr_pki_invite_lookup(const char *state_dir, const char *id, GError **error)
{
	guint8 raw[TR_INVITE_ID_LEN];
	g_autofree char *pending = NULL;
	g_autofree char *used = NULL;

	/* The id comes from the network: it becomes a file name only when it
	 * is exactly 16 lowercase hex digits. */
	if (!tr_invite_id_from_hex(id, raw)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "not an invite id");
		return NULL;
	}
	pending = invite_path(state_dir, id, PENDING_SUFFIX);
	if (g_file_test(pending, G_FILE_TEST_IS_REGULAR))
		return load_invite(pending, id, FALSE, error);
	used = invite_path(state_dir, id, USED_SUFFIX);
	if (g_file_test(used, G_FILE_TEST_IS_REGULAR))
		return load_invite(used, id, TRUE, error);
	g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND, "no invite %s", id);
	return NULL;
}

GBytes *
tr_pki_invite_redeem(TrPkiCa *ca, const char *id, const guint8 *request, gsize request_len,
                     gint64 now, char **name, GError **error)
{
	g_autoptr(TrPkiInvite) inv = tr_pki_invite_lookup(ca->state_dir, id, error);
	g_autofree char *pending = NULL;
	g_autofree char *used = NULL;
	TrPkiIssueOptions opts = {.kind = TR_PKI_KIND_CLIENT};
	GBytes *cert;

	if (inv == NULL)
		return NULL;
	if (inv->used) {
		g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
		            "this invite for '%s' was already used (an invite works once); ask "
		            "for a new one",
		            inv->name);
		return NULL;
	}
	if (now >= inv->expires) {
		g_autofree char *when = format_utc(inv->expires);
		g_set_error(error, TR_ERROR, TR_ERROR_TIMEOUT,
		            "this invite for '%s' expired at %s; ask for a new one", inv->name,
		            when);
		return NULL;
	}
	/* The claim: of two redemptions at once, one rename wins. */
	pending = invite_path(ca->state_dir, id, PENDING_SUFFIX);
	used = invite_path(ca->state_dir, id, USED_SUFFIX);
	if (rename(pending, used) < 0) {
		if (errno == ENOENT) {
			g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
			            "this invite for '%s' was already used (an invite works "
			            "once); ask for a new one",
			            inv->name);
			return NULL;
		}
		tr_set_error_errno(error, errno, "cannot claim invite %s", pending);
		return NULL;
	}
	opts.addresses = (const TrPrefix *)(void *)inv->addresses->data;
	opts.n_addresses = inv->addresses->len;
	opts.subnets = (const TrPrefix *)(void *)inv->subnets->data;
	opts.n_subnets = inv->subnets->len;
	cert = tr_pki_sign_request(ca, inv->name, &opts, request, request_len, error);
	if (cert == NULL) {
		/* Nothing was issued: the invite may be tried again. */
		if (rename(used, pending) < 0)
			g_warning("cannot restore invite %s: %s", pending, g_strerror(errno));
		g_prefix_error(error, "cannot issue the certificate for '%s': ", inv->name);
		return NULL;
	}
	if (name != NULL)
		*name = g_strdup(inv->name);
	return cert;
}

guint
tr_pki_invite_prune(const char *state_dir, gint64 now)
{
	g_autofree char *dir = tr_pki_invites_dir(state_dir);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *base;
	guint n = 0;

	while (d != NULL && (base = g_dir_read_name(d)) != NULL) {
		g_autofree char *id = NULL;
		g_autofree char *path = g_build_filename(dir, base, NULL);
		g_autoptr(TrPkiInvite) inv = NULL;
		gboolean used = g_str_has_suffix(base, USED_SUFFIX);

		if (!used && !g_str_has_suffix(base, PENDING_SUFFIX))
			continue;
		id = g_strndup(base, strlen(base) - strlen(used ? USED_SUFFIX : PENDING_SUFFIX));
		inv = tr_pki_invite_lookup(state_dir, id, NULL);
		if (inv != NULL && inv->expires + TR_PKI_INVITE_KEEP < now && unlink(path) == 0)
			n++;
	}
	return n;
}
