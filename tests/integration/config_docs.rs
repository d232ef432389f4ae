//! The configuration as the README and `--help` document it, held against the declarations
//! (as rust-analyzer keeps its manual's settings true): every sample config in the README
//! parses into its type (unknown keys refused), every key the type declares is documented,
//! documented values are the defaults where the README says they are, every bound a comment
//! states is the bound `validate()` enforces, and `analyze --help` lists every key. A drifted
//! document fails here.

use std::collections::{BTreeMap, BTreeSet};

use et_analysis::AnalysisConfig;
use et_sessions::config::StudyConfig;
use et_stimuli::aoi::AoiFile;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The ```toml blocks between `heading` and the next heading of its level or above.
fn toml_blocks_under(heading: &str) -> Vec<String> {
    let text = readme();
    let level = heading.chars().take_while(|c| *c == '#').count();
    let mut lines = text.lines().skip_while(|l| l.trim() != heading).skip(1);
    let (mut blocks, mut current): (Vec<String>, Option<String>) = (Vec::new(), None);
    for line in lines.by_ref() {
        if current.is_none() {
            let hashes = line.chars().take_while(|c| *c == '#').count();
            if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
                break;
            }
        }
        match (&mut current, line.trim()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        !blocks.is_empty(),
        "README: no toml block under {heading:?}"
    );
    blocks
}

/// One `key = value  # comment` line of a documented config, with the table it is in.
#[derive(Debug, Clone)]
struct Line {
    index: usize,
    table: String,
    key: String,
    value: String,
    comment: String,
    /// Written as a comment (`# replay = …`): documented but not set.
    commented_out: bool,
}

impl Line {
    fn path(&self) -> String {
        if self.table.is_empty() {
            self.key.clone()
        } else {
            format!("{}.{}", self.table, self.key)
        }
    }
}

/// The documented lines of a block, and each table header's own comment.
fn lines_of(block: &str) -> (Vec<Line>, BTreeMap<String, String>) {
    let (mut out, mut table_comments, mut table) = (Vec::new(), BTreeMap::new(), String::new());
    for (index, raw) in block.lines().enumerate() {
        let t = raw.trim();
        let (code, comment) = split_comment(t);
        if let Some(name) = code.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
            table = name.trim_matches(['[', ']']).to_string();
            table_comments.insert(table.clone(), comment.to_string());
            continue;
        }
        let (commented_out, code) = match code.is_empty() {
            true => (true, split_comment(comment).0),
            false => (false, code),
        };
        let Some((key, value)) = code.split_once(" = ") else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        out.push(Line {
            index,
            table: table.clone(),
            key: key.to_string(),
            value: value.trim().to_string(),
            comment: if commented_out {
                String::new()
            } else {
                comment.to_string()
            },
            commented_out,
        });
    }
    (out, table_comments)
}

/// `code  # comment` split at the first `#` outside a string.
fn split_comment(line: &str) -> (&str, &str) {
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return (line[..i].trim(), line[i + 1..].trim()),
            _ => {}
        }
    }
    (line.trim(), "")
}

/// The dotted paths of every value in a TOML value (tables descended, arrays and inline
/// tables of values taken whole).
fn leaf_paths(v: &toml::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        toml::Value::Table(t) if prefix.is_empty() || !t.is_empty() => {
            for (k, v) in t {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_paths(v, &p, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

/// Every key the default value serialises is documented in `lines` (a map of values such as
/// `mouth = { weight, dwell_ms }` documents its entries too).
fn assert_every_key_documented<T: serde::Serialize>(default: &T, lines: &[Line], what: &str) {
    let mut declared = BTreeSet::new();
    leaf_paths(&toml::Value::try_from(default).unwrap(), "", &mut declared);
    let documented: BTreeSet<String> = lines.iter().map(Line::path).collect();
    let missing: Vec<&String> = declared
        .iter()
        .filter(|k| {
            // A value documented whole (an inline table) documents its entries; a table
            // whose keys are all unset by default is documented by any of its keys.
            !documented.contains(*k)
                && !documented.iter().any(|d| k.starts_with(&format!("{d}.")))
                && !documented.iter().any(|d| d.starts_with(&format!("{k}.")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "README's {what} does not document {missing:?}"
    );
}

/// A bound stated in a comment: `1 to 1000`, `at least 80`, `≤ 101`, `at most 600000`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound {
    low: Option<f64>,
    high: Option<f64>,
}

fn bound_in(comment: &str) -> Option<Bound> {
    let words: Vec<&str> = comment
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let num = |w: &str| w.parse::<f64>().ok();
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().and_then(num);
        match *w {
            "to" => {
                if let (Some(low), Some(high)) =
                    (i.checked_sub(1).and_then(|j| num(words[j])), next)
                {
                    return Some(Bound {
                        low: Some(low),
                        high: Some(high),
                    });
                }
            }
            "≤" => {
                return next.map(|h| Bound {
                    low: None,
                    high: Some(h),
                })
            }
            "most" if i > 0 && words[i - 1] == "at" => {
                return next.map(|h| Bound {
                    low: None,
                    high: Some(h),
                })
            }
            "least" if i > 0 && words[i - 1] == "at" => {
                return next.map(|l| Bound {
                    low: Some(l),
                    high: None,
                })
            }
            _ => {}
        }
    }
    None
}

/// `block` with line `index`'s value replaced by `value`.
fn with_value(block: &str, line: &Line, value: f64) -> String {
    let integer = !line.value.contains('.');
    let v = if integer {
        format!("{}", value as i64)
    } else {
        format!("{value:?}")
    };
    block
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == line.index {
                format!("{} = {v}\n", line.key)
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Every bound a comment states (on the key's line, else on its table's header) is what
/// `accepts` enforces: the bound itself is accepted, a value beyond it refused. Returns how
/// many bounds were checked.
fn assert_bounds_hold(block: &str, accepts: impl Fn(&str) -> Result<(), String>) -> usize {
    let (lines, tables) = lines_of(block);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in lines.iter().filter(|l| !l.commented_out) {
        let Ok(current) = line.value.parse::<f64>() else {
            continue;
        };
        let Some(bound) = bound_in(&line.comment).or_else(|| {
            tables
                .get(&line.table)
                .and_then(|c| bound_in(c))
                .filter(|_| !line.table.is_empty())
        }) else {
            continue;
        };
        let integer = !line.value.contains('.');
        let step = |b: f64| {
            if integer {
                (b.abs() * 2.0).max(2.0) + 1.0
            } else {
                b.abs().max(1.0) * 0.5
            }
        };
        let _ = current;
        for (at, beyond) in [
            (bound.low, bound.low.map(|l| l - step(l))),
            (bound.high, bound.high.map(|h| h + step(h))),
        ] {
            let (Some(at), Some(beyond)) = (at, beyond) else {
                continue;
            };
            checked += 1;
            if let Err(e) = accepts(&with_value(block, line, at)) {
                wrong.push(format!(
                    "{} = {at} (a documented bound) is refused: {e}",
                    line.path()
                ));
            }
            if accepts(&with_value(block, line, beyond)).is_ok() {
                wrong.push(format!(
                    "{} = {beyond} (beyond the documented bound {bound:?}) is accepted",
                    line.path()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "README bounds that do not hold: {wrong:#?}"
    );
    checked
}

/// A config's text as its program takes it: parsed (unknown keys refused), then validated.
fn accepts<T: serde::de::DeserializeOwned, E: std::fmt::Display>(
    text: &str,
    validate: impl Fn(&T) -> Result<(), E>,
) -> Result<(), String> {
    let cfg: T = toml::from_str(text).map_err(|e| e.to_string())?;
    validate(&cfg).map_err(|e| e.to_string())
}

/// The first toml block under `heading`, which must be accepted as a `T` and document every
/// key `T` declares; the block and the config it holds.
fn documented_config<T, E>(heading: &str, validate: impl Fn(&T) -> Result<(), E>) -> (String, T)
where
    T: serde::de::DeserializeOwned + serde::Serialize + Default,
    E: std::fmt::Display,
{
    let block = toml_blocks_under(heading).swap_remove(0);
    let cfg: T = toml::from_str(&block).unwrap_or_else(|e| panic!("README {heading}: {e}"));
    validate(&cfg).unwrap_or_else(|e| panic!("README {heading}: {e}"));
    let (lines, _) = lines_of(&block);
    assert_every_key_documented(&T::default(), &lines, heading);
    (block, cfg)
}

#[test]
fn the_readme_analysis_config_parses_and_documents_every_key() {
    let (block, cfg) = documented_config("### Analysis config", AnalysisConfig::validate);
    // The values shown are the defaults, except where the README says otherwise: the [ivt]
    // values are the tobii-studio preset's (the default `auto` gives Studio exports exactly
    // these), and [exclusion] is off unless set.
    let default = AnalysisConfig::default();
    let studio = "Tobii Studio 3.4.8";
    let shown = cfg.ivt.resolve(studio);
    assert!(
        !shown.overridden,
        "README's [ivt] values are not tobii-studio's: {shown:?}"
    );
    assert_eq!(shown.cfg, default.ivt.resolve(studio).cfg);
    assert_eq!(
        AnalysisConfig {
            ivt: default.ivt.clone(),
            exclusion: default.exclusion,
            ..cfg
        },
        default,
        "README's analysis config shows values other than the defaults"
    );
    assert!(assert_bounds_hold(&block, |t| accepts(t, AnalysisConfig::validate)) >= 4);
}

#[test]
fn analyze_help_lists_every_key_the_readme_documents() {
    let out = crate::common::run(&["analyze", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).replace(['\n', ' '], "");
    let block = &toml_blocks_under("### Analysis config")[0];
    let (lines, tables) = lines_of(block);
    for key in lines
        .iter()
        .filter(|l| l.table.is_empty())
        .map(|l| l.key.clone())
        .chain(
            tables
                .keys()
                .filter(|t| !t.contains('.'))
                .map(|t| format!("[{t}]")),
        )
    {
        assert!(
            help.contains(&key),
            "analyze --help does not name {key}: {help}"
        );
    }
    assert_eq!(
        AnalysisConfig::keys()
            .iter()
            .filter(|k| k.starts_with('['))
            .count(),
        tables.keys().filter(|t| !t.contains('.')).count(),
        "tables: {:?} vs README {:?}",
        AnalysisConfig::keys(),
        tables.keys()
    );
}

#[test]
fn the_readme_study_config_parses_and_documents_every_key() {
    let (block, cfg) = documented_config("### Study config", StudyConfig::validate);
    // "defaults are the study's": the screen, timing and tracker rate shown are the defaults.
    let default = StudyConfig::default();
    assert_eq!(cfg.screen, default.screen);
    assert_eq!(cfg.timing, default.timing);
    assert_eq!(cfg.tracker.sampling_hz, default.tracker.sampling_hz);
    assert_eq!(cfg.tracker.silence_ms, default.tracker.silence_ms);
    assert_eq!(cfg.attention, default.attention);
    assert_eq!(cfg.display.style, default.display.style);
    assert!(assert_bounds_hold(&block, |t| accepts(t, StudyConfig::validate)) >= 6);
}

#[test]
fn the_readme_aoi_file_parses() {
    let dir = tempfile::tempdir().unwrap();
    let blocks = toml_blocks_under("### Analysis config");
    let aoi = blocks
        .iter()
        .find(|b| b.contains("[[aoi]]"))
        .expect("README shows an AOI file");
    // Its mask is a file beside it.
    std::fs::create_dir_all(dir.path().join("masks")).unwrap();
    image::GrayImage::new(4, 4)
        .save(dir.path().join("masks/ws01_smile.png"))
        .unwrap();
    let path = dir.path().join("aois.toml");
    std::fs::write(&path, aoi).unwrap();
    let f = AoiFile::load(&path).unwrap_or_else(|e| panic!("README's AOI file: {e}"));
    assert_eq!(f.aoi[0].name, "mouth");
}

/// The bound reader itself: each phrase the README uses.
#[test]
fn bounds_are_read_as_the_readme_writes_them() {
    let b = |low, high| Some(Bound { low, high });
    assert_eq!(bound_in("1 to 1000"), b(Some(1.0), Some(1000.0)));
    assert_eq!(
        bound_in("for test = \"permutation\" (100 to 1000000)"),
        b(Some(100.0), Some(1e6))
    );
    assert_eq!(
        bound_in("no sample for longer (at least 80)"),
        b(Some(80.0), None)
    );
    assert_eq!(
        bound_in("odd number of samples (≤ 101)"),
        b(None, Some(101.0))
    );
    assert_eq!(
        bound_in("each screen at most 600000 ms (10 minutes)"),
        b(None, Some(600000.0))
    );
    assert_eq!(bound_in("a Tobii's rate"), None);
}
