#ifndef VIGIL_SPINLOCK_H
#define VIGIL_SPINLOCK_H

#include "base/hw.h"

struct spinlock {
    volatile int locked;
};

static inline void spin_lock(struct spinlock *l) {
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static inline void spin_unlock(struct spinlock *l) {
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
