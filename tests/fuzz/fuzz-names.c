/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hub's names file: whatever it holds, only valid bindings are taken. */
#include "common/auth/node-key.h"
#include "common/pki/pki.h"
#include "server/names.h"

#include <stdint.h>

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
	TrNames *names;

	if (!init) {
		g_log_set_writer_func(quiet, NULL, NULL);
		init = TRUE;
	}
	names = tr_names_new(NULL);
	tr_names_load_text(names, text, "fuzz");
	tr_names_free(names);
	return 0;
}
