//! `cubec query`'s result table, drawn by comfy-table: Unicode widths, numbers aligned right,
//! wrapped to the terminal's width on a terminal (never cut when piped), plain ASCII borders
//! under `TERM=dumb` as for diagnostics.

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use cubec::exec::shape::{cell_text, CubeRow};
use std::io::IsTerminal;

/// The rows as a table with a header, and a line counting them.
pub(crate) fn render(rows: &[CubeRow]) -> String {
    let Some(first) = rows.first() else { return "(no rows)\n".to_string() };
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.values().map(cell_text).collect()).collect();
    let mut table = Table::new();
    let ascii = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    table.load_style(if ascii { presets::ASCII_FULL_CONDENSED } else { presets::UTF8_FULL_CONDENSED });
    if std::io::stdout().is_terminal() {
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            table.set_content_arrangement(ContentArrangement::Dynamic).set_width(w);
        }
    }
    table.set_header(first.keys());
    for row in &cells {
        table.add_row(row);
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        let numeric = cells.iter().all(|r| r[i].is_empty() || r[i].parse::<f64>().is_ok());
        if numeric {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    format!("{table}\n({} row{})\n", rows.len(), if rows.len() == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn numbers_right_wide_characters_counted() {
        let row = |c: &str, n: &str| -> CubeRow {
            [("users.city".to_string(), Value::from(c)), ("users.count".to_string(), Value::from(n))]
                .into_iter()
                .collect()
        };
        let out = render(&[row("東京", "7"), row("Zürich", "12"), row("a", "1000")]);
        let lines: Vec<&str> = out.lines().collect();
        // Every line of the table is as wide on screen: 東京 takes two columns a character.
        let widths: Vec<usize> = lines[..lines.len() - 1]
            .iter()
            .map(|l| l.chars().map(|c| if ('\u{4e00}'..='\u{9fff}').contains(&c) { 2 } else { 1 }).sum())
            .collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{out}");
        assert!(out.contains("    7 │") || out.contains("    7 |"), "{out}");
        assert!(out.ends_with("(3 rows)\n"), "{out}");
        assert_eq!(render(&[]), "(no rows)\n");
    }
}
