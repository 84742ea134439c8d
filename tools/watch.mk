# vigil-watch: reads vigil's report stream and prints it readably (README "Watching the report:
# vigil-watch"). A Python 3 script (tools/vigil_watch.py); the build copies it to build/.
TOOLS += $(B)/vigil-watch
$(B)/vigil-watch: tools/vigil_watch.py
	@mkdir -p $(dir $@)
	install -m 755 $< $@
