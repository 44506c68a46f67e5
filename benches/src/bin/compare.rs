//! Runs every workload on magpie, tokio and smol, interleaved, and compares medians.
//!
//! ```text
//! cargo run --release -p magpie-benches --bin compare -- [--quick] [--filter NAME]...
//!     [--rounds N] [--workers N] [--no-mem] [--write-docs]
//!     [--scaling [LIST] [--scaling-conns LIST] [--client-threads N]]
//! ```
//!
//! For each workload the three runtimes are built (outside the timed region), warmed up,
//! then measured in rounds whose order rotates (magpie-tokio-smol, tokio-smol-magpie,
//! smol-magpie-tokio, then the same reversed), several iterations per round for short
//! workloads. The table shows the median of all samples and the magpie/tokio and
//! magpie/smol ratios (below 1.0: magpie is faster); a workload smol has no variant for
//! shows `n/a: <why>` in smol's column. Memory rows come from child processes
//! (`--mem-child magpie|tokio|smol`, hidden), one per runtime, so that allocation counts
//! and peak RSS never mix runtimes.
//!
//! Writes `compare.json`, `compare.md` and `compare.svg` to the target directory
//! (`CARGO_TARGET_DIR`, else `<workspace>/target`); `--write-docs` copies the chart to
//! `docs/benchmarks.svg`.
//!
//! `--scaling` runs the scaling mode instead (see `compare/scaling.rs`): TCP echo and a
//! few scheduler rows at 1, 2, 4, 8, 16 (or LIST) server workers, written to
//! `compare-scaling.md`; `--write-docs` then replaces the marked section of
//! `docs/benchmarks.md`.

#[path = "compare/scaling.rs"]
mod scaling;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use magpie_benches::io::{self, EchoResult};
use magpie_benches::{
    Flavor, Size, Workload, alloc, median, on_magpie, on_smol, on_tokio, registry,
};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// Idle tasks spawned to count bytes per task.
const BYTES_TASKS: usize = 10_000;
/// Idle tasks spawned for the peak-RSS row.
const RSS_TASKS: usize = 1_000_000;

struct Opts {
    quick: bool,
    filters: Vec<String>,
    rounds: Option<usize>,
    mem: bool,
    io: bool,
    write_docs: bool,
    scaling: scaling::Args,
}

struct Row {
    workload: String,
    unit: &'static str,
    magpie: f64,
    tokio: f64,
    /// smol's median, or why smol has none (`n/a: ...` in the table).
    smol: Result<f64, String>,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.magpie / self.tokio
    }

    fn smol_ratio(&self) -> Option<f64> {
        self.smol.as_ref().ok().map(|s| self.magpie / s)
    }

    /// smol's cell: the value, or `n/a: why`.
    fn smol_cell(&self) -> String {
        match &self.smol {
            Ok(v) => fmt_val(*v, self.unit),
            Err(why) => format!("n/a: {why}"),
        }
    }

    fn smol_ratio_cell(&self) -> String {
        self.smol_ratio()
            .map_or_else(|| "n/a".to_string(), |r| format!("{r:.2}"))
    }

    /// The console line.
    fn print(&self) {
        println!(
            "{:<30} {:>12} {:>12} {:>12} {:>7.2} {:>7}",
            self.workload,
            fmt_val(self.magpie, self.unit),
            fmt_val(self.tokio, self.unit),
            self.smol_cell(),
            self.ratio(),
            self.smol_ratio_cell()
        );
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: compare [--quick] [--filter NAME]... [--rounds N] [--workers N] [--no-mem] [--no-io] [--write-docs]\n       \
         compare --scaling [LIST] [--scaling-conns LIST] [--client-threads N] [--quick] [--rounds N] [--filter NAME]... [--no-io] [--write-docs]\n       \
         (LIST: comma-separated positive integers, e.g. 1,2,4,8,16)"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut o = Opts {
        quick: false,
        filters: Vec::new(),
        rounds: None,
        mem: true,
        io: true,
        write_docs: false,
        scaling: scaling::Args::default(),
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--filter" => o.filters.extend(
                args.next()
                    .unwrap_or_else(|| usage())
                    .split(',')
                    .map(String::from),
            ),
            "--rounds" => {
                o.rounds = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--workers" => {
                let n: usize = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
                // SAFETY: single-threaded here, before any runtime or thread starts.
                unsafe { std::env::set_var("MAGPIE_BENCH_WORKERS", n.to_string()) };
            }
            "--no-mem" => o.mem = false,
            "--no-io" => o.io = false,
            "--echo-server" => {
                // Hidden: `--echo-server magpie|tokio|smol`, see magpie_benches::io.
                match args.next().as_deref() {
                    Some("magpie") => io::on_magpie::serve(magpie_benches::workers()),
                    Some("tokio") => io::on_tokio::serve(magpie_benches::workers()),
                    Some("smol") => io::on_smol::serve(magpie_benches::workers()),
                    _ => usage(),
                }
                return;
            }
            "--echo-client" => {
                // Hidden: `--echo-client magpie|tokio PORT CONNS SIZE MILLIS`.
                let rt = args.next().unwrap_or_else(|| usage());
                let mut num = || -> u64 {
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage())
                };
                let (port, conns, size, ms) = (num() as u16, num() as usize, num() as usize, num());
                let run = Duration::from_millis(ms);
                let w = magpie_benches::workers();
                let r = match rt.as_str() {
                    "magpie" => io::on_magpie::client(w, port, conns, size, run),
                    "tokio" => io::on_tokio::client(w, port, conns, size, run),
                    _ => usage(),
                };
                println!("{}", r.to_line());
                return;
            }
            "--write-docs" => o.write_docs = true,
            "--mem-child" => {
                let rt = args.next().unwrap_or_else(|| usage());
                let n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(RSS_TASKS);
                mem_child(&rt, n);
                return;
            }
            "--run-one" => {
                // Hidden, for profilers: `--run-one magpie|tokio|smol WORKLOAD ITERS`.
                let rt = args.next().unwrap_or_else(|| usage());
                let name = args.next().unwrap_or_else(|| usage());
                let iters = args.next().and_then(|v| v.parse().ok()).unwrap_or(1);
                run_one(&rt, &name, iters);
                return;
            }
            "-h" | "--help" => usage(),
            flag if scaling::is_flag(flag) => {
                if let Err(e) = scaling::parse_flag(flag, &mut args, &mut o.scaling) {
                    eprintln!("{e}");
                    usage()
                }
            }
            // `cargo bench` style pass-through flags.
            "--bench" => {}
            other => {
                eprintln!("unknown argument {other}");
                usage()
            }
        }
    }
    if o.scaling.on {
        scaling::run(&o);
    } else if let Err(e) = o.scaling.check_unused() {
        eprintln!("{e}");
        usage()
    } else {
        run(o);
    }
}

fn selected(o: &Opts, name: &str) -> bool {
    o.filters.is_empty() || o.filters.iter().any(|f| name.contains(f.as_str()))
}

fn run(o: Opts) {
    let workers = magpie_benches::workers();
    let (cpus, model) = machine();
    let rounds = o.rounds.unwrap_or(if o.quick { 10 } else { 20 });
    let round_target = if o.quick {
        Duration::from_millis(25)
    } else {
        Duration::from_millis(100)
    };
    println!(
        "magpie vs tokio vs smol: {workers} worker threads each; machine: {cpus} CPUs, \
         {model}; {rounds} interleaved rounds{}",
        if o.quick { " (--quick)" } else { "" }
    );
    println!(
        "{:<30} {:>12} {:>12} {:>12} {:>7} {:>7}",
        "workload", "magpie", "tokio", "smol", "m/tokio", "m/smol"
    );
    let started = Instant::now();
    let mut rows = Vec::new();
    for w in registry() {
        if !selected(&o, w.name) {
            continue;
        }
        let row = measure(&w, workers, rounds, round_target, o.quick);
        row.print();
        rows.push(row);
    }
    if o.mem && (selected(&o, "mem_bytes_per_idle_task") || selected(&o, "mem_peak_rss_1m_idle")) {
        let n = RSS_TASKS;
        let m = mem_parent("magpie", n);
        let t = mem_parent("tokio", n);
        let sm = mem_parent("smol", n).ok_or_else(|| "child failed".to_string());
        if let (Some(m), Some(t)) = (m, t) {
            for (i, name) in [
                "mem_bytes_per_idle_task".to_string(),
                format!("mem_peak_rss_{}k_idle_tasks", n / 1000),
            ]
            .into_iter()
            .enumerate()
            {
                let row = Row {
                    workload: name,
                    unit: "bytes",
                    magpie: m[i],
                    tokio: t[i],
                    smol: sm.clone().map(|s| s[i]),
                };
                row.print();
                rows.push(row);
            }
        }
    }
    magpie_benches::remove_fs_fixtures();
    if o.io {
        echo_rows(&o, workers, &mut rows);
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());

    let header = format!(
        "{workers} worker threads each; {cpus} CPUs, {model}; {rounds} rounds{}",
        if o.quick { ", --quick" } else { "" }
    );
    let dir = target_dir();
    std::fs::create_dir_all(&dir).expect("create target dir");
    std::fs::write(dir.join("compare.json"), json(&rows)).expect("write compare.json");
    std::fs::write(dir.join("compare.md"), markdown(&rows, &header)).expect("write compare.md");
    let svg = svg(&rows, &header);
    std::fs::write(dir.join("compare.svg"), &svg).expect("write compare.svg");
    println!("wrote {}/compare.{{json,md,svg}}", dir.display());
    if o.write_docs {
        let docs = workspace().join("docs/benchmarks.svg");
        std::fs::write(&docs, &svg).expect("write docs/benchmarks.svg");
        println!("wrote {}", docs.display());
    }
}

/// Samples one runtime's workload `k` times into `out`.
fn sample<R>(rt: &R, f: fn(&R, Size) -> Duration, k: usize, out: &mut Vec<Duration>) {
    for _ in 0..k {
        out.push(f(rt, Size::Full));
    }
}

fn measure(
    w: &Workload,
    workers: usize,
    rounds: usize,
    round_target: Duration,
    quick: bool,
) -> Row {
    let mrt = on_magpie::build(w.flavor, workers);
    let trt = on_tokio::build(w.flavor, workers);
    let srt = w.smol.is_ok().then(|| on_smol::build(w.flavor, workers));
    // Samples of runtime `i` (0 magpie, 1 tokio, 2 smol), `k` iterations.
    let mut samples: [Vec<Duration>; 3] = Default::default();
    let go = |i: usize, k: usize, samples: &mut [Vec<Duration>; 3]| match i {
        0 => sample(&mrt, w.magpie, k, &mut samples[0]),
        1 => sample(&trt, w.tokio, k, &mut samples[1]),
        _ => {
            if let (Some(srt), Ok(f)) = (&srt, w.smol) {
                sample(srt, f, k, &mut samples[2]);
            }
        }
    };
    // Warm-up: also tells how many iterations make a round long enough.
    let warm = if quick { 2 } else { 3 };
    for _ in 0..warm {
        for i in 0..3 {
            go(i, 1, &mut samples);
        }
    }
    let one = samples
        .iter_mut()
        .map(|v| median(v))
        .max()
        .unwrap_or_default()
        .max(Duration::from_micros(1));
    let k = ((round_target.as_secs_f64() / one.as_secs_f64()) as usize).clamp(1, 200);
    samples.iter_mut().for_each(Vec::clear);
    for r in 0..rounds {
        for i in rotation(r) {
            go(i, k, &mut samples);
        }
    }
    drop(mrt);
    drop(trt);
    drop(srt);
    let [mut ms, mut ts, mut ss] = samples;
    Row {
        workload: w.name.to_string(),
        unit: "ns",
        magpie: median(&mut ms).as_nanos() as f64,
        tokio: median(&mut ts).as_nanos() as f64,
        smol: match w.smol {
            Ok(_) => Ok(median(&mut ss).as_nanos() as f64),
            Err(why) => Err(why.to_string()),
        },
    }
}

/// Round `r`'s order of the runtimes (0 magpie, 1 tokio, 2 smol): who goes first
/// rotates, and every other cycle of three runs in reverse.
fn rotation(r: usize) -> [usize; 3] {
    let mut order = [r % 3, (r + 1) % 3, (r + 2) % 3];
    if (r / 3) % 2 == 1 {
        order.reverse();
    }
    order
}

/// Runs one workload on one runtime `iters` times and prints the median (for perf,
/// callgrind and friends, which should see one runtime only).
fn run_one(rt: &str, name: &str, iters: usize) {
    let workers = magpie_benches::workers();
    let w = registry()
        .into_iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| {
            eprintln!("no workload named {name}");
            usage()
        });
    let mut v = Vec::with_capacity(iters);
    match rt {
        "magpie" => sample(
            &on_magpie::build(w.flavor, workers),
            w.magpie,
            iters,
            &mut v,
        ),
        "tokio" => sample(&on_tokio::build(w.flavor, workers), w.tokio, iters, &mut v),
        "smol" => match w.smol {
            Ok(f) => sample(&on_smol::build(w.flavor, workers), f, iters, &mut v),
            Err(why) => {
                eprintln!("{name} on smol: n/a: {why}");
                std::process::exit(1)
            }
        },
        _ => usage(),
    }
    if std::env::var_os("MAGPIE_BENCH_SAMPLES").is_some() {
        println!("samples: {v:?}");
    }
    let med = median(&mut v);
    println!(
        "{name} on {rt}: median {med:?}, min {:?}, max {:?} over {iters}",
        v[0],
        v[v.len() - 1]
    );
}

/// The TCP echo rows: for every (connections, size), each server runtime in its own
/// process, driven by the same client program in another (see `magpie_benches::io`).
fn echo_rows(o: &Opts, workers: usize, rows: &mut Vec<Row>) {
    let (run_ms, rounds) = if o.quick { (400, 2) } else { (1500, 4) };
    let rounds = o.rounds.map_or(rounds, |r| r.clamp(1, 10));
    println!(
        "tcp echo: server on {workers} workers per runtime, client on {} in its own \
         process; {rounds} rounds of {run_ms} ms",
        io::CLIENT_RT
    );
    let (conns_list, sizes) = io::ECHO_MATRIX;
    for &conns in conns_list {
        for &size in sizes {
            let name = format!("tcp_echo_{conns}c_{}", io::size_label(size));
            if !selected(o, &name) {
                continue;
            }
            let mut res: [Vec<EchoResult>; 3] = Default::default();
            let mut smol_err = None;
            for r in 0..rounds {
                for i in rotation(r) {
                    let rt = ["magpie", "tokio", "smol"][i];
                    if i == 2 && smol_err.is_some() {
                        continue;
                    }
                    match echo_once(rt, conns, size, run_ms, (workers, workers)) {
                        Ok(e) => res[i].push(e),
                        Err(e) if i == 2 => {
                            eprintln!("{name} on smol: {e}");
                            smol_err = Some(format!("server failed: {e}"));
                        }
                        Err(e) => {
                            eprintln!("{name} on {rt}: {e}");
                            return;
                        }
                    }
                }
            }
            let med = |v: &[EchoResult], f: fn(&EchoResult) -> f64| {
                let mut xs: Vec<f64> = v.iter().map(f).collect();
                xs.sort_by(f64::total_cmp);
                xs[xs.len() / 2]
            };
            let metrics: [EchoMetric; 3] = [
                ("", "ns/msg", EchoResult::ns_per_msg),
                ("_p50", "ns", |e| e.p50.as_nanos() as f64),
                ("_p99", "ns", |e| e.p99.as_nanos() as f64),
            ];
            for (suffix, unit, f) in metrics {
                let row = Row {
                    workload: format!("{name}{suffix}"),
                    unit,
                    magpie: med(&res[0], f),
                    tokio: med(&res[1], f),
                    smol: match &smol_err {
                        Some(e) => Err(e.clone()),
                        None => Ok(med(&res[2], f)),
                    },
                };
                row.print();
                rows.push(row);
            }
        }
    }
}

/// An echo row: name suffix, unit, and how to read it from a result.
type EchoMetric = (&'static str, &'static str, fn(&EchoResult) -> f64);

/// One measurement: start a server child on `rt`, run the client child against it,
/// stop the server. `threads` is (server workers, client workers).
fn echo_once(
    rt: &str,
    conns: usize,
    size: usize,
    run_ms: u64,
    threads: (usize, usize),
) -> Result<EchoResult, String> {
    use std::io::BufRead;
    use std::process::Stdio;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut server = Command::new(&exe)
        .args(["--echo-server", rt])
        .env("MAGPIE_BENCH_WORKERS", threads.0.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start server: {e}"))?;
    let port = {
        let out = server.stdout.take().expect("piped");
        let mut line = String::new();
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| format!("server said {line:?}"))
    };
    let result = port.and_then(|port| {
        let out = Command::new(&exe)
            .args([
                "--echo-client",
                io::CLIENT_RT,
                &port.to_string(),
                &conns.to_string(),
                &size.to_string(),
                &run_ms.to_string(),
            ])
            .env("MAGPIE_BENCH_WORKERS", threads.1.to_string())
            .output()
            .map_err(|e| format!("run client: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().find_map(EchoResult::parse).ok_or_else(|| {
            format!(
                "client failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })
    });
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// Child process: prints `bytes_per_task hwm_bytes` for one runtime.
fn mem_child(rt: &str, n: usize) {
    let workers = magpie_benches::workers();
    macro_rules! go {
        ($m:ident) => {{
            let rt = $m::build(Flavor::Multi, workers);
            // Warm the runtime (thread-locals, queues) before counting.
            drop($m::spawn_idle(&rt, 100));
            let before = alloc::allocated();
            let hs = $m::spawn_idle(&rt, BYTES_TASKS);
            let after = alloc::allocated();
            // The Vec of handles is the caller's, not the runtime's.
            let vec_bytes = hs.capacity() * std::mem::size_of_val(&hs[0]);
            let per = (after - before - vec_bytes) as f64 / BYTES_TASKS as f64;
            drop(hs);
            drop(rt);
            let rt = $m::build(Flavor::Multi, workers);
            let hs = $m::spawn_idle(&rt, n);
            let hwm = alloc::proc_status_kib("VmHWM").unwrap_or(0) * 1024;
            drop(hs);
            drop(rt);
            println!("MEM {per} {hwm}");
        }};
    }
    match rt {
        "magpie" => go!(on_magpie),
        "tokio" => go!(on_tokio),
        "smol" => go!(on_smol),
        _ => usage(),
    }
}

fn mem_parent(rt: &str, n: usize) -> Option<[f64; 2]> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args(["--mem-child", rt, &n.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("MEM "));
    let Some(line) = line else {
        eprintln!(
            "memory child for {rt} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    };
    let mut it = line[4..].split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??])
}

fn fmt_val(v: f64, unit: &str) -> String {
    match unit {
        "bytes" if v >= 1024.0 * 1024.0 => format!("{:.1} MiB", v / (1024.0 * 1024.0)),
        "bytes" => format!("{v:.0} B"),
        "ns/msg" => format!("{}/msg", fmt_val(v, "ns")),
        _ if v >= 1e9 => format!("{:.2} s", v / 1e9),
        _ if v >= 1e6 => format!("{:.2} ms", v / 1e6),
        _ if v >= 1e3 => format!("{:.1} µs", v / 1e3),
        _ => format!("{v:.0} ns"),
    }
}

fn machine() -> (usize, String) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(
            || std::env::consts::ARCH.to_string(),
            |s| s.trim().to_string(),
        );
    (cpus, model)
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace().join(d)
            }
        }
        _ => workspace().join("target"),
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json(rows: &[Row]) -> String {
    let mut s = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let (smol, smol_ratio, smol_na) = match &r.smol {
            Ok(v) => (
                format!("{v:.0}"),
                format!("{:.4}", r.magpie / v),
                "null".to_string(),
            ),
            Err(why) => ("null".into(), "null".into(), json_str(why)),
        };
        let _ = writeln!(
            s,
            "  {{\"workload\": {}, \"unit\": {}, \"magpie_ns\": {:.0}, \"tokio_ns\": {:.0}, \
             \"ratio\": {:.4}, \"smol_ns\": {smol}, \"smol_ratio\": {smol_ratio}, \
             \"smol_na\": {smol_na}}}{}",
            json_str(&r.workload),
            json_str(r.unit),
            r.magpie,
            r.tokio,
            r.ratio(),
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    s.push_str("]\n");
    s
}

fn markdown(rows: &[Row], header: &str) -> String {
    let mut s = format!(
        "_{header}_\n\n| workload | magpie | tokio | smol | magpie/tokio | magpie/smol |\n\
         |---|---:|---:|---:|---:|---:|\n"
    );
    let mark = |r: f64| if r <= 1.0 { "" } else { " ▲" };
    for r in rows {
        let ratio = r.ratio();
        let smol_ratio = r
            .smol_ratio()
            .map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}{}", mark(x)));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.2}{} | {} |",
            r.workload,
            fmt_val(r.magpie, r.unit),
            fmt_val(r.tokio, r.unit),
            r.smol_cell(),
            ratio,
            mark(ratio),
            smol_ratio
        );
    }
    s
}

/// A horizontal bar chart of the ratios, log scale, 1.0 marked.
fn svg(rows: &[Row], header: &str) -> String {
    let (label_w, plot_w, bar_h, gap, top) = (240.0, 480.0, 16.0, 6.0, 48.0);
    let (lo, hi) = (0.25f64.ln(), 4.0f64.ln());
    let x = |r: f64| label_w + (r.clamp(0.25, 4.0).ln() - lo) / (hi - lo) * plot_w;
    let height = top + rows.len() as f64 * (bar_h + gap) + 30.0;
    let width = label_w + plot_w + 70.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">magpie / tokio \
         (median time or bytes; below 1.0 = magpie better; log scale)</text>\n\
         <text x=\"10\" y=\"36\" fill=\"#555\">{}</text>\n",
        xml(header)
    );
    for t in [0.25, 0.5, 1.0, 2.0, 4.0] {
        let xt = x(t);
        let _ = write!(
            s,
            "<line x1=\"{xt:.1}\" y1=\"{top}\" x2=\"{xt:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"{}\"/>\n\
             <text x=\"{xt:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{t}</text>\n",
            height - 24.0,
            if t == 1.0 { "#000" } else { "#ddd" },
            if t == 1.0 { 1.5 } else { 1.0 },
            height - 10.0
        );
    }
    let one = x(1.0);
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * (bar_h + gap);
        let ratio = r.ratio();
        let xr = x(ratio);
        let (x0, w) = if xr < one {
            (xr, one - xr)
        } else {
            (one, xr - one)
        };
        let color = if ratio <= 1.0 { "#2e8b57" } else { "#c0392b" };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n\
             <rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar_h}\" fill=\"{color}\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{ratio:.2}</text>\n",
            label_w - 8.0,
            y + bar_h - 4.0,
            xml(&r.workload),
            w.max(1.0),
            label_w + plot_w + 8.0,
            y + bar_h - 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
