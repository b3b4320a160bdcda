//! Numbers and text as people read them on the page: thousands
//! separators, percentages, decimals to three places (the tables keep full
//! precision), p- and q-values, and escaping for HTML.

/// Escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Not allowed in XML 1.0: shown as U+FFFD.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// An integer with thousands separators: `1,234,567`.
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage with two decimals: `20.34%`.
pub fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// A decimal with three decimals, or `–` when undefined.
pub fn decimal(x: f64) -> String {
    if x.is_nan() {
        "–".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "+∞" } else { "−∞" }.to_string()
    } else {
        format!("{x:.3}")
    }
}

/// A decimal as written in a table, shown with three decimals on the page
/// (the tables keep full precision); text that is not a number as is.
pub fn written_decimal(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(x) => decimal(x),
        Err(_) if text.is_empty() => "–".to_string(),
        Err(_) => text.to_string(),
    }
}

/// A p- or q-value: four decimals, `< 0.0001` below, `–` when undefined.
pub fn probability(x: f64) -> String {
    if x.is_nan() {
        "–".to_string()
    } else if x > 0.0 && x < 0.0001 {
        "&lt; 0.0001".to_string()
    } else {
        format!("{x:.4}")
    }
}
