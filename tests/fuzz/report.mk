# libFuzzer target of the report writer (base/report.c): every line one valid JSON object whose
# strings decode back to the bytes written, in stream and line mode, and text lines.
$(eval $(call fuzz_target,fuzz_report,base/report.c base/lib.c base/fmt.c))
