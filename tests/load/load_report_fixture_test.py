#!/usr/bin/env python3
"""scripts/load_report.py on the committed fixture tests/fixtures/load_report/ (a --quick sweep
of ours against the Asio example, three runs per point, bulk, a UDP flood): results.json carries
the suite's header and structured values, summary.md shows the bulk, UDP and Nagle caveat lines,
and every plot is a PNG. No programs but the report and gnuplot, no network, no timing."""

import datetime
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "load_report.py"
FIXTURE = ROOT / "tests" / "fixtures" / "load_report"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = ["throughput.png", "p50.png", "p99.png", "cpu.png", "rss.png", "threads.png"]
COMMAND_LINE = ["scripts/load_test.sh", "--quick", "--compare", "asio", "--runs", "3"]


def strings_in(value):
    """Every string anywhere in a JSON value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


class FixtureReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = tempfile.TemporaryDirectory()
        cls.out = Path(cls.scratch.name)
        cls.done = subprocess.run(
            [sys.executable, str(SCRIPT), str(FIXTURE / "runs.csv"), "--out", str(cls.out),
             "--plot-data", str(cls.out / "plot"), "--mode", "quick", "--duration", "2",
             "--runs", "3", "--commit", "abc1234", "--stamp", "20261202T000000Z", "--cores", "2",
             "--suite-version", "0.3.0", "--started-at", "2026-12-02T03:00:00+01:00",
             "--host", "lab-1", "--udp-csv", str(FIXTURE / "udp.csv"), "--compare", "asio",
             "--", *COMMAND_LINE],
            capture_output=True, text=True, timeout=240, check=False)

    @classmethod
    def tearDownClass(cls):
        cls.scratch.cleanup()

    def setUp(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)

    def results(self):
        return json.loads((self.out / "results.json").read_text(encoding="utf-8"))

    def summary(self):
        return (self.out / "summary.md").read_text(encoding="utf-8")

    def test_results_json_has_the_suite_header(self):
        results = self.results()
        self.assertEqual(list(results), ["schema", "schema_version", "version", "started_at",
                                         "host", "command_line", "config", "results"])
        self.assertEqual(results["schema"], "echo-chat-suite/load-test")
        self.assertEqual(results["schema_version"], 1)
        self.assertEqual(results["version"], "0.3.0")
        started = datetime.datetime.fromisoformat(results["started_at"])
        self.assertEqual(started.utcoffset(), datetime.timedelta(hours=1))
        self.assertEqual(results["host"], "lab-1")
        self.assertEqual(results["command_line"], COMMAND_LINE)

    def test_config_and_results_are_structured_values(self):
        results = self.results()
        config = results["config"]
        self.assertEqual(config["mode"], "quick")
        self.assertEqual(config["duration_s"], 2)
        self.assertEqual(config["runs"], 3)
        self.assertEqual(config["servers"], ["ours", "asio"])
        self.assertEqual(config["connections"], [1, 10, 100])
        self.assertEqual(config["sizes"], [64, 16384])
        self.assertEqual(config["bulk"], {"connections": 1, "size": 65536, "depth": 4})
        self.assertEqual(config["udp"], {"count": 200000, "rate": 250000, "size": 64})
        # No key=value text left anywhere: every figure is a JSON number.
        for text in strings_in(results):
            self.assertNotIn("=", text)
        udp = results["results"]["udp"]
        self.assertEqual(udp["sent"], 200000)
        self.assertEqual(udp["received"], 199412)
        self.assertEqual(udp["lost"], 588)
        self.assertEqual(udp["kernel_drops"], 588)
        self.assertEqual(udp["flood_seconds"], 0.812)
        self.assertEqual(len(results["results"]["runs"]), 42)
        points = results["results"]["points"]
        self.assertEqual(len(points), 14)  # 3 connection counts x 2 sizes x 2 servers + 2 bulk
        first = points[0]
        self.assertEqual((first["kind"], first["server"], first["connections"], first["size"]),
                         ("sweep", "ours", 1, 64))
        self.assertEqual(first["run_count"], 3)
        rate = first["msgs_per_s"]
        self.assertEqual(rate, {"median": 28182.6, "min": 27004.1, "max": 31209.8})

    def test_caveats_name_the_nagle_stalled_points(self):
        caveats = self.results()["results"]["caveats"]
        self.assertEqual([(c["server"], c["connections"], c["size"]) for c in caveats],
                         [("asio", 1, 16384), ("asio", 10, 16384), ("asio", 100, 16384)])
        summary = self.summary()
        self.assertIn("## Caveats", summary)
        self.assertEqual(summary.count("- Caveat: asio at sweep"), 3)
        self.assertIn("Nagle", summary)
        self.assertIn("TCP_NODELAY", summary)
        # The 954x ratio is marked, not bare; ratios of like-for-like points are not.
        self.assertIn("| sweep | 1 | 16384 | 21467 | 22 | 954.08 † |", summary)
        self.assertIn("| sweep | 1 | 64 | 28183 | 27238 | 1.03 |", summary)

    def test_summary_shows_bulk_and_udp(self):
        summary = self.summary()
        self.assertIn("## Bulk transfer (1 connection, 64 KiB messages, 4 in flight)", summary)
        self.assertIn("| ours | 2049.4 | 2000.9–2195.9 | 15636 |", summary)
        self.assertIn("| asio | 1890.0 |", summary)
        self.assertIn("## UDP flood into udp-chat", summary)
        self.assertIn("| 200000 | 199412 | 588 | 0.29 | 199412 | 588 | 199412 | 0.812 |",
                      summary)
        self.assertIn("p99 µs", summary)
        self.assertNotIn(" us", summary)
        self.assertIn("Command: `scripts/load_test.sh --quick --compare asio --runs 3`", summary)

    def test_every_plot_is_a_png(self):
        for name in PLOTS:
            with self.subTest(plot=name):
                data = (self.out / name).read_bytes()
                self.assertTrue(data.startswith(PNG_SIGNATURE))
                self.assertGreater(len(data), 1000)
            self.assertIn(f"- {name}:", self.summary())

    def test_plots_start_at_zero_or_say_log_scale(self):
        script = (self.out / "plot" / "plots.gp").read_text(encoding="utf-8")
        self.assertIn("set terminal pngcairo", script)  # the terminal that draws UTF-8 µ
        sections = script.split("set output ")[1:]
        self.assertEqual(len(sections), len(PLOTS))
        for section in sections:
            with self.subTest(section=section.splitlines()[0]):
                if any(line.startswith("set logscale y") for line in section.splitlines()):
                    self.assertIn("log scale", section.split("set ylabel ")[1].splitlines()[0])
                else:
                    self.assertIn("set yrange [0:*]", section)
                self.assertIn("with yerrorbars", section)  # min-max over the runs
                self.assertIn("asio 16 KiB †", section)  # the stalled line is marked in the key
        self.assertIn("µs", script)


class FailedRunsReportTest(unittest.TestCase):
    def test_a_sweep_whose_every_run_failed_still_gets_every_plot(self):
        # A run whose loadgen failed has empty figures: 0 on the linear plots, left out of the
        # log latency plots, which must then not stop gnuplot with nothing to autoscale.
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch)
            lines = (FIXTURE / "runs.csv").read_text(encoding="utf-8").splitlines()
            header = lines[0].split(",")
            emptied = [header.index(c) for c in ("msgs_per_s", "MB_per_s", "p50_us", "p99_us",
                                                 "p999_us", "max_us", "cpu_us_per_msg")]
            rows = [line.split(",") for line in lines[1:]]
            for row in rows:
                for column in emptied:
                    row[column] = ""
            raw = out / "runs.csv"
            raw.write_text("\n".join([lines[0], *(",".join(row) for row in rows)]) + "\n",
                           encoding="utf-8")
            done = subprocess.run(
                [sys.executable, str(SCRIPT), str(raw), "--out", str(out), "--mode", "smoke",
                 "--duration", "1", "--runs", "3", "--commit", "abc1234", "--stamp",
                 "20261202T000000Z", "--cores", "2"],
                capture_output=True, text=True, timeout=240, check=False)
            self.assertEqual(done.returncode, 0, done.stderr)
            for name in PLOTS:
                with self.subTest(plot=name):
                    self.assertTrue((out / name).read_bytes().startswith(PNG_SIGNATURE))
            results = json.loads((out / "results.json").read_text(encoding="utf-8"))
            self.assertIsNone(results["results"]["udp"])  # not asked for
            self.assertIsNone(results["results"]["runs"][0]["p99_us"])


if __name__ == "__main__":
    unittest.main()
