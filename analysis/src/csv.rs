//! A small RFC 4180 reader: quoted fields, doubled quotes, line breaks inside quotes (free-text
//! answers have them), a byte-order mark at the start.

/// Rows of fields.
pub fn parse(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start_matches('\u{feff}');
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// One CSV field, quoted when it needs to be.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_line_breaks() {
        let rows = parse("\u{feff}a,\"b,c\",\"say \"\"hi\"\"\"\r\n1,\"two\nlines\",3\n");
        assert_eq!(
            rows,
            vec![vec!["a", "b,c", "say \"hi\""], vec!["1", "two\nlines", "3"]]
        );
        assert_eq!(field("x,y"), "\"x,y\"");
    }
}
