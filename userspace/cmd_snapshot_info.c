// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm snapshot-info: what a snapshot file holds, section by section,
 * and whether this host can restore it.
 */
#include <fcntl.h>
#include <unistd.h>

#include "minivmm.h"
#include "snapshot.h"

static const struct cli_option info_options[] = {
	{ }
};

static int info_main(int argc, char **argv)
{
	struct snap_reader r = { .print = true };
	struct snap_state st;
	const char *arg;
	int ret;

	while (cli_getopt(&cmd_snapshot_info, argc, argv, &arg) != -1)
		;
	if (optind != argc - 1)
		die_usage(&cmd_snapshot_info, "give one FILE");
	r.fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (r.fd < 0)
		die_perror("%s", argv[optind]);
	ret = snap_read(&r, &st, NULL);
	snap_state_free(&st);
	close(r.fd);
	if (ret)
		die("%s: %s", argv[optind], snap_strerror());
	printf("complete: %llu bytes\n", (unsigned long long)r.offset);
	return 0;
}

const struct command cmd_snapshot_info = {
	.name = "snapshot-info",
	.synopsis = "FILE",
	.summary = "describe a snapshot file",
	.description =
	"Print the header of the snapshot FILE (the host it was made on, the\n"
	"machine) and its sections, each with its offset, size and checksum,\n"
	"checking them all. Exit status 1 (one line on stderr) when FILE is\n"
	"no snapshot, of another format version, corrupt or truncated.",
	.options = info_options,
	.run = info_main,
};
