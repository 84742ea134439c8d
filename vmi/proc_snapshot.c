/* Process snapshots and differences. See proc_snapshot.h. */
#include "vmi/proc_snapshot.h"
#include "base/lib.h"
#include "vmi/vmi_sort.h"

void vmi_snap_init(struct vmi_snap *s, struct vmi_snap_entry *mem, uint32_t cap) {
    lib_memset(s, 0, sizeof(*s));
    s->e = mem;
    s->cap = mem ? cap : 0;
    s->limit = INT32_MAX;
}

void vmi_snap_reset(struct vmi_snap *s) {
    vmi_snap_init(s, s->e, s->cap);
}

/* Pid first; the name and state only make the order of duplicate pids independent of the walk. */
static int entry_cmp(const void *pa, const void *pb, void *ctx) {
    const struct vmi_snap_entry *a = pa, *b = pb;
    (void)ctx;
    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    int c = lib_memcmp(a->comm, b->comm, sizeof(a->comm));
    if (c)
        return c;
    return (int)a->exiting - (int)b->exiting;
}

/* Max-heap by pid over e[0..n): once the cap is hit, the root is the highest pid held. */
static void sift_down(struct vmi_snap_entry *e, uint32_t i, uint32_t n) {
    for (;;) {
        uint32_t m = i, l = 2 * i + 1, r = l + 1;
        if (l < n && entry_cmp(&e[m], &e[l], NULL) < 0)
            m = l;
        if (r < n && entry_cmp(&e[m], &e[r], NULL) < 0)
            m = r;
        if (m == i)
            return;
        struct vmi_snap_entry t = e[i];
        e[i] = e[m];
        e[m] = t;
        i = m;
    }
}

int vmi_snap_record(void *ctx, const struct vmi_proc *p) {
    struct vmi_snap *s = ctx;
    if (p->error) {
        if (s->bad < VMI_SNAP_BAD_MAX)
            s->bad_e[s->bad] =
                (struct vmi_snap_bad){p->task, p->pid, p->has_identity, p->error, p->error_what};
        s->bad++;
        if (!p->has_identity)
            return 0;
    }
    s->total++;
    struct vmi_snap_entry x;
    lib_memset(&x, 0, sizeof(x));
    x.pid = p->pid;
    lib_strlcpy(x.comm, p->comm, sizeof(x.comm));
    x.exiting = p->state_letter == 'Z' || p->state_letter == 'X';
    if (s->n < s->cap) {
        s->e[s->n++] = x;
        return 0;
    }
    if (s->cap == 0) {
        s->capped = true;
        return 0;
    }
    if (!s->capped) {
        /* The cap is hit: from now on keep the cap lowest pids, the highest at the root. */
        s->capped = true;
        for (uint32_t i = s->n / 2; i-- > 0;)
            sift_down(s->e, i, s->n);
    }
    if (entry_cmp(&x, &s->e[0], NULL) < 0) {
        s->e[0] = x;
        sift_down(s->e, 0, s->n);
    }
    return 0;
}

void vmi_snap_finish(struct vmi_snap *s) {
    vmi_heapsort(s->e, s->n, sizeof(s->e[0]), entry_cmp, NULL);
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (k == 0 || s->e[k - 1].pid != s->e[i].pid)
            s->e[k++] = s->e[i];
    s->n = k;
    /* Capped: exact up to the highest pid held (every lower pid the walk met is held). */
    s->limit = s->capped && k ? s->e[k - 1].pid : INT32_MAX;
    if (s->capped && k == 0)
        s->limit = INT32_MIN;
}

void vmi_snap_diff(const struct vmi_snap *a, const struct vmi_snap *b, int32_t upto,
                   const struct vmi_snap_diff_cbs *cbs, void *ctx) {
    uint32_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        const struct vmi_snap_entry *x = i < a->n && a->e[i].pid <= upto ? &a->e[i] : NULL;
        const struct vmi_snap_entry *y = j < b->n && b->e[j].pid <= upto ? &b->e[j] : NULL;
        if (!x && !y)
            return; /* both past upto (or at their ends) */
        if (x && (!y || x->pid < y->pid)) {
            if (cbs->only_a)
                cbs->only_a(ctx, x);
            i++;
        } else if (y && (!x || y->pid < x->pid)) {
            if (cbs->only_b)
                cbs->only_b(ctx, y);
            j++;
        } else {
            if (cbs->both)
                cbs->both(ctx, x, y);
            i++;
            j++;
        }
    }
}

bool vmi_snap_renamed(const struct vmi_snap_entry *a, const struct vmi_snap_entry *b) {
    return lib_memcmp(a->comm, b->comm, sizeof(a->comm)) != 0;
}

/* s leaves out pid for lack of room: it is exact only below it from now on. */
static void note_dropped(struct vmi_snap *s, int32_t pid) {
    s->capped = true;
    if (pid - 1 < s->limit)
        s->limit = pid == INT32_MIN ? INT32_MIN : pid - 1;
}

void vmi_snap_seed(struct vmi_snap *s, const struct vmi_snap *from) {
    vmi_snap_reset(s);
    s->limit = from->limit;
    s->capped = from->capped;
    for (uint32_t i = 0; i < from->n; i++) {
        if (from->e[i].exiting)
            continue;
        if (s->n == s->cap) {
            note_dropped(s, from->e[i].pid);
            break;
        }
        s->e[s->n++] = from->e[i];
    }
    s->total = s->n;
}

void vmi_snap_copy(struct vmi_snap *out, const struct vmi_snap *s) {
    vmi_snap_reset(out);
    uint32_t n = s->n < out->cap ? s->n : out->cap;
    lib_memcpy(out->e, s->e, (size_t)n * sizeof(*s->e));
    out->n = n;
    out->total = n;
    out->capped = s->capped;
    out->limit = s->limit;
    if (n < s->n)
        note_dropped(out, s->e[n].pid);
}

/* First index whose pid is >= pid (s->n when none). */
static uint32_t find(const struct vmi_snap *s, int32_t pid) {
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->e[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void vmi_snap_set(struct vmi_snap *s, int32_t pid, const char *comm, bool present) {
    uint32_t i = find(s, pid);
    bool found = i < s->n && s->e[i].pid == pid;
    if (!present) {
        if (found) {
            lib_memmove(&s->e[i], &s->e[i + 1], (size_t)(s->n - i - 1) * sizeof(*s->e));
            s->n--;
        }
        return;
    }
    if (found) {
        lib_strlcpy(s->e[i].comm, comm, sizeof(s->e[i].comm));
        return;
    }
    if (s->n == s->cap) {
        /* Full: keep the lowest pids. */
        if (i == s->n) {
            note_dropped(s, pid);
            return;
        }
        note_dropped(s, s->e[s->n - 1].pid);
        s->n--;
    }
    lib_memmove(&s->e[i + 1], &s->e[i], (size_t)(s->n - i) * sizeof(*s->e));
    lib_memset(&s->e[i], 0, sizeof(*s->e));
    s->e[i].pid = pid;
    lib_strlcpy(s->e[i].comm, comm, sizeof(s->e[i].comm));
    s->n++;
}

void vmi_snap_reconcile(struct vmi_snap *s, const struct vmi_snap *cur, const struct vmi_snap *view,
                        int32_t upto) {
    /* 1. Removals, compacting in place: a process the view copy had and the walk lacks. */
    uint32_t k = 0, c = 0, v = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        int32_t pid = s->e[i].pid;
        bool drop = false;
        if (pid <= upto) {
            while (v < view->n && view->e[v].pid < pid)
                v++;
            while (c < cur->n && cur->e[c].pid < pid)
                c++;
            drop = v < view->n && view->e[v].pid == pid && !(c < cur->n && cur->e[c].pid == pid);
        }
        if (!drop)
            s->e[k++] = s->e[i];
    }
    s->n = k;
    /* 2. Names brought up to date, and the number of processes to add. */
    uint32_t adds = 0, i = 0;
    for (c = 0; c < cur->n && cur->e[c].pid <= upto; c++) {
        if (cur->e[c].exiting)
            continue;
        while (i < s->n && s->e[i].pid < cur->e[c].pid)
            i++;
        if (i < s->n && s->e[i].pid == cur->e[c].pid)
            lib_memcpy(s->e[i].comm, cur->e[c].comm, sizeof(s->e[i].comm));
        else
            adds++;
    }
    /* 3. Additions, merged from the back so nothing is overwritten before it is moved (the
     * write position never falls below the read position); what lands past the capacity (the
     * highest pids) is dropped. */
    uint64_t w = (uint64_t)s->n + adds; /* one past the merged end */
    int64_t si = (int64_t)s->n - 1, ci = (int64_t)c - 1;
    while (ci >= 0) {
        const struct vmi_snap_entry *x = &cur->e[ci];
        if (x->exiting || (si >= 0 && s->e[si].pid == x->pid)) {
            ci--;
            continue;
        }
        struct vmi_snap_entry out;
        if (si >= 0 && s->e[si].pid > x->pid) {
            out = s->e[si--];
        } else {
            out = *x;
            ci--;
        }
        w--;
        if (w < s->cap)
            s->e[w] = out;
        else
            note_dropped(s, out.pid);
    }
    uint64_t total = (uint64_t)s->n + adds;
    s->n = (uint32_t)(total < s->cap ? total : s->cap);
    s->total = s->n;
}
