/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tray's reading of a daemon's GetStatus() document: whatever it holds,
 * the model stays consistent and the menu, the tooltip and Details can be
 * drawn from it. */
#include "gui/tray/tray-model.h"

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
	g_autofree char *json = g_strndup((const char *)data, size);
	g_autoptr(TrayModel) model = NULL;
	g_autoptr(GPtrArray) menu = NULL;
	g_autofree char *summary = NULL, *describe = NULL;

	if (!init) {
		g_log_set_writer_func(quiet, NULL, NULL);
		init = TRUE;
	}
	model = tray_model_new(NULL, NULL, NULL);
	tray_model_daemon_state(model, "fuzz", "connecting");
	tray_model_daemon_status(model, "fuzz", json);
	menu = tray_model_menu(model);
	summary = tray_model_summary(model);
	describe = tray_network_describe(tray_model_find(model, "fuzz"));
	return 0;
}
