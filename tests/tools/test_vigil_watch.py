#!/usr/bin/env python3
"""Tests of vigil-watch (tools/vigil_watch.py) over recorded and constructed report streams.

    python3 tests/tools/test_vigil_watch.py [PATH-OF-vigil-watch]

Streams: tests/data/reports/qemu-novmx-jsonl.log is a real report port log (QEMU TCG, written by
tests/e2e/skeleton_qemu_novmx.sh: OVMF's screen-control sequences, then vigil's lines with CRLF);
bochs-live-jsonl.log and bochs-tamper-jsonl.log are written from README's schema and hv/'s report
code (same firmware prefix and CRLF) for the events QEMU cannot produce. The rest are built here:
cut lines, binary noise, a mid-stream start, an endless line, hostile values.
"""

import importlib.machinery
import importlib.util
import io
import json
import os
import pty
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time
import unittest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.path.join(
    TOP, "tools", "vigil_watch.py")
DATA = os.path.join(TOP, "tests", "data", "reports")


def load_tool():
    loader = importlib.machinery.SourceFileLoader("vigil_watch", TOOL)
    spec = importlib.util.spec_from_loader("vigil_watch", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


vw = load_tool()


def data(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def run_tool(stream, *args, timeout=30):
    """Runs vigil-watch as a process on stdin; returns (status, stdout, stderr) as text."""
    p = subprocess.run([sys.executable, TOOL, *args], input=stream, capture_output=True,
                       timeout=timeout, check=False)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def ev(**kw):
    """One event line as vigil writes it (compact JSON, "ev" first, CRLF)."""
    e = {"ev": kw.pop("ev")}
    e.update(kw)
    return json.dumps(e, separators=(",", ":")).encode() + b"\r\n"


class RecordedStreams(unittest.TestCase):
    def test_qemu_novmx_stream(self):
        rc, out, err = run_tool(data("qemu-novmx-jsonl.log"))
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 4, out)
        self.assertTrue(lines[0].startswith("vigil 89a9666 started: report on com2 at 115200"))
        self.assertTrue(lines[2].startswith("VT-x not usable: CPUID.1:ECX.VMX[bit 5] = 0"))
        self.assertEqual(lines[3], "next stage '\\vmlinuz' starting, load options "
                         "'initrd=\\initrd.img console=ttyS0 panic=-1'")
        self.assertNotIn("\x1b", out)  # the firmware's screen control is not passed on
        self.assertIn("4 events", err)
        self.assertIn("3 lines before vigil's first event", err)

    def test_live_stream_renders_and_tree(self):
        rc, out, err = run_tool(data("bochs-live-jsonl.log"), "--tree")
        self.assertEqual(rc, 0, err)
        self.assertIn("[12.405] + start pid 95 (sh) parent 88 uid 0", out)
        self.assertIn("[12.407] * exec  pid 95 (ps)", out)
        self.assertIn("[12.411] ~ name  pid 96 (worker-1)", out)
        self.assertIn("[12.530] - exit  pid 95 (ps) code 0", out)
        self.assertIn("[12.688] - exit  pid 97 (worker-1) killed by signal 9", out)
        self.assertIn("!  3 report lines lost (output ring full)", out)
        self.assertIn("rescan: 6 processes; new: 98 cron; gone: 12 ksoftirqd/0; renamed: 88 ash; "
                      "live missed start: 98", out)
        tree = out[out.index("process tree:"):].splitlines()
        self.assertEqual(tree, [
            "process tree: 7 processes",
            "1 init uid 0",
            "  88 ash uid 0",
            "    90 vigil-worker uid 1000",
            "      96 worker-1 uid 1000",
            "2 kthreadd [kthread]",
            "  3 rcu_gp [kthread]",
            "98 cron",
        ])
        self.assertNotIn("!!", out)

    def test_every_recorded_event_has_its_own_renderer(self):
        for name in ("qemu-novmx-jsonl.log", "bochs-live-jsonl.log", "bochs-tamper-jsonl.log"):
            for raw in data(name).split(b"\n"):
                kind, e, _, _ = vw.classify(raw)
                if kind != "event":
                    continue
                self.assertIn(e["ev"], vw.RENDERERS, name)
                text = vw.render(e)
                # A renderer that raised falls back to "ev: key=value".
                self.assertNotEqual(text, "%s: %s" % (e["ev"], vw.kv(e)), name)

    def test_readme_schema_events_all_have_renderers(self):
        with open(os.path.join(TOP, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        schema = readme[readme.index("## Report schema"):]
        schema = schema[:schema.index("\n## ", 1)]
        names = set()
        for row in re.findall(r"^\| (`[^|]*`) \|", schema, re.M):
            names.update(re.findall(r"`([a-z_0-9]+)`", row))
        self.assertGreaterEqual(len(names), 30)
        self.assertEqual(sorted(names - set(vw.RENDERERS)), [])

    def test_tamper_stream_exit_status_and_markers(self):
        rc, out, err = run_tool(data("bochs-tamper-jsonl.log"))
        self.assertEqual(rc, 1, err)
        alerts = [ln for ln in out.splitlines() if ln.startswith("!! ")]
        self.assertEqual(len(alerts), 6, out)
        self.assertIn("!! the guest changed vigil's hook on do_exit (gpa 0x1ae6f10), rip "
                      "0xffffffffc04a1022 (mov byte ptr [rax], 0x0f): dropped, cpu 0", alerts)
        self.assertIn("!! config changed since the sealed boot: live 'on' -> 'off'; rescan '30' "
                      "-> '0'; policy previous, action previous, in effect: sealed", alerts)
        self.assertIn("6 integrity/tamper events", err)

    def test_hook_forgery_is_an_alert_and_report_lost_a_problem(self):
        stream = ev(ev="start", version="x") + ev(ev="report_lost", lines=7) + ev(
            ev="hook_forgery", function="wake_up_new_task", rip="0xffffffff81000000",
            task="0xffff888012345678", cur_pid=100, cur_comm="sh",
            reason="the new task's parent is neither the running task's group nor its parent",
            cpu=0, count=1)
        rc, out, err = run_tool(stream)
        self.assertEqual(rc, 1, err)
        self.assertIn("!! a jump into vigil's hook on wake_up_new_task (rip 0xffffffff81000000)", out)
        self.assertIn("7 report lines lost (output ring full)", out)
        self.assertIn("1 integrity/tamper event", err)

    def test_filters_hide_alerts_but_not_the_status(self):
        rc, out, err = run_tool(data("bochs-tamper-jsonl.log"), "--ev", "proc_start")
        self.assertEqual(rc, 1)
        self.assertEqual(len(out.splitlines()), 2, out)
        self.assertIn("6 integrity/tamper events (6 hidden by filters)", err)

    def test_colour_only_when_asked_or_on_a_terminal(self):
        _, out, _ = run_tool(data("bochs-tamper-jsonl.log"), "--color", "always")
        self.assertIn("\x1b[1;31m!! blocked guest read of hypervisor memory", out)
        _, out, _ = run_tool(data("bochs-tamper-jsonl.log"))  # a pipe: no colour
        self.assertNotIn("\x1b", out)

    def test_clean_stream_exits_0_and_seal_error_untrusted_is_an_alert(self):
        base = ev(ev="start", version="x", serial="com1", baud=115200, config="loaded",
                  firmware_console="detached", seal="unavailable")
        rc, _, _ = run_tool(base + ev(ev="config_seal_error", stage="read",
                                      efi_status="EFI_DEVICE_ERROR", msg="m"))
        self.assertEqual(rc, 0)
        rc, out, _ = run_tool(base + ev(ev="config_seal_error", stage="untrusted", msg="m"))
        self.assertEqual(rc, 1)
        self.assertIn("!! config seal (untrusted): m", out)
        rc, out, _ = run_tool(base + ev(ev="integrity", what="text", changed=True))
        self.assertEqual(rc, 1)
        self.assertIn("!! integrity: what=text changed=true", out)


class Filters(unittest.TestCase):
    def test_ev_filter(self):
        rc, out, _ = run_tool(data("bochs-live-jsonl.log"), "--ev", "proc_start,proc_exit")
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(len(lines), 5, out)
        self.assertTrue(all(re.match(r"\[\d+\.\d{3}\] [+-] ", ln) for ln in lines), out)

    def test_pid_filter_includes_rescans_naming_the_pid(self):
        _, out, _ = run_tool(data("bochs-live-jsonl.log"), "--pid", "96")
        self.assertEqual(out.splitlines(), [
            "[12.410] + start pid 96 (vigil-worker) parent 90 uid 1000",
            "[12.411] ~ name  pid 96 (worker-1)",
            "rescan: 6 processes; new: 96 worker-1",
        ])
        _, out, _ = run_tool(data("bochs-live-jsonl.log"), "--pid", "95", "--pid", "97",
                             "--ev", "proc_exit")
        self.assertEqual(len(out.splitlines()), 2, out)

    def test_json_passes_lines_unchanged(self):
        stream = data("bochs-live-jsonl.log")
        rc, out, _ = run_tool(stream, "--json", "--ev", "proc_start,proc_exec,proc_exit")
        self.assertEqual(rc, 0)
        want = [ln.rstrip(b"\r").decode() for ln in stream.split(b"\n")
                if b'"ev":"proc_start"' in ln or b'"ev":"proc_exec"' in ln or
                b'"ev":"proc_exit"' in ln]
        self.assertEqual(out.splitlines(), want)
        self.assertNotIn("\r", out)

    def test_json_keeps_the_event_part_of_a_line_with_firmware_bytes(self):
        rc, out, _ = run_tool(b"\x1b[2J\x1b[01;01HBdsDxe: x" + ev(ev="start", version="v"),
                              "--json")
        self.assertEqual(out, '{"ev":"start","version":"v"}\n')


class DirtyStreams(unittest.TestCase):
    def test_cut_lines_and_cut_end(self):
        full = ev(ev="proc_start", seq=1, t=1, tsc=1, pid=5, ppid=1, comm="a", uid=0)
        stream = full[:30] + b"\r\n" + full + full[:25]  # a cut line, a whole one, a cut end
        rc, out, err = run_tool(stream)
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines(), ["[0.001] + start pid 5 (a) parent 1 uid 0"])
        self.assertIn("1 cut lines", err)
        self.assertIn("1 lines before vigil's first event", err)

    def test_complete_last_line_without_newline_counts(self):
        rc, out, _ = run_tool(ev(ev="module", name="m", base="0x1", size=2).rstrip())
        self.assertEqual(out, "module m at 0x1, 2 bytes\n")

    def test_mid_stream_start_drops_the_partial_first_line(self):
        full = ev(ev="proc_exit", seq=9, t=5000, tsc=1, pid=7, comm="x", code=0)
        stream = full[17:] + full  # plugged in while a line was on the wire
        rc, out, err = run_tool(stream)
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines(), ["[5.000] - exit  pid 7 (x) code 0"])
        self.assertIn("1 partial first line dropped", err)

    def test_binary_noise_between_events(self):
        rnd = random.Random(1234)
        events = [ev(ev="proc_start", seq=i, t=i, tsc=i, pid=100 + i, ppid=1, comm="p%d" % i,
                     uid=0) for i in range(200)]
        stream = b""
        for e in events:
            noise = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))
            stream += noise.replace(b"\n", b"") + b"\n" + e  # noise on its own line
        rc, out, err = run_tool(stream)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 200)
        self.assertIn("200 events", err)
        for ch in out:
            self.assertTrue(ch == "\n" or ch.isprintable(), repr(ch))

    def test_noise_without_newlines_glued_before_events(self):
        # Noise glued to the start of an event line (a line that did not end): the event is
        # found after it.
        e = ev(ev="proc_rename", seq=1, t=1, tsc=1, pid=4, comm="n")
        rc, out, err = run_tool(b"\x00\xff\xfe{{{\"ev\":" + e)
        self.assertEqual(out.splitlines(), ["[0.001] ~ name  pid 4 (n)"])
        self.assertIn("1 lines with bytes before the event dropped", err)

    def test_endless_line_is_bounded_and_counted(self):
        after = ev(ev="module", name="after", base="0x1", size=1)
        stream = b"{" + b"A" * (4 << 20) + b"\n" + after
        rc, out, err = run_tool(stream, "--max-line", "4096")
        self.assertEqual(rc, 0)
        self.assertEqual(out, "module after at 0x1, 1 bytes\n")
        self.assertIn("1 overlong lines dropped", err)

    def test_splitter_never_holds_more_than_max_line(self):
        s = vw.LineSplitter(1000)
        for i in range(500):
            lines = s.feed(b"x" * 997)
            self.assertLessEqual(len(s.buf), 1000)
            self.assertEqual(lines, [])
        self.assertEqual(s.feed(b"\nok\n"), [b"ok"])
        self.assertEqual(s.overlong, 1)

    def test_deep_nesting_and_huge_numbers_are_junk_not_crashes(self):
        stream = b"[" * 200000 + b"\n" + b'{"ev":"x","n":' + b"9" * 10000 + b"}\n" + \
            ev(ev="module", name="m", base="0x1", size=1)
        rc, out, err = run_tool(stream)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "module m at 0x1, 1 bytes\n")

    def test_only_utf8_json_is_an_event(self):
        # vigil writes ASCII; JSON in UTF-16 (which json.loads would guess from bytes) is noise.
        u16 = '{"ev":"module","name":"x","base":"0x1","size":1}'.encode("utf-16-le")
        rc, out, err = run_tool(u16 + b"\n")
        self.assertEqual(out, "")
        self.assertIn("0 events", err)

    def test_crlf_and_cr_only_noise(self):
        rc, out, _ = run_tool(b"\r\r\n" + ev(ev="halt", reason="no VT-x") + b"\r\n")
        self.assertEqual(out, "!  halted: no VT-x\n")

    def test_text_mode_lines_pass_through(self):
        rc, out, _ = run_tool(b"\x1b[2Jvigil: VT-x not usable: x\r\nvigil: + start pid 5 (a)\r\n")
        self.assertEqual(out.splitlines(), ["vigil: VT-x not usable: x", "vigil: + start pid 5 (a)"])


class HostileValues(unittest.TestCase):
    def test_guest_names_cannot_drive_the_terminal(self):
        bad = "\x1b[2J\x1b]0;owned\x07\u202eevil\u2028\x9b\ud800"
        stream = ev(ev="proc_start", seq=1, t=1, tsc=1, pid=5, ppid=1, comm=bad, uid=0)
        rc, out, err = run_tool(stream, "--color", "never", "--tree")
        self.assertEqual(rc, 0, err)
        for ch in out:
            self.assertTrue(ch == "\n" or ch.isprintable(), repr(out))
        self.assertIn("\\x1b[2J\\x1b]0;owned\\x07\\u202eevil\\u2028\\x9b\\ud800", out)

    def test_wrong_types_fall_back_to_key_value(self):
        e = {"ev": "proc_start", "pid": [1, 2], "comm": {"a": 1}}
        self.assertTrue(vw.render(e).startswith("+ start pid [1,2] ({\"a\":1})"))
        e = {"ev": "config_changed", "changed": "x", "profile_changed": True,
             "profile_old_sha256": 5}
        vw.render(e)  # must not raise
        self.assertEqual(vw.render({"ev": "hv_memory", "ranges": 3}), "hypervisor memory: 3")

    def test_unknown_event_generic_rendering(self):
        self.assertEqual(vw.render({"ev": "new_thing", "a": 1, "b": "two words", "c": [1, 2],
                                    "d": None}),
                         'new_thing: a=1 b="two words" c=[1,2] d=null')

    def test_event_kinds_counted_in_bounded_table(self):
        stream = b"".join(ev(ev="k%d" % i) for i in range(vw.MAX_EV_KINDS + 50))
        rc, _, err = run_tool(stream, "--ev", "none")
        self.assertIn("50 events of further kinds not counted by name", err)


class Tree(unittest.TestCase):
    def tree(self, events, max_procs=100):
        t = vw.ProcTree(max_procs)
        for e in events:
            t.apply(e)
        return t

    def test_start_exec_exit_sequences(self):
        t = self.tree([
            {"ev": "proc", "pid": 1, "ppid": 0, "comm": "init", "uid": 0, "kthread": False},
            {"ev": "proc_start", "pid": 10, "ppid": 1, "comm": "sh", "uid": 0},
            {"ev": "proc_start", "pid": 11, "ppid": 10, "comm": "sh", "uid": 1000},
            {"ev": "proc_exec", "pid": 11, "comm": "sleep"},
            {"ev": "proc_start", "pid": 12, "ppid": 11, "comm": "sleep", "uid": 1000},
            {"ev": "proc_exit", "pid": 11, "comm": "sleep", "code": 0},
            {"ev": "proc_rename", "pid": 10, "comm": "ash"},
        ])
        self.assertEqual(t.lines(), ["process tree: 3 processes", "1 init uid 0",
                                     "  10 ash uid 0", "12 sleep uid 1000"])

    def test_new_boot_resets_the_tree(self):
        t = self.tree([{"ev": "proc_start", "pid": 10, "ppid": 1, "comm": "sh", "uid": 0},
                       {"ev": "start"},
                       {"ev": "proc_start", "pid": 20, "ppid": 1, "comm": "b", "uid": 0}])
        self.assertEqual(t.lines(), ["process tree: 1 process", "20 b uid 0"])

    def test_rescan_gone_and_missed_exit_remove(self):
        t = self.tree([{"ev": "proc_start", "pid": p, "ppid": 1, "comm": "p", "uid": 0}
                       for p in (5, 6, 7)] +
                      [{"ev": "rescan", "new": [], "gone": [{"pid": 5, "comm": "p"}],
                        "renamed": [{"pid": 6, "comm": "q"}], "live_missed_start": [9],
                        "live_missed_exit": [7]}])
        self.assertEqual(t.lines(), ["process tree: 2 processes", "6 q uid 0", "9 ?"])

    def test_cap_counts_untracked(self):
        t = self.tree([{"ev": "proc_start", "pid": p, "ppid": 1, "comm": "p", "uid": 0}
                       for p in range(10)], max_procs=3)
        self.assertEqual(len(t.procs), 3)
        self.assertEqual(t.untracked, 7)
        self.assertIn("7 more not tracked", t.lines()[0])

    def test_parent_loop_and_bad_pids(self):
        t = self.tree([{"ev": "proc", "pid": 5, "ppid": 6, "comm": "a"},
                       {"ev": "proc", "pid": 6, "ppid": 5, "comm": "b"},
                       {"ev": "proc", "pid": "7", "comm": "c"},
                       {"ev": "proc", "pid": -1, "comm": "d"},
                       {"ev": "proc", "pid": True, "comm": "e"},
                       {"ev": "rescan", "new": [{"pid": [1]}], "gone": "x"}])
        lines = t.lines()
        self.assertEqual(lines[0], "process tree: 2 processes")
        self.assertEqual(sorted(ln.strip() for ln in lines[1:]), ["5 a", "6 b"])

    def test_deep_chain_is_iterative(self):
        t = self.tree([{"ev": "proc_start", "pid": p, "ppid": p - 1, "comm": "c", "uid": 0}
                       for p in range(1, 5000)], max_procs=10000)
        self.assertEqual(len(t.lines()), 5000)


class Inputs(unittest.TestCase):
    def wait_output(self, p, want, timeout=10):
        got = b""
        end = time.time() + timeout
        while want not in got and time.time() < end:
            r, _, _ = select.select([p.stdout], [], [], 0.2)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                got += chunk
        return got

    def test_pty_raw_mode_baud_and_hangup(self):
        master, slave = pty.openpty()
        path = os.ttyname(slave)
        p = subprocess.Popen([sys.executable, TOOL, path, "--baud", "9600"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            end = time.time() + 10
            while time.time() < end:
                attrs = termios.tcgetattr(slave)
                if not attrs[3] & termios.ICANON and attrs[5] == termios.B9600:
                    break
                time.sleep(0.05)
            self.assertFalse(attrs[3] & termios.ICANON, "stty raw was not applied")
            self.assertFalse(attrs[3] & termios.ECHO)
            self.assertEqual(attrs[5], termios.B9600)
            # Raw mode passes CR through; the reader strips it. No newline translation either.
            os.write(master, ev(ev="proc_start", seq=1, t=1, tsc=1, pid=5, ppid=1, comm="a",
                                uid=0) + ev(ev="hook_tamper", function="do_exit", gpa="0x1",
                                            rip="0x2", insn=None, action="dropped", cpu=0))
            got = self.wait_output(p, b"do_exit")
            self.assertIn(b"[0.001] + start pid 5 (a) parent 1 uid 0\n", got)
            self.assertIn(b"!! the guest changed vigil's hook on do_exit", got)
        finally:
            os.close(master)
            os.close(slave)
        rc = p.wait(timeout=10)
        self.assertEqual(rc, 1)  # a tamper event was seen
        p.stdout.close()
        p.stderr.close()

    def test_sigusr1_prints_the_tree_while_streaming(self):
        p = subprocess.Popen([sys.executable, TOOL], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdin.write(ev(ev="proc_start", seq=1, t=1, tsc=1, pid=42, ppid=1, comm="answer",
                         uid=0))
        p.stdin.flush()
        self.assertIn(b"answer", self.wait_output(p, b"answer"))
        p.send_signal(signal.SIGUSR1)
        got = self.wait_output(p, b"42 answer uid 0")
        self.assertIn(b"process tree: 1 process\n42 answer uid 0\n", got)
        p.stdin.close()
        self.assertEqual(p.wait(timeout=10), 0)
        p.stdout.close()
        p.stderr.close()

    def test_follow_file_growth_truncation_replacement(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "report.log")
        with open(path, "wb") as f:
            f.write(ev(ev="proc_start", seq=1, t=1, tsc=1, pid=1, ppid=0, comm="one", uid=0))
        p = subprocess.Popen([sys.executable, TOOL, "-F", "--tree", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertIn(b"one", self.wait_output(p, b"one"))
            with open(path, "ab") as f:  # grows
                f.write(ev(ev="proc_start", seq=2, t=2, tsc=2, pid=2, ppid=1, comm="two",
                           uid=0))
            self.assertIn(b"two", self.wait_output(p, b"two"))
            with open(path, "wb") as f:  # truncated and rewritten (shorter)
                f.write(ev(ev="module", name="m3", base="0x3", size=3))
            self.assertIn(b"m3", self.wait_output(p, b"m3"))
            os.rename(path, path + ".1")  # rotated: a new file appears under the name
            with open(path + ".new", "wb") as f:
                f.write(ev(ev="proc_exit", seq=3, t=3, tsc=3, pid=2, comm="two", code=0))
            os.rename(path + ".new", path)
            self.assertIn(b"exit  pid 2", self.wait_output(p, b"exit  pid 2"))
        finally:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn(b"process tree: 1 process\n1 one uid 0\n", out)
        self.assertIn(b"truncated", err)
        self.assertIn(b"replaced", err)

    def test_missing_input_is_status_2(self):
        rc, _, err = run_tool(b"", "/nonexistent/report.log")
        self.assertEqual(rc, 2)
        self.assertIn("No such file", err)

    def test_in_process_run_with_string_streams(self):
        # run() takes its output streams, so the same code is usable from Python.
        path = os.path.join(DATA, "qemu-novmx-jsonl.log")
        out, err = io.StringIO(), io.StringIO()
        self.assertEqual(vw.run([path, "--ev", "vmx"], stdout=out, stderr=err), 0)
        self.assertTrue(out.getvalue().startswith("VT-x not usable"))


if __name__ == "__main__":
    unittest.main(verbosity=1)
