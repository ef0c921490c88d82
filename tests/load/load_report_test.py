#!/usr/bin/env python3
"""scripts/load_report.py on small raw CSVs written by this test: every figure is found by its
column's name (a column inserted or moved shifts nothing), medians over runs are right, and the
outputs keep the columns users know. No programs, no network; each report is bounded by a timeout.
"""

import csv
import json
import random
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "load_report.py"

# The sweep's columns today, in its order (the raw CSV's header and results.csv's columns).
COLUMNS = [
    "server", "kind", "connections", "size", "depth", "run", "msgs", "msgs_per_s", "MB_per_s",
    "p50_us", "p99_us", "p999_us", "max_us", "errors", "mismatches", "connect_failures",
    "server_cpu_s", "cpu_us_per_msg", "rss_peak_kb", "threads_peak", "server_exit",
]
DEFAULTS = {
    "msgs": "1000", "msgs_per_s": "1000.0", "MB_per_s": "0.064", "p50_us": "10.0",
    "p99_us": "20.0", "p999_us": "30.0", "max_us": "40.0", "errors": "0", "mismatches": "0",
    "connect_failures": "0", "server_cpu_s": "0.100", "cpu_us_per_msg": "5.000",
    "rss_peak_kb": "4096", "threads_peak": "4", "server_exit": "0",
}


def run_row(server, kind, conns, size, run, depth=1, **figures):
    row = dict(DEFAULTS, server=server, kind=kind, connections=str(conns), size=str(size),
               depth=str(depth), run=str(run))
    row.update({name: str(value) for name, value in figures.items()})
    return row


def runs_for(server, kind, conns, size, depth=1, **series):
    """One row per run; each keyword is a figure's values over the runs, in run order."""
    count = len(next(iter(series.values())))
    return [
        run_row(server, kind, conns, size, i + 1, depth,
                **{name: values[i] for name, values in series.items()})
        for i in range(count)
    ]


# Runs written in sweep order (connections, then size), as load_test.sh writes them.
RUNS = (
    # Three runs: msgs/s 100, 300, 200 -> 200; p99 5, 1, 3 -> 3; RSS 1, 3, 2 MiB -> 2 MiB;
    # CPU per message 1.5, (empty: the run's loadgen failed, counts as 0), 2.5 -> 1.5.
    runs_for("ours", "sweep", 1, 64, msgs_per_s=["100.0", "300.0", "200.0"],
             p99_us=["5.0", "1.0", "3.0"], rss_peak_kb=[1024, 3072, 2048],
             cpu_us_per_msg=["1.500", "", "2.500"])
    # Four runs: the median is the mean of the middle two. msgs/s 10, 40, 20, 30 -> 25;
    # p99 2, 8, 4, 6 -> 5; errors 0, 2, 5, 2 -> 2; threads 7, 9, 8, 10 -> 8.5, shown whole: 8.
    + runs_for("ours", "sweep", 1, 16384, msgs_per_s=["1000.0", "4000.0", "2000.0", "3000.0"],
               p99_us=["2.0", "8.0", "4.0", "6.0"], errors=[0, 2, 5, 2],
               threads_peak=[7, 9, 8, 10])
    + runs_for("ours", "sweep", 4, 64, msgs_per_s=["10.0", "40.0", "20.0", "30.0"],
               p99_us=["2.0", "8.0", "4.0", "6.0"], errors=[0, 2, 5, 2])
    + runs_for("ours", "sweep", 4, 16384, msgs_per_s=["7.5"], p999_us=["123.4"])
    + runs_for("ours", "bulk", 1, 65536, depth=4, msgs_per_s=["50.0", "70.0", "60.0"])
)
REPORT_ARGS = ["--mode", "smoke", "--duration", "1", "--runs", "3", "--commit", "abc1234",
               "--stamp", "20240101T000000Z", "--cores", "2", "--host", "lab-1",
               "--started-at", "2024-01-01T00:00:00+00:00", "--udp-skipped", "udp-chat not built",
               "--no-plots"]


class Report:
    """Runs load_report.py on `runs` written with `columns` (in that order); keeps its outputs."""

    def __init__(self, runs, columns, extra_args=()):
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            raw = folder / "runs.csv"
            with open(raw, "w", newline="", encoding="utf-8") as file:
                writer = csv.DictWriter(file, fieldnames=columns, lineterminator="\n",
                                        extrasaction="ignore")
                writer.writeheader()
                writer.writerows(runs)
            done = subprocess.run(
                [sys.executable, str(SCRIPT), str(raw), "--out", str(folder),
                 "--plot-data", str(folder / "plot"), *REPORT_ARGS, *extra_args],
                capture_output=True, text=True, timeout=60, check=False)
            self.exit_code = done.returncode
            self.stderr = done.stderr
            self.files = {}
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path != raw:
                    self.files[str(path.relative_to(folder))] = path.read_text(encoding="utf-8")

    def table_rows(self):
        """summary.md's first table, as lists of cells."""
        return [
            [cell.strip() for cell in line.strip("|").split("|")]
            for line in self.files["summary.md"].splitlines()
            if line.startswith("| sweep") or line.startswith("| bulk")
        ]


def with_values(runs, **columns):
    """The runs with extra columns: each keyword gives a column's value per run."""
    return [dict(run, **{name: values(i) for name, values in columns.items()})
            for i, run in enumerate(runs)]


class LoadReportTest(unittest.TestCase):
    def setUp(self):
        self.report = Report(RUNS, COLUMNS)
        self.assertEqual(self.report.exit_code, 0, self.report.stderr)

    def test_medians_over_the_runs(self):
        rows = {tuple(row[:4]): row for row in self.report.table_rows()}
        # kind server conns size msgs/s MB/s p50 p99 p99.9 errors mismatches connect CPU RSS threads
        self.assertEqual(rows[("sweep", "ours", "1", "64")],
                         ["sweep", "ours", "1", "64", "200", "0.1", "10.0", "3.0", "30.0", "0",
                          "0", "0", "1.50", "2.0", "4", "100–300"])
        self.assertEqual(rows[("sweep", "ours", "1", "16384")][4:],
                         ["2500", "0.1", "10.0", "5.0", "30.0", "2", "0", "0", "5.00", "4.0",
                          "8", "1000–4000"])
        self.assertEqual(rows[("sweep", "ours", "4", "64")][4:10],
                         ["25", "0.1", "10.0", "5.0", "30.0", "2"])
        self.assertEqual(rows[("sweep", "ours", "4", "16384")][4:9],
                         ["8", "0.1", "10.0", "20.0", "123.4"])
        self.assertEqual(rows[("bulk", "ours", "1", "65536")][4], "60")

    def test_table_order_sweep_then_bulk_by_size_then_connections(self):
        order = [tuple(row[:4]) for row in self.report.table_rows()]
        self.assertEqual(order, [("sweep", "ours", "1", "64"), ("sweep", "ours", "4", "64"),
                                 ("sweep", "ours", "1", "16384"), ("sweep", "ours", "4", "16384"),
                                 ("bulk", "ours", "1", "65536")])

    def test_plot_data_holds_the_medians_by_connections(self):
        files = self.report.files
        self.assertEqual(sorted(name for name in files if name.startswith("plot/")),
                         ["plot/ours-16384.dat", "plot/ours-64.dat"])  # the sweep only
        # connections, then median min max of msgs/s, p50, p99, CPU, RSS (MiB), threads.
        self.assertEqual(files["plot/ours-64.dat"].splitlines()[1:],
                         ["1 200 100 300 10 10 10 3 1 5 1.5 0 2.5 2 1 3 4 4 4",
                          "4 25 10 40 10 10 10 5 2 8 5 5 5 4 4 4 4 4 4"])
        self.assertEqual(files["plot/ours-16384.dat"].splitlines()[1:],
                         ["1 2500 1000 4000 10 10 10 5 2 8 5 5 5 4 4 4 8.5 7 10",
                          "4 7.5 7.5 7.5 10 10 10 20 20 20 5 5 5 4 4 4 4 4 4"])

    def test_results_keep_their_columns_and_every_run(self):
        lines = self.report.files["results.csv"].splitlines()
        self.assertEqual(lines[0], ",".join(COLUMNS))
        self.assertEqual(len(lines), 1 + len(RUNS))
        self.assertEqual(lines[1], ",".join(RUNS[0][c] for c in COLUMNS))
        results = json.loads(self.report.files["results.json"])
        self.assertEqual(results["config"]["mode"], "smoke")
        runs = results["results"]["runs"]
        self.assertEqual(len(runs), len(RUNS))
        self.assertEqual(list(runs[0]), COLUMNS)
        self.assertEqual(runs[0]["p99_us"], 5.0)
        self.assertEqual(runs[0]["connections"], 1)
        self.assertIsNone(runs[1]["cpu_us_per_msg"])  # empty in the raw CSV
        self.assertEqual(results["results"]["udp"], {"skipped": "udp-chat not built"})

    def test_an_inserted_column_shifts_no_figure(self):
        # A new figure in the middle, one at the front, one at the end, all with values that
        # would show up if anything read them in place of a neighbour.
        columns = COLUMNS[:7] + ["msgs_dropped"] + COLUMNS[7:]
        columns = ["host"] + columns + ["client_rss_kb"]
        runs = with_values(RUNS, msgs_dropped=lambda i: str(900 + i), host=lambda i: "lab-1",
                           client_rss_kb=lambda i: str(77777 + i))
        wider = Report(runs, columns)
        self.assertEqual(wider.exit_code, 0, wider.stderr)
        self.assertEqual(wider.files, self.report.files)

    def test_columns_in_another_order_change_nothing(self):
        columns = list(COLUMNS)
        random.Random(4).shuffle(columns)
        self.assertNotEqual(columns, COLUMNS)
        shuffled = Report(RUNS, columns)
        self.assertEqual(shuffled.exit_code, 0, shuffled.stderr)
        self.assertEqual(shuffled.files, self.report.files)

    def test_a_missing_column_is_one_line_and_exit_1(self):
        columns = [c for c in COLUMNS if c != "p99_us"]
        broken = Report(RUNS, columns)
        self.assertEqual(broken.exit_code, 1)
        self.assertIn("p99_us", broken.stderr)
        self.assertEqual(broken.stderr.count("\n"), 1)

    def test_comparison_with_the_asio_example(self):
        runs = RUNS + runs_for("asio", "sweep", 1, 64, msgs_per_s=["50.0", "150.0", "100.0"],
                               cpu_us_per_msg=["4.000", "4.000", "4.000"])
        compared = Report(runs, COLUMNS, ["--compare", "asio"])
        self.assertEqual(compared.exit_code, 0, compared.stderr)
        summary = compared.files["summary.md"]
        self.assertIn("## Ours against the Asio blocking example", summary)
        # ours 200 msgs/s and 1.5 us CPU per message against asio's 100 and 4.0.
        self.assertIn("| sweep | 1 | 64 | 200 | 100 | 2.00 | 1.50 | 4.00 | 0.38 | 2.0 | 4.0 |",
                      summary)
        self.assertIn("asio-64.dat", " ".join(compared.files))
        self.assertNotIn("Caveat", summary)  # p50 10 µs: no Nagle stall

    def test_engines_side_by_side_with_ratios_against_the_reference_servers(self):
        # Listed in --servers order whatever the rows' order; each engine's msgs/s and CPU per
        # message divided by asio-async's and by epoll's; bulk MB/s divided by threads'.
        runs = []
        for server, rate, cpu, mb in [("epoll", 400, 2.0, 8.0), ("async:1", 100, 8.0, 1.0),
                                      ("threads", 200, 4.0, 2.0), ("asio-async", 800, 1.0, 4.0)]:
            runs += runs_for(server, "sweep", 10, 64, msgs_per_s=[f"{rate}.0"],
                             cpu_us_per_msg=[f"{cpu:.3f}"])
            runs += runs_for(server, "bulk", 1, 65536, depth=4, MB_per_s=[f"{mb:.3f}"])
        report = Report(runs, COLUMNS, ["--compare", "asio-async,epoll",
                                        "--servers", "threads,async:1,asio-async,epoll"])
        self.assertEqual(report.exit_code, 0, report.stderr)
        summary = report.files["summary.md"]
        self.assertIn("## Servers side by side", summary)
        self.assertIn("### 64 B messages", summary)
        self.assertIn(
            "| conns | threads msgs/s | threads CPU µs/msg | async:1 msgs/s | async:1 CPU µs/msg "
            "| asio-async msgs/s | asio-async CPU µs/msg | epoll msgs/s | epoll CPU µs/msg "
            "| threads vs asio-async: msgs/s, CPU | async:1 vs asio-async: msgs/s, CPU "
            "| threads vs epoll: msgs/s, CPU | async:1 vs epoll: msgs/s, CPU |", summary)
        self.assertIn("| 10 | 200 | 4.00 | 100 | 8.00 | 800 | 1.00 | 400 | 2.00 | 0.25, 4.00 "
                      "| 0.12, 8.00 | 0.50, 2.00 | 0.25, 4.00 |", summary)
        bulk = [line for line in summary.splitlines() if line.endswith(" |")
                and line.split("|")[1].strip() in ("threads", "async:1", "asio-async", "epoll")]
        self.assertEqual([(line.split("|")[1].strip(), line.split("|")[-2].strip())
                          for line in bulk],
                         [("threads", "1.00"), ("async:1", "0.50"), ("asio-async", "2.00"),
                          ("epoll", "4.00")])
        self.assertNotIn("## Ours against", summary)  # asio did not run
        results = json.loads(report.files["results.json"])
        self.assertEqual(results["config"]["servers"], ["threads", "async:1", "asio-async",
                                                        "epoll"])
        self.assertEqual(results["config"]["compare"], "asio-async,epoll")

    def test_compare_rejects_an_unknown_server(self):
        report = Report(RUNS, COLUMNS, ["--compare", "asio,nginx"])
        self.assertEqual(report.exit_code, 2)
        self.assertIn("nginx", report.stderr)


if __name__ == "__main__":
    unittest.main()
