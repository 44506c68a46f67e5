//! `compare --scaling [LIST]`: how the three runtimes scale with the server's worker
//! count (issue 18).
//!
//! For each worker count W in LIST (default 1, 2, 4, 8, 16; any positive integers) and
//! each connection count in `--scaling-conns` (default 64, 512):
//!
//! * **TCP echo**, 100-byte messages: the server child (`--echo-server`, see
//!   `magpie_benches::io`) runs on W workers; the client child is the same tokio program
//!   for every server, on a fixed number of threads (`--client-threads N`, default half
//!   the machine's CPUs, at least 1) so that only the server's runtime and W change.
//!   Runtimes are interleaved per round as in the other rows (`super::rotation`); the
//!   table shows the median QPS (echoed messages per second) and median p99 round trip
//!   over the rounds.
//! * **Scheduler rows** that stress cross-worker paths, timed at W workers with the
//!   same harness as the main table (`super::measure`), shown as time per operation.
//!   They are chosen among the rows whose work does not depend on
//!   `MAGPIE_BENCH_WORKERS` (so not `spawn_many_remote_busy`, whose busy-task count
//!   follows it rather than W).
//!
//! The layout follows monoio's benchmark table (connections x cores, QPS and p99 per
//! runtime). Output: printed, and written to `compare-scaling.md` in the target
//! directory; with `--write-docs` it also replaces the section of `docs/benchmarks.md`
//! between [`BEGIN`] and [`END`].

use std::fmt::Write as _;
use std::iter::Peekable;
use std::time::{Duration, Instant};

use magpie_benches::io::EchoResult;
use magpie_benches::registry;

use super::{Opts, echo_once, fmt_val, machine, measure, rotation, selected, target_dir};

/// Echo message size in bytes.
const SIZE: usize = 100;

/// The scheduler rows: workload name, operations per run, what one operation is.
/// The counts are the workloads' `Size::Full` sizes (`benches/src/workloads/`).
const SCHED_ROWS: [(&str, f64, &str); 3] = [
    ("yield_many", 200_000.0, "yield"),
    ("remote_spawn", 12_800.0, "spawn"),
    ("mpsc_contended_unbounded", 5_000.0, "message"),
];

/// Start marker of the section `--write-docs` replaces in `docs/benchmarks.md`.
pub(super) const BEGIN: &str = "<!-- compare-scaling:begin -->";
/// End marker of that section.
pub(super) const END: &str = "<!-- compare-scaling:end -->";

const RUNTIMES: [&str; 3] = ["magpie", "tokio", "smol"];

/// The scaling mode's command-line settings.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Args {
    /// `--scaling` was given.
    pub(super) on: bool,
    /// Server worker counts.
    workers: Vec<usize>,
    /// Connection counts of the echo table.
    conns: Vec<usize>,
    /// Client threads; `None`: half the CPUs, at least 1.
    client_threads: Option<usize>,
    /// `--scaling-conns` or `--client-threads` was given.
    extras: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            on: false,
            workers: vec![1, 2, 4, 8, 16],
            conns: vec![64, 512],
            client_threads: None,
            extras: false,
        }
    }
}

impl Args {
    /// An error if a scaling-only flag was given without `--scaling`.
    pub(super) fn check_unused(&self) -> Result<(), String> {
        if self.extras && !self.on {
            return Err("--scaling-conns and --client-threads need --scaling".into());
        }
        Ok(())
    }
}

/// Whether `flag` is one of the scaling mode's flags.
pub(super) fn is_flag(flag: &str) -> bool {
    matches!(flag, "--scaling" | "--scaling-conns" | "--client-threads")
}

/// Parses one scaling flag and its value. `--scaling`'s list is optional: the next
/// argument is taken as the list unless it starts with `-`.
pub(super) fn parse_flag<I: Iterator<Item = String>>(
    flag: &str,
    args: &mut Peekable<I>,
    a: &mut Args,
) -> Result<(), String> {
    let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
    match flag {
        "--scaling" => {
            a.on = true;
            if args.peek().is_some_and(|v| !v.starts_with('-')) {
                a.workers = parse_list(flag, &args.next().unwrap_or_default())?;
            }
        }
        "--scaling-conns" => {
            a.conns = parse_list(flag, &value()?)?;
            a.extras = true;
        }
        "--client-threads" => {
            let [n] = parse_list(flag, &value()?)?[..] else {
                return Err(format!("{flag} takes one positive integer"));
            };
            a.client_threads = Some(n);
            a.extras = true;
        }
        _ => return Err(format!("not a scaling flag: {flag}")),
    }
    Ok(())
}

/// Parses `1,2,4`: positive integers, comma-separated, no empty entries.
fn parse_list(flag: &str, s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(|v| match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "{flag}: {v:?} in {s:?} is not a positive integer (expected e.g. 1,2,4,8,16)"
            )),
        })
        .collect()
}

/// One runtime's echo result at one (connections, workers) cell: median QPS and
/// median p99, or why the runs failed.
type EchoCell = Result<(f64, Duration), String>;

/// One row of the echo table.
struct EchoRow {
    conns: usize,
    workers: usize,
    cells: [EchoCell; 3],
}

/// One row of the scheduler table: time per operation in ns (smol: `Err` = why not).
struct SchedRow {
    name: &'static str,
    op: &'static str,
    workers: usize,
    per_op: [Result<f64, String>; 3],
}

/// Runs the scaling mode and writes its table.
pub(super) fn run(o: &Opts) {
    let a = &o.scaling;
    let (cpus, model) = machine();
    let client = a.client_threads.unwrap_or((cpus / 2).max(1));
    let (run_ms, echo_rounds) = if o.quick { (400, 2) } else { (1500, 4) };
    let echo_rounds = o.rounds.map_or(echo_rounds, |r| r.clamp(1, 10));
    let load_before = loadavg();
    println!(
        "scaling: server workers {:?}, connections {:?} x {SIZE} B, client on tokio with \
         {}; {cpus} CPUs, {model}; load {load_before}",
        a.workers,
        a.conns,
        threads(client)
    );
    let started = Instant::now();
    let mut echo = Vec::new();
    if o.io {
        for &conns in &a.conns {
            for &w in &a.workers {
                let row = echo_row(conns, w, client, run_ms, echo_rounds);
                println!("{}", echo_line(&row, client, cpus));
                echo.push(row);
            }
        }
    }
    let sched = sched_rows(o, &a.workers);
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    let header = format!(
        "{cpus} CPUs, {model}; load average {load_before} before, {} after; client: tokio, \
         {}, own process; echo: {echo_rounds} rounds x {run_ms} ms per runtime \
         and cell{}",
        loadavg(),
        threads(client),
        if o.quick { "; --quick" } else { "" }
    );
    let md = markdown(&echo, &sched, &header, client, cpus);
    println!("\n{md}");
    let dir = target_dir();
    std::fs::create_dir_all(&dir).expect("create target dir");
    let out = dir.join("compare-scaling.md");
    std::fs::write(&out, &md).expect("write compare-scaling.md");
    println!("wrote {}", out.display());
    if o.write_docs {
        write_docs(&md);
    }
}

/// The echo measurements at one (connections, workers) cell, interleaved by round.
fn echo_row(conns: usize, workers: usize, client: usize, run_ms: u64, rounds: usize) -> EchoRow {
    let mut res: [Vec<EchoResult>; 3] = Default::default();
    let mut err: [Option<String>; 3] = Default::default();
    for r in 0..rounds {
        for i in rotation(r) {
            if err[i].is_some() {
                continue;
            }
            match echo_once(RUNTIMES[i], conns, SIZE, run_ms, (workers, client)) {
                Ok(e) => res[i].push(e),
                Err(e) => {
                    eprintln!("echo {conns}c x {workers}w on {}: {e}", RUNTIMES[i]);
                    err[i] = Some(e);
                }
            }
        }
    }
    let cells = std::array::from_fn(|i| match err[i].take() {
        Some(e) => Err(e),
        None => {
            let mut qps: Vec<f64> = res[i].iter().map(|e| 1e9 / e.ns_per_msg()).collect();
            qps.sort_by(f64::total_cmp);
            let mut p99: Vec<Duration> = res[i].iter().map(|e| e.p99).collect();
            p99.sort();
            Ok((qps[qps.len() / 2], p99[p99.len() / 2]))
        }
    });
    EchoRow {
        conns,
        workers,
        cells,
    }
}

/// The scheduler rows at every worker count (those `--filter` selects).
fn sched_rows(o: &Opts, workers: &[usize]) -> Vec<SchedRow> {
    let rounds = o.rounds.unwrap_or(if o.quick { 10 } else { 20 });
    let round_target = Duration::from_millis(if o.quick { 25 } else { 100 });
    let all = registry();
    let mut rows = Vec::new();
    for &w in workers {
        for (name, ops, op) in SCHED_ROWS {
            if !selected(o, name) {
                continue;
            }
            let wl = all
                .iter()
                .find(|x| x.name == name)
                .expect("a scaling row names a registered workload");
            let r = measure(wl, w, rounds, round_target, o.quick);
            let row = SchedRow {
                name,
                op,
                workers: w,
                per_op: [
                    Ok(r.magpie / ops),
                    Ok(r.tokio / ops),
                    r.smol.map(|s| s / ops),
                ],
            };
            println!("{}", sched_line(&row));
            rows.push(row);
        }
    }
    rows
}

/// `/proc/loadavg`'s three averages, or `unknown`.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// `1 client thread`, `8 client threads`.
fn threads(n: usize) -> String {
    format!("{n} client thread{}", if n == 1 { "" } else { "s" })
}

/// `1234567.8` as `1,234,568`.
fn fmt_qps(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `a / b` to two decimals, or `n/a`.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "n/a".into(),
    }
}

/// `W` or `W*` when server workers plus client threads exceed the CPUs.
fn workers_cell(workers: usize, client: usize, cpus: usize) -> String {
    if workers + client > cpus {
        format!("{workers}*")
    } else {
        workers.to_string()
    }
}

/// The echo table's cells for one row, after `connections × workers`.
fn echo_cells(r: &EchoRow) -> [String; 8] {
    let qps = |i: usize| r.cells[i].as_ref().ok().map(|c| c.0);
    let q = |i: usize| qps(i).map_or_else(|| "failed".into(), fmt_qps);
    let p = |i: usize| {
        r.cells[i].as_ref().map_or_else(
            |_| "failed".into(),
            |c| fmt_val(c.1.as_nanos() as f64, "ns"),
        )
    };
    [
        q(0),
        q(1),
        q(2),
        ratio(qps(0), qps(1)),
        ratio(qps(0), qps(2)),
        p(0),
        p(1),
        p(2),
    ]
}

fn echo_line(r: &EchoRow, client: usize, cpus: usize) -> String {
    let c = echo_cells(r);
    format!(
        "echo {:>4}c x {:<4} QPS {:>10} {:>10} {:>10}  m/t {:>5} m/s {:>5}  p99 {:>9} {:>9} {:>9}",
        r.conns,
        workers_cell(r.workers, client, cpus),
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        c[5],
        c[6],
        c[7]
    )
}

/// The scheduler table's cells for one row, after workload and workers.
fn sched_cells(r: &SchedRow) -> [String; 5] {
    let v = |i: usize| match &r.per_op[i] {
        Ok(ns) => format!("{}/{}", fmt_val(*ns, "ns"), r.op),
        Err(why) => format!("n/a: {why}"),
    };
    let t = |i: usize| r.per_op[i].as_ref().ok().copied();
    [v(0), v(1), v(2), ratio(t(0), t(1)), ratio(t(0), t(2))]
}

fn sched_line(r: &SchedRow) -> String {
    let c = sched_cells(r);
    format!(
        "{:<26} {:>3}w {:>14} {:>14} {:>14}  m/t {:>5} m/s {:>5}",
        r.name, r.workers, c[0], c[1], c[2], c[3], c[4]
    )
}

/// The markdown tables (echo, then scheduler rows).
fn markdown(
    echo: &[EchoRow],
    sched: &[SchedRow],
    header: &str,
    client: usize,
    cpus: usize,
) -> String {
    let mut s = format!("_{header}_\n\n");
    if !echo.is_empty() {
        s.push_str(
            "TCP echo, 100-byte messages. QPS = echoed messages per second (higher is \
             better, so a magpie/peer ratio **above** 1.0 means magpie is faster); p99 = \
             99th-percentile round trip.\n\n\
             | connections × workers | magpie QPS | tokio QPS | smol QPS | magpie/tokio \
             | magpie/smol | magpie p99 | tokio p99 | smol p99 |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in echo {
            let c = echo_cells(r);
            let w = workers_cell(r.workers, client, cpus);
            let _ = writeln!(s, "| {} × {w} | {} |", r.conns, c.join(" | "));
        }
        if echo.iter().any(|r| r.workers + client > cpus) {
            let _ = writeln!(
                s,
                "\n\\* oversubscribed: server workers + {} exceed the \
                 {cpus} CPUs, so the row measures sharing cores, not scaling.",
                threads(client)
            );
        }
        s.push('\n');
    }
    if !sched.is_empty() {
        s.push_str(
            "Scheduler rows at W workers: median time per operation (lower is better; \
             a ratio below 1.0 means magpie is faster).\n\n\
             | workload | workers | magpie | tokio | smol | magpie/tokio | magpie/smol |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in sched {
            let c = sched_cells(r);
            let _ = writeln!(s, "| {} | {} | {} |", r.name, r.workers, c.join(" | "));
        }
    }
    s
}

/// Replaces the text between [`BEGIN`] and [`END`] in `doc` with `md`.
fn replace_section(doc: &str, md: &str) -> Result<String, String> {
    let missing = || format!("docs/benchmarks.md has no `{BEGIN}` ... `{END}` section");
    let b = doc.find(BEGIN).ok_or_else(missing)? + BEGIN.len();
    let e = doc[b..].find(END).ok_or_else(missing)? + b;
    Ok(format!("{}\n{}{}", &doc[..b], md, &doc[e..]))
}

/// `--write-docs`: puts `md` into docs/benchmarks.md's marked section.
fn write_docs(md: &str) {
    let path = super::workspace().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).expect("read docs/benchmarks.md");
    match replace_section(&doc, md) {
        Ok(new) => {
            std::fs::write(&path, new).expect("write docs/benchmarks.md");
            println!("wrote {}", path.display());
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Args, String> {
        let mut a = Args::default();
        let mut it = argv.iter().map(|s| s.to_string()).peekable();
        while let Some(f) = it.next() {
            parse_flag(&f, &mut it, &mut a)?;
        }
        Ok(a)
    }

    #[test]
    fn scaling_list_is_optional_and_uncapped() {
        let a = parse(&["--scaling"]).unwrap();
        assert!(a.on);
        assert_eq!(a.workers, [1, 2, 4, 8, 16]);
        let a = parse(&["--scaling", "1,2,4,8,16,32,64"]).unwrap();
        assert_eq!(a.workers, [1, 2, 4, 8, 16, 32, 64]);
        // A following flag is not taken as the list.
        let a = parse(&["--scaling", "--scaling-conns", "8"]).unwrap();
        assert_eq!((a.workers.len(), a.conns.as_slice()), (5, &[8][..]));
    }

    #[test]
    fn bad_lists_are_rejected() {
        for bad in ["0", "1,,2", "1,x", "", "-1", "2.5"] {
            assert!(parse_list("--scaling", bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse(&["--scaling-conns"]).is_err());
        assert!(parse(&["--client-threads", "1,2"]).is_err());
        assert!(parse(&["--client-threads", "0"]).is_err());
        let a = parse(&["--client-threads", "3"]).unwrap();
        assert_eq!(a.client_threads, Some(3));
        assert!(
            a.check_unused().is_err(),
            "--client-threads without --scaling"
        );
    }

    #[test]
    fn section_is_replaced_between_markers_only() {
        let doc = format!("head\n{BEGIN}\nold\ntable\n{END}\ntail\n");
        let new = replace_section(&doc, "new\n").unwrap();
        assert_eq!(new, format!("head\n{BEGIN}\nnew\n{END}\ntail\n"));
        assert!(replace_section("no markers", "x").is_err());
        assert!(replace_section(&format!("{END} then {BEGIN}"), "x").is_err());
    }

    #[test]
    fn qps_and_oversubscription_cells() {
        assert_eq!(fmt_qps(1_234_567.6), "1,234,568");
        assert_eq!(fmt_qps(999.0), "999");
        assert_eq!(workers_cell(2, 1, 2), "2*");
        assert_eq!(workers_cell(1, 1, 2), "1");
        assert_eq!(ratio(Some(3.0), Some(2.0)), "1.50");
        assert_eq!(ratio(Some(3.0), None), "n/a");
    }
}
