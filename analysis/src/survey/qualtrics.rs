//! Qualtrics CSV exports as researchers download them: three header rows (question ids,
//! question text, import ids), metadata columns, answers as choice text or numeric codes.
//! Personal-data columns are dropped while reading and never stored.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use et_files::csv_table::Table;

use crate::AnalysisError;

/// Columns that identify a person; dropped on read.
pub const PERSONAL_COLUMNS: &[&str] = &[
    "IPAddress",
    "RecipientEmail",
    "RecipientFirstName",
    "RecipientLastName",
    "LocationLatitude",
    "LocationLongitude",
    "ExternalReference",
    "ExternalDataReference",
];

/// Which responses count as complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// Submitted and every mapped question answered (the paper's rule).
    FinishedAndAllAnswered,
    /// Submitted.
    Finished,
    /// Every response that is not a preview.
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub response_id: String,
    pub finished: bool,
    pub preview: bool,
    pub progress: f64,
    /// Question id → answer as exported (empty when not answered).
    pub answers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Question ids of the answer columns (personal data excluded).
    pub columns: Vec<String>,
    pub responses: Vec<Response>,
}

fn is_true(s: &str) -> bool {
    matches!(s.trim().to_lowercase().as_str(), "true" | "1")
}

impl Export {
    pub fn load(path: &Path) -> Result<Export, AnalysisError> {
        let text = std::fs::read_to_string(path).map_err(|source| et_files::FileError::Read {
            path: path.into(),
            what: "Qualtrics export",
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Export, AnalysisError> {
        let bad = |m: &str| AnalysisError::Input {
            path: origin.into(),
            message: format!("not a Qualtrics CSV export: {m}"),
        };
        // The three header rows and the responses, each as a row of trimmed fields.
        let table = Table::from_reader(Path::new(origin), text.as_bytes())?;
        let rows: Vec<Vec<String>> = std::iter::once(table.header)
            .chain(table.rows.into_iter().map(|r| r.fields))
            .collect();
        if rows.len() < 3 {
            return Err(bad(
                "expected three header rows (question ids, question text, import ids)",
            ));
        }
        let ids = &rows[0];
        let imports = &rows[2];
        if !imports.iter().any(|c| c.contains("ImportId")) {
            return Err(bad("the third header row holds no ImportId entries"));
        }
        let col = |name: &str| ids.iter().position(|c| c == name);
        let (Some(rid), Some(fin)) = (col("ResponseId"), col("Finished")) else {
            return Err(bad("missing the ResponseId or Finished column"));
        };
        let (status, progress) = (col("Status"), col("Progress"));
        const META: &[&str] = &[
            "StartDate",
            "EndDate",
            "Status",
            "Progress",
            "Duration (in seconds)",
            "Finished",
            "RecordedDate",
            "ResponseId",
            "DistributionChannel",
            "UserLanguage",
        ];
        let keep: Vec<usize> = (0..ids.len())
            .filter(|&i| {
                !PERSONAL_COLUMNS.contains(&ids[i].as_str()) && !META.contains(&ids[i].as_str())
            })
            .collect();
        let mut responses = Vec::new();
        for row in &rows[3..] {
            if row.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let get = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
            let st = status.map(get).unwrap_or("");
            responses.push(Response {
                response_id: get(rid).to_string(),
                finished: is_true(get(fin)),
                // Status: "Survey Preview" in text exports, 1 in numeric ones.
                preview: st.eq_ignore_ascii_case("Survey Preview") || st.trim() == "1",
                progress: progress
                    .map(get)
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(0.0),
                answers: keep
                    .iter()
                    .map(|&i| (ids[i].clone(), get(i).trim().to_string()))
                    .collect(),
            });
        }
        Ok(Export {
            columns: keep.iter().map(|&i| ids[i].clone()).collect(),
            responses,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hand-written export in the layout Qualtrics downloads: choice text.
    pub const TEXT: &str = "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,RecipientLastName,RecipientFirstName,RecipientEmail,ExternalReference,LocationLatitude,LocationLongitude,DistributionChannel,UserLanguage,Q1,Q2,Q3_TEXT\n\
Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,Response ID,Recipient Last Name,Recipient First Name,Recipient Email,External Data Reference,Location Latitude,Location Longitude,Distribution Channel,User Language,Which condition? (image 1),Which condition? (image 2),Comments\n\
\"{\"\"ImportId\"\":\"\"startDate\"\"}\",\"{\"\"ImportId\"\":\"\"endDate\"\"}\",\"{\"\"ImportId\"\":\"\"status\"\"}\",\"{\"\"ImportId\"\":\"\"ipAddress\"\"}\",\"{\"\"ImportId\"\":\"\"progress\"\"}\",\"{\"\"ImportId\"\":\"\"duration\"\"}\",\"{\"\"ImportId\"\":\"\"finished\"\"}\",\"{\"\"ImportId\"\":\"\"recordedDate\"\"}\",\"{\"\"ImportId\"\":\"\"_recordId\"\"}\",\"{\"\"ImportId\"\":\"\"recipientLastName\"\"}\",\"{\"\"ImportId\"\":\"\"recipientFirstName\"\"}\",\"{\"\"ImportId\"\":\"\"recipientEmail\"\"}\",\"{\"\"ImportId\"\":\"\"externalDataReference\"\"}\",\"{\"\"ImportId\"\":\"\"locationLatitude\"\"}\",\"{\"\"ImportId\"\":\"\"locationLongitude\"\"}\",\"{\"\"ImportId\"\":\"\"distributionChannel\"\"}\",\"{\"\"ImportId\"\":\"\"userLanguage\"\"}\",\"{\"\"ImportId\"\":\"\"QID1\"\"}\",\"{\"\"ImportId\"\":\"\"QID2\"\"}\",\"{\"\"ImportId\"\":\"\"QID3_TEXT\"\"}\"\n\
2026-01-05 10:00:00,2026-01-05 10:09:00,IP Address,192.0.2.7,100,540,True,2026-01-05 10:09:00,R_aaa,Doe,Jane,jane@example.org,EXT1,38.99,-77.10,anonymous,EN,WS,22q,\"Très bien — 笑顔, \"\"smile\"\"\nsecond line\"\n\
2026-01-05 11:00:00,2026-01-05 11:03:00,IP Address,192.0.2.8,50,180,False,2026-01-06 11:03:00,R_bbb,Roe,Rich,rich@example.org,EXT2,38.98,-77.11,anonymous,EN,AS,,\n\
2026-01-05 12:00:00,2026-01-05 12:01:00,Survey Preview,,100,60,True,2026-01-05 12:01:00,R_ccc,,,,,,,preview,EN,NS,NS,\n";

    #[test]
    fn reads_text_exports_and_drops_personal_data() {
        let e = Export::parse(TEXT, "t.csv").unwrap();
        assert_eq!(e.columns, vec!["Q1", "Q2", "Q3_TEXT"]);
        assert_eq!(e.responses.len(), 3);
        let r = &e.responses[0];
        assert!(r.finished && !r.preview);
        assert_eq!(r.answers["Q1"], "WS");
        assert!(r.answers["Q3_TEXT"].starts_with("Très bien — 笑顔, \"smile\"\nsecond"));
        assert!(!e.responses[1].finished && e.responses[1].answers["Q2"].is_empty());
        assert!(e.responses[2].preview);
        let all: String = format!("{e:?}");
        for pii in ["192.0.2.7", "jane@example.org", "Doe", "EXT1", "38.99"] {
            assert!(!all.contains(pii), "{pii} survived reading");
        }
    }

    #[test]
    fn numeric_exports_and_non_exports() {
        let numeric = TEXT
            .replace(",WS,22q,", ",4,1,")
            .replace("IP Address", "0")
            .replace("Survey Preview", "1")
            .replace(",True,", ",1,")
            .replace(",False,", ",0,");
        let e = Export::parse(&numeric, "n.csv").unwrap();
        assert_eq!(e.responses[0].answers["Q1"], "4");
        assert!(e.responses[0].finished && e.responses[2].preview && !e.responses[1].finished);
        let err = Export::parse("a,b\n1,2\n3,4\n", "x.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.csv: not a Qualtrics CSV export"), "{err}");
    }
}
