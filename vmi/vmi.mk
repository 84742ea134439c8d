# vmi/: freestanding introspection library (also built for the host). Each vmi/*.mk fragment adds
# its sources to VMI_SRCS.
include $(filter-out vmi/vmi.mk,$(wildcard vmi/*.mk))
