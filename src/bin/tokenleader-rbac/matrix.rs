//! The role × rule matrix of `acl matrix`, computed once and rendered as Markdown or HTML.

use std::collections::BTreeSet;

use tokenleader_rbac::AclMap;

/// One column of the matrix.
struct Column<'a> {
    rule: &'a str,
    granted_by_a_role: bool,
    used: bool,
}

impl Column<'_> {
    fn note(&self) -> &'static str {
        match (self.granted_by_a_role, self.used) {
            (false, _) => "no role grants it",
            (true, false) => "the service does not use it",
            (true, true) => "",
        }
    }
}

/// Who may do what, computed once and rendered as Markdown or HTML.
pub(crate) struct Matrix<'a> {
    title: String,
    map: &'a AclMap,
    admin: Option<&'a str>,
    columns: Vec<Column<'a>>,
    /// Each role with, per column, whether it grants the column's rule.
    rows: Vec<(&'a str, Vec<bool>)>,
}

impl<'a> Matrix<'a> {
    pub(crate) fn new(
        title: String,
        map: &'a AclMap,
        used: &'a [String],
        admin: Option<&'a str>,
    ) -> Self {
        let mut roles: Vec<&str> = map.roles().collect();
        roles.sort_unstable();
        let granted: BTreeSet<&str> = roles
            .iter()
            .flat_map(|role| map.rules_of(role).into_iter().flatten())
            .collect();
        let all_rules: BTreeSet<&str> = granted
            .iter()
            .copied()
            .chain(used.iter().map(String::as_str))
            .collect();
        let columns: Vec<Column<'_>> = all_rules
            .into_iter()
            .map(|rule| Column {
                rule,
                granted_by_a_role: granted.contains(rule),
                used: used.is_empty() || used.iter().any(|u| u == rule),
            })
            .collect();
        let rows = roles
            .into_iter()
            .map(|role| {
                (
                    role,
                    columns.iter().map(|c| map.grants(role, c.rule)).collect(),
                )
            })
            .collect();
        Matrix {
            title,
            map,
            admin,
            columns,
            rows,
        }
    }

    /// A cell: ✓ for a grant (`via r` when inherited, `*` when by a pattern), `deny` where a
    /// deny takes the rule away, empty otherwise.
    fn cell(&self, role: &str, rule: &str, granted: bool) -> String {
        let path = self.map.explain(role, rule);
        match (granted, path) {
            (true, Some(path)) => {
                let mut cell = "✓".to_owned();
                if path.by_pattern() {
                    cell.push('*');
                }
                if path.inherited() {
                    cell += &format!(" via {}", path.roles[path.roles.len() - 1]);
                }
                cell
            }
            (true, None) => "✓".to_owned(),
            (false, Some(path)) if path.deny => "deny".to_owned(),
            (false, _) => " ".to_owned(),
        }
    }

    pub(crate) fn markdown(&self) -> String {
        let header = self.columns.iter().map(|c| match c.note() {
            "" => md_code(c.rule),
            note => format!("**{}** ({note})", md_code(c.rule)),
        });
        let mut out = format!(
            "# {}\n\n| role | {} |\n|---|{}\n",
            self.title,
            header.collect::<Vec<_>>().join(" | "),
            "---|".repeat(self.columns.len())
        );
        if let Some(admin) = self.admin {
            let cells = vec!["✓ (admin)"; self.columns.len()].join(" | ");
            out.push_str(&format!("| {} (admin role) | {cells} |\n", md_code(admin)));
        }
        for (role, grants) in &self.rows {
            let cells: Vec<String> = grants
                .iter()
                .zip(&self.columns)
                .map(|(&granted, column)| self.cell(role, column.rule, granted))
                .collect();
            let label = match self.map.description(role) {
                Some(text) => format!("{} ({})", md_code(role), md_text(text)),
                None => md_code(role),
            };
            out.push_str(&format!("| {label} | {} |\n", cells.join(" | ")));
        }
        out
    }

    pub(crate) fn html(&self) -> String {
        let (title, columns) = (&self.title, &self.columns);
        let mut rows = String::new();
        if let Some(admin) = self.admin {
            let cells: String = columns
                .iter()
                .map(|_| "<td class=\"admin\">✓ admin</td>")
                .collect();
            rows.push_str(&format!(
                "<tr><th scope=\"row\">{} <small>(admin role)</small></th>{cells}</tr>\n",
                escape(admin)
            ));
        }
        for (role, grants) in &self.rows {
            let cells: String = grants
                .iter()
                .zip(columns)
                .map(|(&granted, column)| {
                    let text = escape(&self.cell(role, column.rule, granted));
                    match granted {
                        true => format!("<td class=\"yes\">{text}</td>"),
                        false => format!("<td>{text}</td>"),
                    }
                })
                .collect();
            let description = self
                .map
                .description(role)
                .map(|text| format!("<br><small>{}</small>", escape(text)))
                .unwrap_or_default();
            rows.push_str(&format!(
                "<tr><th scope=\"row\">{}{description}</th>{cells}</tr>\n",
                escape(role)
            ));
        }
        let header: String = columns
        .iter()
        .map(|c| match c.note() {
            "" => format!("<th scope=\"col\">{}</th>", escape(c.rule)),
            note => format!("<th scope=\"col\" class=\"flagged\" title=\"{note}\">{}<br><small>{note}</small></th>", escape(c.rule)),
        })
        .collect();
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: 0.3em 0.6em; text-align: center; }}
thead th {{ writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }}
tbody th {{ text-align: left; }}
td.yes {{ background: #c8f0c8; }}
td.admin {{ background: #e8e0f8; color: #555; }}
th.flagged {{ background: #ffd8a8; }}
</style>
</head>
<body>
<h1>{title}</h1>
<table>
<thead><tr><th scope="col">role \ rule</th>{header}</tr></thead>
<tbody>
{rows}</tbody>
</table>
<p>✓: the role grants the rule. Orange columns: rules no role grants (only the admin role can use them), or rules the service does not use.</p>
</body>
</html>"#,
            title = escape(title)
        )
    }
}

/// A name as Markdown code in a table cell: a `|` would end the cell, even inside a code span,
/// and a backtick would end the span, so both are escaped.
fn md_code(text: &str) -> String {
    let text = text.replace('|', "\\|");
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// Free text in a Markdown table cell.
fn md_text(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
