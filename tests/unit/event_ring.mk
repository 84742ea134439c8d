# The per-CPU event ring (hv/event_ring.h); the test runs one producer and one consumer thread.
$(eval $(call unit_test,test_event_ring,hv/event_ring.c hv/lib.c hv/fmt.c hv/report.c))
