#!/usr/bin/env python3
"""The load test's report: from the raw CSV the sweep writes (one row per run, a header row),
writes results.csv, results.json, summary.md and the PNG plots (drawn by gnuplot).

Columns are read by name, never by position, so a column added to the raw CSV moves no figure.
Per point (kind, server, connections, size, depth) each figure is the median over its runs, and
its spread is the minimum and maximum over them; an empty figure (a run whose loadgen failed)
counts as 0, as a run that echoed nothing. docs/design.md, "The load test's report", says what
each plot shows; docs/json.md describes results.json.

Usage: scripts/load_report.py RAW_CSV --out DIR --mode MODE --duration SECS --runs N
           --commit COMMIT --stamp STAMP --cores N [--suite-version V] [--started-at TIME]
           [--host NAME] [--udp-csv FILE | --udp-skipped REASON] [--compare LIST]
           [--servers LIST] [--plot-data DIR] [--no-plots] [-- COMMAND LINE...]
  RAW_CSV          what scripts/load_test.sh wrote: points/runs.csv in its results folder
  --out DIR        where results.csv, results.json, summary.md and the PNGs go
  --udp-csv FILE   the UDP flood's figures (udp.csv: a header and one row)
  --compare LIST   the other servers measured beside the engines, comma-separated: asio,
                   asio-async, epoll (their names in the raw CSV)
  --servers LIST   every server in the order to list and colour them (else engines as they
                   come, "threads" or "ours" first, then asio, asio-async, epoll)
  --plot-data DIR  keep the plots' data files and gnuplot script there (else a temporary folder)
  --no-plots       write no PNG (gnuplot is then not needed)
  -- ...           the load test's own command line, recorded in results.json
Standard library and gnuplot only. Exit 0 when everything was written, 1 on an unreadable or bad
raw CSV or a failed gnuplot.
"""

import argparse
import csv
import datetime
import json
import math
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

# results.csv keeps these columns, in this order, whatever else the raw CSV holds.
RESULT_COLUMNS = [
    "server", "kind", "connections", "size", "depth", "run", "msgs", "msgs_per_s", "MB_per_s",
    "p50_us", "p99_us", "p999_us", "max_us", "errors", "mismatches", "connect_failures",
    "server_cpu_s", "cpu_us_per_msg", "rss_peak_kb", "threads_peak", "server_exit",
]
TEXT_COLUMNS = {"server", "kind"}
# A point is one setting of these; its runs are the rows that share them.
POINT_COLUMNS = ["kind", "server", "connections", "size", "depth"]
# Figures that get a median (and a min-max spread) per point.
FIGURE_COLUMNS = [
    "msgs_per_s", "MB_per_s", "p50_us", "p99_us", "p999_us", "max_us", "errors", "mismatches",
    "connect_failures", "server_cpu_s", "cpu_us_per_msg", "rss_peak_kb", "threads_peak",
    "server_exit",
]
UDP_COLUMNS = ["count", "rate", "size", "sent", "received", "logged", "kernel_drops",
               "log_lines", "flood_seconds", "logged_per_s"]

# Peers known to write without TCP_NODELAY. Where such a peer's median p50 reaches
# NAGLE_STALL_US, Nagle's algorithm holding a partial segment until the client's delayed ACK
# (about 40 ms on Linux) sets its pace, and a ratio against it measures that stall, not the
# server's work: the report says so beside the figure instead of printing a bare ratio.
NO_NODELAY_PEERS = {
    "asio": "Asio's blocking example echoes in 1 KiB pieces without TCP_NODELAY",
    "asio-async": "Asio's async example echoes in 1 KiB pieces without TCP_NODELAY",
}
# The servers that are not echo-server engines, in the order they are listed after them; a ratio
# column of every engine against each of REFERENCE_SERVERS is shown when it ran. "ours" is the
# name older raw CSVs give the threads engine.
COMPARED_SERVERS = ["asio", "asio-async", "epoll"]
REFERENCE_SERVERS = ["asio-async", "epoll"]
BASELINE_ENGINES = ["threads", "ours"]
NAGLE_STALL_US = 40000.0

# One colour per server (in the order servers first appear, ours first), one dash pattern per
# message size, one point shape per server (filled for the first size, open for the next).
# Up to nine servers stay apart: colours from a palette readable on white, all distinct.
SERVER_COLOURS = ["#1f5fbf", "#d9541a", "#2e9e44", "#8e44ad", "#7f7f7f", "#b8860b",
                  "#d62728", "#17becf", "#000000"]
SERVER_POINTS = [7, 9, 5, 13, 11, 15, 7, 9, 5]
# Each line (server and size) is moved this factor apart from the next on the log x axis, so
# equal figures (threads, RSS, or two servers alike) stay visible side by side.
X_SPREAD = 1.04


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
        raise ReportError(f"line {getattr(row, 'line', '?')}: {column} is {text!r}, not a number")
    return value


def typed(text):
    """A CSV field as JSON wants it: None when empty, int or float when a number, else text."""
    text = (text or "").strip()
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def rounded(value):
    # 12 significant digits: the mean of two middle runs, (273.9 + 274.2) / 2, is
    # 274.04999999999995 in binary and would print as 274.0; as 274.05 it prints 274.1.
    return float(f"{value:.12g}")


def numeric(text):
    try:
        return float(text)
    except ValueError:
        return math.inf


def medians(runs):
    """One dict per point: its POINT_COLUMNS as text, the median of each figure, "spread" (each
    figure's (min, max) over the runs) and "run_count", sorted as the tables show them: sweep
    before bulk, then by size, connections and server."""
    points = {}
    for row in runs:
        key = tuple(row[c] for c in POINT_COLUMNS)
        points.setdefault(key, []).append(row)
    table = []
    for key, rows in points.items():
        point = dict(zip(POINT_COLUMNS, key))
        point["run_count"] = len(rows)
        point["spread"] = {}
        for column in FIGURE_COLUMNS:
            values = [number(row, column) for row in rows]
            point[column] = rounded(statistics.median(values))
            point["spread"][column] = (rounded(min(values)), rounded(max(values)))
        table.append(point)

    # Python's sort is stable, also reversed: sort by the last key first.
    table.sort(key=lambda p: (numeric(p["depth"])))
    table.sort(key=lambda p: numeric(p["connections"]))
    table.sort(key=lambda p: numeric(p["size"]))
    table.sort(key=lambda p: p["kind"], reverse=True)
    return table


# The order of --servers, when given; set once by main.
PREFERRED_ORDER = []


def server_order(table):
    """Servers in the order they should be listed and coloured: as --servers lists them; else
    the engines first (threads, or ours, before the others, then as they come), then the
    compared servers in COMPARED_SERVERS order."""
    names = []
    for p in table:
        if p["server"] not in names:
            names.append(p["server"])

    def rank(name):
        if name in PREFERRED_ORDER:
            return (0, PREFERRED_ORDER.index(name), 0)
        if name in COMPARED_SERVERS:
            return (2, COMPARED_SERVERS.index(name), 0)
        return (1, 0 if name in BASELINE_ENGINES else 1, names.index(name))
    return sorted(names, key=rank)


def engines_of(table):
    """The servers that are echo-server engines, in server order."""
    return [name for name in server_order(table) if name not in COMPARED_SERVERS]


def compare_list(args):
    return [name for name in (args.compare or "").split(",") if name]


def human_size(size):
    size = int(numeric(size)) if math.isfinite(numeric(size)) else 0
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} B"


def nagle_caveats(table):
    """The points whose figures a Nagle stall dominates: one dict each, with the sentence."""
    caveats = []
    for p in table:
        why = NO_NODELAY_PEERS.get(p["server"])
        if why is None or p["p50_us"] < NAGLE_STALL_US:
            continue
        text = (f"{p['server']} at {p['kind']} {p['connections']} connection(s), "
                f"{human_size(p['size'])}: p50 {p['p50_us'] / 1000:.1f} ms (at least "
                f"{NAGLE_STALL_US / 1000:.0f} ms). {why}, so Nagle's algorithm waits for the "
                "client's delayed ACK; its figures, and any ratio against them, measure that "
                "stall, not the server's work.")
        caveats.append({"server": p["server"], "kind": p["kind"],
                        "connections": typed(p["connections"]), "size": typed(p["size"]),
                        "p50_us": p["p50_us"], "reason": "nagle_delayed_ack", "text": text})
    return caveats


def caveat_keys(caveats):
    return {(c["kind"], str(c["connections"]), str(c["size"])) for c in caveats}


def write_results_csv(runs, path):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(RESULT_COLUMNS)
        for row in runs:
            writer.writerow([row[c] for c in RESULT_COLUMNS])


def read_udp(args):
    """The UDP flood's figures as a dict of typed values; {"skipped": reason} when it did not
    run for a reason; None when it was not asked for."""
    if args.udp_skipped:
        return {"skipped": args.udp_skipped}
    if not args.udp_csv:
        return None
    with open(args.udp_csv, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        raise ReportError(f"{args.udp_csv}: no row under the header")
    udp = {column: typed(rows[0].get(column)) for column in UDP_COLUMNS}
    sent, received = udp.get("sent"), udp.get("received")
    if isinstance(sent, (int, float)) and isinstance(received, (int, float)) and sent > 0:
        udp["lost"] = sent - received
        udp["loss_percent"] = rounded(100.0 * (sent - received) / sent)
    else:
        udp["lost"] = None
        udp["loss_percent"] = None
    return udp


def json_point(p):
    point = {c: typed(p[c]) for c in POINT_COLUMNS}
    point["run_count"] = p["run_count"]
    for column in FIGURE_COLUMNS:
        low, high = p["spread"][column]
        point[column] = {"median": p[column], "min": low, "max": high}
    return point


def write_results_json(runs, table, udp, caveats, args, path):
    sweep = [p for p in table if p["kind"] == "sweep"]
    bulk = [p for p in table if p["kind"] == "bulk"]
    document = {
        "schema": "echo-chat-suite/load-test",
        "schema_version": 1,
        "version": args.suite_version,
        "started_at": args.started_at,
        "host": args.host,
        "command_line": args.command_line,
        "config": {
            "mode": args.mode,
            "duration_s": args.duration,
            "runs": args.runs,
            "commit": args.commit,
            "stamp": args.stamp,
            "cores": args.cores,
            "compare": args.compare,
            "servers": server_order(table),
            "connections": sorted({typed(p["connections"]) for p in sweep}, key=float),
            "sizes": sorted({typed(p["size"]) for p in sweep}, key=float),
            "bulk": ({"connections": typed(bulk[0]["connections"]),
                      "size": typed(bulk[0]["size"]), "depth": typed(bulk[0]["depth"])}
                     if bulk else None),
            "udp": ({k: udp[k] for k in ("count", "rate", "size")}
                    if udp and "skipped" not in udp else None),
        },
        "results": {
            "points": [json_point(p) for p in table],
            "runs": [{c: (row[c] or None) if c in TEXT_COLUMNS else typed(row[c])
                      for c in RESULT_COLUMNS} for row in runs],
            "udp": udp,
            "caveats": caveats,
        },
    }
    Path(path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def spread_text(p, column, digits=0):
    low, high = p["spread"][column]
    return f"{low:.{digits}f}–{high:.{digits}f}"


def summary_rows(table):
    for p in table:
        yield (
            f"| {p['kind']} | {p['server']} | {p['connections']} | {p['size']} "
            f"| {p['msgs_per_s']:.0f} | {p['MB_per_s']:.1f} | {p['p50_us']:.1f} "
            f"| {p['p99_us']:.1f} | {p['p999_us']:.1f} | {int(p['errors'])} "
            f"| {int(p['mismatches'])} | {int(p['connect_failures'])} "
            f"| {p['cpu_us_per_msg']:.2f} | {p['rss_peak_kb'] / 1024:.1f} "
            f"| {int(p['threads_peak'])} | {spread_text(p, 'msgs_per_s')} |"
        )


def ratio_text(value, base):
    """value / base with two decimals, or "–" when there is nothing to divide by."""
    return f"{value / base:.2f}" if base > 0 else "–"


def bulk_rows(table):
    """The bulk points in server order, each with its MB/s against the threads engine's."""
    bulk = {p["server"]: p for p in table if p["kind"] == "bulk"}
    base = next((bulk[name]["MB_per_s"] for name in BASELINE_ENGINES if name in bulk), 0.0)
    for server in server_order(table):
        p = bulk.get(server)
        if p is None:
            continue
        yield (
            f"| {p['server']} | {p['MB_per_s']:.1f} | {spread_text(p, 'MB_per_s', 1)} "
            f"| {p['msgs_per_s']:.0f} | {p['p50_us']:.1f} | {p['p99_us']:.1f} "
            f"| {p['cpu_us_per_msg']:.2f} | {p['rss_peak_kb'] / 1024:.1f} "
            f"| {int(p['threads_peak'])} | {ratio_text(p['MB_per_s'], base)} |"
        )


def side_by_side(table, stalled):
    """summary.md's tables per message size of the sweep: one row per connection count, each
    server's median msgs/s and CPU µs/msg, then each engine against each reference server that
    ran: one cell "msgs/s ratio, CPU/msg ratio" († where the reference was Nagle-stalled)."""
    servers = server_order(table)
    engines = engines_of(table)
    references = [r for r in REFERENCE_SERVERS if r in servers]
    sweep = [p for p in table if p["kind"] == "sweep"]
    by_point = {}
    for p in sweep:
        by_point.setdefault((p["size"], p["connections"]), {})[p["server"]] = p
    sizes = sorted({p["size"] for p in sweep}, key=numeric)
    out = []
    for size in sizes:
        header = ["conns"]
        for server in servers:
            header += [f"{server} msgs/s", f"{server} CPU µs/msg"]
        for reference in references:
            for engine in engines:
                header.append(f"{engine} vs {reference}: msgs/s, CPU")
        out += ["", f"### {human_size(size)} messages", "", "| " + " | ".join(header) + " |",
                "|" + "---:|" * len(header)]
        connections = sorted({c for s, c in by_point if s == size}, key=numeric)
        for conns in connections:
            figures = by_point[(size, conns)]
            cells = [conns]
            for server in servers:
                p = figures.get(server)
                cells += ([f"{p['msgs_per_s']:.0f}", f"{p['cpu_us_per_msg']:.2f}"]
                          if p else ["–", "–"])
            for reference in references:
                ref = figures.get(reference, {})
                mark = " †" if ("sweep", conns, size) in stalled and (
                    reference in NO_NODELAY_PEERS and ref.get("p50_us", 0.0) >= NAGLE_STALL_US
                ) else ""
                for engine in engines:
                    p = figures.get(engine, {})
                    rate = ratio_text(p.get("msgs_per_s", 0.0), ref.get("msgs_per_s", 0.0))
                    cpu = ratio_text(p.get("cpu_us_per_msg", 0.0), ref.get("cpu_us_per_msg", 0.0))
                    cells.append(f"{rate}, {cpu}{mark}")
            out.append("| " + " | ".join(cells) + " |")
    return out


def comparison_rows(table, stalled):
    """Ours (the first engine) against the Asio example, one row per (kind, connections, size)
    in table order. A ratio against a point a Nagle stall dominates is marked † (explained under
    the table)."""
    first = (engines_of(table) or ["ours"])[0]
    by_point = {}
    for p in table:
        figures = by_point.setdefault((p["kind"], p["connections"], p["size"]), {})
        figures[p["server"]] = p

    def ratio(a, b):
        return a / b if b > 0 else 0.0

    for (kind, conns, size), figures in by_point.items():
        ours, asio = figures.get(first, {}), figures.get("asio", {})
        rate = (ours.get("msgs_per_s", 0.0), asio.get("msgs_per_s", 0.0))
        cpu = (ours.get("cpu_us_per_msg", 0.0), asio.get("cpu_us_per_msg", 0.0))
        rss = (ours.get("rss_peak_kb", 0.0) / 1024, asio.get("rss_peak_kb", 0.0) / 1024)
        mark = " †" if (kind, conns, size) in stalled else ""
        yield (
            f"| {kind} | {conns} | {size} | {rate[0]:.0f} | {rate[1]:.0f} "
            f"| {ratio(*rate):.2f}{mark} | {cpu[0]:.2f} | {cpu[1]:.2f} | {ratio(*cpu):.2f}{mark} "
            f"| {rss[0]:.1f} | {rss[1]:.1f} |"
        )


def wrap(text, indent=""):
    """Prose lines of summary.md, at most 100 columns (tables stay one row a line)."""
    return textwrap.wrap(text, width=100, subsequent_indent=indent, break_on_hyphens=False)


def udp_lines(udp):
    if udp is None:
        return ["not run (--no-udp)"]
    if "skipped" in udp:
        return [f"skipped: {udp['skipped']}"]

    def show(value, digits=0):
        if value is None:
            return "?"
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    seconds = udp.get("flood_seconds")
    sent_per_s = (udp["sent"] / seconds if isinstance(udp.get("sent"), (int, float))
                  and isinstance(seconds, (int, float)) and seconds > 0 else None)
    return [
        *wrap(f"{show(udp.get('count'))} datagrams of {show(udp.get('size'))} B offered at "
              f"{show(udp.get('rate'))}/s to one udp-chat on loopback; lost = sent − received "
              "(the kernel's drops on the chat's socket are counted apart)."),
        "",
        "| sent | received | lost | loss % | logged | kernel drops | log lines | flood s "
        "| sent/s | logged/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {show(udp.get('sent'))} | {show(udp.get('received'))} | {show(udp.get('lost'))} "
        f"| {show(udp.get('loss_percent'), 2)} | {show(udp.get('logged'))} "
        f"| {show(udp.get('kernel_drops'))} | {show(udp.get('log_lines'))} "
        f"| {show(seconds, 3)} | {show(sent_per_s)} | {show(udp.get('logged_per_s'))} |",
    ]


PLOTS = [
    ("throughput.png", "messages/s against connections (linear, from 0)"),
    ("p50.png", "p50 latency against connections (log scale)"),
    ("p99.png", "p99 latency against connections (log scale)"),
    ("cpu.png", "server CPU µs per message against connections (linear, from 0)"),
    ("rss.png", "server peak RSS against connections (linear, from 0)"),
    ("threads.png", "server peak thread count against connections (linear, from 0)"),
]


def write_summary(table, udp, caveats, args, path):
    stalled = caveat_keys(caveats)
    out = [
        f"# Load test {args.stamp} ({args.mode})",
        "",
        f"Version {args.suite_version}, commit {args.commit}, host {args.host}, {args.cores} "
        f"cores, started {args.started_at}.",
        f"Command: `{' '.join(args.command_line) or 'scripts/load_test.sh'}`",
        "",
        *wrap(f"{args.duration} s per point, {args.runs} run(s) per point (medians shown, "
              "min–max of msgs/s in the last column), 64 B and 16 KiB messages one in flight per "
              "connection; bulk = 1 connection, 64 KiB, 4 in flight. Server CPU per message = "
              "server utime+stime over the whole loadgen run (connect phase included) / echoed "
              "messages. RSS and threads: peaks sampled from /proc every 0.2 s."),
        "",
        "| kind | server | conns | size B | msgs/s | MB/s | p50 µs | p99 µs | p99.9 µs | errors "
        "| mismatches | connect fail | CPU µs/msg | RSS MiB | threads | msgs/s min–max |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *summary_rows(table),
        "",
        "## Bulk transfer (1 connection, 64 KiB messages, 4 in flight)",
        "",
    ]
    bulk = list(bulk_rows(table))
    if bulk:
        out += [
            "| server | MB/s | MB/s min–max | msgs/s | p50 µs | p99 µs | CPU µs/msg | RSS MiB "
            "| threads | MB/s vs threads |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *bulk,
        ]
    else:
        out.append(f"not run ({args.mode} mode has no bulk point)")
    servers = server_order(table)
    if len(servers) > 1:
        out += [
            "",
            "## Servers side by side (same run, interleaved)",
            "",
            *wrap(f"Medians of msgs/s and server CPU µs per message for {', '.join(servers)}. "
                  "An \"ENGINE vs REFERENCE\" column divides the engine's msgs/s, then its CPU "
                  "µs/msg, by the reference server's: above 1 is more messages per second, or "
                  "more CPU per message, than the reference."),
            *side_by_side(table, stalled),
        ]
    if "asio" in compare_list(args):
        first = (engines_of(table) or ["ours"])[0]
        out += [
            "",
            "## Ours against the Asio blocking example (same run, interleaved)",
            "",
            f"Ours: the {first} engine.",
            "",
            "| kind | conns | size B | ours msgs/s | asio msgs/s | ratio | ours CPU µs/msg "
            "| asio CPU µs/msg | ratio | ours RSS MiB | asio RSS MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *comparison_rows(table, stalled),
        ]
        if stalled:
            out += ["", "† Not a like-for-like ratio: a Nagle stall sets the peer's pace "
                    "(see Caveats)."]
    if caveats:
        out += ["", "## Caveats", ""]
        for caveat in caveats:
            out += wrap(f"- Caveat: {caveat['text']}", indent="  ")
    out += ["", "## UDP flood into udp-chat", "", *udp_lines(udp), "", "## Plots", ""]
    if args.no_plots:
        out.append("not drawn (--no-plots)")
    else:
        out += [f"- {name}: {what}" for name, what in PLOTS]
        out += ["", *wrap("Lines are medians over the runs, bars min–max; one colour per "
                          "server, one dash pattern per message size; lines are set slightly "
                          "apart on the x axis so equal figures stay visible.")]
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


# The plots' data files: one per (server, size) of the sweep, one line per connection count.
PLOT_FIGURES = [
    ("msgs_per_s", 1.0), ("p50_us", 1.0), ("p99_us", 1.0), ("cpu_us_per_msg", 1.0),
    ("rss_peak_kb", 1.0 / 1024), ("threads_peak", 1.0),
]


def plot_series(table):
    """{(server, size): [points by connections]} for the sweep."""
    series = {}
    for p in table:
        if p["kind"] == "sweep":
            series.setdefault((p["server"], p["size"]), []).append(p)
    for points in series.values():
        points.sort(key=lambda p: numeric(p["connections"]))
    return series


def write_plot_data(table, folder):
    """SERVER-SIZE.dat per (server, size) of the sweep: connections, then median, min and max of
    each of PLOT_FIGURES (RSS in MiB), a commented header naming the columns."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = " ".join(f"{f}_median {f}_min {f}_max".replace("rss_peak_kb", "rss_peak_mib")
                     for f, _ in PLOT_FIGURES)
    files = {}
    for (server, size), points in plot_series(table).items():
        lines = [f"# connections {names}\n"]
        for p in points:
            cells = [p["connections"]]
            for figure, scale in PLOT_FIGURES:
                low, high = p["spread"][figure]
                cells += [f"{value * scale:.10g}" for value in (p[figure], low, high)]
            lines.append(" ".join(cells) + "\n")
        path = folder / f"{server}-{size}.dat"
        path.write_text("".join(lines), encoding="utf-8")
        files[(server, size)] = path
    return files


def gnuplot_string(text):
    """A gnuplot single-quoted string (no escapes inside; a quote is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def plot_script(table, files, caveats, args, out):
    """The gnuplot script drawing every PNG of PLOTS from the data files."""
    servers = server_order(table)
    sizes = sorted({size for _, size in files}, key=numeric)
    stalled = {(c["server"], str(c["size"])) for c in caveats if c["kind"] == "sweep"}
    notes = sorted({f"{server} {human_size(size)}" for server, size in stalled})
    note = ""
    if notes:
        note = (f"† {', '.join(notes)}: p50 ≥ {NAGLE_STALL_US / 1000:.0f} ms, Nagle + delayed "
                "ACK stalls (writes without TCP_NODELAY), not the server's work")
    lines = [
        "set encoding utf8",
        # Tall enough for one key entry per line (server and size) beside the plot.
        f"set terminal pngcairo size 1100,{max(620, 140 + 24 * len(files))} noenhanced "
        "font 'DejaVu Sans,10'",
        "set logscale x 10",
        "set xlabel 'connections (log scale)'",
        "set grid xtics ytics mxtics",
        "set key outside right top vertical box",
        "set bars small",
        "set pointsize 1.2",
        f"set xrange [{min_x(files) / 1.5:g}:{max_x(files) * 1.5:g}]",
    ]
    # column of each figure's median in the data files: 2, 5, 8, ...
    columns = {figure: 2 + 3 * i for i, (figure, _) in enumerate(PLOT_FIGURES)}
    mid = (len(servers) * len(sizes) - 1) / 2

    def plot_command(figure, log_y):
        column = columns[figure]
        # A log axis cannot show 0 (a run that echoed nothing): such a figure is left out.
        value = [f"(${c} > 0 ? ${c} : NaN)" if log_y else f"{c}"
                 for c in (column, column + 1, column + 2)]
        parts = []
        for i, server in enumerate(servers):
            colour = SERVER_COLOURS[i % len(SERVER_COLOURS)]
            for j, size in enumerate(sizes):
                factor = X_SPREAD ** (i * len(sizes) + j - mid)
                path = files.get((server, size))
                if path is None:
                    continue
                point = SERVER_POINTS[i % len(SERVER_POINTS)] - (j % 2)
                title = f"{server} {human_size(size)}"
                if (server, size) in stalled:
                    title += " †"
                x = f"($1*{factor:.4f})"
                # The min-max bar solid and thin whatever the line's dash pattern (a dashed bar
                # reads as stray fragments), then the median line with its points over it.
                parts.append(f"{gnuplot_string(str(path))} using {x}:{':'.join(value)} "
                             f"with yerrorbars lc rgb '{colour}' dt 1 lw 1 ps 0 notitle")
                parts.append(
                    f"{gnuplot_string(str(path))} using {x}:{value[0]} with linespoints "
                    f"lc rgb '{colour}' dt {j + 1} lw {2.2 if j == 0 else 1.6} pt {point} "
                    f"title {gnuplot_string(title)}")
        return "plot " + ", \\\n     ".join(parts)

    heading = f"({args.mode}, {args.stamp}; lines: medians, bars: min–max over runs)"
    for name, figure, label, log_y in [
        ("throughput.png", "msgs_per_s", "messages/s (echoed, verified)", False),
        ("p50.png", "p50_us", "p50 latency (µs, log scale)", True),
        ("p99.png", "p99_us", "p99 latency (µs, log scale)", True),
        ("cpu.png", "cpu_us_per_msg", "server CPU time per message (µs)", False),
        ("rss.png", "rss_peak_kb", "server peak RSS (MiB)", False),
        ("threads.png", "threads_peak", "server peak threads", False),
    ]:
        what = label.split(" (")[0]
        title = f"{what[0].upper()}{what[1:]} against connections {heading}"
        if note:
            title += "\n" + note
        if not log_y:
            y_range = "set yrange [0:*]"
        elif any(p[figure] > 0 for p in table if p["kind"] == "sweep"):
            y_range = "set yrange [*:*]"
        else:
            y_range = "set yrange [1:1000]"  # nothing to show; gnuplot cannot autoscale nothing
        lines += [
            f"set output {gnuplot_string(str(out / name))}",
            "set logscale y 10" if log_y else "unset logscale y",
            # Whole numbers on the log axis (100000, not 1e+05); gnuplot's own format elsewhere.
            "set format y '%.0f'" if log_y else "set format y '% h'",
            y_range,
            f"set ylabel {gnuplot_string(label)}",
            "set title " + " . \"\\n\" . ".join(gnuplot_string(t) for t in title.split("\n")),
            plot_command(figure, log_y),
        ]
    return "\n".join(lines) + "\n"


def min_x(files):
    return min(float(line.split()[0]) for path in files.values()
               for line in path.read_text(encoding="utf-8").splitlines()[1:])


def max_x(files):
    return max(float(line.split()[0]) for path in files.values()
               for line in path.read_text(encoding="utf-8").splitlines()[1:])


def draw_plots(table, caveats, args, out):
    """Writes the data files and the gnuplot script, and runs gnuplot (bounded: 120 s)."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.plot_data) if args.plot_data else Path(scratch)
        files = write_plot_data(table, folder)
        if args.no_plots or not files:
            return
        gnuplot = shutil.which("gnuplot")
        if gnuplot is None:
            raise ReportError("gnuplot is missing (scripts/setup.sh installs gnuplot-nox)")
        script = folder / "plots.gp"
        script.write_text(plot_script(table, files, caveats, args, out.resolve()),
                          encoding="utf-8")
        try:
            done = subprocess.run([gnuplot, str(script)], capture_output=True, text=True,
                                  timeout=120, check=False)
        except subprocess.TimeoutExpired as error:
            raise ReportError("gnuplot took more than 120 s") from error
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise ReportError(f"gnuplot failed (exit {done.returncode}): {last}")


def server_list(allowed):
    """An argparse type: a comma list of server names, each one of `allowed` when given."""
    def parse(text):
        names = [name for name in text.split(",") if name]
        wrong = [name for name in names if allowed is not None and name not in allowed]
        if wrong or not names:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a comma list of {', '.join(allowed or ['server names'])}")
        return ",".join(names)
    return parse


def parse_arguments(argv):
    # Everything after "--" is the load test's own command line, kept verbatim.
    command_line = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command_line = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("raw_csv")
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--duration", required=True, type=int)
    parser.add_argument("--runs", required=True, type=int)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--stamp", required=True)
    parser.add_argument("--cores", required=True, type=int)
    parser.add_argument("--suite-version", default="unknown")
    parser.add_argument("--started-at",
                        default=datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
    parser.add_argument("--host", default=socket.gethostname())
    udp = parser.add_mutually_exclusive_group()
    udp.add_argument("--udp-csv")
    udp.add_argument("--udp-skipped")
    parser.add_argument("--compare", type=server_list(COMPARED_SERVERS))
    parser.add_argument("--servers", type=server_list(None))
    parser.add_argument("--plot-data")
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    args.command_line = command_line
    return args


def main(argv):
    args = parse_arguments(argv)
    PREFERRED_ORDER[:] = (args.servers or "").split(",") if args.servers else []
    try:
        runs = read_runs(args.raw_csv)
        table = medians(runs)
        udp = read_udp(args)
        caveats = nagle_caveats(table)
        out = Path(args.out)
        write_results_csv(runs, out / "results.csv")
        write_results_json(runs, table, udp, caveats, args, out / "results.json")
        write_summary(table, udp, caveats, args, out / "summary.md")
        draw_plots(table, caveats, args, out)
    except (OSError, ReportError) as error:
        print(f"load_report.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
