# Unit tests for the loader's freestanding core (config, report, serial, VT-x detection).
CORE_LIB := hv/lib.c hv/fmt.c hv/report.c
$(eval $(call unit_test,test_config,hv/config.c $(CORE_LIB)))
$(eval $(call unit_test_asan,test_report,$(CORE_LIB)))
$(eval $(call unit_test,test_serial,hv/serial.c $(CORE_LIB) tests/fakes/hw_fake.c tests/fakes/uart_fake.c))
$(eval $(call unit_test,test_vmx_caps,hv/vmx_caps.c $(CORE_LIB) tests/fakes/hw_fake.c))
$(eval $(call unit_test,test_fmt,$(CORE_LIB)))
$(eval $(call unit_test,test_apic_ipi,hv/apic_ipi.c))
$(eval $(call unit_test,test_apic_nmi,hv/apic_nmi.c hv/lib.c tests/fakes/hw_fake.c))
# Holding the CPUs vigil could not virtualize, and the periodic work's owner and stall watch.
$(eval $(call unit_test,test_cpu_park,hv/cpu_park.c hv/apic_nmi.c hv/lib.c tests/fakes/hw_fake.c))
$(eval $(call unit_test_asan,test_periodic,hv/tick_owner.c hv/cpu_watch.c,-lpthread))
$(eval $(call unit_test,test_apic_mode,hv/apic_mode.c hv/lib.c tests/fakes/hw_fake.c))
