// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm events: follow the "events" multicast group of the generic
 * netlink family, one line per event, until interrupted.
 */
#include <stdio.h>

#include "minivmm.h"
#include "nl.h"

enum { OPT_JSON = 256 };

static const struct cli_option events_options[] = {
	{ "json", NULL, OPT_JSON, "print one JSON object per line" },
	{ }
};

static int print_event(const struct mnl_event *ev, void *arg)
{
	bool json = *(bool *)arg;

	if (json) {
		printf("{\"event\":\"%s\",\"vm\":%u",
		       mnl_event_name(ev->event), ev->vm);
		if (ev->vcpu >= 0)
			printf(",\"vcpu\":%d", ev->vcpu);
		if (ev->exit_reason)
			printf(",\"exit_reason\":%u", ev->exit_reason);
		printf("}\n");
	} else {
		printf("%s vm=%u", mnl_event_name(ev->event), ev->vm);
		if (ev->vcpu >= 0)
			printf(" vcpu=%d", ev->vcpu);
		if (ev->exit_reason)
			printf(" exit_reason=%#x", ev->exit_reason);
		printf("\n");
	}
	fflush(stdout);
	return 0;
}

static int events_main(int argc, char **argv)
{
	const char *arg;
	struct mnl *nl;
	bool json = false;
	int c;

	while ((c = cli_getopt(&cmd_events, argc, argv, &arg)) != -1)
		if (c == OPT_JSON)
			json = true;
	if (optind < argc)
		die_usage(&cmd_events, "unexpected argument '%s'",
			  argv[optind]);
	if (mnl_open(&nl) || mnl_subscribe(nl))
		die("%s", mnl_strerror());
	/* Tell whoever waits for us (a person, a script) that we listen. */
	fprintf(stderr, "%s: listening for events (Ctrl-C to stop)\n", prog);
	if (mnl_events(nl, print_event, &json) < 0)
		die("events: %s", mnl_strerror());
	mnl_close(nl);
	return 0;
}

const struct command cmd_events = {
	.name = "events",
	.synopsis = "[OPTIONS]",
	.summary = "print VM events as they happen",
	.description =
	"Print one line per event of the minivmm netlink \"events\" group, as\n"
	"it happens, until interrupted: vm-created and vm-destroyed (with the\n"
	"VM id), vcpu-shutdown (a triple fault; with the vCPU id) and\n"
	"entry-failed (with the hardware exit reason). Every user may listen,\n"
	"so events name the VM and nothing else: \"list\" shows its owner to\n"
	"those who may see it.",
	.options = events_options,
	.run = events_main,
};
