# VMI end-to-end: vigil-vmi against the real Debian guest's memory and its own ground truth.
E2E_TESTS += tests/e2e/vmi_truth.sh
