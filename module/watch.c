// SPDX-License-Identifier: GPL-2.0
/*
 * Watches and their lives: which processes are watched, how a hook finds
 * the watch of an address space, who may watch or read one, and what
 * happens at WATCH, exec, fork (with follow-forks), exit and UNWATCH.
 *
 * A watch (struct memwatch_target) follows one thread group. While the
 * process lives its watch is in memwatch_hash, keyed by the mm, where the
 * hooks look it up under RCU; every watch, live or exited, is on
 * mw_targets until it is unwatched, read after exit or evicted. Its last
 * reference hands it to a worker that frees it after an RCU grace period,
 * when no hook can hold it any more.
 */

#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/pid_namespace.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <uapi/linux/memwatch.h>

#include "event.h"
#include "region.h"
#include "stack.h"
#include "watch.h"

unsigned int memwatch_max_watches = 64;
module_param_named(max_watches, memwatch_max_watches, uint, 0644);
MODULE_PARM_DESC(max_watches, "Most processes watched at once, live and exited (default 64)");

static unsigned int max_exited = 16;
module_param(max_exited, uint, 0644);
MODULE_PARM_DESC(max_exited, "Exited watches whose final data is kept (default 16)");

/*
 * mw_lock protects memwatch_hash, mw_targets, each target's @listed,
 * @state and @hnode, and the counts below; writers hold it, hooks read
 * memwatch_hash under RCU. It may be taken in a hook, where nothing may
 * sleep, and before a target's lock, never after.
 */
static DEFINE_SPINLOCK(mw_lock);
DEFINE_HASHTABLE(memwatch_hash, MEMWATCH_HASH_BITS);
static LIST_HEAD(mw_targets);
static unsigned int mw_nr_targets;
static unsigned int mw_nr_exited;
static unsigned long mw_gen;
/* Live watches: the fork and exec hooks look no further while it is 0. */
static atomic_t memwatch_nr_live = ATOMIC_INIT(0);

/*
 * Serialises WATCH requests: the check that a process is not watched yet
 * and its listing are made under mw_lock, but apart, with its mmap_lock
 * taken between them.
 */
static DEFINE_MUTEX(mw_watch_mutex);

static LLIST_HEAD(mw_free_list);
static void free_work_fn(struct work_struct *work);
static DECLARE_WORK(mw_free_work, free_work_fn);

/**
 * memwatch_lookup() - the live watch of an address space
 * @mm: the address space
 *
 * Callable where nothing may sleep, under rcu_read_lock().
 *
 * Return: the watch, valid until rcu_read_unlock(), or NULL.
 */
struct memwatch_target *memwatch_lookup(struct mm_struct *mm)
{
	struct memwatch_target *t;

	hash_for_each_possible_rcu(memwatch_hash, t, hnode, (unsigned long)mm)
		if (READ_ONCE(t->mm) == mm)
			return t;
	return NULL;
}

/**
 * memwatch_watched() - whether @mm belongs to a watched process
 * @mm: the address space
 *
 * The bucket test, then one RCU hash lookup; callable where nothing may
 * sleep.
 *
 * Return: true if it does.
 */
bool memwatch_watched(struct mm_struct *mm)
{
	bool ret;

	if (!memwatch_maybe_watched(mm))
		return false;
	rcu_read_lock();
	ret = memwatch_lookup(mm);
	rcu_read_unlock();
	return ret;
}

static void follow(struct memwatch_target *pt, struct task_struct *child,
		   struct mm_struct *mm, struct task_struct *creator);

static void post_watch_event(struct memwatch_target *t, u32 type,
			     struct task_struct *task)
{
	struct memwatch_event ev = {
		.type = type,
		.pid = pid_nr_ns(t->pid, t->ns),
		.ns = memwatch_since(t),
	};

	if (task) {
		ev.tid = task_pid_nr_ns(task, t->ns);
		memwatch_copy_comm(ev.comm, task);
	}
	if (!memwatch_event_post(&ev))
		t->dropped_events++;
}

static void __target_put(struct memwatch_target *t)
{
	if (refcount_dec_and_test(&t->ref)) {
		llist_add(&t->free_node, &mw_free_list);
		schedule_work(&mw_free_work);
	}
}

/* Takes @t off mw_targets and drops the list's reference; mw_lock held. */
static void __unlist(struct memwatch_target *t)
{
	lockdep_assert_held(&mw_lock);
	if (t->state == MEMWATCH_WATCH_STATE_LIVE) {
		hash_del_rcu(&t->hnode);
		atomic_dec(&memwatch_nr_live);
	} else {
		mw_nr_exited--;
	}
	list_del_rcu(&t->node);
	t->listed = false;
	mw_nr_targets--;
	mw_gen++;
	__target_put(t);
}

/* Drops exited watches past @keep, oldest first; mw_lock held. */
static void __evict_exited(unsigned int keep)
{
	struct memwatch_target *t, *tmp;

	lockdep_assert_held(&mw_lock);
	list_for_each_entry_safe(t, tmp, &mw_targets, node) {
		if (mw_nr_exited <= keep)
			break;
		if (t->state == MEMWATCH_WATCH_STATE_EXITED)
			__unlist(t);
	}
}

/**
 * memwatch_exit_mmap() - exit_mmap() entry: freeze the last figures
 * @mm: the address space being torn down
 */
void memwatch_exit_mmap(struct mm_struct *mm)
{
	struct memwatch_target *t;
	bool exec, locked;

	rcu_read_lock();
	t = memwatch_lookup(mm);
	if (!t)
		goto out;
	/* no other user is left, so this only fails for a stray /proc reader */
	locked = mmap_read_trylock(mm);
	spin_lock(&t->lock);
	__memwatch_finalize(t, mm, locked);
	spin_unlock(&t->lock);
	if (locked)
		mmap_read_unlock(mm);
	spin_lock(&mw_lock);
	if (memwatch_lookup(mm) != t)	/* unwatched meanwhile */
		goto unlock;
	hash_del_rcu(&t->hnode);
	atomic_dec(&memwatch_nr_live);
	/* an exec frees the old mm in the exec'ing task, now on its new mm */
	exec = current->mm && current->mm != mm &&
	       task_tgid(current) == t->pid;
	t->state = MEMWATCH_WATCH_STATE_EXITED;
	t->end_ns = ktime_get_ns();
	mw_nr_exited++;
	mw_gen++;
	if (!exec) {
		post_watch_event(t, MEMWATCH_EVENT_EXIT, NULL);
		__evict_exited(READ_ONCE(max_exited));
	}
unlock:
	spin_unlock(&mw_lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_exec() - sched_process_exec: follow the new address space
 * @task: the task that exec'd
 */
void memwatch_exec(struct task_struct *task)
{
	struct mm_struct *mm = task->mm;
	struct memwatch_target *t, *found = NULL;

	if (!mm)
		return;
	rcu_read_lock();
	/* every exec in the system passes here: look before locking */
	list_for_each_entry_rcu(t, &mw_targets, node) {
		if (t->pid == task_tgid(task) && READ_ONCE(t->mm) != mm) {
			found = t;
			break;
		}
	}
	if (!found) {
		struct task_struct *parent = rcu_dereference(task->real_parent);
		struct memwatch_target *pt;

		/* a vfork child of a process whose forks are followed */
		pt = atomic_read(&memwatch_nr_live) ? memwatch_lookup(parent->mm) : NULL;
		if (pt && (pt->flags & MEMWATCH_WATCH_F_FOLLOW_FORKS) &&
		    pt->pid == task_tgid(parent))
			follow(pt, task, mm, task);
		goto out;
	}
	spin_lock(&mw_lock);
	t = found;
	if (!t->listed || READ_ONCE(t->mm) == mm)
		goto unlock;
	if (t->state == MEMWATCH_WATCH_STATE_LIVE)
		hash_del_rcu(&t->hnode);
	else
		mw_nr_exited--;
	spin_lock(&t->lock);
	__memwatch_drop_regions(t);
	__memwatch_stacks_drop(t);
	t->execs++;
	memwatch_copy_comm(t->comm, task);
	WRITE_ONCE(t->mm, mm);
	spin_unlock(&t->lock);
	if (t->state != MEMWATCH_WATCH_STATE_LIVE)
		atomic_inc(&memwatch_nr_live);
	t->state = MEMWATCH_WATCH_STATE_LIVE;
	hash_add_rcu(memwatch_hash, &t->hnode, (unsigned long)mm);
	mw_gen++;
	post_watch_event(t, MEMWATCH_EVENT_EXEC, task);
	/*
	 * The new program has not run yet; the loader's mappings exist. The
	 * exec'ing task is alone on the new mm, so the trylock only fails if
	 * a /proc reader holds it: then the regions come from the events.
	 */
	if (mmap_read_trylock(mm)) {
		spin_unlock(&mw_lock);
		memwatch_snapshot(t, mm, task, GFP_NOWAIT);
		mmap_read_unlock(mm);
		rcu_read_unlock();
		return;
	}
	t->dropped_regions++;
unlock:
	spin_unlock(&mw_lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_fork() - sched_process_fork: follow a watched parent's child
 * @parent: the forking task
 * @child: the new task, not yet running
 *
 * New threads belong to their process's watch already; a child sharing its
 * parent's address space (vfork) is followed at its exec.
 */
void memwatch_fork(struct task_struct *parent,
		   struct task_struct *child)
{
	struct memwatch_target *pt;

	if (!atomic_read(&memwatch_nr_live) || (child->flags & PF_KTHREAD) ||
	    same_thread_group(parent, child) || !child->mm ||
	    child->mm == parent->mm)
		return;
	rcu_read_lock();
	pt = memwatch_lookup(parent->mm);
	if (pt && (pt->flags & MEMWATCH_WATCH_F_FOLLOW_FORKS) &&
	    pt->pid == task_tgid(parent))
		follow(pt, child, child->mm, NULL);
	rcu_read_unlock();
}

static void target_free(struct memwatch_target *t)
{
	cancel_work_sync(&t->refill);
	memwatch_region_free_all(t);
	__memwatch_stacks_drop(t);
	pr_debug("target %p destroyed\n", t);
	free_percpu(t->pending);
	put_pid(t->pid);
	put_pid_ns(t->ns);
	memwatch_region_add_mem(-(s64)sizeof(*t));
	kfree(t);
}

static void free_work_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&mw_free_list);
	struct memwatch_target *t, *tmp;

	if (!list)
		return;
	/* hooks that found these watches under RCU have finished */
	synchronize_rcu();
	llist_for_each_entry_safe(t, tmp, list, free_node)
		target_free(t);
}

/**
 * memwatch_target_put() - drop a reference from memwatch_target_get*()
 * @t: the watch
 */
void memwatch_target_put(struct memwatch_target *t)
{
	__target_put(t);
}

/**
 * memwatch_target_get() - find a watch by pid
 * @nr: pid in @ns
 * @ns: the caller's pid namespace
 *
 * Return: the watch, referenced, or NULL.
 */
struct memwatch_target *memwatch_target_get(pid_t nr, struct pid_namespace *ns)
{
	struct memwatch_target *t, *found = NULL;

	spin_lock(&mw_lock);
	list_for_each_entry(t, &mw_targets, node) {
		if (pid_nr_ns(t->pid, ns) != nr)
			continue;
		/* a live watch wins over an exited one whose pid was reused */
		if (!found || t->state == MEMWATCH_WATCH_STATE_LIVE)
			found = t;
	}
	if (found)
		refcount_inc(&found->ref);
	spin_unlock(&mw_lock);
	return found;
}

/**
 * memwatch_target_get_nth() - the @idx-th watch, for dumps
 * @idx: position, from 0
 *
 * Return: the watch, referenced, or NULL past the end.
 */
struct memwatch_target *memwatch_target_get_nth(unsigned long idx)
{
	struct memwatch_target *t, *found = NULL;

	spin_lock(&mw_lock);
	list_for_each_entry(t, &mw_targets, node) {
		if (!idx--) {
			found = t;
			refcount_inc(&t->ref);
			break;
		}
	}
	spin_unlock(&mw_lock);
	return found;
}

/**
 * memwatch_generation() - changes whenever a watch comes or goes
 *
 * Return: the generation, for dump consistency checks.
 */
unsigned long memwatch_generation(void)
{
	return READ_ONCE(mw_gen);
}

/**
 * memwatch_target_exited() - whether the watched process has exited
 * @t: the watch
 *
 * Return: true once it has.
 */
bool memwatch_target_exited(struct memwatch_target *t)
{
	return READ_ONCE(t->state) == MEMWATCH_WATCH_STATE_EXITED;
}

/*
 * The access /proc/PID/smaps needs, from exported pieces: CAP_SYS_PTRACE
 * over the target's user namespace, or the caller's fsuid and fsgid equal
 * to all of the target's uids and gids and a dumpable target. After exit,
 * the uid recorded at watch time stands in for the process.
 */
static bool may_read_task(struct task_struct *task)
{
	const struct cred *cred = current_cred(), *tcred;
	struct mm_struct *mm;
	bool ok;

	rcu_read_lock();
	tcred = __task_cred(task);
	if (ns_capable_noaudit(tcred->user_ns, CAP_SYS_PTRACE)) {
		rcu_read_unlock();
		return true;
	}
	ok = uid_eq(cred->fsuid, tcred->euid) &&
	     uid_eq(cred->fsuid, tcred->suid) &&
	     uid_eq(cred->fsuid, tcred->uid) &&
	     gid_eq(cred->fsgid, tcred->egid) &&
	     gid_eq(cred->fsgid, tcred->sgid) &&
	     gid_eq(cred->fsgid, tcred->gid);
	rcu_read_unlock();
	if (!ok)
		return false;
	task_lock(task);
	mm = task->mm;
	ok = !mm || memwatch_task_dumpable_owner(task);
	task_unlock(task);
	return ok;
}

/**
 * memwatch_target_may_read() - access check for the current task
 * @t: the watch
 *
 * Return: 0 if current may read @t, -EPERM otherwise.
 */
int memwatch_target_may_read(struct memwatch_target *t)
{
	struct task_struct *task = get_pid_task(t->pid, PIDTYPE_TGID);
	bool ok;

	if (task) {
		ok = may_read_task(task);
		put_task_struct(task);
	} else {
		ok = capable(CAP_SYS_PTRACE) ||
		     uid_eq(current_fsuid(), t->uid);
	}
	return ok ? 0 : -EPERM;
}

/*
 * A new watch of @task's thread group, reporting tids in @ns. With a @gfp
 * that may not sleep, its attribution pool is left to the refill worker.
 */
static struct memwatch_target *target_alloc(struct task_struct *task,
					    u32 flags, u32 fill_every,
					    struct pid_namespace *ns,
					    gfp_t gfp)
{
	struct memwatch_target *t = kzalloc(sizeof(*t), gfp);

	if (!t)
		return NULL;
	t->pending = alloc_percpu_gfp(struct mw_pending, gfp);
	if (!t->pending) {
		kfree(t);
		return NULL;
	}
	memwatch_region_add_mem(sizeof(*t));
	refcount_set(&t->ref, 1);
	spin_lock_init(&t->lock);
	t->extents = RB_ROOT;
	INIT_LIST_HEAD(&t->regions);
	INIT_LIST_HEAD(&t->spare_regions);
	INIT_LIST_HEAD(&t->stacks);
	hash_init(t->stack_hash);
	INIT_LIST_HEAD(&t->code_maps);
	INIT_WORK(&t->refill, memwatch_attr_refill);
	t->pid = get_task_pid(task, PIDTYPE_TGID);
	t->ns = get_pid_ns(ns);
	t->uid = task_uid(task);
	t->flags = flags;
	t->fill_every = flags & MEMWATCH_WATCH_F_NO_STACKS ? 0 : fill_every;
	t->state = MEMWATCH_WATCH_STATE_LIVE;
	t->start_ns = ktime_get_ns();
	t->next_id = 1;
	memwatch_copy_comm(t->comm, task);
	if (gfpflags_allow_blocking(gfp))
		memwatch_attr_prefill(t);
	pr_debug("target %p created\n", t);
	return t;
}

static struct memwatch_target *__find_live_pid(struct pid *pid)
{
	struct memwatch_target *t;

	list_for_each_entry(t, &mw_targets, node)
		if (t->pid == pid && t->state == MEMWATCH_WATCH_STATE_LIVE)
			return t;
	return NULL;
}

/* Puts @t on mw_targets and in memwatch_hash, keyed by @mm; mw_lock held. */
static void __list(struct memwatch_target *t, struct mm_struct *mm)
{
	lockdep_assert_held(&mw_lock);
	t->mm = mm;
	hash_add_rcu(memwatch_hash, &t->hnode, (unsigned long)mm);
	list_add_tail_rcu(&t->node, &mw_targets);
	t->listed = true;
	mw_nr_targets++;
	mw_gen++;
	atomic_inc(&memwatch_nr_live);
}

/* Room for one more watch, giving back exited ones first; mw_lock held. */
static bool __room(void)
{
	lockdep_assert_held(&mw_lock);
	if (mw_nr_targets >= READ_ONCE(memwatch_max_watches) && mw_nr_exited)
		__evict_exited(mw_nr_exited - 1);
	return mw_nr_targets < READ_ONCE(memwatch_max_watches);
}

/*
 * Watches @child, whose parent's watch @pt follows forks, from a hook: its
 * address space @mm is new and no one else uses it yet. Its mappings
 * become regions, made by @creator if it exec'd, else preexisting.
 */
static void follow(struct memwatch_target *pt,
		   struct task_struct *child, struct mm_struct *mm,
		   struct task_struct *creator)
{
	struct memwatch_target *t;
	struct memwatch_event ev = { .type = MEMWATCH_EVENT_FORK };
	bool ok = false;

	t = target_alloc(child, pt->flags, pt->fill_every, pt->ns,
			 GFP_NOWAIT | __GFP_NOWARN);
	if (!t)
		goto drop;
	spin_lock(&mw_lock);
	if (__room() && !__find_live_pid(t->pid)) {
		__list(t, mm);
		ok = true;
	}
	spin_unlock(&mw_lock);
	if (!ok) {
		__target_put(t);
		goto drop;
	}
	if (mmap_read_trylock(mm)) {
		memwatch_snapshot(t, mm, creator, GFP_NOWAIT);
		mmap_read_unlock(mm);
	} else {
		spin_lock(&t->lock);
		t->dropped_regions++;
		spin_unlock(&t->lock);
	}
	queue_work(system_unbound_wq, &t->refill);
	ev.pid = pid_nr_ns(t->pid, t->ns);
	ev.ppid = pid_nr_ns(pt->pid, t->ns);
	ev.tid = task_pid_nr_ns(child, t->ns);
	memwatch_copy_comm(ev.comm, child);
	if (!memwatch_event_post(&ev))
		t->dropped_events++;
	return;
drop:
	spin_lock(&pt->lock);
	pt->dropped_events++;
	spin_unlock(&pt->lock);
}

/**
 * memwatch_watch() - start watching @task's thread group
 * @task: any thread of the process
 * @flags: MEMWATCH_WATCH_F_*
 * @fill_every: sample the stack of one fault in this many (0: none)
 *
 * The caller has checked that every hook is in place.
 *
 * Return: 0, -EPERM, -EINVAL (no address space), -EEXIST, -ENOSPC or
 * -ENOMEM.
 */
int memwatch_watch(struct task_struct *task, u32 flags, u32 fill_every)
{
	struct memwatch_target *t;
	struct mm_struct *mm;
	int ret;

	if (!may_read_task(task))
		return -EPERM;
	mm = get_task_mm(task);
	if (!mm)
		return -EINVAL;
	t = target_alloc(task, flags, fill_every, task_active_pid_ns(current),
			 GFP_KERNEL);
	if (!t) {
		mmput(mm);
		return -ENOMEM;
	}
	mutex_lock(&mw_watch_mutex);
	spin_lock(&mw_lock);
	if (__find_live_pid(t->pid)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (!__room()) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	spin_unlock(&mw_lock);
	/* VMA changes wait while the snapshot runs; faults do not */
	mmap_read_lock(mm);
	spin_lock(&mw_lock);
	__list(t, mm);
	spin_unlock(&mw_lock);
	memwatch_snapshot(t, mm, NULL, GFP_KERNEL);
	mmap_read_unlock(mm);
	mutex_unlock(&mw_watch_mutex);
	mmput(mm);
	return 0;

out_unlock:
	spin_unlock(&mw_lock);
	mutex_unlock(&mw_watch_mutex);
	mmput(mm);
	target_free(t);
	return ret;
}

/**
 * memwatch_unwatch() - stop watching, or drop an exited watch's data
 * @t: the watch, referenced by the caller
 *
 * Return: 0, or -ENOENT if it was gone already.
 */
int memwatch_unwatch(struct memwatch_target *t)
{
	int ret = -ENOENT;

	spin_lock(&mw_lock);
	if (t->listed) {
		__unlist(t);
		ret = 0;
	}
	spin_unlock(&mw_lock);
	return ret;
}

/**
 * memwatch_watch_count() - watches held, live and exited
 *
 * Return: the number.
 */
unsigned int memwatch_watch_count(void)
{
	unsigned int n;

	spin_lock(&mw_lock);
	n = mw_nr_targets;
	spin_unlock(&mw_lock);
	return n;
}

/**
 * memwatch_watch_uninit() - drop every watch; no hook runs any more
 *
 * Returns once every watch is freed.
 */
void memwatch_watch_uninit(void)
{
	struct memwatch_target *t, *tmp;

	spin_lock(&mw_lock);
	list_for_each_entry_safe(t, tmp, &mw_targets, node)
		__unlist(t);
	spin_unlock(&mw_lock);
	flush_work(&mw_free_work);
	rcu_barrier();
}
