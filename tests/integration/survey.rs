//! Survey analysis end to end through the CLI: a survey map from the stimulus set, two
//! hand-made Qualtrics exports (version A as choice text, version B as numeric codes) with
//! planted accuracies, a preview and a partial response, and personal data that must never
//! reach an output file.

use std::path::{Path, PathBuf};

use crate::common::{argv, error_rows, path_in, run, s, small_study};

const PII: [&str; 5] = [
    "198.51.100.",
    "@example.org",
    "Lastname",
    "EXTREF",
    "51.5007",
];

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A Qualtrics-style export of `n` respondents answering `questions` (id, true label, variant).
fn export(
    questions: &[(String, String, String)],
    choices: &[String],
    n: usize,
    numeric: bool,
    seed: u64,
) -> String {
    let mut rng = Lcg(seed);
    let meta = [
        "StartDate",
        "EndDate",
        "Status",
        "IPAddress",
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "RecordedDate",
        "ResponseId",
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "ExternalReference",
        "LocationLatitude",
        "LocationLongitude",
        "DistributionChannel",
        "UserLanguage",
    ];
    let mut ids: Vec<String> = meta.iter().map(|s| s.to_string()).collect();
    ids.extend(questions.iter().map(|q| q.0.clone()));
    ids.push("Q99_TEXT".into());
    let mut out = ids.join(",") + "\n";
    out += &ids
        .iter()
        .map(|i| format!("\"{i} (question text, ünïcode)\""))
        .collect::<Vec<_>>()
        .join(",");
    out += "\n";
    out += &ids
        .iter()
        .map(|i| format!("\"{{\"\"ImportId\"\":\"\"{i}\"\"}}\""))
        .collect::<Vec<_>>()
        .join(",");
    out += "\n";
    let code = |label: &str| -> String {
        if numeric {
            (choices.iter().position(|c| c == label).unwrap() + 1).to_string()
        } else {
            label.to_string()
        }
    };
    for r in 0..n + 2 {
        let preview = r == n;
        let partial = r == n + 1;
        let status = match (preview, numeric) {
            (true, false) => "Survey Preview",
            (true, true) => "1",
            (false, false) => "IP Address",
            (false, true) => "0",
        };
        let finished = if partial { "False" } else { "True" };
        let mut row = vec![
            "2026-01-05 10:00:00".to_string(),
            "2026-01-05 10:09:00".into(),
            status.into(),
            format!("198.51.100.{r}"),
            if partial { "40".into() } else { "100".into() },
            "540".into(),
            finished.into(),
            "2026-01-05 10:09:00".into(),
            format!("R_{seed}_{r}"),
            "Lastname".into(),
            "First".into(),
            format!("p{r}@example.org"),
            "EXTREF".into(),
            "51.5007".into(),
            "-0.1246".into(),
            "anonymous".into(),
            "EN".into(),
        ];
        for (k, (_, truth, variant)) in questions.iter().enumerate() {
            if partial && k > 3 {
                row.push(String::new());
                continue;
            }
            let p = if variant == "reconstructed" { 0.6 } else { 0.5 };
            let answer = if rng.next() < p {
                truth.clone()
            } else {
                let others: Vec<&String> = choices.iter().filter(|c| *c != truth).collect();
                others[(rng.next() * others.len() as f64) as usize % others.len()].clone()
            };
            row.push(code(&answer));
        }
        row.push("\"Looked at the eyes, then the mouth; \"\"happy\"\" face\"".into());
        out += &(row.join(",") + "\n");
    }
    out
}

/// The survey map of the small study's stimulus set (`survey map`) in `dir`, and one export
/// per version (A as choice text, B as numeric codes; 30 complete respondents each).
struct SurveyInputs {
    map: PathBuf,
    a: PathBuf,
    b: PathBuf,
}

fn survey_inputs(dir: &Path) -> SurveyInputs {
    small_study(dir, "");
    let map_path = dir.join("map.toml");
    let o = run(&[
        "survey",
        "map",
        "--stimuli",
        s(&dir.join("stimuli/manifest.toml")),
        "--out",
        s(&map_path),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let map = et_analysis::survey::SurveyMap::load(&map_path).unwrap();
    assert_eq!(map.questions.len(), 64);
    let qs = |v: &str| -> Vec<(String, String, String)> {
        map.questions
            .iter()
            .filter(|q| q.version == v)
            .map(|q| (q.question.clone(), q.condition.clone(), q.variant.clone()))
            .collect()
    };
    let a = dir.join("version_a.csv");
    let b = dir.join("version_b.csv");
    std::fs::write(&a, export(&qs("A"), &map.choices, 30, false, 1)).unwrap();
    std::fs::write(&b, export(&qs("B"), &map.choices, 30, true, 2)).unwrap();
    SurveyInputs {
        map: map_path,
        a,
        b,
    }
}

#[test]
fn planted_accuracies_are_recovered_and_no_personal_data_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let SurveyInputs {
        map: map_path,
        a,
        b,
    } = survey_inputs(dir.path());
    let out = dir.path().join("survey");
    let cmd = analyze(
        dir.path(),
        &map_path,
        &[format!("A={}", a.display()), format!("B={}", b.display())],
    );
    let o = run(&cmd.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t4 = std::fs::read_to_string(out.join("table4.csv")).unwrap();
    let all: Vec<&str> = t4
        .lines()
        .find(|l| l.starts_with("all,"))
        .unwrap()
        .split(',')
        .collect();
    let (n_rec, rec, n_man, man, p): (usize, f64, usize, f64, f64) = (
        all[2].parse().unwrap(),
        all[3].parse().unwrap(),
        all[4].parse().unwrap(),
        all[5].parse().unwrap(),
        all[7].parse().unwrap(),
    );
    // 60 complete respondents × 16 images per variant.
    assert_eq!((n_rec, n_man), (960, 960));
    assert!(
        (rec - 0.6).abs() < 0.05 && (man - 0.5).abs() < 0.05,
        "{rec} {man}"
    );
    assert!(p < 0.01, "p {p}");
    let versions = std::fs::read_to_string(out.join("versions.csv")).unwrap();
    assert!(
        versions.starts_with(
            "version,responses,previews,incomplete,complete,accuracy,versions_welch_p\n"
        ) && versions.contains("A,32,1,1,30,")
            && versions.contains("B,32,1,1,30,")
            && !versions.contains('#'),
        "{versions}"
    );
    // A confusion matrix per variant: true condition × every answer choice, counts.
    let confusion = std::fs::read_to_string(out.join("confusion_reconstructed.csv")).unwrap();
    assert!(confusion.starts_with("condition,"), "{confusion}");
    assert!(
        out.join("confusion_reconstructed.parquet").exists()
            && out.join("versions.parquet").exists()
    );
    assert!(out.join("figure4.png").exists());
    // Figure 4 as the paper lays it out: titled, both axes named, a percentage in every cell.
    let svg = std::fs::read_to_string(out.join("figure4.svg")).unwrap();
    for text in [
        "Figure 4",
        "reconstructed images",
        "manipulated images",
        "true condition",
        "answer",
        " %",
    ] {
        assert!(svg.contains(text), "Figure 4 lacks {text:?}");
    }
    for t in ["table4", "answers", "respondents"] {
        assert!(
            std::fs::read(out.join(format!("{t}.parquet")))
                .unwrap()
                .starts_with(b"PAR1"),
            "{t}.parquet"
        );
    }
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for pii in PII {
            assert!(!text.contains(pii), "{} contains {pii}", path.display());
        }
    }
}

/// The arguments of `survey analyze` of `exports` (VERSION=FILE) with the map, into `dir/survey`.
fn analyze(dir: &Path, map: &Path, exports: &[String]) -> Vec<String> {
    let mut cmd = argv(["survey", "analyze"]);
    cmd.extend(exports.iter().cloned());
    cmd.extend(argv(["--map", s(map), "--out", &path_in(dir, "survey")]));
    cmd
}

/// Version A's export with `edit` applied to its text, analysed alone.
fn analyze_edited_a(dir: &Path, edit: impl Fn(String) -> String) -> Vec<String> {
    let i = survey_inputs(dir);
    let edited = dir.join("edited.csv");
    std::fs::write(&edited, edit(std::fs::read_to_string(&i.a).unwrap())).unwrap();
    analyze(dir, &i.map, &[format!("A={}", edited.display())])
}

// Bad survey inputs: exports, answers, versions and maps.
error_rows! {
    survey_analyze_of_a_csv_that_is_no_export: |d| {
        let i = survey_inputs(d);
        std::fs::write(d.join("junk.csv"), "a,b\n1,2\n").unwrap();
        analyze(d, &i.map, &[path_in(d, "junk.csv")])
    } => "junk.csv: not a Qualtrics CSV export";
    survey_analyze_of_an_answer_outside_the_map: |d| analyze_edited_a(d, |t| {
        t.replacen(",WS,", ",Cornelia de Lange,", 1)
    }) => "is not one of the map's choices";
    survey_analyze_of_an_export_without_a_question_of_the_map: |d| analyze_edited_a(d, |t| {
        t.replacen(",Q1,", ",Q1_renamed,", 1)
    }) => "edited.csv: the map's question Q1 (version A";
    survey_analyze_of_a_version_the_map_lacks: |d| {
        let i = survey_inputs(d);
        analyze(d, &i.map, &[format!("C={}", i.a.display())])
    } => "version C";
    survey_analyze_of_more_exports_than_versions: |d| {
        let i = survey_inputs(d);
        analyze(d, &i.map, &[s(&i.a).into(), s(&i.b).into(), s(&i.a).into()])
    } => "more exports than survey versions in the map (A, B)";
    survey_analyze_of_a_missing_export: |d| {
        let i = survey_inputs(d);
        analyze(d, &i.map, &[format!("A={}", path_in(d, "nope.csv"))])
    } => "nope.csv";
    survey_analyze_with_a_missing_map: |d| {
        let i = survey_inputs(d);
        analyze(d, &d.join("nope.toml"), &[format!("A={}", i.a.display())])
    } => "nope.toml: cannot read the survey map";
    survey_map_of_a_missing_stimulus_set: |d| {
        argv(["survey", "map", "--stimuli", &path_in(d, "nope/manifest.toml"), "--out", &path_in(d, "map.toml")])
    } => "nope/manifest.toml";
    survey_map_onto_an_existing_file: |d| {
        let i = survey_inputs(d);
        argv(["survey", "map", "--stimuli", &path_in(d, "stimuli/manifest.toml"), "--out", s(&i.map)])
    } => "map.toml: already exists";
}
