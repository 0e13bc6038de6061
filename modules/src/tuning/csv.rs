//! Just enough CSV (RFC 4180) for training files: quoted fields with doubled quotes, commas and
//! line breaks inside quotes, CRLF or LF line ends.

/// Rows of cells, each with the 1-based line it starts on. Errors name the line.
pub fn parse(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut rows = Vec::new();
    let (mut row, mut cell) = (Vec::new(), String::new());
    let (mut line, mut row_line) = (1, 1);
    let (mut quoted, mut was_quoted) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    cell.push(c);
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() && !was_quoted => (quoted, was_quoted) = (true, true),
            '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
            ',' => {
                row.push(std::mem::take(&mut cell));
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut cell));
                was_quoted = false;
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push((row_line, std::mem::take(&mut row)));
                }
                row.clear();
                line += 1;
                row_line = line;
            }
            _ if was_quoted => {
                return Err(format!("line {line}: text after a closing quote"));
            }
            _ => cell.push(c),
        }
    }
    if quoted {
        return Err(format!("line {row_line}: a quoted field is never closed"));
    }
    if !cell.is_empty() || !row.is_empty() || was_quoted {
        row.push(cell);
        rows.push((row_line, row));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(text: &str) -> Vec<Vec<String>> {
        parse(text).unwrap().into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks() {
        let text = "text,labels\r\n\"Great, \"\"really\"\"\",positive\n\"two\nlines\",negative\n\nlast,\"\"";
        assert_eq!(
            cells(text),
            vec![
                vec!["text", "labels"],
                vec!["Great, \"really\"", "positive"],
                vec!["two\nlines", "negative"],
                vec!["last", ""],
            ]
        );
        let lines: Vec<usize> = parse(text).unwrap().iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![1, 2, 3, 6]);
    }

    #[test]
    fn malformed_quoting_names_the_line() {
        assert_eq!(
            parse("a,b\n\"open,x\n").unwrap_err(),
            "line 2: a quoted field is never closed"
        );
        assert_eq!(
            parse("a,b\nx\"y,z\n").unwrap_err(),
            "line 2: a quote inside an unquoted field"
        );
        assert_eq!(
            parse("\"a\"b,c\n").unwrap_err(),
            "line 1: text after a closing quote"
        );
    }
}
