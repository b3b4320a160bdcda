//! Customer records (METRICS.md, "Customers"): identities `account customer`
//! that map a social account to a CRM customer, purchases `customer day
//! amount [topic]`, and their nightly `+`/`-` forms.
//!
//! A customer id is text whatever the `ids` mode: any non-empty field of at
//! most [`crate::ids::MAX_TEXT_ID`] bytes, compared byte for byte. Unlike a
//! text user id, it may hold a comma or a space where the file's separator
//! is another (`Smith, J.` in a tab-separated export, `Smith J` in a CSV):
//! CRM exports hold names, and the split by the file's own separator
//! already decides where the field ends (in CSV, quote a field that holds a
//! comma). Accounts are user ids and follow the
//! `ids` mode (so identities, like adoptions, take METRICS.md's named-header
//! rule with text ids); purchases carry no user id. Amounts are exact
//! ([`Amount`]), so a refund's `12.50` matches a purchase's `12.5`.
//!
//! Purchases take an optional fourth field, `topic`; an empty one (`C1,
//! 2026-11-22,12,` as a CSV writer leaves a null) is no topic.

use std::borrow::Cow;

use super::records::{parse_op, parse_topic, Op, Record, UserId};
use crate::money::Amount;

/// Parses a customer id field (a quoted field is an owned one).
#[allow(clippy::ptr_arg)]
pub fn parse_customer(field: &Cow<'_, str>) -> Result<String, String> {
    // Separators other than the file's are data (see the module's comment):
    // only the emptiness and length rules apply.
    crate::ids::check_text_field(field, true, "customer id", "customer id")?;
    Ok(field.to_string())
}

/// An identity line `account customer`: the social account belongs to the
/// CRM customer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity<I = u64> {
    /// The account: a user id of the friendship and adoption inputs.
    pub account: I,
    /// The customer id (text, compared byte for byte).
    pub customer: String,
}

impl<I: UserId> Record for Identity<I> {
    const FIELDS: &'static str = "account customer";
    const ARITY: usize = 2;
    const NAMED_HEADER: bool = I::NAMED_HEADER;
    // The customer id is text in either ids mode: a separator in it is
    // worth the hint about quoting.
    const TEXT_IDS: bool = true;
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String> {
        let account = &fields[0];
        Ok(Identity {
            account: I::parse_user(account, matches!(account, Cow::Owned(_)))?,
            customer: parse_customer(&fields[1])?,
        })
    }
}

/// An identity delta line `+ account customer` or `- account customer`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentityChange<I = u64> {
    /// Map (`+`) or unmap (`-`).
    pub op: Op,
    /// The mapping.
    pub identity: Identity<I>,
}

impl<I: UserId> Record for IdentityChange<I> {
    const FIELDS: &'static str = "op account customer";
    const ARITY: usize = 3;
    const TEXT_IDS: bool = true;
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String> {
        Ok(IdentityChange {
            op: parse_op(&fields[0])?,
            identity: Identity::parse(&fields[1..])?,
        })
    }
}

/// A purchase line `customer day amount [topic]`. Two identical lines are
/// two purchases.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Purchase {
    /// The customer id.
    pub customer: String,
    /// Days since 1970-01-01.
    pub day: i32,
    /// The amount, exact.
    pub amount: Amount,
    /// The product or category, in the namespace of adoption topics.
    pub topic: Option<String>,
}

impl Record for Purchase {
    const FIELDS: &'static str = "customer day amount [topic]";
    const ARITY: usize = 4;
    const ARITIES: &'static str = "3 or 4";
    const TEXT_IDS: bool = true;
    fn accepts(n: usize) -> bool {
        n == 3 || n == 4
    }
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String> {
        Ok(Purchase {
            customer: parse_customer(&fields[0])?,
            day: crate::date::parse_day(&fields[1])?,
            amount: Amount::parse(&fields[2])?,
            topic: match fields.get(3) {
                Some(topic) if !topic.is_empty() => Some(parse_topic(topic)?),
                _ => None,
            },
        })
    }
}

/// A purchase delta line `+ customer day amount [topic]` (one more
/// purchase) or `- customer day amount [topic]` (one identical purchase
/// taken back, e.g. a refund).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PurchaseChange {
    /// Add or remove.
    pub op: Op,
    /// The purchase.
    pub purchase: Purchase,
}

impl Record for PurchaseChange {
    const FIELDS: &'static str = "op customer day amount [topic]";
    const ARITY: usize = 5;
    const ARITIES: &'static str = "4 or 5";
    const TEXT_IDS: bool = true;
    fn accepts(n: usize) -> bool {
        n == 4 || n == 5
    }
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String> {
        Ok(PurchaseChange {
            op: parse_op(&fields[0])?,
            purchase: Purchase::parse(&fields[1..])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::lines::{self, Sep};
    use crate::input::records::{parse_share, split, ShareReport};
    use crate::input::{Share, Source};

    fn fields(line: &str) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        split(line, Sep::detect(line), &mut out).unwrap();
        out
    }

    fn parse<R: Record>(line: &str) -> Result<R, String> {
        R::parse(&fields(line))
    }

    /// Reads a whole file of `text` as records `R`.
    fn read<R: Record>(text: &str) -> (Vec<R>, ShareReport) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.csv");
        std::fs::write(&path, text).unwrap();
        let source = Source::of_file(path).unwrap();
        let sniff = lines::sniff(&source).unwrap();
        let whole = Share {
            source: 0,
            start: 0,
            end: u64::MAX,
        };
        let mut records = Vec::new();
        let report = parse_share::<R>(&source, &whole, &sniff, 10, |r, _| records.push(r));
        (records, report)
    }

    fn day(iso: &str) -> i32 {
        crate::date::parse_day(iso).unwrap()
    }

    #[test]
    fn identities_map_accounts_to_text_customers() {
        let identity = |account: u64, customer: &str| Identity {
            account,
            customer: customer.to_string(),
        };
        assert_eq!(parse("7,C-007"), Ok(identity(7, "C-007")));
        assert_eq!(parse("7\tc-007"), Ok(identity(7, "c-007")));
        assert_eq!(parse("7,\"Smith, J\""), Ok(identity(7, "Smith, J")));
        assert_eq!(
            parse::<Identity<String>>("alice@mail.example,C1"),
            Ok(Identity {
                account: "alice@mail.example".to_string(),
                customer: "C1".to_string()
            })
        );
        let error = |line: &str| parse::<Identity>(line).unwrap_err();
        assert!(error("7,").contains("empty customer id"), "{}", error("7,"));
        assert!(error("x7,C1").contains("invalid user id \"x7\""));
        let long = format!("7,{}", "c".repeat(257));
        assert!(
            error(&long).contains("257 bytes long: customer ids are at most 256 bytes"),
            "{}",
            error(&long)
        );
        assert!(parse::<Identity>(&format!("7,{}", "c".repeat(256))).is_ok());
        // Another separator than the file's is part of the id.
        assert_eq!(parse::<Identity>("7,Smith J").unwrap().customer, "Smith J");
        assert_eq!(
            parse::<Identity>("7\tSmith, J.").unwrap().customer,
            "Smith, J."
        );
    }

    #[test]
    fn identity_changes_take_an_op() {
        let change: IdentityChange = parse("- 7 C1").unwrap();
        assert_eq!(change.op, Op::Remove);
        assert_eq!(change.identity.customer, "C1");
        assert_eq!(parse::<IdentityChange>("+ 7 C1").unwrap().op, Op::Add);
        assert!(parse::<IdentityChange>("* 7 C1")
            .unwrap_err()
            .contains("unknown operation \"*\""));
    }

    #[test]
    fn purchases_with_and_without_topic() {
        let purchase: Purchase = parse("C1,2026-11-22,12.5,rock").unwrap();
        assert_eq!(
            purchase,
            Purchase {
                customer: "C1".to_string(),
                day: day("2026-11-22"),
                amount: Amount(125_000),
                topic: Some("rock".to_string()),
            }
        );
        let bare: Purchase = parse("C1 20414 3").unwrap();
        assert_eq!(
            (bare.day, bare.amount, bare.topic),
            (20414, Amount(30_000), None)
        );
        // An empty fourth field is a CSV null: no topic.
        let null: Purchase = parse("C1,2026-11-22,12.5,").unwrap();
        assert_eq!(null.topic, None);
        let error = |line: &str| parse::<Purchase>(line).unwrap_err();
        assert!(
            error("C1,2026-13-01,5").contains("2026-13-01"),
            "{}",
            error("C1,2026-13-01,5")
        );
        let message = error("C1,2026-11-22,\"1,5\"");
        assert!(
            message.contains("amount \"1,5\" uses a comma as the decimal mark"),
            "{message}"
        );
        assert!(error("C1,2026-11-22,-3").contains("is negative"));
        assert!(error(",2026-11-22,3").contains("empty customer id"));
    }

    /// A refund matches the purchase it takes back when the amounts are the
    /// same number, however written.
    #[test]
    fn a_refund_matches_the_same_amount_written_otherwise() {
        let bought: PurchaseChange = parse("+ C1 2026-11-22 12.5 rock").unwrap();
        let refunded: PurchaseChange = parse("- C1 2026-11-22 12.50 rock").unwrap();
        assert_eq!((bought.op, refunded.op), (Op::Add, Op::Remove));
        assert_eq!(bought.purchase, refunded.purchase);
        let other: PurchaseChange = parse("- C1 2026-11-22 12.05 rock").unwrap();
        assert_ne!(bought.purchase, other.purchase);
        let untopical: PurchaseChange = parse("- C1 2026-11-22 12.5").unwrap();
        assert_ne!(
            bought.purchase, untopical.purchase,
            "same topic or both without"
        );
    }

    #[test]
    fn headers_are_named_columns() {
        let (records, report) =
            read::<Purchase>("customer,day,amount,topic\nC1,2026-11-22,12.5,rock\n");
        assert!(report.header && report.bad.is_empty(), "{report:?}");
        assert_eq!(records.len(), 1);
        let (records, report) = read::<Identity>("account,customer\n7,C1\n");
        assert!(report.header && report.bad.is_empty(), "{report:?}");
        assert_eq!(
            records,
            vec![Identity {
                account: 7,
                customer: "C1".to_string()
            }]
        );
        // Text ids: every field is a valid id, so the header must open with
        // an account column name...
        let (records, report) = read::<Identity<String>>("account,customer\nalice,C1\n");
        assert!(report.header && report.bad.is_empty(), "{report:?}");
        assert_eq!(records.len(), 1);
        // ...and a first line that does not is a record.
        let (records, report) = read::<Identity<String>>("customer,account\nalice,C1\n");
        assert!(!report.header, "{report:?}");
        assert_eq!(records[0].account, "customer");
        // Without a header the first line is read.
        let (records, report) = read::<Purchase>("C1,2026-11-22,12.5\n");
        assert!(!report.header && records.len() == 1, "{report:?}");
    }

    #[test]
    fn bad_lines_name_the_fields() {
        let (records, report) = read::<Purchase>("C1,2026-11-22,1\nC2,2026-11-22\nC3,x,1\n");
        assert_eq!(records.len(), 1);
        assert_eq!(report.bad.len(), 2);
        assert_eq!(report.bad[0].line, 2);
        assert_eq!(
            report.bad[0].reason,
            "expected 3 or 4 fields (customer day amount [topic]), found 2"
        );
        assert_eq!(report.bad[1].line, 3);
        let (_, report) = read::<Identity>("7,Smith,J\n");
        assert!(
            report.bad[0].reason.contains("must be quoted"),
            "{:?}",
            report.bad
        );
        let (_, report) = read::<PurchaseChange>("+ C1 2026-11-22\n");
        assert!(
            report.bad[0].reason.contains("expected 4 or 5 fields"),
            "{:?}",
            report.bad
        );
    }
}
