// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshot stream (snapshot.h, Documentation/snapshot.rst): writing
 * a VM's state as checksummed sections, and reading it back, checked
 * section by section before anything of it is applied to a vCPU.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cpuid.h>

#include "lib/libminivmm.h"
#include "minivmm.h"
#include "snapshot.h"

#define PAGE		4096ULL
#define MSR_TSC_DEADLINE 0x6e0	/* IA32_TSC_DEADLINE: set after the APIC */
#define SNAP_MAX_LEN	(sizeof(struct snap_memory) + SNAP_MEM_RUN * PAGE)

static char err_buf[256];

const char *snap_strerror(void)
{
	return err_buf;
}

static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return -1;
}

int snap_error(const char *why)
{
	return fail("%s", why);
}

/* CRC-32 of zlib and gzip (reflected, polynomial 0xedb88320). */
static uint32_t crc32_update(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;
	uint32_t c;
	int i, k;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			c = i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static const char *type_name(uint32_t type)
{
	static const char * const names[] = {
		[SNAP_HEADER] = "header", [SNAP_CONFIG] = "config",
		[SNAP_VCPU] = "vcpu", [SNAP_IOAPIC] = "ioapic",
		[SNAP_DEVICES] = "devices", [SNAP_MEMORY] = "memory",
		[SNAP_END] = "end",
	};

	return type < ARRAY_LEN(names) && names[type] ? names[type] :
							 "unknown";
}

/* ---- the host fingerprint ------------------------------------------- */

static const struct snap_cpuid fingerprint_leaves[SNAP_CPUID_LEAVES] = {
	/* The registers that count are the ones set to all-ones here. */
	{ 0x0, 0, ~0U, ~0U, ~0U, ~0U },		/* vendor, highest leaf */
	{ 0x1, 0, ~0U, 0, ~0U, ~0U },		/* EBX: this CPU's APIC ID */
	{ 0x7, 0, ~0U, ~0U, ~0U, ~0U },
	{ 0xd, 0, ~0U, 0, ~0U, ~0U },		/* EBX: XCR0's size now */
	{ 0xd, 1, ~0U, 0, 0, 0 },
	{ 0x80000001, 0, 0, 0, ~0U, ~0U },
	{ 0x80000008, 0, ~0U, 0, 0, 0 },	/* address sizes */
};

static void host_header(struct snap_header *h)
{
	struct minivmm_caps caps = { 0 };
	uint8_t fx[512] __attribute__((aligned(16))) = { 0 };
	const struct snap_cpuid *l;
	struct snap_cpuid *c;
	int api = mvm_api_version();
	unsigned int i;

	memset(h, 0, sizeof(*h));
	mvm_get_caps(&caps);
	h->api_version = api < 0 ? 0 : api;
	h->tsc_khz = caps.tsc_khz;
	h->features = caps.features;
	asm volatile("fxsave %0" : "=m"(fx));
	memcpy(&h->mxcsr_mask, fx + 28, 4);
	h->fpu_size = sizeof(struct minivmm_fpu);
	for (i = 0; i < SNAP_CPUID_LEAVES; i++) {
		l = &fingerprint_leaves[i];
		c = &h->cpuid[i];
		c->function = l->function;
		c->index = l->index;
		__cpuid_count(l->function, l->index, c->eax, c->ebx, c->ecx,
			      c->edx);
		c->eax &= l->eax;
		c->ebx &= l->ebx;
		c->ecx &= l->ecx;
		c->edx &= l->edx;
	}
}

/* Why @h would restore wrongly here; 0 if it would not. */
static int check_host(const struct snap_header *h)
{
	struct snap_header here;
	const struct snap_cpuid *a, *b;
	unsigned int i;

	host_header(&here);
	if (h->api_version != here.api_version)
		return fail("made with module API version %u, this one has %u",
			    h->api_version, here.api_version);
	if (h->features != here.features)
		return fail("made on another host: module features %#llx, here %#llx",
			    (unsigned long long)h->features,
			    (unsigned long long)here.features);
	if (h->tsc_khz != here.tsc_khz)
		return fail("made on another host: TSC at %u kHz, here %u kHz",
			    h->tsc_khz, here.tsc_khz);
	if (h->mxcsr_mask != here.mxcsr_mask || h->fpu_size != here.fpu_size)
		return fail("made on another host: another FPU state layout");
	for (i = 0; i < SNAP_CPUID_LEAVES; i++) {
		a = &h->cpuid[i];
		b = &here.cpuid[i];
		if (memcmp(a, b, sizeof(*a)))
			return fail("made on another host CPU: CPUID leaf %#x.%u differs",
				    b->function, b->index);
	}
	return 0;
}

/* ---- writing -------------------------------------------------------- */

static int write_all(struct snap_writer *w, struct iovec *iov, int n)
{
	ssize_t done;

	while (n) {
		done = writev(w->fd, iov, n);
		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return fail("writing: %s", strerror(errno));
		w->bytes += done;
		while (n && (size_t)done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* A section of @type whose payload is @n pieces (at most 3). */
static int put(struct snap_writer *w, uint32_t type, const struct iovec *p,
	       int n)
{
	struct snap_section s = { .type = type };
	struct iovec iov[4];
	int i;

	for (i = 0; i < n; i++)
		s.len += p[i].iov_len;
	s.crc = crc32_update(0, &s, 8);
	for (i = 0; i < n; i++) {
		s.crc = crc32_update(s.crc, p[i].iov_base, p[i].iov_len);
		iov[i + 1] = p[i];
	}
	iov[0] = (struct iovec){ &s, sizeof(s) };
	return write_all(w, iov, n + 1);
}

static int put1(struct snap_writer *w, uint32_t type, const void *p,
		size_t len)
{
	struct iovec iov = { (void *)p, len };

	return put(w, type, &iov, 1);
}

int snap_write_begin(struct snap_writer *w, const struct snap_config *cfg)
{
	struct snap_prefix pre = { .version = SNAP_VERSION };
	struct snap_header h;
	struct iovec iov = { &pre, sizeof(pre) };

	memcpy(pre.magic, SNAP_MAGIC, sizeof(pre.magic));
	host_header(&h);
	if (write_all(w, &iov, 1) || put1(w, SNAP_HEADER, &h, sizeof(h)))
		return -1;
	return put1(w, SNAP_CONFIG, cfg, sizeof(*cfg));
}

uint64_t snap_page_gpa(uint64_t page)
{
	uint64_t addr = page * PAGE;

	return addr < MVM_LOW_RAM_MAX ? addr :
	       MVM_HIGH_RAM_BASE + addr - MVM_LOW_RAM_MAX;
}

static bool page_is_zero(const uint64_t *p)
{
	unsigned int i;

	for (i = 0; i < PAGE / 8; i++)
		if (p[i])
			return false;
	return true;
}

enum page_kind { PAGE_SKIP, PAGE_ZERO, PAGE_DATA };

static enum page_kind page_kind(struct mvm *vm, const uint64_t *dirty,
				uint64_t page)
{
	if (dirty && !(dirty[page / 64] & (1ULL << (page % 64))))
		return PAGE_SKIP;
	if (page_is_zero(mvm_gpa(vm, snap_page_gpa(page), PAGE)))
		return dirty ? PAGE_ZERO : PAGE_SKIP;
	return PAGE_DATA;
}

/*
 * The guest may run meanwhile (a migration's pre-copy): each run of
 * pages is copied first, so that its checksum is that of what is sent.
 */
int snap_write_memory(struct snap_writer *w, struct mvm *vm,
		      const uint64_t *dirty, uint64_t *pages)
{
	uint64_t n = mvm_mem_size(vm) / PAGE, p = 0, end;
	static uint8_t copy[SNAP_MEM_RUN * PAGE];
	struct snap_memory m;
	struct iovec iov[2];
	enum page_kind k;

	*pages = 0;
	while (p < n) {
		k = page_kind(vm, dirty, p);
		if (k == PAGE_SKIP) {
			p++;
			continue;
		}
		/* A run of one kind, not across the hole below 4 GiB. */
		for (end = p + 1; end < n && end - p < SNAP_MEM_RUN &&
		     snap_page_gpa(end) == snap_page_gpa(end - 1) + PAGE &&
		     page_kind(vm, dirty, end) == k; end++)
			;
		m = (struct snap_memory){
			.gpa = snap_page_gpa(p), .npages = end - p,
			.flags = k == PAGE_ZERO ? SNAP_MEM_ZERO : 0,
		};
		iov[0] = (struct iovec){ &m, sizeof(m) };
		iov[1] = (struct iovec){ copy, m.npages * PAGE };
		if (k == PAGE_DATA)
			memcpy(copy, mvm_gpa(vm, m.gpa, m.npages * PAGE),
			       m.npages * PAGE);
		if (put(w, SNAP_MEMORY, iov, k == PAGE_DATA ? 2 : 1))
			return -1;
		*pages += end - p;
		p = end;
	}
	return 0;
}

static int vcpu_ioctl(struct mvm_vcpu *v, unsigned long cmd, void *arg,
		      const char *what)
{
	if (ioctl(mvm_vcpu_fd(v), cmd, arg) < 0)
		return fail("%s of vCPU %u: %s", what, mvm_vcpu_id(v),
			    strerror(errno));
	return 0;
}

static int msrs_ioctl(struct mvm_vcpu *v, unsigned long cmd,
		      struct minivmm_msr_entry *e, uint32_t n)
{
	struct minivmm_msrs m = { .nmsrs = n, .entries = (uintptr_t)e };
	int ret = ioctl(mvm_vcpu_fd(v), cmd, &m);

	if (ret < 0)
		return fail("MSRs of vCPU %u: %s", mvm_vcpu_id(v),
			    strerror(errno));
	if ((uint32_t)ret != n)
		return fail("MSR %#x of vCPU %u refused", e[ret].index,
			    mvm_vcpu_id(v));
	return 0;
}

/* The state of a vCPU out of RUN; NULL with the reason on failure. */
static struct snap_vcpu *read_vcpu(struct mvm_vcpu *v, bool done,
				   size_t *len)
{
	uint32_t idx[MINIVMM_MAX_MSRS];
	struct minivmm_msr_list l = {
		.nmsrs = MINIVMM_MAX_MSRS, .indices = (uintptr_t)idx,
	};
	struct snap_vcpu *s;
	unsigned int i;

	if (vcpu_ioctl(v, MINIVMM_GET_MSR_INDEX_LIST, &l, "the MSR list"))
		return NULL;
	*len = sizeof(*s) + l.nmsrs * sizeof(s->msrs[0]);
	s = calloc(1, *len);
	if (!s) {
		fail("out of memory");
		return NULL;
	}
	s->id = mvm_vcpu_id(v);
	s->flags = done ? SNAP_VCPU_DONE : 0;
	s->nmsrs = l.nmsrs;
	for (i = 0; i < l.nmsrs; i++)
		s->msrs[i].index = idx[i];
	if (vcpu_ioctl(v, MINIVMM_GET_REGS, &s->regs, "the registers") ||
	    vcpu_ioctl(v, MINIVMM_GET_SREGS, &s->sregs, "the system registers") ||
	    msrs_ioctl(v, MINIVMM_GET_MSRS, s->msrs, s->nmsrs) ||
	    vcpu_ioctl(v, MINIVMM_GET_FPU, &s->fpu, "the FPU") ||
	    vcpu_ioctl(v, MINIVMM_GET_DEBUGREGS, &s->debugregs,
		       "the debug registers") ||
	    vcpu_ioctl(v, MINIVMM_GET_LAPIC, &s->lapic, "the local APIC") ||
	    vcpu_ioctl(v, MINIVMM_GET_MP_STATE, &s->mp_state, "the run state") ||
	    vcpu_ioctl(v, MINIVMM_GET_VCPU_EVENTS, &s->events, "the events")) {
		free(s);
		return NULL;
	}
	return s;
}

void snap_saved_free(struct snap_saved *sv)
{
	unsigned int i;

	for (i = 0; i < sv->n; i++)
		free(sv->vcpus[i]);
	sv->n = 0;
}

int snap_save(struct snap_saved *sv, struct mvm *vm,
	      struct mvm_vcpu *const *vcpus, const bool *done,
	      unsigned int n)
{
	unsigned int i;

	sv->n = 0;
	for (i = 0; i < n; i++) {
		sv->vcpus[i] = read_vcpu(vcpus[i], done[i], &sv->len[i]);
		if (!sv->vcpus[i]) {
			snap_saved_free(sv);
			return -1;
		}
		sv->n++;
	}
	if (ioctl(mvm_fd(vm), MINIVMM_GET_IOAPIC, &sv->ioapic)) {
		snap_saved_free(sv);
		return fail("the I/O APIC: %s", strerror(errno));
	}
	return 0;
}

int snap_write_saved(struct snap_writer *w, const struct snap_saved *sv,
		     const struct snap_devices *dev)
{
	unsigned int i;

	for (i = 0; i < sv->n; i++)
		if (put1(w, SNAP_VCPU, sv->vcpus[i], sv->len[i]))
			return -1;
	if (put1(w, SNAP_IOAPIC, &sv->ioapic, sizeof(sv->ioapic)) ||
	    put1(w, SNAP_DEVICES, dev, sizeof(*dev)))
		return -1;
	return put1(w, SNAP_END, NULL, 0);
}

/* ---- reading -------------------------------------------------------- */

/* Exactly @len bytes: 1, 0 at the very end of the stream, or -1. */
static int read_all(struct snap_reader *r, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(r->fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("reading at byte %llu: %s",
				    (unsigned long long)r->offset + done,
				    strerror(errno));
		if (!n) {
			/* Where it ended, for the message. */
			r->offset += done;
			return done ? -2 : 0;
		}
		done += n;
	}
	r->offset += len;
	return 1;
}

static int stream_ended(struct snap_reader *r)
{
	return fail("truncated: the stream ends at byte %llu, before its end section",
		    (unsigned long long)r->offset);
}

/* The next section into @buf (SNAP_MAX_LEN bytes), checked. */
static int next_section(struct snap_reader *r, struct snap_section *s,
			void *buf)
{
	uint64_t at = r->offset;
	int ret;

	ret = read_all(r, s, sizeof(*s));
	if (ret <= 0)
		return ret == -1 ? -1 : stream_ended(r);
	if (s->len > SNAP_MAX_LEN || s->reserved)
		return fail("corrupt: section header at byte %llu is invalid",
			    (unsigned long long)at);
	ret = read_all(r, buf, s->len);
	if (ret == -1)
		return -1;
	if (ret <= 0 && s->len)
		return stream_ended(r);
	if (crc32_update(crc32_update(0, s, 8), buf, s->len) != s->crc)
		return fail("corrupt: checksum mismatch in the %s section at byte %llu",
			    type_name(s->type), (unsigned long long)at);
	if (r->print)
		printf("  %10llu  %-8s %8u bytes  crc %08x\n",
		       (unsigned long long)at, type_name(s->type), s->len,
		       s->crc);
	return 0;
}

static int bad(const struct snap_section *s, const char *why)
{
	return fail("corrupt: the %s section %s", type_name(s->type), why);
}

static int check_config(const struct snap_config *c)
{
	struct minivmm_caps caps;

	if (!c->mem_size || c->mem_size % PAGE || c->flags & ~SNAP_CFG_LINUX ||
	    !memchr(c->image, 0, sizeof(c->image)))
		return fail("corrupt: invalid machine configuration");
	if (!c->nr_vcpus || c->nr_vcpus > MINIVMM_MAX_CPUS ||
	    (!mvm_get_caps(&caps) && c->nr_vcpus > caps.max_vcpus))
		return fail("the machine has %u vCPUs, this host allows at most %u",
			    c->nr_vcpus, caps.max_vcpus);
	return 0;
}

/* A memory section: in guest RAM, and copied there with @vm. */
static int take_memory(const struct snap_section *s, const void *buf,
		       const struct snap_config *c, struct mvm *vm)
{
	const struct snap_memory *m = buf;
	uint64_t low = c->mem_size < MVM_LOW_RAM_MAX ? c->mem_size :
							MVM_LOW_RAM_MAX;
	uint64_t end, size;
	void *dst;

	if (s->len < sizeof(*m) || m->flags & ~SNAP_MEM_ZERO ||
	    !m->npages || m->npages > SNAP_MEM_RUN || m->gpa % PAGE)
		return bad(s, "is invalid");
	size = m->npages * PAGE;
	if (s->len != sizeof(*m) + (m->flags & SNAP_MEM_ZERO ? 0 : size))
		return bad(s, "has the wrong size");
	end = m->gpa + size;
	if (!(end <= low || (m->gpa >= MVM_HIGH_RAM_BASE &&
			     end - MVM_HIGH_RAM_BASE <= c->mem_size - low)))
		return bad(s, "lies outside guest RAM");
	if (!vm)
		return 0;
	dst = mvm_gpa(vm, m->gpa, size);
	if (m->flags & SNAP_MEM_ZERO)
		memset(dst, 0, size);
	else
		memcpy(dst, m + 1, size);
	return 0;
}

static int take_vcpu(const struct snap_section *s, const void *buf,
		     struct snap_state *st)
{
	const struct snap_vcpu *v = buf;

	if (s->len < sizeof(*v) || v->nmsrs > MINIVMM_MAX_MSRS ||
	    s->len != sizeof(*v) + v->nmsrs * sizeof(v->msrs[0]) ||
	    v->flags & ~SNAP_VCPU_DONE || v->pad)
		return bad(s, "is invalid");
	if (v->id >= st->cfg.nr_vcpus || st->vcpus[v->id])
		return bad(s, "names a vCPU twice or one the machine lacks");
	st->vcpus[v->id] = malloc(s->len);
	if (!st->vcpus[v->id])
		return fail("out of memory");
	memcpy(st->vcpus[v->id], v, s->len);
	return 0;
}

/* A section after the configuration. */
static int take(const struct snap_section *s, const void *buf,
		struct snap_state *st, struct mvm *vm, unsigned int *seen)
{
	switch (s->type) {
	case SNAP_MEMORY:
		return take_memory(s, buf, &st->cfg, vm);
	case SNAP_VCPU:
		return take_vcpu(s, buf, st);
	case SNAP_IOAPIC:
		if (s->len != sizeof(st->ioapic) || *seen & 1 << s->type)
			return bad(s, "is invalid");
		memcpy(&st->ioapic, buf, s->len);
		break;
	case SNAP_DEVICES:
		if (s->len != sizeof(st->dev) || *seen & 1 << s->type ||
		    ((struct snap_devices *)buf)->rx_len > UART_RX_SIZE)
			return bad(s, "is invalid");
		memcpy(&st->dev, buf, s->len);
		break;
	default:
		return fail("corrupt: a section of unknown type %u", s->type);
	}
	*seen |= 1 << s->type;
	return 0;
}

/*
 * The prefix, header and configuration, which come first; a header of
 * another host is an error when @host is true (snapshot-info names it
 * instead).
 */
static int read_start(struct snap_reader *r, struct snap_state *st,
		      struct snap_section *s, void *buf, bool host)
{
	struct snap_prefix pre;
	int ret = read_all(r, &pre, sizeof(pre));

	if (ret == -1)
		return -1;
	if (ret <= 0 || memcmp(pre.magic, SNAP_MAGIC, sizeof(pre.magic)))
		return fail("not a minivmm snapshot");
	if (pre.version != SNAP_VERSION)
		return fail("snapshot format version %u: this minivmm reads version %u",
			    pre.version, SNAP_VERSION);
	if (next_section(r, s, buf))
		return -1;
	if (s->type != SNAP_HEADER || s->len != sizeof(st->header))
		return fail("corrupt: no header section");
	memcpy(&st->header, buf, sizeof(st->header));
	if (host && check_host(&st->header))
		return -1;
	if (next_section(r, s, buf))
		return -1;
	if (s->type != SNAP_CONFIG || s->len != sizeof(st->cfg))
		return fail("corrupt: no configuration section");
	memcpy(&st->cfg, buf, sizeof(st->cfg));
	return check_config(&st->cfg);
}

static void print_start(const struct snap_state *st)
{
	const struct snap_header *h = &st->header;
	unsigned int i;
	char size[32];

	printf("minivmm snapshot, format version %u\n", SNAP_VERSION);
	printf("host: module API %u, features %#llx, TSC %u kHz, MXCSR mask %#x\n",
	       h->api_version, (unsigned long long)h->features, h->tsc_khz,
	       h->mxcsr_mask);
	for (i = 0; i < SNAP_CPUID_LEAVES; i++)
		printf("host: cpuid %#010x.%u  %08x %08x %08x %08x\n",
		       h->cpuid[i].function, h->cpuid[i].index,
		       h->cpuid[i].eax, h->cpuid[i].ebx, h->cpuid[i].ecx,
		       h->cpuid[i].edx);
	printf("machine: %s RAM, %u vCPU%s, %s %s\n",
	       format_bytes(st->cfg.mem_size, size, sizeof(size)),
	       st->cfg.nr_vcpus, st->cfg.nr_vcpus == 1 ? "" : "s",
	       st->cfg.flags & SNAP_CFG_LINUX ? "--kernel" : "image",
	       st->cfg.image);
	if (check_host(h))
		printf("host: %s\n", snap_strerror());
	else
		printf("host: this one matches\n");
	printf("sections:\n      offset  type         size\n");
}

int snap_read(struct snap_reader *r, struct snap_state *st, struct mvm **vm)
{
	unsigned int i, seen = 0, want;
	struct snap_section s;
	void *buf = malloc(SNAP_MAX_LEN);
	bool print = r->print;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (!buf)
		return fail("out of memory");
	/* The first two sections are listed once they are known good. */
	r->print = false;
	if (read_start(r, st, &s, buf, !print))
		goto out;
	r->print = print;
	if (print)
		print_start(st);
	st->vcpus = calloc(st->cfg.nr_vcpus, sizeof(*st->vcpus));
	if (!st->vcpus) {
		fail("out of memory");
		goto out;
	}
	if (vm && mvm_create(vm, st->cfg.mem_size)) {
		fail("%s", mvm_strerror(NULL));
		goto out;
	}
	for (;;) {
		if (next_section(r, &s, buf))
			goto out;
		if (s.type == SNAP_END)
			break;
		if (take(&s, buf, st, vm ? *vm : NULL, &seen))
			goto out;
	}
	want = 1 << SNAP_IOAPIC | 1 << SNAP_DEVICES;
	if ((seen & want) != want || s.len) {
		fail("corrupt: the state sections are incomplete");
		goto out;
	}
	for (i = 0; i < st->cfg.nr_vcpus; i++) {
		if (!st->vcpus[i]) {
			fail("corrupt: vCPU %u has no state", i);
			goto out;
		}
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

void snap_state_free(struct snap_state *st)
{
	unsigned int i;

	for (i = 0; st->vcpus && i < st->cfg.nr_vcpus; i++)
		free(st->vcpus[i]);
	free(st->vcpus);
	st->vcpus = NULL;
}

/* ---- applying: the order of api.rst, "The vCPU's state" ------------- */

static int apply_vcpu(const struct snap_vcpu *s, struct mvm_vcpu *v)
{
	struct minivmm_msr_entry *msrs, deadline = { .index = 0 };
	uint32_t i, n = 0;
	int ret;

	msrs = calloc(s->nmsrs + 1, sizeof(*msrs));
	if (!msrs)
		return fail("out of memory");
	for (i = 0; i < s->nmsrs; i++) {
		if (s->msrs[i].index == MSR_TSC_DEADLINE)
			deadline = s->msrs[i];
		else
			msrs[n++] = s->msrs[i];
	}
	ret = vcpu_ioctl(v, MINIVMM_SET_SREGS, (void *)&s->sregs,
			 "setting the system registers") ||
	      vcpu_ioctl(v, MINIVMM_SET_REGS, (void *)&s->regs,
			 "setting the registers") ||
	      msrs_ioctl(v, MINIVMM_SET_MSRS, msrs, n) ||
	      vcpu_ioctl(v, MINIVMM_SET_FPU, (void *)&s->fpu,
			 "setting the FPU") ||
	      vcpu_ioctl(v, MINIVMM_SET_DEBUGREGS, (void *)&s->debugregs,
			 "setting the debug registers") ||
	      vcpu_ioctl(v, MINIVMM_SET_LAPIC, (void *)&s->lapic,
			 "setting the local APIC") ||
	      (deadline.index && msrs_ioctl(v, MINIVMM_SET_MSRS, &deadline, 1)) ||
	      vcpu_ioctl(v, MINIVMM_SET_MP_STATE, (void *)&s->mp_state,
			 "setting the run state") ||
	      vcpu_ioctl(v, MINIVMM_SET_VCPU_EVENTS, (void *)&s->events,
			 "setting the events");
	free(msrs);
	return ret ? -1 : 0;
}

int snap_apply(const struct snap_state *st, struct mvm *vm,
	       struct mvm_vcpu *const *vcpus)
{
	unsigned int i;

	for (i = 0; i < st->cfg.nr_vcpus; i++)
		if (apply_vcpu(st->vcpus[i], vcpus[i]))
			return -1;
	if (ioctl(mvm_fd(vm), MINIVMM_SET_IOAPIC, &st->ioapic))
		return fail("setting the I/O APIC: %s", strerror(errno));
	return 0;
}
