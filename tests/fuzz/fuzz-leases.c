/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hub's leases file: whatever it holds, every lease taken has a valid
 * identity, and writing the pool out and reading it back gives the same. */
#include "common/base/log.h"
#include "server/pool.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GLogWriterOutput
quiet(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer p)
{
	return G_LOG_WRITER_HANDLED;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean init;
	g_autofree char *text = g_strndup((const char *)data, size);
	g_autofree char *out = NULL, *again = NULL;
	TrPrefix v4 = {.family = TR_ADDR_IPV4, .len = 24, .addr = {198, 19, 0, 0}};
	TrPool *pool, *copy;
	guint n;

	if (!init) {
		g_log_set_writer_func(quiet, NULL, NULL);
		init = TRUE;
	}
	pool = tr_pool_new(&v4, NULL, NULL, NULL);
	n = tr_pool_load_text(pool, text, "fuzz");
	out = tr_pool_leases_text(pool);
	copy = tr_pool_new(&v4, NULL, NULL, NULL);
	if (tr_pool_load_text(copy, out, "fuzz") != n)
		__builtin_trap();
	again = tr_pool_leases_text(copy);
	if (strlen(again) != strlen(out))
		__builtin_trap();
	tr_pool_free(copy);
	tr_pool_free(pool);
	return 0;
}
