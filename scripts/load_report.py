#!/usr/bin/env python3
"""The load test's report: from the raw CSV the sweep writes (one row per run, a header row),
writes results.csv, results.json, summary.md and the data files the plots are drawn from.

Columns are read by name, never by position, so a column added to the raw CSV moves no figure.
Per point (kind, server, connections, size, depth) each figure is the median over its runs; an
empty figure (a run whose loadgen failed) counts as 0, as a run that echoed nothing.

Usage: scripts/load_report.py RAW_CSV --out DIR --mode MODE --duration SECS --runs N
           --commit COMMIT --stamp STAMP --cores N [--udp LINE] [--compare asio]
           [--plot-data DIR]
  RAW_CSV          what scripts/load_test.sh wrote: points/runs.csv in its results folder
  --out DIR        where results.csv, results.json and summary.md go
  --plot-data DIR  also write SERVER-SIZE.dat there for each (server, size) of the sweep:
                   "connections msgs_per_s p99_us" per line, medians, by connections
Standard library only. Exit 0 when everything was written, 1 on an unreadable or bad raw CSV.
"""

import argparse
import csv
import json
import math
import re
import statistics
import sys
from pathlib import Path

# results.csv and results.json keep these columns, in this order, whatever else the raw CSV holds.
RESULT_COLUMNS = [
    "server", "kind", "connections", "size", "depth", "run", "msgs", "msgs_per_s", "MB_per_s",
    "p50_us", "p99_us", "p999_us", "max_us", "errors", "mismatches", "connect_failures",
    "server_cpu_s", "cpu_us_per_msg", "rss_peak_kb", "threads_peak", "server_exit",
]
TEXT_COLUMNS = {"server", "kind"}
# A point is one setting of these; its runs are the rows that share them.
POINT_COLUMNS = ["kind", "server", "connections", "size", "depth"]
# Figures that get a median per point.
FIGURE_COLUMNS = [
    "msgs_per_s", "MB_per_s", "p50_us", "p99_us", "p999_us", "max_us", "errors", "mismatches",
    "connect_failures", "server_cpu_s", "cpu_us_per_msg", "rss_peak_kb", "threads_peak",
    "server_exit",
]
JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


class ReportError(Exception):
    """The raw CSV cannot be reported on; the message says where and why."""


class Run(dict):
    """One row of the raw CSV: its fields by column name ("" where the row is short), and the
    line it came from."""

    def __init__(self, fields, line):
        super().__init__((k, v or "") for k, v in fields.items() if k is not None)
        self.line = line


def read_runs(path):
    """The raw CSV's rows; checks that the header has the columns the report needs."""
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        missing = [c for c in RESULT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ReportError(f"{path}: no column {', '.join(missing)} in the header")
        return [Run(row, reader.line_num) for row in reader]


def number(row, column):
    """A figure of a run as a float; empty counts as 0."""
    text = (row.get(column) or "").strip()
    if text == "":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ReportError(f"line {row.line}: {column} is {text!r}, not a number")
    return value


def medians(runs):
    """One dict per point: its POINT_COLUMNS as text and the median of each figure, sorted as the
    tables show them: sweep before bulk, then by size, connections and server."""
    points = {}
    for row in runs:
        key = tuple(row[c] for c in POINT_COLUMNS)
        points.setdefault(key, []).append(row)
    table = []
    for key, rows in points.items():
        point = dict(zip(POINT_COLUMNS, key))
        for column in FIGURE_COLUMNS:
            median = statistics.median(number(row, column) for row in rows)
            # 12 significant digits: the mean of two middle runs, (273.9 + 274.2) / 2, is
            # 274.04999999999995 in binary and would print as 274.0; as 274.05 it prints 274.1.
            point[column] = float(f"{median:.12g}")
        table.append(point)

    def numeric(text):
        try:
            return float(text)
        except ValueError:
            return math.inf

    # Python's sort is stable, also reversed: sort by the last key first.
    table.sort(key=lambda p: (p["server"], numeric(p["depth"])))
    table.sort(key=lambda p: numeric(p["connections"]))
    table.sort(key=lambda p: numeric(p["size"]))
    table.sort(key=lambda p: p["kind"], reverse=True)
    return table


def write_results_csv(runs, path):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(RESULT_COLUMNS)
        for row in runs:
            writer.writerow([row[c] for c in RESULT_COLUMNS])


def json_value(column, text):
    if text == "":
        return "null"
    if column not in TEXT_COLUMNS and JSON_NUMBER.fullmatch(text):
        return text  # as the sweep wrote it: 2.530 stays 2.530
    return json.dumps(text)


def write_results_json(runs, args, path):
    lines = [
        "{",
        f'  "mode": {json.dumps(args.mode)}, "duration_s": {args.duration}, "runs": {args.runs}, '
        f'"commit": {json.dumps(args.commit)}, "timestamp": {json.dumps(args.stamp)}, '
        f'"cores": {args.cores},',
        f'  "udp": {json.dumps(args.udp)},',
        '  "points": [',
    ]
    for i, row in enumerate(runs):
        fields = ", ".join(f'"{c}": {json_value(c, row[c])}' for c in RESULT_COLUMNS)
        lines.append(f"    {{{fields}}}" + ("," if i + 1 < len(runs) else ""))
    lines += ["  ]", "}"]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary_rows(table):
    for p in table:
        yield (
            f"| {p['kind']} | {p['server']} | {p['connections']} | {p['size']} "
            f"| {p['msgs_per_s']:.0f} | {p['MB_per_s']:.1f} | {p['p50_us']:.1f} "
            f"| {p['p99_us']:.1f} | {p['p999_us']:.1f} | {int(p['errors'])} "
            f"| {int(p['mismatches'])} | {int(p['connect_failures'])} "
            f"| {p['cpu_us_per_msg']:.2f} | {p['rss_peak_kb'] / 1024:.1f} "
            f"| {int(p['threads_peak'])} |"
        )


def comparison_rows(table):
    """Ours against the Asio example, one row per (kind, connections, size) in table order."""
    by_point = {}
    for p in table:
        figures = by_point.setdefault((p["kind"], p["connections"], p["size"]), {})
        figures[p["server"]] = p

    def ratio(a, b):
        return a / b if b > 0 else 0.0

    for (kind, conns, size), figures in by_point.items():
        ours, asio = figures.get("ours", {}), figures.get("asio", {})
        rate = (ours.get("msgs_per_s", 0.0), asio.get("msgs_per_s", 0.0))
        cpu = (ours.get("cpu_us_per_msg", 0.0), asio.get("cpu_us_per_msg", 0.0))
        rss = (ours.get("rss_peak_kb", 0.0) / 1024, asio.get("rss_peak_kb", 0.0) / 1024)
        yield (
            f"| {kind} | {conns} | {size} | {rate[0]:.0f} | {rate[1]:.0f} "
            f"| {ratio(*rate):.2f} | {cpu[0]:.2f} | {cpu[1]:.2f} | {ratio(*cpu):.2f} "
            f"| {rss[0]:.1f} | {rss[1]:.1f} |"
        )


def write_summary(table, args, path):
    out = [
        f"# Load test {args.stamp} ({args.mode})",
        "",
        f"Commit {args.commit}, {args.cores} cores, {args.duration} s per point, {args.runs} "
        "run(s) per point (medians shown), 64 B and 16 KiB messages one in flight per "
        "connection; bulk = 1 connection, 64 KiB, 4 in flight.",
        "Server CPU per message = server utime+stime over the whole loadgen run (connect phase "
        "included)",
        "/ echoed messages. RSS and threads: peaks sampled from /proc every 0.2 s.",
        "",
        "| kind | server | conns | size B | msgs/s | MB/s | p50 us | p99 us | p99.9 us | errors "
        "| mismatches | connect fail | CPU us/msg | RSS MiB | threads |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *summary_rows(table),
    ]
    if args.compare == "asio":
        out += [
            "",
            "## Ours against the Asio blocking example (same run, interleaved)",
            "",
            "| kind | conns | size B | ours msgs/s | asio msgs/s | ratio | ours CPU us/msg "
            "| asio CPU us/msg | ratio | ours RSS MiB | asio RSS MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *comparison_rows(table),
        ]
    out += [
        "",
        "## UDP flood into udp-chat",
        "",
        args.udp or "not run (--no-udp)",
        "",
        "Plots: throughput.png (msgs/s against connections), p99.png (p99 latency against "
        "connections).",
    ]
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


def write_plot_data(table, folder):
    """SERVER-SIZE.dat per (server, size) of the sweep: connections, msgs/s, p99 (medians)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = {}
    for p in table:
        if p["kind"] != "sweep":
            continue
        lines.setdefault((p["server"], p["size"]), []).append(p)
    for (server, size), points in lines.items():
        points.sort(key=lambda p: float(p["connections"]))
        text = "# connections msgs_per_s p99_us\n" + "".join(
            f"{p['connections']} {p['msgs_per_s']:.10g} {p['p99_us']:.10g}\n" for p in points)
        (folder / f"{server}-{size}.dat").write_text(text, encoding="utf-8")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw_csv")
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--duration", required=True, type=int)
    parser.add_argument("--runs", required=True, type=int)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--stamp", required=True)
    parser.add_argument("--cores", required=True, type=int)
    parser.add_argument("--udp", default="")
    parser.add_argument("--compare", choices=["asio"])
    parser.add_argument("--plot-data")
    return parser.parse_args(argv)


def main(argv):
    args = parse_arguments(argv)
    try:
        runs = read_runs(args.raw_csv)
        table = medians(runs)
        out = Path(args.out)
        write_results_csv(runs, out / "results.csv")
        write_results_json(runs, args, out / "results.json")
        write_summary(table, args, out / "summary.md")
        if args.plot_data:
            write_plot_data(table, args.plot_data)
    except (OSError, ReportError) as error:
        print(f"load_report.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
