// SPDX-License-Identifier: GPL-2.0
/*
 * One guest TSC across the host's CPUs.
 *
 * A guest's TSC is its host CPU's TSC plus the vCPU's offset, and that
 * offset includes the CPU's compensation (tsc_comp): every guest TSC on a
 * CPU is that much more than the CPU's own. Host CPUs' TSCs need not
 * agree (a resume from suspend may restart them apart, and with
 * tsc=reliable the kernel does not look), so each CPU's TSC is measured
 * against one whose compensation is already set (a "synced" CPU) when
 * the CPU comes online, the module's load included, and the
 * compensations are set so that TSC + compensation reads the same on
 * every synced CPU: a VM's vCPUs agree wherever their threads run, from
 * their first entry.
 *
 * The measurement: the CPU coming online and the reference CPU (running
 * a work item, interrupts off) hand a token back and forth on one
 * cacheline, each reading its TSC when the token arrives. Each stamp and
 * its neighbours on the other CPU give, NTP style, the skew to within
 * half their round trip; the rounds with the shortest round trip, in
 * both directions, give the skew. Every wait is bounded: a CPU that does
 * not answer leaves the other unsynced, which msr_tsc_follow_cpu() still
 * keeps from taking a guest's TSC back.
 *
 * A compensation only grows: where a CPU's would have to shrink, every
 * other CPU's grows instead. Across a suspend the CPU that suspends keeps
 * the guest clock it left with, should its TSC restart lower.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include "minivmm.h"

/* Stamps each CPU takes in one measurement. */
#define TSC_SYNC_ROUNDS		32
/*
 * How long the CPU measured waits for the reference's work item to start
 * (sleeping), and either side then for the other (spinning), in ms.
 */
#define TSC_SYNC_ARRIVE_MS	1000
#define TSC_SYNC_WAIT_MS	20
/* And the attempts before a CPU is left unsynced. */
#define TSC_SYNC_TRIES		3

/*
 * What a CPU's guests add to its TSC; only grows. Read by vCPU threads on
 * the CPU with preemption off; changed under tsc_comp_lock.
 */
static DEFINE_PER_CPU(u64, tsc_comp);
/* Its compensation agrees with the other synced CPUs'; tsc_comp_lock. */
static DEFINE_PER_CPU(bool, tsc_synced);
static DEFINE_RAW_SPINLOCK(tsc_comp_lock);
/* The guest clock (TSC + compensation) of the CPU that suspended. */
static u64 tsc_suspend_clock;

enum { PROBE_IDLE, PROBE_QUEUED, PROBE_ARRIVED, PROBE_STARTED, PROBE_DONE };

/*
 * The one measurement at a time (CPU hotplug is serialized): @turn, on
 * its own cacheline, is the index of the next stamp; the CPU measured
 * takes the even ones, the reference the odd ones.
 */
static struct tsc_probe {
	atomic_t state;
	unsigned int rounds;		/* the reference's stamps */
	u64 ref_stamp[TSC_SYNC_ROUNDS];
	unsigned int turn ____cacheline_aligned_in_smp;
} probe;

static struct work_struct tsc_ref_work;
static DECLARE_COMPLETION(tsc_ref_arrived);

static u64 tsc_wait_cycles(void)
{
	/* A TSC without a known rate: the 20 ms of a 1 GHz one. */
	return (u64)(tsc_khz ? tsc_khz : 1000000) * TSC_SYNC_WAIT_MS;
}

/* Spin until the token is at @turn; false when it does not come. */
static bool tsc_wait_turn(unsigned int turn, u64 start, bool ref)
{
	u64 limit = tsc_wait_cycles();

	/* Pairs with the other side's release: its stamp was taken before. */
	while (smp_load_acquire(&probe.turn) != turn) {
		if (rdtsc() - start > limit)
			return false;
		/* The CPU measured gave up: no more tokens. */
		if (ref && atomic_read(&probe.state) != PROBE_STARTED)
			return false;
		cpu_relax();
	}
	return true;
}

/* The reference's side: a work item on its CPU. */
static void tsc_ref_fn(struct work_struct *work)
{
	u64 stamp[TSC_SYNC_ROUNDS], start;
	unsigned long flags;
	unsigned int i = 0;

	if (atomic_cmpxchg(&probe.state, PROBE_QUEUED, PROBE_ARRIVED) !=
	    PROBE_QUEUED)
		return;
	local_irq_save(flags);
	complete(&tsc_ref_arrived);
	start = rdtsc();
	while (atomic_read(&probe.state) == PROBE_ARRIVED) {
		if (rdtsc() - start > tsc_wait_cycles()) {
			atomic_cmpxchg(&probe.state, PROBE_ARRIVED, PROBE_IDLE);
			break;
		}
		cpu_relax();
	}
	for (; i < TSC_SYNC_ROUNDS; i++) {
		if (!tsc_wait_turn(2 * i + 1, rdtsc(), true))
			break;
		stamp[i] = rdtsc_ordered();
		/* The token goes on after the stamp; tsc_wait_turn() pairs. */
		smp_store_release(&probe.turn, 2 * i + 2);
	}
	local_irq_restore(flags);
	memcpy(probe.ref_stamp, stamp, i * sizeof(stamp[0]));
	probe.rounds = i;
	atomic_cmpxchg(&probe.state, PROBE_STARTED, PROBE_DONE);
}

/*
 * The skew from the stamps t[0..n-1], the even ones this CPU's: each
 * stamp and its two neighbours make an estimate, good to half their
 * round trip; the estimates of the shortest round trip are averaged in
 * each direction, and the two directions' averages averaged, so that a
 * token that takes longer one way than the other does not tip it.
 */
static s64 tsc_skew_of(const u64 *t, unsigned int n, u64 *rtt_min)
{
	s64 sum[2] = { 0, 0 }, twice;
	unsigned int j, cnt[2] = { 0, 0 };
	u64 best = U64_MAX, rtt;

	for (j = 1; j + 1 < n; j++)
		best = min(best, t[j + 1] - t[j - 1]);
	for (j = 1; j + 1 < n; j++) {
		rtt = t[j + 1] - t[j - 1];
		if (rtt != best)
			continue;
		/* Twice (this CPU's TSC - the reference's), seen at j. */
		twice = 2 * t[j] - t[j - 1] - t[j + 1];
		if (j & 1)
			twice = -twice;
		sum[j & 1] += twice;
		cnt[j & 1]++;
	}
	*rtt_min = best;
	if (cnt[0] && cnt[1])
		return DIV_ROUND_CLOSEST(sum[0] / (s64)cnt[0] +
					 sum[1] / (s64)cnt[1], 4);
	j = cnt[0] ? 0 : 1;
	return DIV_ROUND_CLOSEST(sum[j] / (s64)cnt[j], 2);
}

/*
 * Measure this CPU's TSC against @ref's; interrupts on, this CPU's
 * thread bound to it (a hotplug callback). Return: 0 with *skew (this
 * CPU's TSC minus @ref's) and *rtt, or -ETIMEDOUT.
 */
static int tsc_measure(int ref, s64 *skew, u64 *rtt)
{
	u64 t[2 * TSC_SYNC_ROUNDS + 1];
	unsigned long flags;
	unsigned int i, n;

	probe.turn = 0;
	probe.rounds = 0;
	reinit_completion(&tsc_ref_arrived);
	atomic_set(&probe.state, PROBE_QUEUED);
	queue_work_on(ref, system_highpri_wq, &tsc_ref_work);

	/* It spins for this CPU from now on, interrupts off. */
	wait_for_completion_timeout(&tsc_ref_arrived,
				    msecs_to_jiffies(TSC_SYNC_ARRIVE_MS));
	if (atomic_cmpxchg(&probe.state, PROBE_ARRIVED, PROBE_STARTED) !=
	    PROBE_ARRIVED) {
		/* Not there: it leaves at once if it comes later. */
		atomic_set(&probe.state, PROBE_IDLE);
		cancel_work_sync(&tsc_ref_work);
		return -ETIMEDOUT;
	}

	local_irq_save(flags);
	for (i = 0; i <= TSC_SYNC_ROUNDS; i++) {
		if (i && !tsc_wait_turn(2 * i, rdtsc(), false))
			break;
		t[2 * i] = rdtsc_ordered();
		/* The token goes on after the stamp; tsc_wait_turn() pairs. */
		smp_store_release(&probe.turn, 2 * i + 1);
	}
	local_irq_restore(flags);
	n = i;
	/* Gave up: that stops the reference too. Else it is finishing. */
	if (n != TSC_SYNC_ROUNDS + 1)
		atomic_set(&probe.state, PROBE_IDLE);
	cancel_work_sync(&tsc_ref_work);
	if (atomic_read(&probe.state) != PROBE_DONE ||
	    probe.rounds != TSC_SYNC_ROUNDS) {
		atomic_set(&probe.state, PROBE_IDLE);
		return -ETIMEDOUT;
	}
	atomic_set(&probe.state, PROBE_IDLE);
	for (i = 0; i < TSC_SYNC_ROUNDS; i++)
		t[2 * i + 1] = probe.ref_stamp[i];
	*skew = tsc_skew_of(t, 2 * TSC_SYNC_ROUNDS + 1, rtt);
	return 0;
}

/* Set @cpu's compensation from its @skew to synced @ref; the lock held. */
static void tsc_comp_set(int cpu, int ref, s64 skew)
{
	u64 want = per_cpu(tsc_comp, ref) - skew;
	u64 cur = per_cpu(tsc_comp, cpu);
	int c;

	if ((s64)(want - cur) >= 0) {
		WRITE_ONCE(per_cpu(tsc_comp, cpu), want);
	} else {
		/* Lowering it would take its guests' TSC back. */
		for_each_possible_cpu(c)
			if (c != cpu)
				WRITE_ONCE(per_cpu(tsc_comp, c),
					   per_cpu(tsc_comp, c) + (cur - want));
	}
	per_cpu(tsc_synced, cpu) = true;
}

/**
 * tsc_cpu_online() - measure this CPU's TSC and set its compensation
 * @cpu: this CPU, coming online (or online when the module loads); its
 *	 hotplug thread runs this, interrupts on
 *
 * The first synced CPU is the reference; with none (the first CPU), this
 * one becomes it. A CPU that does not answer leaves this one unsynced.
 */
void tsc_cpu_online(unsigned int cpu)
{
	unsigned long flags;
	int ref = -1, c, try, ret = -ETIMEDOUT;
	s64 skew = 0;
	u64 rtt = 0;

	raw_spin_lock_irqsave(&tsc_comp_lock, flags);
	for_each_online_cpu(c) {
		if (c != cpu && per_cpu(tsc_synced, c)) {
			ref = c;
			break;
		}
	}
	if (ref < 0)
		per_cpu(tsc_synced, cpu) = true;
	raw_spin_unlock_irqrestore(&tsc_comp_lock, flags);
	if (ref < 0)
		return;

	for (try = 0; try < TSC_SYNC_TRIES && ret; try++)
		ret = tsc_measure(ref, &skew, &rtt);
	if (ret) {
		pr_warn("TSC of CPU%u not measured: no answer from CPU%d\n",
			cpu, ref);
		return;
	}
	raw_spin_lock_irqsave(&tsc_comp_lock, flags);
	tsc_comp_set(cpu, ref, skew);
	raw_spin_unlock_irqrestore(&tsc_comp_lock, flags);
	pr_info("TSC of CPU%u - CPU%d: %lld cycles, to within %llu\n",
		cpu, ref, skew, DIV_ROUND_UP(rtt, 2));
}

/**
 * tsc_cpu_offline() - this CPU leaves: measure it again when it is back
 * @cpu: the CPU
 */
void tsc_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&tsc_comp_lock, flags);
	per_cpu(tsc_synced, cpu) = false;
	raw_spin_unlock_irqrestore(&tsc_comp_lock, flags);
}

/**
 * tsc_suspend() - remember the guest clock of the CPU that suspends
 *
 * Syscore: the last CPU, interrupts off.
 */
void tsc_suspend(void)
{
	tsc_suspend_clock = rdtsc() + this_cpu_read(tsc_comp);
}

/**
 * tsc_resume() - keep that guest clock from going back on this CPU
 *
 * Syscore, on the CPU that suspended: its TSC may have restarted lower.
 * The others come back online and are measured against it.
 */
void tsc_resume(void)
{
	unsigned long flags;
	u64 want, *comp;

	raw_spin_lock_irqsave(&tsc_comp_lock, flags);
	comp = this_cpu_ptr(&tsc_comp);
	want = tsc_suspend_clock - rdtsc();
	if ((s64)(want - *comp) > 0)
		WRITE_ONCE(*comp, want);
	raw_spin_unlock_irqrestore(&tsc_comp_lock, flags);
}

/**
 * tsc_comp_this_cpu() - this CPU's compensation
 *
 * Preemption off.
 * Return: what every guest TSC on this CPU adds to the CPU's TSC.
 */
u64 tsc_comp_this_cpu(void)
{
	return READ_ONCE(*this_cpu_ptr(&tsc_comp));
}

/**
 * tsc_comp_raise() - raise this CPU's compensation to at least @want
 * @want: the compensation a vCPU needs here not to see its TSC go back
 *
 * Preemption off. Only this CPU's: it stays apart from the others until
 * measured again (with measured TSCs this does not happen).
 * Return: the compensation now.
 */
u64 tsc_comp_raise(u64 want)
{
	unsigned long flags;
	u64 *comp, now;

	raw_spin_lock_irqsave(&tsc_comp_lock, flags);
	comp = this_cpu_ptr(&tsc_comp);
	if ((s64)(want - *comp) > 0)
		WRITE_ONCE(*comp, want);
	now = *comp;
	raw_spin_unlock_irqrestore(&tsc_comp_lock, flags);
	return now;
}

/**
 * tsc_sync_init() - before the first CPU's online callback
 */
void tsc_sync_init(void)
{
	INIT_WORK(&tsc_ref_work, tsc_ref_fn);
}
