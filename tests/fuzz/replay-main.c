/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replays a libFuzzer corpus through a fuzz target without libFuzzer: every
 * file in the directories (or the files) given on the command line is fed to
 * LLVMFuzzerTestOneInput once. Builds with any compiler, so the seed corpus
 * and every crash input kept as a regression case run in the unit suite.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	g_autofree char *data = NULL;
	g_autoptr(GError) error = NULL;
	gsize len;

	if (!g_file_get_contents(path, &data, &len, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	/* Copy into an exact-size heap block so overreads are caught by ASan. */
	g_autofree uint8_t *exact = g_memdup2(data, len ? len : 1);
	LLVMFuzzerTestOneInput(exact, len);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
			g_autoptr(GDir) dir = g_dir_open(argv[i], 0, NULL);
			const char *name;

			while (dir && (name = g_dir_read_name(dir)) != NULL) {
				g_autofree char *path = g_build_filename(argv[i], name, NULL);
				rc |= replay_file(path);
				count++;
			}
		} else {
			rc |= replay_file(argv[i]);
			count++;
		}
	}
	printf("replayed %u inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "no corpus inputs found\n");
		return 1;
	}
	return rc;
}
