/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the bench programs share: their options (--quick, --json FILE)
 * and their table. A row is one measurement repeated under each
 * hypervisor, minivmm first and KVM second (and, for some rows, the same
 * work on the host third): one line per hypervisor with the median, min
 * and max of the repetitions, and the minivmm/KVM ratio of the medians;
 * the same rows go to the JSON file.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX_REPEATS	5
#define REPORT_MAX_HVS		3

/**
 * struct report - a bench program's options and its table
 * @quick:	--quick: few iterations and one run, which proves that each
 *		row works; its numbers mean nothing
 * @json:	the --json FILE, or NULL
 * @only:	--only ROW: the one row to run, or NULL for all
 * @repeats:	runs per row: REPORT_MAX_REPEATS, or 1 with --quick
 * @width:	the width of the name column
 * @why:	the text of a row's error, a positive errno or one of the
 *		program's own
 * @rows:	rows written to the JSON file so far
 * @failed:	rows that could not run under minivmm
 */
struct report {
	bool quick;
	FILE *json;
	const char *only;
	unsigned int repeats;
	int width;
	const char *(*why)(int err);
	unsigned int rows;
	int failed;
};

/**
 * struct report_hv - one column's runs of a row
 * @name:	the hypervisor ("minivmm", "kvm") or "host"
 * @c:		each run's result, or a negative error
 * @note:	printed at the end of its line when not empty
 */
struct report_hv {
	const char *name;
	double c[REPORT_MAX_REPEATS];
	char note[64];
};

static const char report_help[] =
	"options: [--quick] [--json FILE] [--only ROW]\n"
	"  --quick      few iterations and one run: proves each row works\n"
	"  --json FILE  also write the table to FILE as JSON\n"
	"  --only ROW   run only the row named ROW\n";

/*
 * Reads the options into @r; 0, or the exit status for a bad option (2)
 * or a JSON file that cannot be written (1).
 */
static inline int report_options(struct report *r, int argc, char **argv)
{
	int i;

	r->repeats = REPORT_MAX_REPEATS;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			r->quick = true;
			r->repeats = 1;
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			r->only = argv[++i];
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			r->json = fopen(argv[++i], "w");
			if (!r->json) {
				perror(argv[i]);
				return 1;
			}
		} else {
			fprintf(stderr, "%s: bad option '%s'\n%s", argv[0],
				argv[i], report_help);
			return 2;
		}
	}
	return 0;
}

/* Whether row @row is to run. */
static inline bool report_wants(const struct report *r, const char *row)
{
	return !r->only || !strcmp(r->only, row);
}

/* Opens the JSON object with the fields @fmt makes, then its rows. */
static inline void __attribute__((format(printf, 2, 3)))
report_start(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->json)
		return;
	fputc('{', r->json);
	va_start(ap, fmt);
	vfprintf(r->json, fmt, ap);
	va_end(ap);
	fprintf(r->json, ", \"rows\": [");
}

/*
 * Starts a JSON row ("{" and the comma before it): the caller writes its
 * fields and the closing "}". NULL without --json.
 */
static inline FILE *report_json_row(struct report *r)
{
	if (!r->json)
		return NULL;
	fprintf(r->json, "%s\n {", r->rows++ ? "," : "");
	return r->json;
}

static inline int report_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Prints row @row of the @n columns in @hv (minivmm alone when @n is 1,
 * then KVM, and the host when @n is 3), each value in @unit, and adds
 * it to the JSON file.
 * Sorts each column's runs; a column with a failed run is reported
 * unavailable (a failure of the row when it is minivmm's).
 */
static inline void report_row(struct report *r, const char *row,
			      struct report_hv *hv, unsigned int n,
			      const char *unit)
{
	/* A row of minivmm alone (@n 1) has no ratio. */
	double med[REPORT_MAX_HVS] = { -1, -1, -1 };
	unsigned int h, k, runs = r->repeats;
	int err[REPORT_MAX_HVS] = { 0 };
	FILE *j = report_json_row(r);

	if (j)
		fprintf(j, "\"row\": \"%s\"", row);
	for (h = 0; h < n; h++) {
		med[h] = -1;
		err[h] = 0;
		for (k = 0; k < runs && hv[h].c[k] >= 0; k++)
			;
		if (k < runs) {
			err[h] = -(int)hv[h].c[k];
			printf("%-*s %-8s unavailable: %s\n", r->width, row,
			       hv[h].name, r->why(err[h]));
			if (j)
				fprintf(j, ", \"%s\": {\"unavailable\": \"%s\"}",
					hv[h].name, r->why(err[h]));
			continue;
		}
		qsort(hv[h].c, runs, sizeof(hv[h].c[0]), report_cmp);
		med[h] = hv[h].c[runs / 2];
		printf("%-*s %-8s %10.0f %s (%.0f-%.0f)%s\n", r->width, row,
		       hv[h].name, med[h], unit, hv[h].c[0], hv[h].c[runs - 1],
		       hv[h].note);
		if (j)
			fprintf(j, ", \"%s\": {\"median\": %.0f, \"min\": %.0f, \"max\": %.0f}",
				hv[h].name, med[h], hv[h].c[0],
				hv[h].c[runs - 1]);
	}
	/* minivmm must run every row; KVM (and the host) may not. */
	if (err[0])
		r->failed++;
	if (med[0] > 0 && med[1] > 0)
		printf("%-*s ratio    %10.2f (minivmm / kvm)\n", r->width, row,
		       med[0] / med[1]);
	if (j && med[0] > 0 && med[1] > 0)
		fprintf(j, ", \"ratio\": %.3f", med[0] / med[1]);
	else if (j)
		fprintf(j, ", \"ratio\": null");
	if (n > 2 && med[0] > 0 && med[2] > 0) {
		printf("%-*s vs host  %10.2f (minivmm / host)", r->width, row,
		       med[0] / med[2]);
		if (med[1] > 0)
			printf(", %.2f (kvm / host)", med[1] / med[2]);
		printf("\n");
		if (j)
			fprintf(j, ", \"minivmm_host_ratio\": %.3f",
				med[0] / med[2]);
	}
	if (j)
		fputc('}', j);
}

/* Closes the JSON file; the exit status: 1 when a row failed under minivmm. */
static inline int report_end(struct report *r)
{
	if (r->json) {
		fprintf(r->json, "\n]}\n");
		if (fclose(r->json))
			r->failed++;
		r->json = NULL;
	}
	return r->failed ? 1 : 0;
}

#endif /* BENCH_REPORT_H */
