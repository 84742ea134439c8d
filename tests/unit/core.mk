# Unit tests for the loader's freestanding core (config, report, serial, VT-x detection).
CORE_LIB := base/lib.c base/fmt.c base/report.c
$(eval $(call unit_test,test_config,efi/config.c $(CORE_LIB)))
$(eval $(call unit_test_asan,test_report,$(CORE_LIB)))
$(eval $(call unit_test,test_serial,base/serial.c $(CORE_LIB) tests/fakes/hw_fake.c tests/fakes/uart_fake.c))
$(eval $(call unit_test,test_vmx_caps,efi/vmx_caps.c $(CORE_LIB) tests/fakes/hw_fake.c))
$(eval $(call unit_test,test_fmt,$(CORE_LIB)))
$(eval $(call unit_test,test_apic_ipi,hv/core/apic_ipi.c))
$(eval $(call unit_test,test_apic_nmi,hv/core/apic_nmi.c base/lib.c tests/fakes/hw_fake.c))
# Holding the CPUs vigil could not virtualize, and the periodic work's owner and stall watch.
$(eval $(call unit_test,test_cpu_park,hv/core/cpu_park.c hv/core/apic_nmi.c base/lib.c tests/fakes/hw_fake.c))
$(eval $(call unit_test_asan,test_periodic,hv/core/tick_owner.c hv/core/cpu_watch.c,-lpthread))
