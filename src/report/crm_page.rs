//! The page's sections for the CRM analyst: the users to act on and, for
//! an output with change feeds, what changed last night (see [`super::crm`]).
//!
//! Rows carry `data-user`, `data-night-tier`, `data-tier-change` and
//! `data-move` with their user or tier, and cells `data-col`, so that tests
//! and scrapers read the numbers back.

use std::fmt::Write as _;

use super::crm::{NightChanges, CHANGES_SHOWN};
use super::data::Data;
use super::format::{decimal, escape, int};

fn cell(name: &str, text: &str) -> String {
    format!(
        "<td class=\"n\" data-col=\"{}\">{}</td>",
        escape(name),
        escape(text)
    )
}

fn text_cell(name: &str, text: &str) -> String {
    format!("<td data-col=\"{}\">{}</td>", escape(name), escape(text))
}

/// A change with its sign: `+1.500`, `−0.250`.
fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", decimal(x))
    } else if x < 0.0 {
        format!("−{}", decimal(-x))
    } else {
        decimal(x)
    }
}

/// A count change with its sign: `+3`, `−2`, `0`.
fn signed_count(entered: u64, left: u64) -> String {
    match entered.cmp(&left) {
        std::cmp::Ordering::Greater => format!("+{}", int(entered - left)),
        std::cmp::Ordering::Less => format!("−{}", int(left - entered)),
        std::cmp::Ordering::Equal => "0".to_string(),
    }
}

/// The DuckDB query that lists every user in the page's order.
pub fn act_query(data: &Data) -> String {
    let reader = if data.format == "parquet" {
        "read_parquet('OUT/users/*.parquet')"
    } else {
        "read_csv('OUT/users/*.csv')"
    };
    format!(
        "SELECT * FROM {reader}\nORDER BY CASE tier WHEN 'super-connector' THEN 0 \
         WHEN 'topical-influencer' THEN 1\n  WHEN 'connector' THEN 2 WHEN 'standard' THEN 3 \
         ELSE 4 END, tier, influence DESC, user_id;"
    )
}

/// "Users to act on".
pub fn users_to_act_on(h: &mut String, data: &Data) {
    h.push_str("<h2 id=\"act\">Users to act on</h2>\n");
    let _ = writeln!(
        h,
        "<p>The first <span data-key=\"act_shown\">{}</span> of {} users by tier \
         (super-connector, topical influencer, connector, standard), then influence (largest \
         first), then user id: the people a campaign reaches first. Influence is shown with \
         three decimals; the <code>users</code> table has every user at full precision. Every \
         user in this order, in DuckDB (OUT is this output):</p>\n<pre id=\"act-query\">{}</pre>",
        data.top_users.len(),
        int(data.users),
        escape(&act_query(data))
    );
    h.push_str(
        "<table>\n<tr><th>#</th><th>user</th><th>tier</th><th>influence</th>\
         <th>friends persuaded</th><th>friend count</th><th>top topic</th></tr>\n",
    );
    for (i, user) in data.top_users.iter().enumerate() {
        let _ = writeln!(
            h,
            "<tr data-user=\"{}\"><td class=\"n\">{}</td>{}{}{}{}{}{}</tr>",
            user.user_id,
            i + 1,
            cell("user_id", &user.user_id.to_string()),
            text_cell("tier", &user.tier),
            cell("influence", &decimal(user.influence)),
            cell("persuaded_total", &int(user.persuaded_total)),
            cell("friend_count", &int(user.friend_count)),
            text_cell(
                "top_topic",
                if user.top_topic.is_empty() {
                    "–"
                } else {
                    &user.top_topic
                }
            ),
        );
    }
    h.push_str("</table>\n");
}

/// "What changed last night", when the output has a night's feed.
pub fn last_night(h: &mut String, data: &Data) {
    let Some(night) = &data.last_night else {
        return;
    };
    let NightChanges {
        night: name,
        users_changed,
        tiers,
        tier_changes_total,
        tier_changes,
        moves,
    } = night;
    let _ = writeln!(
        h,
        "<h2 id=\"last-night\">What changed last night: <span data-key=\"night\">{}</span></h2>\n\
         <p>From the night's change feed <code>changes/{0}/users/</code>: \
         <span data-key=\"night_users_changed\">{}</span> users have a changed row, and \
         <span data-key=\"night_tier_changes\">{}</span> of them changed tier (a user new to \
         the table enters a tier; one who left it leaves theirs). The feeds of every night are \
         under <code>changes/</code>; docs/nightly.md applies them.</p>",
        escape(name),
        int(*users_changed),
        int(*tier_changes_total)
    );
    h.push_str("<table>\n<tr><th>tier</th><th>entered</th><th>left</th><th>net</th></tr>\n");
    for (tier, entered, left) in tiers {
        let _ = writeln!(
            h,
            "<tr data-night-tier=\"{0}\"><td>{0}</td>{1}{2}{3}</tr>",
            escape(tier),
            cell("entered", &int(*entered)),
            cell("left", &int(*left)),
            cell("net", &signed_count(*entered, *left))
        );
    }
    h.push_str("</table>\n");
    if !tier_changes.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Who changed tier</h3>\n<p>The first {} of {} (by the tier they are in now, \
             then influence):</p>",
            tier_changes.len(),
            int(*tier_changes_total)
        );
        h.push_str(
            "<table>\n<tr><th>user</th><th>from</th><th>to</th><th>influence now</th></tr>\n",
        );
        for change in tier_changes {
            let _ = writeln!(
                h,
                "<tr data-tier-change=\"{0}\"><td class=\"n\">{0}</td>{1}{2}{3}</tr>",
                change.user_id,
                text_cell("from", change.from.as_deref().unwrap_or("(new)")),
                text_cell("to", change.to.as_deref().unwrap_or("(left the table)")),
                cell("influence", &decimal(change.influence))
            );
        }
        h.push_str("</table>\n");
    }
    if !moves.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Largest moves of influence</h3>\n<p>The {} largest changes, either way (at \
             most {CHANGES_SHOWN}; ties: user id):</p>",
            moves.len()
        );
        h.push_str(
            "<table>\n<tr><th>user</th><th>before</th><th>after</th><th>change</th>\
             <th>tier</th></tr>\n",
        );
        for m in moves {
            let _ = writeln!(
                h,
                "<tr data-move=\"{0}\"><td class=\"n\">{0}</td>{1}{2}{3}{4}</tr>",
                m.user_id,
                cell("before", &decimal(m.before)),
                cell("after", &decimal(m.after)),
                cell("change", &signed(m.change())),
                text_cell("tier", &m.tier)
            );
        }
        h.push_str("</table>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs() {
        assert_eq!(signed(1.5), "+1.500");
        assert_eq!(signed(-0.25), "−0.250");
        assert_eq!(signed(0.0), "0.000");
        assert_eq!(signed_count(5, 2), "+3");
        assert_eq!(signed_count(1, 1_001), "−1,000");
        assert_eq!(signed_count(0, 0), "0");
    }
}
